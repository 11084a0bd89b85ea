using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Skiff.Images.Registry;

namespace Skiff.Tests.Images;

/// <summary>certs.d as Docker and containers/image read it: which files count, where it is looked for, what a bad one says.</summary>
public sealed class CertsDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("skiff-certsd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Every_crt_is_a_ca_and_a_cert_with_its_key_is_a_client_pair()
    {
        var d = CertsDirectory.Parse("/etc/docker/certs.d/r:5000", ["ca.crt", "other.crt", "client.cert", "client.key", "README", "ca.pem", "x.crt.bak"]);

        Assert.Equal(["/etc/docker/certs.d/r:5000/ca.crt", "/etc/docker/certs.d/r:5000/other.crt"], d.CaFiles);
        Assert.Equal([new ClientCertificateFiles("/etc/docker/certs.d/r:5000/client.cert", "/etc/docker/certs.d/r:5000/client.key")], d.ClientCertificates);
    }

    [Fact]
    public void A_client_certificate_without_its_key_is_an_error_naming_both()
    {
        var e = Assert.Throws<SkiffException>(() => CertsDirectory.Parse("/d", ["ca.crt", "client.cert", "other.key", "other.cert"]));

        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
        Assert.Equal("/d: missing key client.key for client certificate client.cert (CA certificates must use the extension .crt)", e.Message);
    }

    [Fact]
    public void A_key_without_its_certificate_is_an_error()
    {
        var e = Assert.Throws<SkiffException>(() => CertsDirectory.Parse("/d", ["ca.crt", "client.key"]));

        Assert.Equal("/d: missing client certificate client.cert for key client.key", e.Message);
    }

    [Fact]
    public void The_roots_are_the_users_then_containers_then_docker()
    {
        Assert.Equal([Path.Combine("/x", "containers", "certs.d"), CertsDirectory.ContainersRoot, CertsDirectory.DockerRoot],
            CertsDirectory.Roots(n => n == "XDG_CONFIG_HOME" ? "/x" : n == "HOME" ? "/h" : null));
        Assert.Equal([Path.Combine("/h", ".config", "containers", "certs.d"), CertsDirectory.ContainersRoot, CertsDirectory.DockerRoot],
            CertsDirectory.Roots(n => n == "HOME" ? "/h" : null));
        Assert.Equal(["/etc/containers/certs.d", "/etc/docker/certs.d"], CertsDirectory.Roots(_ => null));
    }

    [Fact]
    public void The_first_root_with_a_directory_for_the_host_and_port_wins()
    {
        string first = Path.Combine(_dir, "first");
        string second = Path.Combine(_dir, "second");
        Directory.CreateDirectory(Path.Combine(first, "other:5000"));
        Directory.CreateDirectory(Path.Combine(second, "r:5000"));
        Directory.CreateDirectory(Path.Combine(second, "r"));

        Assert.Equal(Path.Combine(second, "r:5000"), CertsDirectory.Find("r:5000", [first, second]));
        Assert.Equal(Path.Combine(second, "r"), CertsDirectory.Find("r", [first, second]));
        Assert.Null(CertsDirectory.Find("r:5001", [first, second, Path.Combine(_dir, "missing")]));
    }

    [Fact]
    public void A_registrys_directory_is_found_under_xdg_config_home_and_its_files_load()
    {
        var ca = TestPki.Ca("skiff test CA");
        using var client = TestPki.Leaf(ca, "skiff client", serverAuth: false);
        string dir = Path.Combine(_dir, "containers", "certs.d", "127.0.0.1:5000");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "ca.crt"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "client.cert"), client.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "client.key"), client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var trust = RegistryTrust.For(RegistryEndpoint.For("127.0.0.1:5000"), env: n => n == "XDG_CONFIG_HOME" ? _dir : null);

        Assert.Equal(dir, trust.Certs?.Path);
        Assert.Equal(1, trust.ClientCertificateCount);
    }

    [Fact]
    public void A_crt_that_holds_no_certificate_is_an_error_naming_it()
    {
        string dir = Path.Combine(_dir, "r:1");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "ca.crt"), "not a certificate\n");

        var e = Assert.Throws<SkiffException>(() => RegistryTrust.For(RegistryEndpoint.For("r:1"), certDirectory: dir));

        Assert.Equal($"{dir}/ca.crt holds no certificate (a CA file must be PEM or DER)", e.Message);
    }

    [Fact]
    public void A_der_crt_loads_and_a_missing_cert_dir_is_an_error()
    {
        var ca = TestPki.Ca("der CA");
        string file = Path.Combine(_dir, "ca.crt");
        File.WriteAllBytes(file, ca.Export(X509ContentType.Cert));

        Assert.Single(RegistryTrust.LoadCertificates(file));
        var e = Assert.Throws<SkiffException>(() => RegistryTrust.For(RegistryEndpoint.For("r:1"), certDirectory: Path.Combine(_dir, "nope")));
        Assert.Contains("does not exist", e.Message);
    }
}

