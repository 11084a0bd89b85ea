using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Skiff.IntegrationTests.Support;

namespace Skiff.IntegrationTests.Images;

/// <summary>
/// What a registry serves HTTPS with: its certificate and key, and for mutual TLS the CA
/// its clients' certificates must chain to (with a client pair the start-up check uses).
/// </summary>
public sealed record RegistryTlsFiles(string Certificate, string Key, string? ClientCa = null, string? ClientCertificate = null, string? ClientKey = null);

/// <summary>
/// Debian's docker-registry on 127.0.0.1 with a free port, a temporary config and
/// storage directory; with htpasswd auth when a user is given, HTTPS when given a
/// certificate. Killed on dispose.
/// </summary>
public sealed class RegistryServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly RegistryTlsFiles? _tls;

    private RegistryServer(string dir, int port, Process process, RegistryTlsFiles? tls)
    {
        Dir = dir;
        Port = port;
        _process = process;
        _tls = tls;
    }

    public string Dir { get; }
    public int Port { get; }

    /// <summary>127.0.0.1:PORT, the registry part of image names.</summary>
    public string Host => $"127.0.0.1:{Port}";

    public string StorageDir => Path.Combine(Dir, "data");

    /// <summary>Where the registry keeps a blob: docker/registry/v2/blobs/sha256/XX/HEX/data.</summary>
    public string BlobPath(string digest)
    {
        string hex = digest["sha256:".Length..];
        return Path.Combine(StorageDir, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task<RegistryServer> StartAsync(string? user = null, string? password = null, RegistryTlsFiles? tls = null)
    {
        string dir = Directory.CreateTempSubdirectory("skiff-registry-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        string auth = "";
        if (user is not null)
        {
            var hash = (await HostProcess.RunAsync(["htpasswd", "-Bbn", user, password!])).AssertExit(0);
            await File.WriteAllTextAsync(Path.Combine(dir, "htpasswd"), hash.Stdout.Trim() + "\n");
            auth = $"""
                auth:
                  htpasswd:
                    realm: skiff-test
                    path: {Path.Combine(dir, "htpasswd")}
                """;
        }
        string tlsConfig = tls is null ? "" : $"\n  tls:\n    certificate: {tls.Certificate}\n    key: {tls.Key}"
            + (tls.ClientCa is null ? "" : $"\n    clientcas:\n      - {tls.ClientCa}");
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            await File.WriteAllTextAsync(Path.Combine(dir, "config.yml"), $"""
                version: 0.1
                log:
                  level: error
                storage:
                  filesystem:
                    rootdirectory: {Path.Combine(dir, "data")}
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:{port}{tlsConfig}
                {auth}
                """);
            var psi = new ProcessStartInfo("docker-registry")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("serve");
            psi.ArgumentList.Add(Path.Combine(dir, "config.yml"));
            var process = Process.Start(psi)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new RegistryServer(dir, port, process, tls);
            if (await server.WaitUntilUpAsync())
            {
                return server;
            }
            await server.DisposeAsync();
            Assert.True(attempt < 3, $"docker-registry did not come up on 127.0.0.1:{port}");
            dir = Directory.CreateTempSubdirectory("skiff-registry-").FullName;
            Directory.CreateDirectory(Path.Combine(dir, "data"));
        }
    }

    private async Task<bool> WaitUntilUpAsync()
    {
        var handler = new SocketsHttpHandler();
        if (_tls is not null)
        {
            // Any certificate will do here: trust is what the tests themselves check.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            if (_tls.ClientCertificate is not null)
            {
                handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(_tls.ClientCertificate, _tls.ClientKey)];
            }
        }
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        string scheme = _tls is null ? "http" : "https";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (_process.HasExited)
            {
                return false;
            }
            try
            {
                using var r = await http.GetAsync($"{scheme}://{Host}/v2/");
                if (r.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(50);
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }
}

/// <summary>Two registries for a test class: one open, one behind htpasswd (user "skiff", password "s3cret").</summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    public const string User = "skiff";
    public const string Password = "s3cret";

    public RegistryServer Open { get; private set; } = null!;
    public RegistryServer Auth { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Open = await RegistryServer.StartAsync();
        Auth = await RegistryServer.StartAsync(User, Password);
    }

    public async Task DisposeAsync()
    {
        if (Open is not null)
        {
            await Open.DisposeAsync();
        }
        if (Auth is not null)
        {
            await Auth.DisposeAsync();
        }
    }
}
