using System.Text;
using Skiff.Images;
using Skiff.Linux;

namespace Skiff.Cli.Commands;

/// <summary>
/// Opens the image store for a verb. Verbs that write layers run where the files can get
/// the owners the image says: as root, or rootless inside the keeper's user namespace,
/// where all of the user's subordinate ids are mapped. Not there yet, the verb starts the
/// keeper and runs itself again once (the constructor in native/ joins it before .NET starts).
/// </summary>
public static class ImageStores
{
    private const string ReexecGuard = "SKIFF_IN_KEEPER_REEXEC";

    public static ImageStore ForReading(CliContext context) => new(context.Paths.Root, new UnpackOptions { Rootless = !context.IsRoot });

    public static ImageStore ForWriting(CliContext context)
    {
        if (context.IsRoot)
        {
            return new ImageStore(context.Paths.Root, new UnpackOptions());
        }
        if (UserNamespaceKeeper.Joined == 0)
        {
            EnterKeeper();
        }
        bool single = UserNamespaceKeeper.Joined == 0 || IdMappingResolver.ForCurrentUser().Mapping.Mode != IdMapMode.Subordinate;
        return new ImageStore(context.Paths.Root, new UnpackOptions { Rootless = true, IgnoreOwners = single });
    }

    private static void EnterKeeper()
    {
        if (Environment.GetEnvironmentVariable("SKIFF_NO_KEEPER") is not null)
        {
            return;
        }
        if (Environment.GetEnvironmentVariable(ReexecGuard) is not null)
        {
            Console.Error.WriteLine("skiff: warning: could not join the user namespace keeper: files in layers will belong to you, not to the ids the image gives them");
            return;
        }
        var ids = IdMappingResolver.ForCurrentUser();
        try
        {
            UserNamespaceKeeper.Start(LinuxSyscalls.Instance, ids.Mapping);
        }
        catch (Exception e) when (e is SkiffException or IOException)
        {
            Console.Error.WriteLine($"skiff: warning: could not start the user namespace keeper: {e.Message}");
            return;
        }
        Reexec();
    }

    /// <summary>execv(/proc/self/exe) with the same argv; only returns on failure.</summary>
    private static unsafe void Reexec()
    {
        byte[] cmdline = File.ReadAllBytes("/proc/self/cmdline");
        var args = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < cmdline.Length; i++)
        {
            if (cmdline[i] == 0)
            {
                args.Add(cmdline[start..(i + 1)]);
                start = i + 1;
            }
        }
        Console.Out.Flush();
        Console.Error.Flush();
        Exec.SetEnv(ReexecGuard, "1");
        var handles = args.Select(a => System.Runtime.InteropServices.GCHandle.Alloc(a, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        var argv = new byte*[args.Count + 1];
        for (int i = 0; i < args.Count; i++)
        {
            argv[i] = (byte*)handles[i].AddrOfPinnedObject();
        }
        fixed (byte** p = argv)
        {
            int err = Exec.Execv("/proc/self/exe", p);
            Console.Error.WriteLine($"skiff: warning: could not run itself again inside the user namespace keeper: {Errno.Describe(err)}");
        }
        foreach (var h in handles)
        {
            h.Free();
        }
    }
}
