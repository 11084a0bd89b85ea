namespace Skiff.Linux;

/// <summary>The moment between clone3 and the child's own work: id maps, then the go byte.</summary>
public static class ChildStart
{
    /// <summary>
    /// Runs prepare (e.g. open the child's namespaces), writes the id maps, runs afterMaps
    /// (what needs the mapped user namespace: the network) and sends the go byte; if any of
    /// that fails, the child is released without it and reaped. Returns the child's exec
    /// report: null when it reached execve, else its failure (the child reaped).
    /// </summary>
    public static ChildFailure? MapAndGo(ISyscalls sys, LaunchedChild child, IdMapping mapping, Action? prepare = null, Action? afterMaps = null)
    {
        try
        {
            prepare?.Invoke();
            IdMapWriter.Apply(sys, child.Pid, mapping);
            afterMaps?.Invoke();
        }
        catch
        {
            sys.Release(child, go: false);
            Reap(sys, child);
            throw;
        }
        sys.Release(child, go: true);
        var failure = sys.AwaitExec(child);
        if (failure is not null)
        {
            Reap(sys, child);
        }
        return failure;
    }

    /// <summary>Reaps a failed child, unless it is not ours to reap (CLONE_PARENT: its parent is our parent).</summary>
    private static void Reap(ISyscalls sys, LaunchedChild child)
    {
        try
        {
            sys.Wait(child);
        }
        catch (SystemCallException e) when (e.Code == Errno.ECHILD)
        {
        }
    }
}
