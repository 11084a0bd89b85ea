using System.Security.Cryptography;

namespace Skiff.Images;

/// <summary>A content digest, "sha256:" and 64 lower-case hex digits: the only algorithm skiff stores.</summary>
public readonly record struct Digest(string Hex)
{
    public const string Prefix = "sha256:";

    public override string ToString() => Prefix + Hex;

    public string Short => Hex[..12];

    public static bool TryParse(string? text, out Digest digest)
    {
        digest = default;
        if (text is null || text.Length != Prefix.Length + 64 || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        foreach (char c in text.AsSpan(Prefix.Length))
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }
        digest = new Digest(text[Prefix.Length..]);
        return true;
    }

    public static Digest Parse(string? text, string what) =>
        TryParse(text, out var d) ? d : throw SkiffException.Invalid($"invalid {what} digest \"{text}\": expected sha256: and 64 hex digits");

    public static Digest Of(ReadOnlySpan<byte> data) => new(Convert.ToHexStringLower(SHA256.HashData(data)));

    /// <summary>chainID(n) = sha256(chainID(n-1) + " " + diffID(n)); the first layer's is its diffID.</summary>
    public static Digest Chain(Digest? parent, Digest diffId) =>
        parent is { } p ? Of(System.Text.Encoding.ASCII.GetBytes(p + " " + diffId)) : diffId;
}
