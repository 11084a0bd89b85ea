using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>
/// Certificates made with openssl(1) in a temporary directory (world-readable, so the
/// rootless user can copy them): a CA; a server certificate for 127.0.0.1 and localhost
/// and a client certificate (client.cert, client.key), both signed by it; and a second,
/// unrelated CA under rogue/.
/// </summary>
public sealed class OpensslPki : IDisposable
{
    private OpensslPki(string dir) => Dir = dir;

    public string Dir { get; }
    public string CaCertificate => Path.Combine(Dir, "ca.crt");
    public string ServerCertificate => Path.Combine(Dir, "server.crt");
    public string ServerKey => Path.Combine(Dir, "server.key");
    public string ClientCertificate => Path.Combine(Dir, "client.cert");
    public string ClientKey => Path.Combine(Dir, "client.key");
    public string RogueCaCertificate => Path.Combine(Dir, "rogue", "ca.crt");

    public static async Task<OpensslPki> CreateAsync()
    {
        var pki = new OpensslPki(Directory.CreateTempSubdirectory("skiff-pki-").FullName);
        Directory.CreateDirectory(Path.Combine(pki.Dir, "rogue"));
        await pki.CaAsync("ca", "skiff test CA");
        await pki.CaAsync("rogue/ca", "skiff rogue CA");
        await pki.SignedAsync("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        await pki.SignedAsync("client", "skiff test client", "extendedKeyUsage=clientAuth\n", certificateExtension: ".cert");
        SkiffInstall.MakeWorldReadable(pki.Dir);
        foreach (var f in Directory.GetFiles(pki.Dir, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(f, (UnixFileMode)0b110_100_100);
        }
        return pki;
    }

    private static readonly string[] EcKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

    private async Task CaAsync(string name, string subject) =>
        (await HostProcess.RunAsync(["openssl", "req", "-x509", .. EcKey, "-keyout", Path.Combine(Dir, name + ".key"),
            "-out", Path.Combine(Dir, name + ".crt"), "-days", "2", "-subj", "/CN=" + subject,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])).AssertExit(0);

    private async Task SignedAsync(string name, string subject, string extensions, string certificateExtension = ".crt")
    {
        string csr = Path.Combine(Dir, name + ".csr");
        string ext = Path.Combine(Dir, name + ".ext");
        await File.WriteAllTextAsync(ext, "basicConstraints=CA:FALSE\n" + extensions);
        (await HostProcess.RunAsync(["openssl", "req", "-new", .. EcKey, "-keyout", Path.Combine(Dir, name + ".key"),
            "-out", csr, "-subj", "/CN=" + subject])).AssertExit(0);
        (await HostProcess.RunAsync(["openssl", "x509", "-req", "-in", csr, "-CA", CaCertificate, "-CAkey", Path.Combine(Dir, "ca.key"),
            "-CAcreateserial", "-out", Path.Combine(Dir, name + certificateExtension), "-days", "2", "-extfile", ext])).AssertExit(0);
        File.Delete(csr);
        File.Delete(ext);
    }

    /// <summary>A certs.d-style directory at dir holding the given files of this PKI under the given names.</summary>
    public static string Populate(string dir, params (string Source, string Name)[] files)
    {
        Directory.CreateDirectory(dir);
        foreach (var (source, name) in files)
        {
            File.Copy(source, Path.Combine(dir, name), overwrite: true);
        }
        SkiffInstall.MakeWorldReadable(dir);
        return dir;
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
