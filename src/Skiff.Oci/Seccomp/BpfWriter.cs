using System.Buffers;
using System.Runtime.InteropServices;

namespace Skiff.Oci.Seccomp;

/// <summary>struct sock_filter, in host layout.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockFilter
{
    public ushort Code;
    public byte Jt;
    public byte Jf;
    public uint K;
}

/// <summary>Classic BPF opcodes a seccomp filter uses (linux/bpf_common.h).</summary>
internal static class Bpf
{
    public const ushort LoadWordAbs = 0x20;  // BPF_LD | BPF_W | BPF_ABS
    public const ushort AndK = 0x54;         // BPF_ALU | BPF_AND | BPF_K
    public const ushort Ja = 0x05;           // BPF_JMP | BPF_JA
    public const ushort Jeq = 0x15;          // BPF_JMP | BPF_JEQ | BPF_K
    public const ushort Jgt = 0x25;          // BPF_JMP | BPF_JGT | BPF_K
    public const ushort Jge = 0x35;          // BPF_JMP | BPF_JGE | BPF_K
    public const ushort Jset = 0x45;         // BPF_JMP | BPF_JSET | BPF_K
    public const ushort RetK = 0x06;         // BPF_RET | BPF_K
    public const int MaxInstructions = 4096; // BPF_MAXINSNS

    // Offsets into struct seccomp_data; args are little-endian u64 on the x86 family.
    public const uint NrOffset = 0;
    public const uint ArchOffset = 4;
    public static uint ArgLow(int index) => 16 + 8 * (uint)index;
    public static uint ArgHigh(int index) => 20 + 8 * (uint)index;
}

/// <summary>Where a jump goes: an instruction already written, or "return this action".</summary>
internal readonly record struct JumpTarget(bool IsReturn, uint Value)
{
    public static JumpTarget At(int label) => new(false, (uint)label);
    public static JumpTarget Return(uint action) => new(true, action);
}

/// <summary>
/// Writes a program back to front, so every jump target already has a place when the
/// jump is written. A label is the instruction count right after its instruction was
/// written; a jump written when <see cref="Count"/> is c reaches label l with offset c - l.
/// Conditional offsets are 8 bits: a far "return" gets a fresh copy of the return next
/// to the jump, any other far target a JA trampoline (32-bit offset).
/// </summary>
internal sealed class BpfWriter : IDisposable
{
    private SockFilter[] _code = ArrayPool<SockFilter>.Shared.Rent(Bpf.MaxInstructions);
    private int _count;

    // The nearest copy of each return instruction written so far (usually a handful).
    private uint[] _returnValues = new uint[8];
    private int[] _returnLabels = new int[8];
    private int _returns;

    // The nearest trampoline to each far code label, reused while in reach.
    private Dictionary<int, int>? _trampolines;

    public int Count => _count;

    public int Load(uint offset) => Emit(Bpf.LoadWordAbs, 0, 0, offset);

    public int And(uint mask) => Emit(Bpf.AndK, 0, 0, mask);

    public int Return(uint action)
    {
        int label = Emit(Bpf.RetK, 0, 0, action);
        for (int i = 0; i < _returns; i++)
        {
            if (_returnValues[i] == action)
            {
                _returnLabels[i] = label;
                return label;
            }
        }
        if (_returns == _returnValues.Length)
        {
            Array.Resize(ref _returnValues, _returns * 2);
            Array.Resize(ref _returnLabels, _returns * 2);
        }
        _returnValues[_returns] = action;
        _returnLabels[_returns++] = label;
        return label;
    }

    /// <summary>Writes "if (A op k) goto t else goto f", adding copies or trampolines for far targets.</summary>
    public int Jump(ushort op, uint k, JumpTarget t, JumpTarget f)
    {
        while (true)
        {
            int lt = LabelOf(t), lf = LabelOf(f);
            if (_count - lt > byte.MaxValue)
            {
                t = Bring(t, lt);
                continue;
            }
            if (_count - lf > byte.MaxValue)
            {
                f = Bring(f, lf);
                continue;
            }
            return Emit(op, (byte)(_count - lt), (byte)(_count - lf), k);
        }
    }

    /// <summary>The label of a target, writing its return instruction if there is none yet.</summary>
    public int LabelOf(JumpTarget target)
    {
        if (!target.IsReturn)
        {
            return (int)target.Value;
        }
        for (int i = 0; i < _returns; i++)
        {
            if (_returnValues[i] == target.Value)
            {
                return _returnLabels[i];
            }
        }
        return Return(target.Value);
    }

    /// <summary>The program, front to back, as the bytes of struct sock_filter[].</summary>
    public byte[] ToArray() =>
        MemoryMarshal.AsBytes(_code.AsSpan(_code.Length - _count, _count)).ToArray();

    public void Dispose()
    {
        var code = _code;
        _code = [];
        if (code.Length > 0)
        {
            ArrayPool<SockFilter>.Shared.Return(code);
        }
    }

    // Makes a target reachable from the next instruction: a nearer return, or a trampoline.
    private JumpTarget Bring(JumpTarget target, int label)
    {
        if (target.IsReturn)
        {
            Return(target.Value);
            return target;
        }
        _trampolines ??= [];
        if (_trampolines.TryGetValue(label, out int near) && _count - near <= byte.MaxValue)
        {
            return JumpTarget.At(near);
        }
        near = Emit(Bpf.Ja, 0, 0, (uint)(_count - label));
        _trampolines[label] = near;
        return JumpTarget.At(near);
    }

    private int Emit(ushort code, byte jt, byte jf, uint k)
    {
        // The rented array may be longer than BPF_MAXINSNS; only that many are allowed.
        if (_count == Bpf.MaxInstructions)
        {
            throw SkiffException.Invalid(
                $"linux.seccomp: the filter needs more than {Bpf.MaxInstructions} BPF instructions, the kernel's limit (BPF_MAXINSNS); " +
                "use fewer argument rules or syscall names");
        }
        _count++;
        _code[_code.Length - _count] = new SockFilter { Code = code, Jt = jt, Jf = jf, K = k };
        return _count;
    }
}
