using System.Reflection;
using Xunit.Sdk;

namespace Skiff.IntegrationTests.Support;

/// <summary>Who runs skiff: the test process itself, or an unprivileged user through runuser.</summary>
public enum Mode
{
    /// <summary>As root: rootful, no user namespace.</summary>
    Root,

    /// <summary>As skiff-test, which has subordinate ranges: container uids 0..65536 are mapped.</summary>
    Rootless,

    /// <summary>As skiff-nosub, which has none: a single mapping and a warning.</summary>
    RootlessNoSubIds,
}

/// <summary>Runs a theory once as root and once rootless (skiff-test).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BothModesAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) =>
        [[Mode.Root], [Mode.Rootless]];
}
