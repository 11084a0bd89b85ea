namespace Skiff.Images.Registry;

/// <summary>
/// One WWW-Authenticate challenge: a scheme (Bearer, Basic) and its parameters
/// (realm, service, scope), as RFC 7235 writes them: name=value or name="quoted value".
/// </summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? Realm => Parameters.GetValueOrDefault("realm");
    public string? Service => Parameters.GetValueOrDefault("service");
    public string? Scope => Parameters.GetValueOrDefault("scope");

    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);
    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses one header value; null when it names no scheme.</summary>
    public static AuthChallenge? Parse(string? header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }
        string h = header.Trim();
        int sp = h.IndexOf(' ');
        string scheme = sp < 0 ? h : h[..sp];
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = sp < 0 ? h.Length : sp + 1;
        while (i < h.Length)
        {
            while (i < h.Length && (h[i] == ' ' || h[i] == ','))
            {
                i++;
            }
            int eq = h.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }
            string name = h[i..eq].Trim();
            i = eq + 1;
            var value = new System.Text.StringBuilder();
            if (i < h.Length && h[i] == '"')
            {
                i++;
                while (i < h.Length && h[i] != '"')
                {
                    if (h[i] == '\\' && i + 1 < h.Length)
                    {
                        i++;
                    }
                    value.Append(h[i]);
                    i++;
                }
                i++;
            }
            else
            {
                while (i < h.Length && h[i] != ',')
                {
                    value.Append(h[i]);
                    i++;
                }
            }
            if (name.Length > 0)
            {
                parameters[name] = value.ToString().Trim();
            }
        }
        return new AuthChallenge(scheme, parameters);
    }
}
