using System.Globalization;
using System.Text;

namespace Skiff.Api.Http;

/// <summary>
/// The query of a request: "a=1&amp;b=x%2Fy&amp;names=a&amp;names=b", percent-decoded, '+' as
/// space, repeated keys kept in order. Booleans read as Docker's daemon reads them.
/// </summary>
public sealed class QueryString
{
    private readonly List<KeyValuePair<string, string>> _pairs;

    private QueryString(List<KeyValuePair<string, string>> pairs) => _pairs = pairs;

    public static QueryString Empty { get; } = new([]);

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public static QueryString Parse(string query)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            string key = Decode(eq < 0 ? part : part[..eq]);
            string value = eq < 0 ? "" : Decode(part[(eq + 1)..]);
            pairs.Add(new(key, value));
        }
        return new QueryString(pairs);
    }

    /// <summary>Percent-decoding of UTF-8 bytes; '+' is a space in a query; a broken escape stays as it is.</summary>
    public static string Decode(string s, bool plusIsSpace = true)
    {
        if (s.IndexOf('%') < 0 && (!plusIsSpace || s.IndexOf('+') < 0))
        {
            return s;
        }
        // Request targets are ASCII (the head parser refuses other bytes), so each char is one byte.
        var bytes = new byte[s.Length];
        int n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '%' && i + 2 < s.Length
                && byte.TryParse(s.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                bytes[n++] = b;
                i += 2;
            }
            else
            {
                bytes[n++] = c == '+' && plusIsSpace ? (byte)' ' : (byte)c;
            }
        }
        return Encoding.UTF8.GetString(bytes, 0, n);
    }

    public bool Has(string key) => _pairs.Exists(p => p.Key == key);

    /// <summary>The last value of a key (Go's url.Values.Get takes the first; docker never repeats the scalars).</summary>
    public string? Get(string key)
    {
        for (int i = _pairs.Count - 1; i >= 0; i--)
        {
            if (_pairs[i].Key == key)
            {
                return _pairs[i].Value;
            }
        }
        return null;
    }

    public IReadOnlyList<string> All(string key) => _pairs.Where(p => p.Key == key).Select(p => p.Value).ToList();

    /// <summary>Docker's BoolValue: present and not "", "0", "no", "false" or "none" (any case).</summary>
    public bool Bool(string key)
    {
        string? v = Get(key);
        if (v is null)
        {
            return false;
        }
        v = v.Trim().ToLowerInvariant();
        return v is not ("" or "0" or "no" or "false" or "none");
    }

    /// <summary>Like Bool, but absent means the given default (Docker's BoolValueOrDefault).</summary>
    public bool Bool(string key, bool whenAbsent) => Get(key) is null ? whenAbsent : Bool(key);

    public int? Int(string key)
    {
        string? v = Get(key);
        if (string.IsNullOrEmpty(v))
        {
            return null;
        }
        return int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw SkiffException.Invalid($"invalid value for {key}: \"{v}\" is not an integer");
    }
}
