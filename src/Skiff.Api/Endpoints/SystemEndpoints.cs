using System.Globalization;
using System.Runtime.InteropServices;
using Skiff.Api.Json;
using Skiff.Api.Routing;
using Skiff.Images;
using Skiff.Images.Registry;
using Skiff.Linux;

namespace Skiff.Api.Endpoints;

/// <summary>/_ping, /version and /info: what every docker command asks first, and the host as the daemon sees it.</summary>
public static class SystemEndpoints
{
    public static void Map(Router routes, Daemon daemon)
    {
        routes.Get("/_ping", Ping);
        routes.Head("/_ping", Ping);
        routes.Get("/version", c => Version(c, daemon));
        routes.Get("/info", c => Info(c, daemon));
        routes.Post("/auth", Auth);
    }

    /// <summary>docker login: the credentials are tried against the registry; the CLI keeps them, the daemon does not.</summary>
    private static async Task Auth(ApiContext c)
    {
        var auth = await c.ReadJsonAsync(ApiJson.Default.AuthConfig) ?? throw SkiffException.Invalid("the request body must hold the credentials");
        string registry = RegistryCredentials.HostOf(string.IsNullOrEmpty(auth.ServerAddress) ? ImageReference.DockerHub : auth.ServerAddress);
        if (string.IsNullOrEmpty(auth.Username) || auth.Password is null)
        {
            throw SkiffException.Invalid("login needs a username and a password");
        }
        using (var client = new RegistryClient(RegistryEndpoint.Configured(registry), new Credential(auth.Username, auth.Password)))
        {
            await RegistryClient.RunAsync(registry, async () =>
            {
                await client.PingAsync(c.Aborted);
                return true;
            });
        }
        await c.JsonAsync(new AuthResponse { Status = "Login Succeeded" }, ApiJson.Default.AuthResponse);
    }

    /// <summary>The CLI negotiates its API version from these headers (HEAD first, GET when HEAD fails).</summary>
    private static Task Ping(ApiContext c)
    {
        var h = c.Response.Headers;
        h.Set("API-Version", ApiVersion.Current);
        h.Set("OSType", "linux");
        h.Set("Docker-Experimental", "false");
        h.Set("Builder-Version", "1");
        h.Set("Swarm", "inactive");
        h.Set("Cache-Control", "no-cache, no-store, must-revalidate");
        h.Set("Pragma", "no-cache");
        return c.TextAsync("OK");
    }

