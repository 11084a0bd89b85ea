namespace Skiff.Oci.Seccomp;

internal enum ArgOp : byte
{
    NotEqual,
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
    /// <summary>(arg &amp; Value) == (ValueTwo &amp; Value), as libseccomp masks the datum too.</summary>
    MaskedEqual,
}

/// <summary>One comparison of a 64-bit syscall argument.</summary>
internal readonly record struct ArgCondition(int Index, ArgOp Op, ulong Value, ulong ValueTwo)
{
    /// <summary>A zero mask always matches; libseccomp emits nothing for it (on 32-bit ABIs, a zero low mask).</summary>
    public bool AlwaysHolds(bool wideArgs) =>
        Op == ArgOp.MaskedEqual && (wideArgs ? Value == 0 : (uint)Value == 0);
}

/// <summary>A rule: if every condition holds, return the action.</summary>
internal readonly record struct SeccompRule(uint Action, int FirstCondition, int ConditionCount);

/// <summary>A syscall name some table knows, and the rules its profile entry produced.</summary>
internal readonly record struct NamedRules(int Row, int FirstRule, int RuleCount);

/// <summary>
/// linux.seccomp checked and flattened before any code is written. Rules keep profile
/// order; for one syscall the first rule that matches decides.
/// </summary>
internal sealed class RuleSet
{
    public const uint FlagTsync = 1, FlagLog = 2, FlagSpecAllow = 4, FlagNewListener = 8;
    public const uint FlagTsyncEsrch = 16, FlagWaitKillableRecv = 32;

    public uint DefaultAction { get; private set; }
    public uint Flags { get; private set; }
    public bool NeedsListener { get; private set; }

    /// <summary>Distinct arches, the native one first.</summary>
    public List<SeccompArch> Arches { get; } = [SeccompArch.Native];
    public List<SeccompRule> Rules { get; } = [];
    public List<ArgCondition> Conditions { get; } = [];
    public List<NamedRules> Names { get; } = [];

    /// <summary>Sum of RuleCount over Names: the most (number, rule) pairs one table can give.</summary>
    public int RuleRefs { get; private set; }