/// <summary>The verdict on a server certificate: the system's, else a chain to the certs.d CAs; Go's wording when refused.</summary>
public sealed class RegistryTrustVerdictTests
{
    private static (X509Chain Chain, SslPolicyErrors Errors) SystemVerdict(X509Certificate2 leaf)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return (chain, chain.Build(leaf) ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
    }

    [Fact]
    public void A_certificate_signed_by_a_certs_d_ca_is_trusted()
    {
        var ca = TestPki.Ca("extra CA");
        using var leaf = TestPki.Leaf(ca, "127.0.0.1");
        var (chain, errors) = SystemVerdict(leaf);
        using var _ = chain;

        Assert.Equal(SslPolicyErrors.RemoteCertificateChainErrors, errors);
        Assert.Null(RegistryTrust.Verdict(leaf, chain, errors, [ca], "127.0.0.1"));
    }

    [Fact]
    public void An_unknown_authority_is_refused_in_gos_words()
    {
        var ca = TestPki.Ca("their CA");
        var other = TestPki.Ca("some other CA");
        using var leaf = TestPki.Leaf(ca, "127.0.0.1");
        var (chain, errors) = SystemVerdict(leaf);
        using var _ = chain;

        var none = RegistryTrust.Verdict(leaf, chain, errors, [], "127.0.0.1");
        var wrong = RegistryTrust.Verdict(leaf, chain, errors, [other], "127.0.0.1");

        Assert.Equal(new RegistryTrust.Rejection("127.0.0.1", "x509: certificate signed by unknown authority", true), none);
        Assert.Equal(none, wrong);
    }

    [Fact]
    public void A_name_mismatch_says_which_names_the_certificate_holds()
    {
        var ca = TestPki.Ca("CA");
        using var leaf = TestPki.Leaf(ca, "registry.lan");

        var r = RegistryTrust.Verdict(leaf, null, SslPolicyErrors.RemoteCertificateNameMismatch, [ca], "10.0.0.9");

        Assert.Equal("x509: certificate is valid for registry.lan, 127.0.0.1, not 10.0.0.9", r?.Reason);
    }

    [Fact]
    public void A_tls_alert_from_the_server_is_told_as_go_tells_it()
    {
        var e = new HttpRequestException("An error occurred while sending the request.",
            new IOException("The decryption operation failed, see inner exception.",
                new CryptographicException("error:0A000412:SSL routines::sslv3 alert bad certificate")));

        Assert.Equal("bad certificate", RegistryClient.RemoteAlert(e));
        Assert.Equal("remote error: tls: bad certificate", RegistryClient.Describe(e));
        Assert.Null(RegistryClient.RemoteAlert(new HttpRequestException("Connection refused")));
    }

    [Fact]
    public void An_expired_certificate_is_refused_as_expired()
    {
        var ca = TestPki.Ca("CA");
        using var leaf = TestPki.Leaf(ca, "127.0.0.1", notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        var (chain, errors) = SystemVerdict(leaf);
        using var _ = chain;

        Assert.Equal("x509: certificate has expired or is not yet valid", RegistryTrust.Verdict(leaf, chain, errors, [ca], "127.0.0.1")?.Reason);
    }
}

/// <summary>Small certificates made in memory for the trust tests.</summary>
internal static class TestPki
{
    public static X509Certificate2 Ca(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>A leaf for DNS name (and 127.0.0.1), signed by ca, with its private key.</summary>
    public static X509Certificate2 Leaf(X509Certificate2 ca, string name, bool serverAuth = true, DateTimeOffset? notAfter = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(name, out var ip))
        {
            san.AddIpAddress(ip);
        }
        else
        {
            san.AddDnsName(name);
            san.AddIpAddress(IPAddress.Loopback);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var end = notAfter ?? DateTimeOffset.UtcNow.AddDays(10);
        var start = notAfter is null ? DateTimeOffset.UtcNow.AddDays(-1) : end.AddDays(-5);
        byte[] serial = Guid.NewGuid().ToByteArray()[..8];
        serial[0] &= 0x7f;
        using var signed = request.Create(ca, start, end, serial);
        return signed.CopyWithPrivateKey(key);
    }
}
