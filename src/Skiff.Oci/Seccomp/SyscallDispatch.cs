using System.Buffers;

namespace Skiff.Oci.Seccomp;

/// <summary>What a syscall number leads to: a return, or a chain of argument rules.</summary>
internal readonly record struct Outcome(int Chain, uint Action)
{
    public static Outcome Return(uint action) => new(-1, action);
}

/// <summary>
/// The code of one arch block, entered with the syscall number in A. The 32-bit number
/// line is cut into segments of equal outcome (runs of allowed calls collapse into one),
/// found by a balanced binary search of JGE tests; argument rules sit next to the leaf
/// that uses them.
/// </summary>
internal sealed class SyscallDispatch(BpfWriter w, RuleSet rules, bool enosysStub) : IDisposable
{
    private readonly record struct Segment(uint Start, Outcome Target);
    private readonly record struct Chain(int Start, int Length, bool WideArgs);

    private readonly List<Segment> _segments = [];
    private readonly List<Chain> _chains = [];
    private readonly List<int> _chainRules = [];
    private readonly List<int> _chainLabels = [];
    private ulong[] _keys = ArrayPool<ulong>.Shared.Rent(Math.Max(rules.RuleRefs, 16));

    /// <summary>Writes the block for one AUDIT_ARCH value; returns where the arch check should jump.</summary>
    public JumpTarget EmitBlock(uint auditArch, List<SeccompArch> arches)
    {
        _segments.Clear();
        _chains.Clear();
        _chainRules.Clear();
        _chainLabels.Clear();
        if (auditArch == SeccompArch.AuditX86_64)
        {
            // Numbers with __X32_SYSCALL_BIT are x32 calls: without SCMP_ARCH_X32 they get the
            // bad-arch action, as libseccomp does, so they can never alias an x86_64 rule.
            AddPart(SyscallColumn.X86_64, 0, SeccompArch.X32SyscallBit - 1);
            if (arches.Contains(new SeccompArch(auditArch, SyscallColumn.X32)))
            {
                AddPart(SyscallColumn.X32, SeccompArch.X32SyscallBit, uint.MaxValue);
            }
            else
            {
                AddSegment(SeccompArch.X32SyscallBit, Outcome.Return(SeccompCompiler.BadArchAction));
            }
        }
        else
        {
            var column = SyscallColumn.None;
            foreach (var arch in arches)
            {
                if (arch.AuditArch == auditArch)
                {
                    column = arch.Column;
                }
            }
            AddPart(column, 0, uint.MaxValue);
        }

        for (int i = 0; i < _chains.Count; i++)
        {
            _chainLabels.Add(-1);
        }
        if (_segments.Count == 1)
        {
            return Materialize(_segments[0].Target);
        }
        EmitTree(0, _segments.Count);
        return JumpTarget.At(w.Load(Bpf.NrOffset));
    }

    // Segments for the numbers [first, last] of one table.
    private void AddPart(SyscallColumn column, uint first, uint last)
    {
        var numbers = SeccompArch.Numbers(column);
        bool wideArgs = SeccompArch.HasWideArgs(column);
        var named = rules.Names;

        // (number, rule) pairs sorted: each number's rules come out together, in profile order.
        int count = 0;
        long highest = -1;
        for (int i = 0; i < named.Count; i++)
        {
            var nr = named[i].Row < numbers.Length ? numbers[named[i].Row] : -1;
            if (nr < 0)
            {
                continue;
            }
            highest = Math.Max(highest, nr);
            for (int r = 0; r < named[i].RuleCount; r++)
            {
                _keys[count++] = ((ulong)(uint)nr << 32) | (uint)(named[i].FirstRule + r);
            }
        }
        Array.Sort(_keys, 0, count);

        uint defaultAction = rules.DefaultAction;
        ulong next = first;
        for (int i = 0; i < count;)
        {
            uint nr = (uint)(_keys[i] >> 32);
            int end = i;
            while (end < count && (uint)(_keys[end] >> 32) == nr)
            {
                end++;
            }
            var outcome = Resolve(i, end, wideArgs);
            i = end;
            if (outcome is not { } target)
            {
                continue;
            }
            if (nr > next)
            {
                AddSegment((uint)next, Outcome.Return(defaultAction));
            }
            AddSegment(nr, target);
            next = (ulong)nr + 1;
        }

        // runc's -ENOSYS stub: numbers past the profile's highest known call are newer than the
        // profile, and libc falls back on ENOSYS where EPERM would be an error.
        if (enosysStub && highest >= 0 && (ulong)highest < last)
        {
            if (next <= (ulong)highest)
            {
                AddSegment((uint)next, Outcome.Return(defaultAction));
            }
            AddSegment((uint)highest + 1, Outcome.Return(SeccompAction.Errno | SeccompAction.ENOSYS));
        }
        else if (next <= last)
        {
            AddSegment((uint)next, Outcome.Return(defaultAction));
        }
    }

