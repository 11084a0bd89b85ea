using System.Globalization;
using Skiff.Linux;

namespace Skiff.Engine.Containers;

/// <summary>
/// A container's capability set as Docker computes it (caps.TweakCapabilities): the
/// default set, or every capability this kernel knows with --privileged; --cap-add and
/// --cap-drop by name with or without CAP_, in any case, or ALL. As bit masks.
/// </summary>
public static class ContainerCapabilities
{
    public static readonly ulong DockerDefault = CapabilitySet.Mask(CapabilitySet.DockerDefault, "Docker's default capabilities");

    /// <summary>The highest capability this kernel has (/proc/sys/kernel/cap_last_cap).</summary>
    public static int LastCap { get; } = ReadLastCap();

    /// <summary>
    /// Every capability the kernel and skiff both know and skiff's own bounding set holds
    /// (Docker's GetAllCapabilities): a container cannot be given more than its runtime has.
    /// </summary>
    public static ulong All => _all ??= (LastCap >= 63 ? ulong.MaxValue : (1UL << (LastCap + 1)) - 1) & OwnBounding();

    private static ulong? _all;

    private static ulong OwnBounding()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapBnd:", StringComparison.Ordinal) &&
                    ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong mask))
                {
                    return mask;
                }
            }
        }
        catch (IOException)
        {
        }
        return ulong.MaxValue;
    }

    private static int ReadLastCap()
    {
        int known = CapabilitySet.Names.Length - 1;
        try
        {
            return int.TryParse(ProcFile.ReadAllText("/proc/sys/kernel/cap_last_cap").AsSpan().Trim(), NumberStyles.None,
                CultureInfo.InvariantCulture, out int last) ? Math.Min(last, known) : known;
        }
        catch (IOException)
        {
            return known;
        }
    }

    /// <summary>Checks --cap-add and --cap-drop the way Docker does at create, whatever --privileged says.</summary>
    public static void Validate(IReadOnlyList<string>? add, IReadOnlyList<string>? drop)
    {
        Normalize(add, "CapAdd", out _);
        Normalize(drop, "CapDrop", out _);
    }

    public static ulong Resolve(bool privileged, IReadOnlyList<string>? add, IReadOnlyList<string>? drop)
    {
        ulong adds = Normalize(add, "CapAdd", out bool addAll);
        ulong drops = Normalize(drop, "CapDrop", out bool dropAll);
        if (privileged)
        {
            return All;
        }
        if (addAll)
        {
            return All & ~drops;
        }
        if (dropAll)
        {
            return adds;
        }
        return (DockerDefault & ~drops) | adds;
    }

    private static ulong Normalize(IReadOnlyList<string>? names, string field, out bool all)
    {
        ulong mask = 0;
        all = false;
        int count = names?.Count ?? 0;
        for (int i = 0; i < count; i++)
        {
            string c = names![i].ToUpperInvariant();
            if (c == "ALL")
            {
                all = true;
                continue;
            }
            if (!c.StartsWith("CAP_", StringComparison.Ordinal))
            {
                c = "CAP_" + c;
            }
            int bit = Array.IndexOf(CapabilitySet.Names, c);
            if (bit < 0)
            {
                throw SkiffException.Invalid($"invalid {field}: unknown capability: \"{c}\"");
            }
            if (bit > LastCap || (All & (1UL << bit)) == 0)
            {
                throw SkiffException.Invalid($"invalid {field}: capability not supported by your kernel or not available in the current environment: \"{c}\"");
            }
            mask |= 1UL << bit;
        }
        return mask;
    }

    /// <summary>CAP_* names of a mask, in bit order.</summary>
    public static List<string> Names(ulong mask)
    {
        var names = new List<string>(System.Numerics.BitOperations.PopCount(mask));
        for (int bit = 0; bit < CapabilitySet.Names.Length; bit++)
        {
            if ((mask & (1UL << bit)) != 0)
            {
                names.Add(CapabilitySet.Names[bit]);
            }
        }
        return names;
    }
}
