namespace Skiff.Cli.Commands;

/// <summary>-e as Docker reads it: KEY=VALUE as given, a bare KEY takes skiff's own value or is dropped.</summary>
public static class EnvironmentFlags
{
    public static List<string> Parse(IReadOnlyList<string> values, Func<string, string?> hostEnv)
    {
        var env = new List<string>(values.Count);
        foreach (var v in values)
        {
            int eq = v.IndexOf('=');
            string key = eq < 0 ? v : v[..eq];
            if (key.Length == 0 || key.Any(char.IsWhiteSpace) || key.Contains('\0') || v.Contains('\0'))
            {
                throw SkiffException.Invalid($"invalid environment variable: \"{v}\": use KEY=VALUE with a non-empty KEY and no spaces in it");
            }
            if (eq >= 0)
            {
                env.Add(v);
            }
            else if (hostEnv(key) is { } inherited)
            {
                env.Add(key + "=" + inherited);
            }
        }
        return env;
    }
}
