using Skiff.Images;

namespace Skiff.Tests.Images;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("user/app", "docker.io/user/app:latest", "user/app:latest")]
    [InlineData("localhost:5000/app:v1", "localhost:5000/app:v1", "localhost:5000/app:v1")]
    [InlineData("localhost/app", "localhost/app:latest", "localhost/app:latest")]
    [InlineData("quay.io/org/app:1", "quay.io/org/app:1", "quay.io/org/app:1")]
    [InlineData("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest", "127.0.0.1:5000/a/b/c:latest")]
    public void Normalizes_as_docker_does(string text, string full, string familiar)
    {
        var r = ImageReference.Parse(text);
        Assert.Equal(full, r.ToString());
        Assert.Equal(familiar, r.Familiar);
    }

    [Fact]
    public void Digest_references_have_no_default_tag()
    {
        var r = ImageReference.Parse("busybox@sha256:" + new string('a', 64));
        Assert.Null(r.Tag);
        Assert.Equal("docker.io/library/busybox", r.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER")]
    [InlineData("a:b:c")]
    [InlineData("a@sha256:123")]
    [InlineData("a/")]
    [InlineData("a:-tag")]
    public void Refuses_bad_references(string text) => Assert.Throws<SkiffException>(() => ImageReference.Parse(text));
}
