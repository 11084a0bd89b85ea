using System.Globalization;

namespace Skiff.Runtime;

/// <summary>
/// Where skiff keeps things (ARCHITECTURE.md): storage under $XDG_DATA_HOME/skiff or
/// ~/.local/share/skiff as a user and /var/lib/skiff as root; --root or SKIFF_ROOT override.
/// </summary>
public sealed record SkiffPaths(string Root)
{
    public string Containers => Path.Combine(Root, "containers");

    public static SkiffPaths Resolve(string? rootFlag, bool isRoot, Func<string, string?> env)
    {
        string? root = rootFlag ?? NonEmpty(env("SKIFF_ROOT"));
        if (root is null)
        {
            if (isRoot)
            {
                root = "/var/lib/skiff";
            }
            else
            {
                string? data = NonEmpty(env("XDG_DATA_HOME"));
                string home = NonEmpty(env("HOME")) ?? throw SkiffException.Invalid("HOME is not set: set HOME, XDG_DATA_HOME or --root");
                root = Path.Combine(data ?? Path.Combine(home, ".local", "share"), "skiff");
            }
        }
        if (!Path.IsPathRooted(root))
        {
            root = Path.GetFullPath(root);
        }
        return new SkiffPaths(root);
    }

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    public static string NewContainerId()
    {
        // getrandom(2) directly: System.Security.Cryptography would load OpenSSL, milliseconds on the hot path.
        Span<byte> b = stackalloc byte[32];
        Interop.Libc.GetRandom(b);
        return Convert.ToHexStringLower(b);
    }

    public static string ShortId(string id) => id.Length > 12 ? id[..12] : id;

    public static string Format(uint v) => v.ToString(CultureInfo.InvariantCulture);
}
