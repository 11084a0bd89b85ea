using System.Text.RegularExpressions;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>
/// Registries that speak HTTPS (docker-registry with certificates made by openssl): one
/// plain TLS, one that wants a client certificate (mutual TLS), and one plain HTTP.
/// </summary>
public sealed class RegistryTlsFixture : IAsyncLifetime
{
    public OpensslPki Pki { get; private set; } = null!;
    public RegistryServer Tls { get; private set; } = null!;
    public RegistryServer MutualTls { get; private set; } = null!;
    public RegistryServer Plain { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Pki = await OpensslPki.CreateAsync();
        Tls = await RegistryServer.StartAsync(tls: new RegistryTlsFiles(Pki.ServerCertificate, Pki.ServerKey));
        MutualTls = await RegistryServer.StartAsync(tls: new RegistryTlsFiles(Pki.ServerCertificate, Pki.ServerKey,
            ClientCa: Pki.CaCertificate, ClientCertificate: Pki.ClientCertificate, ClientKey: Pki.ClientKey));
        Plain = await RegistryServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var r in new[] { Tls, MutualTls, Plain })
        {
            if (r is not null)
            {
                await r.DisposeAsync();
            }
        }
        Pki?.Dispose();
    }
}

/// <summary>
/// HTTPS against a real registry: trust from certs.d (the user's containers/certs.d under
/// XDG_CONFIG_HOME, the first root skiff searches), a refused certificate, insecure
/// registries (HTTPS without verification, then plain HTTP) and client certificates.
/// </summary>
[Collection(SkiffCollection.Name)]
public sealed partial class RegistryTlsTests(SkiffInstall install, RegistryTlsFixture registries) : IClassFixture<RegistryTlsFixture>
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(60);

    [GeneratedRegex(@"digest: (sha256:[0-9a-f]{64})")]
    private static partial Regex PushedDigest();

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private OpensslPki Pki => registries.Pki;

    /// <summary>XDG_CONFIG_HOME for one test (owned by the sandbox's user), so certs.d and registries.conf are this test's own.</summary>
    private static Dictionary<string, string?> ConfigHome(Sandbox box, out string config)
    {
        config = Path.Combine(LayerTarballs.WritableDir(box), "config");
        Directory.CreateDirectory(config);
        SkiffInstall.MakeWorldReadable(config);
        return new Dictionary<string, string?> { ["XDG_CONFIG_HOME"] = config, ["DOCKER_CONFIG"] = Path.Combine(config, "docker") };
    }

    private static string CertsD(string config, string host) => Path.Combine(config, "containers", "certs.d", host);

    private async Task<string> ImportBusybox(Sandbox box, string name, string cmd)
    {
        string tar = await LayerTarballs.BusyboxAsync(box, Unique("bb") + ".tar");
        return (await box.Skiff(["import", "-c", cmd, tar, name])).AssertExit(0).Stdout.Trim();
    }

    private static async Task<string> Push(Sandbox box, string name, IReadOnlyDictionary<string, string?> env, params string[] flags)
    {
        var push = (await box.Skiff(["push", .. flags, name], environment: env)).AssertExit(0);
        var m = PushedDigest().Match(push.Stdout);
        Assert.True(m.Success, push.ToString());
        return m.Groups[1].Value;
    }

    private static string Refusal(string host, string advice) =>
        $"skiff: registry {host}: tls: failed to verify certificate: x509: certificate signed by unknown authority; {advice}, or mark the registry insecure "
        + $"(--tls-verify=false, or insecure = [\"{host}\"] in registries.conf)\n";

    [Theory, BothModes]
    public async Task An_image_pushed_over_https_with_its_ca_in_certs_d_pulls_back_runs_and_keeps_its_digest(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        var env = ConfigHome(box, out string config);
        string host = registries.Tls.Host;
        OpensslPki.Populate(CertsD(config, host), (Pki.CaCertificate, "ca.crt"));
        string name = $"{host}/{Unique("tls")}:1";
        string id = await ImportBusybox(box, name, "CMD [\"echo\", \"hello over https\"]");

        string digest = await Push(box, name, env);
        (await box.Skiff(["rmi", name])).AssertExit(0);
        var pull = (await box.Skiff(["pull", name], environment: env)).AssertExit(0);

        Assert.Contains("Digest: " + digest, pull.Stdout);
        Assert.Equal(id, (await box.Skiff(["images", "-q", "--no-trunc"])).AssertExit(0).Stdout.Trim());
        Assert.Equal("hello over https\n", (await box.Skiff(["run", "--rm", name])).AssertExit(0).Stdout);
        // skopeo, verifying with the same CA, sees the same manifest.
        string trust = OpensslPki.Populate(Path.Combine(box.Dir, "skopeo-certs"), (Pki.CaCertificate, "ca.crt"));
        var inspect = (await HostProcess.RunAsync(["skopeo", "inspect", "--cert-dir", trust, "docker://" + name], timeout: Slow)).AssertExit(0);
        Assert.Contains($"\"Digest\": \"{digest}\"", inspect.Stdout);
    }

    [Theory, BothModes]
    public async Task An_untrusted_certificate_is_refused_with_what_to_do_and_nothing_is_stored(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        var env = ConfigHome(box, out string config);
        string host = registries.Tls.Host;
        string name = $"{host}/{Unique("untrusted")}:1";
        await ImportBusybox(box, name, "CMD [\"true\"]");
        await Push(box, name, env, "--cert-dir", OpensslPki.Populate(Path.Combine(box.Dir, "trusted"), (Pki.CaCertificate, "ca.crt")));
        (await box.Skiff(["rmi", name])).AssertExit(0);
        await ImportBusybox(box, $"{host}/keep:1", "CMD [\"true\"]");
        var before = LayerTarballs.StoreSnapshot(box);

        var pull = await box.Skiff(["pull", name], environment: env);
        var push = await box.Skiff(["push", $"{host}/keep:1"], environment: env);
        string dir = OpensslPki.Populate(CertsD(config, host), (Pki.RogueCaCertificate, "ca.crt"));
        var rogue = await box.Skiff(["pull", name], environment: env);

        pull.AssertExit(125);
        Assert.Equal(Refusal(host, $"put its CA in /etc/docker/certs.d/{host}/ca.crt"), pull.Stderr);
        push.AssertExit(125);
        rogue.AssertExit(125);
        Assert.Equal(Refusal(host, $"no CA in {dir} signed it: put the right one there as ca.crt"), rogue.Stderr);
        Assert.Equal(before, LayerTarballs.StoreSnapshot(box));
    }

    [Theory, BothModes]
    public async Task An_insecure_registry_gets_https_without_verification_then_plain_http(Mode mode)
    {
        using var box = install.NewSandbox(mode);
        var env = ConfigHome(box, out string config);
        string tls = registries.Tls.Host;
        string plain = registries.Plain.Host;
        Directory.CreateDirectory(Path.Combine(config, "skiff"));
        await File.WriteAllTextAsync(Path.Combine(config, "skiff", "registries.conf"), $"insecure = [\"{tls}\", \"{plain}\"]\n");
        string overTls = $"{tls}/{Unique("insecure")}:1";
        string overHttp = $"{plain}/{Unique("insecure")}:1";
        await ImportBusybox(box, overTls, "CMD [\"echo\", \"insecure\"]");
        (await box.Skiff(["tag", overTls, overHttp])).AssertExit(0);

        string viaTls = await Push(box, overTls, env);
        string viaHttp = await Push(box, overHttp, env);
        (await box.Skiff(["rmi", overTls, overHttp])).AssertExit(0);
        (await box.Skiff(["pull", overTls], environment: env)).AssertExit(0);
        (await box.Skiff(["pull", "--tls-verify=false", overHttp])).AssertExit(0);

        Assert.Equal(viaTls, viaHttp);
        Assert.Equal("insecure\n", (await box.Skiff(["run", "--rm", overTls])).AssertExit(0).Stdout);
        // --tls-verify=true wins over the list, as in Podman: verified HTTPS or nothing.
        var strict = await box.Skiff(["pull", "--tls-verify=true", overTls], environment: env);
        strict.AssertExit(125);
        Assert.Equal(Refusal(tls, $"put its CA in /etc/docker/certs.d/{tls}/ca.crt"), strict.Stderr);
        var noTls = await box.Skiff(["pull", "--tls-verify=true", overHttp], environment: env);
        noTls.AssertExit(125);
        Assert.StartsWith($"skiff: cannot reach registry {plain}: TLS handshake failed", noTls.Stderr);
    }

    [Fact]
    public async Task Mutual_tls_sends_the_client_certificate_of_certs_d()
    {
        using var box = install.NewSandbox(Mode.Root);
        var env = ConfigHome(box, out string config);
        string host = registries.MutualTls.Host;
        string dir = OpensslPki.Populate(CertsD(config, host), (Pki.CaCertificate, "ca.crt"));
        string name = $"{host}/{Unique("mtls")}:1";
        await ImportBusybox(box, name, "CMD [\"echo\", \"mutual\"]");

        var without = await box.Skiff(["push", name], environment: env);
        OpensslPki.Populate(dir, (Pki.ClientCertificate, "client.cert"));
        var unpaired = await box.Skiff(["push", name], environment: env);
        OpensslPki.Populate(dir, (Pki.ClientKey, "client.key"));
        string digest = await Push(box, name, env);
        (await box.Skiff(["rmi", name])).AssertExit(0);
        var pull = (await box.Skiff(["pull", name], environment: env)).AssertExit(0);

        without.AssertExit(125);
        Assert.Single(without.StderrLines);
        Assert.Contains($"registry {host}", without.Stderr);
        Assert.Contains("client certificate", without.Stderr);
        unpaired.AssertExit(125);
        Assert.Equal($"skiff: {dir}: missing key client.key for client certificate client.cert (CA certificates must use the extension .crt)\n", unpaired.Stderr);
        Assert.Contains("Digest: " + digest, pull.Stdout);
        Assert.Equal("mutual\n", (await box.Skiff(["run", "--rm", name])).AssertExit(0).Stdout);
    }
}