    public void Dispose()
    {
        var keys = _keys;
        _keys = [];
        if (keys.Length > 0)
        {
            ArrayPool<ulong>.Shared.Return(keys);
        }
    }

    private void AddSegment(uint start, Outcome target)
    {
        if (_segments.Count > 0 && _segments[^1].Target == target)
        {
            return;
        }
        _segments.Add(new Segment(start, target));
    }

    // The outcome of one number from its rules, keys[from..to): null when it is the default.
    private Outcome? Resolve(int from, int to, bool wideArgs)
    {
        int start = _chainRules.Count;
        int previous = -1;
        for (int i = from; i < to; i++)
        {
            int id = (int)(uint)_keys[i];
            if (id == previous)
            {
                continue; // the same name twice in one entry
            }
            previous = id;
            _chainRules.Add(id);
            if (IsUnconditional(rules.Rules[id], wideArgs))
            {
                break; // later rules can never match
            }
        }
        // Trailing rules that end in the default action change nothing; earlier ones still shadow later rules.
        while (_chainRules.Count > start && rules.Rules[_chainRules[^1]].Action == rules.DefaultAction)
        {
            _chainRules.RemoveAt(_chainRules.Count - 1);
        }

        int length = _chainRules.Count - start;
        if (length == 0)
        {
            return null;
        }
        var first = rules.Rules[_chainRules[start]];
        if (length == 1 && IsUnconditional(first, wideArgs))
        {
            _chainRules.RemoveAt(start);
            return Outcome.Return(first.Action);
        }

        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_chainRules);
        for (int c = 0; c < _chains.Count; c++)
        {
            var chain = _chains[c];
            if (chain.Length == length && chain.WideArgs == wideArgs &&
                span.Slice(chain.Start, length).SequenceEqual(span.Slice(start, length)))
            {
                _chainRules.RemoveRange(start, length);
                return new Outcome(c, 0);
            }
        }
        _chains.Add(new Chain(start, length, wideArgs));
        return new Outcome(_chains.Count - 1, 0);
    }

    private bool IsUnconditional(SeccompRule rule, bool wideArgs)
    {
        for (int c = 0; c < rule.ConditionCount; c++)
        {
            if (!rules.Conditions[rule.FirstCondition + c].AlwaysHolds(wideArgs))
            {
                return false;
            }
        }
        return true;
    }

    private JumpTarget EmitTree(int from, int to)
    {
        if (to - from == 1)
        {
            return Materialize(_segments[from].Target);
        }
        int mid = (from + to) / 2;
        var above = EmitTree(mid, to);
        var below = EmitTree(from, mid);
        return JumpTarget.At(w.Jump(Bpf.Jge, _segments[mid].Start, above, below));
    }

    private JumpTarget Materialize(Outcome target)
    {
        if (target.Chain < 0)
        {
            return JumpTarget.Return(target.Action);
        }
        if (_chainLabels[target.Chain] < 0)
        {
            _chainLabels[target.Chain] = EmitChain(_chains[target.Chain]);
        }
        return JumpTarget.At(_chainLabels[target.Chain]);
    }

    // Rules in order; each failed rule falls to the next, the last to the default action.
    private int EmitChain(Chain chain)
    {
        var next = JumpTarget.Return(rules.DefaultAction);
        for (int i = chain.Length - 1; i >= 0; i--)
        {
            var rule = rules.Rules[_chainRules[chain.Start + i]];
            var pass = JumpTarget.Return(rule.Action);
            for (int c = rule.ConditionCount - 1; c >= 0; c--)
            {
                var cond = rules.Conditions[rule.FirstCondition + c];
                if (!cond.AlwaysHolds(chain.WideArgs))
                {
                    pass = ArgCheck.Emit(w, cond, chain.WideArgs, pass, next);
                }
            }
            next = pass;
        }
        return w.LabelOf(next);
    }
}
