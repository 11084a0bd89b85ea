namespace Skiff.Linux;

/// <summary>The moment between clone3 and the child's own work: id maps, then the go byte.</summary>
public static class ChildStart
{
    /// <summary>
    /// Runs prepare (e.g. open the child's namespaces), writes the id maps and sends the go
    /// byte; if any of that fails, the child is released without it and reaped. Returns the
    /// child's exec report: null when it reached execve, else its failure (the child reaped).
    /// </summary>
    public static ChildFailure? MapAndGo(ISyscalls sys, LaunchedChild child, IdMapping mapping, Action? prepare = null)
    {
        try
        {
            prepare?.Invoke();
            IdMapWriter.Apply(sys, child.Pid, mapping);
        }
        catch
        {
            sys.Release(child, go: false);
            sys.Wait(child);
            throw;
        }
        sys.Release(child, go: true);
        var failure = sys.AwaitExec(child);
        if (failure is not null)
        {
            sys.Wait(child);
        }
        return failure;
    }
}
