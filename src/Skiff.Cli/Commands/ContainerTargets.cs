using Skiff.Engine.Containers;

namespace Skiff.Cli.Commands;

/// <summary>
/// Verbs that act on several containers (stop, kill, rm, start, restart): each name is
/// tried in turn; a failure is printed and the others still run; exit 1 if any failed,
/// as Docker's CLI does.
/// </summary>
public static class ContainerTargets
{
    public static int ForEach(IReadOnlyList<string> references, Action<string> act, bool echo = true)
    {
        int status = 0;
        foreach (var reference in references)
        {
            try
            {
                act(reference);
                if (echo)
                {
                    Console.Out.WriteLine(reference);
                }
            }
            catch (SkiffException e)
            {
                Console.Error.WriteLine($"Error response from daemon: {e.Message}");
                status = 1;
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"Error response from daemon: {reference}: {e.Message}");
                status = 1;
            }
            catch (UnauthorizedAccessException e)
            {
                Console.Error.WriteLine($"Error response from daemon: {reference}: {e.Message}");
                status = 1;
            }
        }
        return status;
    }

    public static ContainerStore Store(CliContext context) => new(context.Paths);

    /// <summary>The skiff binary and the storage root a supervisor's worker is started with.</summary>
    public static (string Binary, string Root) Self(CliContext context) =>
        (Environment.ProcessPath ?? "/proc/self/exe", context.Paths.Root);
}
