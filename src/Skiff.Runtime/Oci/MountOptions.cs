using Skiff.Linux;

namespace Skiff.Runtime.Oci;

/// <summary>A runtime-spec mount's options split the way mount(8) reads them.</summary>
public sealed record MountOptions(MountAttr Set, MountAttr Clear, bool Bind, bool Recursive, uint Propagation, bool PropagationRecursive, string Data)
{
    /// <summary>skiff's own option (never from a bundle's user): a bind whose target cannot be made is skipped.</summary>
    public const string SkipIfUnwritable = "x-skiff.skip-if-unwritable";

    public bool Optional { get; init; }

    public const uint MsUnbindable = 1 << 17;
    public const uint MsPrivate = 1 << 18;
    public const uint MsSlave = 1 << 19;
    public const uint MsShared = 1 << 20;

    public static MountOptions Parse(IReadOnlyList<string>? options)
    {
        MountAttr set = 0, clear = 0;
        bool bind = false, recursive = false, propRec = false, optional = false;
        uint propagation = 0;
        var data = new List<string>();
        foreach (var o in options ?? [])
        {
            switch (o)
            {
                case "ro": set |= MountAttr.ReadOnly; clear &= ~MountAttr.ReadOnly; break;
                case "rw": clear |= MountAttr.ReadOnly; set &= ~MountAttr.ReadOnly; break;
                case "nosuid": set |= MountAttr.NoSuid; break;
                case "suid": clear |= MountAttr.NoSuid; break;
                case "nodev": set |= MountAttr.NoDev; break;
                case "dev": clear |= MountAttr.NoDev; break;
                case "noexec": set |= MountAttr.NoExec; break;
                case "exec": clear |= MountAttr.NoExec; break;
                case "noatime": set |= (MountAttr)0x10; break;
                case "strictatime": set |= MountAttr.StrictAtime; break;
                case "relatime": break; // the default
                case "nodiratime": set |= MountAttr.NoDirAtime; break;
                case "bind": bind = true; break;
                case "rbind": bind = true; recursive = true; break;
                case "private": propagation = MsPrivate; break;
                case "rprivate": propagation = MsPrivate; propRec = true; break;
                case "shared": propagation = MsShared; break;
                case "rshared": propagation = MsShared; propRec = true; break;
                case "slave": propagation = MsSlave; break;
                case "rslave": propagation = MsSlave; propRec = true; break;
                case "unbindable": propagation = MsUnbindable; break;
                case "runbindable": propagation = MsUnbindable; propRec = true; break;
                case SkipIfUnwritable: optional = true; break;
                case "defaults" or "async" or "auto" or "noauto" or "nouser" or "user" or "loud" or "silent"
                    or "norelatime" or "atime" or "diratime" or "nostrictatime" or "sync" or "dirsync" or "mand" or "nomand"
                    or "tmpcopyup" or "notmpcopyup" or "copy-symlink" or "Z" or "z" or "U" or "private-shared":
                    break; // no meaning here, or handled by the engine that wrote the spec
                default: data.Add(o); break;
            }
        }
        return new MountOptions(set, clear, bind, recursive, propagation, propRec, string.Join(',', data)) { Optional = optional };
    }
}
