using System.Diagnostics;
using Skiff.Oci;

namespace Skiff.Runtime.Oci;

/// <summary>Runs runtime-spec hooks with the container's state on stdin, each within its timeout.</summary>
public static class HookRunner
{
    public static void Run(string phase, IReadOnlyList<Hook>? hooks, ContainerState state)
    {
        for (int i = 0; i < (hooks?.Count ?? 0); i++)
        {
            var hook = hooks![i];
            var psi = new ProcessStartInfo(hook.Path)
            {
                RedirectStandardInput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // args[0] is the hook's argv[0], as execve takes it
            foreach (var a in (hook.Args ?? []).Skip(1))
            {
                psi.ArgumentList.Add(a);
            }
            if (hook.Env is not null)
            {
                psi.Environment.Clear();
                foreach (var e in hook.Env)
                {
                    int eq = e.IndexOf('=');
                    if (eq > 0)
                    {
                        psi.Environment[e[..eq]] = e[(eq + 1)..];
                    }
                }
            }
            using var p = System.Diagnostics.Process.Start(psi)
                          ?? throw SkiffException.Internal($"hooks.{phase}[{i}]: cannot start {hook.Path}");
            try
            {
                p.StandardInput.Write(ContainerStateJson.ToText(state));
                p.StandardInput.Close();
            }
            catch (IOException)
            {
                // the hook need not read its stdin
            }
            var stderr = p.StandardError.ReadToEndAsync();
            int timeout = hook.Timeout is > 0 ? hook.Timeout.Value * 1000 : Timeout.Infinite;
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                throw SkiffException.Internal($"hooks.{phase}[{i}]: {hook.Path} timed out after {hook.Timeout} s");
            }
            if (p.ExitCode != 0)
            {
                string err = stderr.Result.Trim();
                throw SkiffException.Internal($"hooks.{phase}[{i}]: {hook.Path} exited {p.ExitCode}{(err.Length > 0 ? ": " + err : "")}");
            }
        }
    }
}
