using Skiff.Api.Http;

namespace Skiff.Api.Routing;

/// <summary>Handles one matched request.</summary>
public delegate Task ApiHandler(ApiContext context);

/// <summary>
/// Method + path pattern to handler. Patterns are literal segments, "{name}" (one
/// segment) and at most one "{name...}" (one or more segments, for image names with
/// slashes: "/images/{name...}/json"). Paths may carry Docker's "/v1.NN" prefix. When
/// several patterns match, the one with more literal segments wins ("/images/json" over
/// "/images/{name...}"), then the one registered first.
/// </summary>
public sealed class Router
{
    private readonly List<Route> _routes = [];

    public void Map(string method, string pattern, ApiHandler handler) =>
        _routes.Add(new Route(method, RoutePattern.Parse(pattern), handler));

    public void Get(string pattern, ApiHandler handler) => Map("GET", pattern, handler);
    public void Post(string pattern, ApiHandler handler) => Map("POST", pattern, handler);
    public void Put(string pattern, ApiHandler handler) => Map("PUT", pattern, handler);
    public void Delete(string pattern, ApiHandler handler) => Map("DELETE", pattern, handler);
    public void Head(string pattern, ApiHandler handler) => Map("HEAD", pattern, handler);

    /// <summary>The handler for a request path (raw, percent-encoded), or null.</summary>
    public RouteMatch? Match(string method, string rawPath)
    {
        var (version, path) = ApiVersion.Split(rawPath);
        var segments = RoutePattern.Segments(path);
        RouteMatch? best = null;
        int bestScore = -1;
        foreach (var route in _routes)
        {
            if (route.Method != method)
            {
                continue;
            }
            var values = route.Pattern.Match(segments);
            if (values is null)
            {
                continue;
            }
            if (route.Pattern.LiteralCount > bestScore)
            {
                best = new RouteMatch(route.Handler, values, version, route.Pattern.Text);
                bestScore = route.Pattern.LiteralCount;
            }
        }
        return best;
    }

    /// <summary>True when some route has this path under another method (a 405, not a 404).</summary>
    public bool PathExists(string rawPath)
    {
        var segments = RoutePattern.Segments(ApiVersion.Split(rawPath).Path);
        return _routes.Exists(r => r.Pattern.Match(segments) is not null);
    }

    private sealed record Route(string Method, RoutePattern Pattern, ApiHandler Handler);
}

/// <summary>A matched route: its handler, the values of its {name} segments and the requested API version.</summary>
public sealed record RouteMatch(ApiHandler Handler, IReadOnlyDictionary<string, string> Values, string? Version, string Pattern);

/// <summary>A parsed route pattern.</summary>
public sealed class RoutePattern
{
    private readonly string[] _prefix;
    private readonly string? _rest;
    private readonly string[] _suffix;

    private RoutePattern(string text, string[] prefix, string? rest, string[] suffix)
    {
        Text = text;
        _prefix = prefix;
        _rest = rest;
        _suffix = suffix;
        LiteralCount = prefix.Concat(suffix).Count(s => !IsParameter(s));
    }

    public string Text { get; }

    public int LiteralCount { get; }

    public static RoutePattern Parse(string pattern)
    {
        if (!pattern.StartsWith('/'))
        {
            throw new ArgumentException($"route pattern \"{pattern}\" must start with /");
        }
        var parts = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int greedy = Array.FindIndex(parts, p => p.StartsWith('{') && p.EndsWith("...}", StringComparison.Ordinal));
        if (greedy >= 0 && Array.FindLastIndex(parts, p => p.EndsWith("...}", StringComparison.Ordinal)) != greedy)
        {
            throw new ArgumentException($"route pattern \"{pattern}\" has more than one {{name...}}");
        }
        if (greedy < 0)
        {
            return new RoutePattern(pattern, parts, null, []);
        }
        return new RoutePattern(pattern, parts[..greedy], parts[greedy][1..^4], parts[(greedy + 1)..]);
    }

    /// <summary>The path split on '/', each segment percent-decoded (a '+' stays a '+' in a path).</summary>
    public static string[] Segments(string path) =>
        path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(s => QueryString.Decode(s, plusIsSpace: false)).ToArray();

    public Dictionary<string, string>? Match(string[] segments)
    {
        int fixedCount = _prefix.Length + _suffix.Length;
        if (_rest is null ? segments.Length != fixedCount : segments.Length < fixedCount + 1)
        {
            return null;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!MatchAll(_prefix, segments.AsSpan(0, _prefix.Length), values)
            || !MatchAll(_suffix, segments.AsSpan(segments.Length - _suffix.Length), values))
        {
            return null;
        }
        if (_rest is not null)
        {
            values[_rest] = string.Join('/', segments[_prefix.Length..(segments.Length - _suffix.Length)]);
        }
        return values;
    }

    private static bool MatchAll(string[] pattern, ReadOnlySpan<string> segments, Dictionary<string, string> values)
    {
        for (int i = 0; i < pattern.Length; i++)
        {
            if (IsParameter(pattern[i]))
            {
                values[pattern[i][1..^1]] = segments[i];
            }
            else if (pattern[i] != segments[i])
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsParameter(string segment) => segment.StartsWith('{') && segment.EndsWith('}');
}

/// <summary>Docker's versioned paths: "/v1.47/images/json" is "/images/json" asked at API 1.47.</summary>
public static class ApiVersion
{
    /// <summary>What skiff speaks; the docker CLI negotiates down to it from the ping's API-Version.</summary>
    public const string Current = "1.47";

    /// <summary>The oldest version skiff claims (as dockerd 28 does).</summary>
    public const string Minimum = "1.24";

    public static (string? Version, string Path) Split(string rawPath)
    {
        // "/v" DIGITS ["." DIGITS] then "/" or the end.
        if (rawPath.Length < 3 || rawPath[0] != '/' || rawPath[1] != 'v' || !char.IsAsciiDigit(rawPath[2]))
        {
            return (null, rawPath);
        }
        int i = 2;
        while (i < rawPath.Length && char.IsAsciiDigit(rawPath[i]))
        {
            i++;
        }
        if (i < rawPath.Length && rawPath[i] == '.')
        {
            i++;
            int digits = i;
            while (i < rawPath.Length && char.IsAsciiDigit(rawPath[i]))
            {
                i++;
            }
            if (i == digits)
            {
                return (null, rawPath);
            }
        }
        if (i < rawPath.Length && rawPath[i] != '/')
        {
            return (null, rawPath);
        }
        string rest = rawPath[i..];
        return (rawPath[2..i], rest.Length == 0 ? "/" : rest);
    }

    /// <summary>Compares "1.41" and "1.47" as numbers; a missing version counts as the current one.</summary>
    public static int Compare(string? a, string? b)
    {
        var (am, an) = Parts(a ?? Current);
        var (bm, bn) = Parts(b ?? Current);
        return am != bm ? am.CompareTo(bm) : an.CompareTo(bn);
    }

    private static (int Major, int Minor) Parts(string v)
    {
        int dot = v.IndexOf('.');
        int major = int.TryParse(dot < 0 ? v : v[..dot], out int m) ? m : 0;
        int minor = dot >= 0 && int.TryParse(v[(dot + 1)..], out int n) ? n : 0;
        return (major, minor);
    }
}
