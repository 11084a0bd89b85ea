using Skiff.Engine.Volumes;

namespace Skiff.Engine.Containers;

/// <summary>
/// What dockerd checks when a container is created, word for word, for `skiff create|run`
/// and POST /containers/create alike: the name, the hostname, resources, capabilities and
/// the stop signal.
/// </summary>
public static class ContainerChecks
{
    /// <summary>All of the create-time checks; name may be null (a generated one).</summary>
    public static void Check(string? name, ContainerConfig config, HostConfig host)
    {
        if (name is not null)
        {
            CheckName(name);
        }
        CheckHostname(config.Hostname);
        CheckResources(host);
        CheckCapabilities(host.CapAdd);
        CheckCapabilities(host.CapDrop);
        if (config.StopSignal is { } signal)
        {
            try
            {
                Skiff.Linux.Signals.Parse(signal);
            }
            catch (SkiffException)
            {
                throw SkiffException.Invalid($"Invalid signal: {signal}");
            }
        }
    }

    /// <summary>Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' allowed).</summary>
    public static void CheckName(string name)
    {
        string n = name.StartsWith('/') ? name[1..] : name;
        if (!VolumeNames.IsValid(n))
        {
            throw SkiffException.Invalid($"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }
    }

    /// <summary>The kernel's limit (HOST_NAME_MAX); Docker leaves the rest to sethostname.</summary>
    public static void CheckHostname(string hostname)
    {
        if (hostname.Length > 64 || hostname.Contains('/') || hostname.Contains('\0'))
        {
            throw SkiffException.Invalid($"invalid hostname \"{hostname}\": at most 64 characters, no '/'");
        }
    }

    /// <summary>The daemon's resource checks (verifyPlatformContainerResources), word for word.</summary>
    public static void CheckResources(HostConfig host)
    {
        if (host.Memory != 0 && host.Memory < 6 * 1024 * 1024)
        {
            throw SkiffException.Invalid("Minimum memory limit allowed is 6MB");
        }
        if (host.Memory > 0 && host.MemorySwap > 0 && host.MemorySwap < host.Memory)
        {
            throw SkiffException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        }
        if (host.Memory == 0 && host.MemorySwap > 0)
        {
            throw SkiffException.Invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
        }
        int cpus = Environment.ProcessorCount;
        if (host.NanoCpus < 0 || host.NanoCpus > cpus * 1_000_000_000L)
        {
            throw SkiffException.Invalid($"Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available");
        }
    }

    /// <summary>The daemon's NormalizeLegacyCapabilities check: CAP_ optional, any case, ALL allowed.</summary>
    public static void CheckCapabilities(List<string>? caps)
    {
        foreach (var raw in caps ?? [])
        {
            string c = raw.ToUpperInvariant();
            if (c == "ALL")
            {
                continue;
            }
            if (!c.StartsWith("CAP_", StringComparison.Ordinal))
            {
                c = "CAP_" + c;
            }
            if (Array.IndexOf(Skiff.Linux.CapabilitySet.Names, c) < 0)
            {
                throw SkiffException.Invalid($"unknown capability: \"{c}\"");
            }
        }
    }
}
