namespace Skiff.Oci.Seccomp;

/// <summary>A filter for seccomp(SECCOMP_SET_MODE_FILTER, Flags, &amp;prog).</summary>
/// <param name="Filter">struct sock_filter[] as bytes, 8 per instruction, host endianness.</param>
/// <param name="Flags">SECCOMP_FILTER_FLAG_* bits.</param>
/// <param name="NeedsListener">Some rule notifies: the call returns a listener fd (NEW_LISTENER is in Flags).</param>
public sealed record SeccompProgram(byte[] Filter, uint Flags, bool NeedsListener);

/// <summary>
/// Compiles linux.seccomp into classic BPF, as libseccomp does for runc and crun:
/// <code>
/// ld [arch]; jeq AUDIT_ARCH_X86_64 -> x86_64 block; jeq ...; ret KILL_THREAD (bad arch)
/// block: ld [nr]; binary search over number ranges -> ret action, or argument rules
/// </code>
/// </summary>
public static class SeccompCompiler
{
    /// <summary>libseccomp's default bad-arch action, which runc and crun keep: SCMP_ACT_KILL.</summary>
    internal const uint BadArchAction = SeccompAction.KillThread;

    public static SeccompProgram Compile(LinuxSeccomp profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var rules = RuleSet.Parse(profile);

        // runc adds its -ENOSYS stub unless the default already lets calls run or is ENOSYS.
        bool enosysStub = !SeccompAction.LetsCallRun(rules.DefaultAction) &&
                          rules.DefaultAction != (SeccompAction.Errno | SeccompAction.ENOSYS);

        using var w = new BpfWriter();
        w.Return(rules.DefaultAction); // the kernel wants a return last

        // One block per AUDIT_ARCH value (x86_64 and x32 share one), written back to front
        // so the native block lands right after the arch checks.
        // At most 20 arches are known, so both lists fit on the stack.
        Span<uint> audits = stackalloc uint[rules.Arches.Count];
        int blocks = 0;
        foreach (var arch in rules.Arches)
        {
            if (!audits[..blocks].Contains(arch.AuditArch))
            {
                audits[blocks++] = arch.AuditArch;
            }
        }
        Span<JumpTarget> entries = stackalloc JumpTarget[blocks];
        using var dispatch = new SyscallDispatch(w, rules, enosysStub);
        for (int b = blocks - 1; b >= 0; b--)
        {
            entries[b] = dispatch.EmitBlock(audits[b], rules.Arches);
        }

        var next = JumpTarget.Return(BadArchAction);
        for (int b = blocks - 1; b >= 0; b--)
        {
            next = JumpTarget.At(w.Jump(Bpf.Jeq, audits[b], entries[b], next));
        }
        w.Load(Bpf.ArchOffset);

        return new SeccompProgram(w.ToArray(), rules.Flags, rules.NeedsListener);
    }
}
