namespace Skiff.Cli.CommandLine;

public enum FlagKind
{
    /// <summary>--rm, -i; takes =true/=false when attached.</summary>
    Bool,
    /// <summary>--workdir DIR; the last one wins.</summary>
    Value,
    /// <summary>-e K=V; every occurrence is kept, in order.</summary>
    List,
}

/// <summary>One flag a verb accepts, as Docker's CLI (pflag) spells it.</summary>
public sealed record FlagSpec(string Name, char Short, FlagKind Kind, string Help, string? ValueName = null)
{
    public const char NoShort = '\0';

    public static FlagSpec Bool(string name, char shortName, string help) => new(name, shortName, FlagKind.Bool, help);
    public static FlagSpec Value(string name, char shortName, string valueName, string help) => new(name, shortName, FlagKind.Value, help, valueName);
    public static FlagSpec List(string name, char shortName, string valueName, string help) => new(name, shortName, FlagKind.List, help, valueName);
}