    public static RuleSet Parse(LinuxSeccomp profile)
    {
        var set = new RuleSet();
        if (profile.DefaultAction == "SCMP_ACT_NOTIFY")
        {
            // As runc: the listener fd could never be handed over if write(2) itself notified.
            throw SkiffException.Invalid("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
        }
        set.DefaultAction = SeccompAction.Parse(profile.DefaultAction, profile.DefaultErrnoRet, -1);
        set.ParseArches(profile.Architectures);
        if (profile.Syscalls is { } syscalls)
        {
            int names = 0;
            foreach (var entry in syscalls)
            {
                names += entry?.Names?.Count ?? 0;
            }
            set.Names.EnsureCapacity(names);
            for (int i = 0; i < syscalls.Count; i++)
            {
                set.ParseSyscall(syscalls[i], i);
            }
        }
        set.ParseFlags(profile.Flags);
        return set;
    }

    private void ParseArches(List<string>? arches)
    {
        if (arches is null)
        {
            return;
        }
        for (int i = 0; i < arches.Count; i++)
        {
            if (!SeccompArch.TryParse(arches[i], out var arch))
            {
                throw SkiffException.Invalid($"linux.seccomp.architectures[{i}]: unknown architecture \"{arches[i]}\"");
            }
            if (!Arches.Contains(arch))
            {
                Arches.Add(arch);
            }
        }
    }

    private void ParseSyscall(SeccompSyscall? entry, int i)
    {
        if (entry is null)
        {
            throw SkiffException.Invalid($"linux.seccomp.syscalls[{i}]: null entry");
        }
        uint action = SeccompAction.Parse(entry.Action, entry.ErrnoRet, i);
        NeedsListener |= action == SeccompAction.UserNotif;

        int firstRule = Rules.Count;
        var args = entry.Args;
        if (args is null || args.Count == 0)
        {
            Rules.Add(new SeccompRule(action, Conditions.Count, 0));
        }
        else
        {
            int seen = 0;
            bool repeatsIndex = false;
            for (int a = 0; a < args.Count; a++)
            {
                var cond = ParseArg(args[a], i, a);
                repeatsIndex |= (seen & (1 << cond.Index)) != 0;
                seen |= 1 << cond.Index;
                Conditions.Add(cond);
            }
            int first = Conditions.Count - args.Count;
            if (repeatsIndex)
            {
                // runc and crun: when one argument is compared twice, each comparison is a
                // rule of its own (ORed), since libseccomp cannot AND them.
                for (int a = 0; a < args.Count; a++)
                {
                    Rules.Add(new SeccompRule(action, first + a, 1));
                }
            }
            else
            {
                Rules.Add(new SeccompRule(action, first, args.Count));
            }
        }

        var names = entry.Names;
        if (names is null || names.Count == 0)
        {
            throw SkiffException.Invalid($"linux.seccomp.syscalls[{i}].names: no syscall named");
        }
        for (int n = 0; n < names.Count; n++)
        {
            if (string.IsNullOrEmpty(names[n]))
            {
                throw SkiffException.Invalid($"linux.seccomp.syscalls[{i}].names[{n}]: empty syscall name");
            }
            if (action == SeccompAction.UserNotif && names[n] is "write" or "sendmsg")
            {
                // As runc: between loading the filter and handing its listener to the agent, the
                // runtime's own process sends it (sendmsg) and reports (write); a notified call there
                // would wait for an agent that has no listener yet, or be answered in its place.
                throw SkiffException.Invalid(
                    $"linux.seccomp.syscalls[{i}]: SCMP_ACT_NOTIFY cannot be used for the {names[n]} syscall (the runtime needs it to hand the listener over)");
            }
            // A name no table knows is skipped, as runc and crun do (another arch's or a newer kernel's call).
            int row = SyscallTable.IndexOf(names[n]);
            if (row >= 0)
            {
                Names.Add(new NamedRules(row, firstRule, Rules.Count - firstRule));
                RuleRefs += Rules.Count - firstRule;
            }
        }
    }

    private static ArgCondition ParseArg(SeccompArg? arg, int i, int a)
    {
        if (arg is null)
        {
            throw SkiffException.Invalid($"linux.seccomp.syscalls[{i}].args[{a}]: null argument");
        }
        if (arg.Index > 5)
        {
            throw SkiffException.Invalid($"linux.seccomp.syscalls[{i}].args[{a}].index: {arg.Index} is not an argument index (0 to 5)");
        }
        var op = arg.Op switch
        {
            "SCMP_CMP_NE" => ArgOp.NotEqual,
            "SCMP_CMP_LT" => ArgOp.Less,
            "SCMP_CMP_LE" => ArgOp.LessOrEqual,
            "SCMP_CMP_EQ" => ArgOp.Equal,
            "SCMP_CMP_GE" => ArgOp.GreaterOrEqual,
            "SCMP_CMP_GT" => ArgOp.Greater,
            "SCMP_CMP_MASKED_EQ" => ArgOp.MaskedEqual,
            _ => throw SkiffException.Invalid($"linux.seccomp.syscalls[{i}].args[{a}].op: unknown operator \"{arg.Op}\""),
        };
        return new ArgCondition((int)arg.Index, op, arg.Value, arg.ValueTwo);
    }

    private void ParseFlags(List<string>? flags)
    {
        uint bits = 0;
        int waitKillable = -1;
        for (int i = 0; flags is not null && i < flags.Count; i++)
        {
            bits |= flags[i] switch
            {
                "SECCOMP_FILTER_FLAG_TSYNC" => FlagTsync,
                "SECCOMP_FILTER_FLAG_LOG" => FlagLog,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => FlagSpecAllow,
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => FlagWaitKillableRecv,
                _ => throw SkiffException.Invalid($"linux.seccomp.flags[{i}]: unknown flag \"{flags[i]}\""),
            };
            if (flags[i] == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
            {
                waitKillable = i;
            }
        }
        if (NeedsListener)
        {
            bits |= FlagNewListener;
            // The kernel refuses TSYNC with NEW_LISTENER unless TSYNC_ESRCH says how to fail; libseccomp adds it too.
            if ((bits & FlagTsync) != 0)
            {
                bits |= FlagTsyncEsrch;
            }
        }
        else if (waitKillable >= 0)
        {
            throw SkiffException.Invalid(
                $"linux.seccomp.flags[{waitKillable}]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule (the kernel refuses it without a listener)");
        }
        Flags = bits;
    }
}
