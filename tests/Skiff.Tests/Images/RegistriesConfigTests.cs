using Skiff.Images.Registry;

namespace Skiff.Tests.Images;

public sealed class RegistriesConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-regconf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_insecure_list_is_read_and_other_keys_and_comments_are_ignored()
    {
        var list = RegistriesConfig.ParseInsecure("""
            # registries reached over plain HTTP
            unqualified-search-registries = ["docker.io"]
            insecure = ["registry.lan:5000", "10.0.0.2" ]  # the lab
            """);

        Assert.Equal(["registry.lan:5000", "10.0.0.2"], list);
        Assert.Empty(RegistriesConfig.ParseInsecure("insecure = []\n"));
        Assert.Empty(RegistriesConfig.ParseInsecure(""));
    }

    [Theory]
    [InlineData("insecure = registry.lan")]
    [InlineData("insecure = [registry.lan]")]
    [InlineData("insecure = [\"\"]")]
    public void A_malformed_insecure_line_is_an_error_naming_the_file(string line)
    {
        var e = Assert.Throws<SkiffException>(() => RegistriesConfig.ParseInsecure(line, "/etc/skiff/registries.conf"));

        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.StartsWith("/etc/skiff/registries.conf:1:", e.Message);
    }

    [Fact]
    public void The_user_file_is_found_under_xdg_config_home_then_home()
    {
        Assert.Equal([Path.Combine("/x", "skiff", "registries.conf"), RegistriesConfig.SystemPath],
            RegistriesConfig.Candidates(n => n == "XDG_CONFIG_HOME" ? "/x" : n == "HOME" ? "/h" : null));
        Assert.Equal([Path.Combine("/h", ".config", "skiff", "registries.conf"), RegistriesConfig.SystemPath],
            RegistriesConfig.Candidates(n => n == "HOME" ? "/h" : null));
    }

    [Fact]
    public void The_first_existing_file_wins()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "skiff"));
        File.WriteAllText(Path.Combine(_dir, "skiff", "registries.conf"), "insecure = [\"mine:5000\"]\n");

        Assert.Equal(["mine:5000"], RegistriesConfig.Insecure(n => n == "XDG_CONFIG_HOME" ? _dir : null));
    }

    [Fact]
    public void An_insecure_registry_is_treated_like_tls_verify_false()
    {
        Assert.Equal(TlsPolicy.SkipVerifyOrPlainHttp, RegistryEndpoint.PolicyFor("mine:5000", tlsVerify: null, listedInsecure: true));
        Assert.Equal(TlsPolicy.SkipVerifyOrPlainHttp, RegistryEndpoint.PolicyFor("mine:5000", tlsVerify: false, listedInsecure: false));
        Assert.Equal(TlsPolicy.Verify, RegistryEndpoint.For("mine:5000").Tls);
    }
}