    public static string Arch => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        var a => a.ToString().ToLowerInvariant(),
    };

    /// <summary>uname -m, as Docker's Architecture field shows it.</summary>
    private static string Machine => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "aarch64",
        var a => a.ToString().ToLowerInvariant(),
    };

    private static Task Version(ApiContext c, Daemon daemon)
    {
        string kernel = KernelProbe.KernelRelease();
        string runtime = ".NET " + Environment.Version;
        var v = new VersionResponse
        {
            Platform = new PlatformName { Name = "skiff " + daemon.Version },
            Version = daemon.Version,
            ApiVersion = ApiVersion.Current,
            MinAPIVersion = ApiVersion.Minimum,
            GitCommit = daemon.Commit,
            GoVersion = runtime,
            Os = "linux",
            Arch = Arch,
            KernelVersion = kernel,
            Components =
            [
                new VersionComponent
                {
                    Name = "Engine",
                    Version = daemon.Version,
                    Details = new Dictionary<string, string>
                    {
                        ["ApiVersion"] = ApiVersion.Current,
                        ["MinAPIVersion"] = ApiVersion.Minimum,
                        ["GitCommit"] = daemon.Commit,
                        ["GoVersion"] = runtime,
                        ["Os"] = "linux",
                        ["Arch"] = Arch,
                        ["KernelVersion"] = kernel,
                        ["Experimental"] = "false",
                        ["BuildTime"] = "",
                    },
                },
            ],
        };
        return c.JsonAsync(v, ApiJson.Default.VersionResponse);
    }

    private static Task Info(ApiContext c, Daemon daemon)
    {
        var cgroups = CgroupLayout.Detect(ReadOrNull("/proc/self/mountinfo"));
        bool limits = cgroups == CgroupVersion.V2 || !daemon.Rootless && cgroups is CgroupVersion.V1 or CgroupVersion.Hybrid;
        var (osName, osVersion) = OsRelease();
        var counts = daemon.ContainerCounts();
        var info = new SystemInfo
        {
            ID = EngineId(daemon),
            Containers = counts.Running + counts.Paused + counts.Stopped,
            ContainersRunning = counts.Running,
            ContainersPaused = counts.Paused,
            ContainersStopped = counts.Stopped,
            Images = daemon.Images.ReadIndex().Images.Count,
            Driver = "overlay",
            DriverStatus = [["userxattr", daemon.Rootless ? "true" : "false"]],
            Plugins = new PluginsInfo { Volume = ["local"], Network = ["host", "none"], Log = ["json-file"] },
            MemoryLimit = limits,
            CpuCfsPeriod = limits,
            CpuCfsQuota = limits,
            CPUShares = limits,
            CPUSet = limits,
            PidsLimit = limits,
            IPv4Forwarding = ReadOrNull("/proc/sys/net/ipv4/ip_forward")?.Trim() == "1",
            NFd = CountEntries("/proc/self/fd"),
            NGoroutines = CountEntries("/proc/self/task"),
            SystemTime = DateTimeOffset.Now.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture),
            CgroupDriver = cgroups == CgroupVersion.None ? "none" : "cgroupfs",
            CgroupVersion = cgroups switch
            {
                CgroupVersion.V2 => "2",
                CgroupVersion.V1 or CgroupVersion.Hybrid => "1",
                _ => "",
            },
            KernelVersion = KernelProbe.KernelRelease(),
            OperatingSystem = osName,
            OSVersion = osVersion,
            OSType = "linux",
            Architecture = Machine,
            NCPU = Environment.ProcessorCount,
            MemTotal = MemTotal(),
            DockerRootDir = daemon.Paths.Root,
            HttpProxy = Environment.GetEnvironmentVariable("HTTP_PROXY") ?? Environment.GetEnvironmentVariable("http_proxy") ?? "",
            HttpsProxy = Environment.GetEnvironmentVariable("HTTPS_PROXY") ?? Environment.GetEnvironmentVariable("https_proxy") ?? "",
            NoProxy = Environment.GetEnvironmentVariable("NO_PROXY") ?? Environment.GetEnvironmentVariable("no_proxy") ?? "",
            Name = Environment.MachineName,
            ServerVersion = daemon.Version,
            Runtimes = new Dictionary<string, RuntimeInfo> { ["skiff"] = new RuntimeInfo { Path = Environment.ProcessPath ?? "skiff" } },
            DefaultRuntime = "skiff",
            // Containers belong to their supervisors, not to the daemon: they outlive it, as live-restore promises.
            LiveRestoreEnabled = true,
            SecurityOptions = daemon.Rootless ? ["name=rootless", "name=seccomp,profile=builtin"] : ["name=seccomp,profile=builtin"],
            RegistryConfig = new RegistryServiceConfig
            {
                InsecureRegistryCIDRs = ["127.0.0.0/8", "::1/128"],
                IndexConfigs = new Dictionary<string, IndexInfo>
                {
                    ["docker.io"] = new IndexInfo { Name = "docker.io", Secure = true, Official = true },
                },
            },
            Warnings = Warnings(daemon, cgroups),
        };
        return c.JsonAsync(info, ApiJson.Default.SystemInfo);
    }

    private static List<string> Warnings(Daemon daemon, CgroupVersion cgroups)
    {
        var warnings = new List<string>();
        if (cgroups == CgroupVersion.None)
        {
            warnings.Add("WARNING: no cgroup hierarchy is mounted: resource limits are refused");
        }
        if (daemon.Rootless)
        {
            try
            {
                if (IdMappingResolver.ForCurrentUser().Warning is { } w)
                {
                    warnings.Add("WARNING: " + w);
                }
            }
            catch (Exception e) when (e is SkiffException or IOException)
            {
                warnings.Add("WARNING: the id mapping could not be read: " + e.Message);
            }
        }
        return warnings;
    }

    /// <summary>A stable ID per host and storage root, as dockerd keeps one per data root (FNV-1a: no need to load OpenSSL for it).</summary>
    private static string EngineId(Daemon daemon)
    {
        byte[] key = System.Text.Encoding.UTF8.GetBytes(Environment.MachineName + ":" + daemon.Paths.Root);
        ulong a = 14695981039346656037UL, b = 14695981039346656037UL ^ 0x5bd1e995UL;
        foreach (byte x in key)
        {
            a = (a ^ x) * 1099511628211UL;
            b = (b ^ x) * 1099511628211UL ^ (b >> 29);
        }
        string hex = a.ToString("x16", CultureInfo.InvariantCulture) + b.ToString("x16", CultureInfo.InvariantCulture);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}";
    }

    private static (string Name, string Version) OsRelease()
    {
        string? text = ReadOrNull("/etc/os-release") ?? ReadOrNull("/usr/lib/os-release");
        string name = "Linux", version = "";
        foreach (var line in (text ?? "").Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }
            string value = line[(eq + 1)..].Trim().Trim('"');
            switch (line[..eq])
            {
                case "PRETTY_NAME":
                    name = value;
                    break;
                case "VERSION_ID":
                    version = value;
                    break;
            }
        }
        return (name, version);
    }

    private static long MemTotal()
    {
        foreach (var line in (ReadOrNull("/proc/meminfo") ?? "").Split('\n'))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var digits = line["MemTotal:".Length..].Trim().Split(' ')[0];
                return long.TryParse(digits, CultureInfo.InvariantCulture, out long kb) ? kb * 1024 : 0;
            }
        }
        return 0;
    }

    private static int CountEntries(string dir)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries(dir).Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
