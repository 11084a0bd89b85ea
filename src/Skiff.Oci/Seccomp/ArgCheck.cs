namespace Skiff.Oci.Seccomp;

/// <summary>
/// Code for one argument comparison. Classic BPF sees 32-bit words, so a 64-bit compare
/// checks the high word first and the low word only when the high words are equal, as
/// libseccomp does on 64-bit ABIs; on 32-bit ABIs only the low words are compared.
/// </summary>
internal static class ArgCheck
{
    /// <summary>Writes the check (back to front); returns where it starts.</summary>
    public static JumpTarget Emit(BpfWriter w, ArgCondition c, bool wideArgs, JumpTarget pass, JumpTarget fail)
    {
        uint loOffset = Bpf.ArgLow(c.Index), hiOffset = Bpf.ArgHigh(c.Index);
        uint lo = (uint)c.Value, hi = (uint)(c.Value >> 32);

        if (c.Op == ArgOp.MaskedEqual)
        {
            uint loMask = lo, hiMask = wideArgs ? hi : 0;
            uint loWant = (uint)c.ValueTwo & loMask, hiWant = (uint)(c.ValueTwo >> 32) & hiMask;
            var next = pass;
            if (loMask != 0)
            {
                next = Masked(w, loOffset, loMask, loWant, next, fail);
            }
            if (hiMask != 0)
            {
                next = Masked(w, hiOffset, hiMask, hiWant, next, fail);
            }
            return next;
        }

        // The low-word test decides when the high words are equal (or not compared at all).
        switch (c.Op)
        {
            case ArgOp.Equal: w.Jump(Bpf.Jeq, lo, pass, fail); break;
            case ArgOp.NotEqual: w.Jump(Bpf.Jeq, lo, fail, pass); break;
            case ArgOp.Greater: w.Jump(Bpf.Jgt, lo, pass, fail); break;
            case ArgOp.GreaterOrEqual: w.Jump(Bpf.Jge, lo, pass, fail); break;
            case ArgOp.Less: w.Jump(Bpf.Jge, lo, fail, pass); break;
            case ArgOp.LessOrEqual: w.Jump(Bpf.Jgt, lo, fail, pass); break;
        }
        var low = JumpTarget.At(w.Load(loOffset));
        if (!wideArgs)
        {
            return low;
        }

        // High words: equal goes on to the low words; otherwise they decide on their own.
        switch (c.Op)
        {
            case ArgOp.Equal:
                w.Jump(Bpf.Jeq, hi, low, fail);
                break;
            case ArgOp.NotEqual:
                w.Jump(Bpf.Jeq, hi, low, pass);
                break;
            case ArgOp.Greater or ArgOp.GreaterOrEqual:
                w.Jump(Bpf.Jgt, hi, pass, JumpTarget.At(w.Jump(Bpf.Jeq, hi, low, fail)));
                break;
            default: // Less, LessOrEqual
                w.Jump(Bpf.Jgt, hi, fail, JumpTarget.At(w.Jump(Bpf.Jeq, hi, low, pass)));
                break;
        }
        return JumpTarget.At(w.Load(hiOffset));
    }

    private static JumpTarget Masked(BpfWriter w, uint offset, uint mask, uint want, JumpTarget pass, JumpTarget fail)
    {
        w.Jump(Bpf.Jeq, want, pass, fail);
        if (mask != uint.MaxValue)
        {
            w.And(mask);
        }
        return JumpTarget.At(w.Load(offset));
    }
}
