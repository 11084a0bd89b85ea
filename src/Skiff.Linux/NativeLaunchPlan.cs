using System.Runtime.InteropServices;
using System.Text;

namespace Skiff.Linux;

/// <summary>
/// A LaunchPlan laid out in one block of unmanaged memory, pointers and all. The
/// child of clone3 gets a copy of our address space, so the same pointers are valid
/// there: it reads the plan without allocating or parsing.
/// </summary>
public sealed unsafe class NativeLaunchPlan : IDisposable
{
    private byte* _block;
    private readonly nint _size;

    public Interop.Shim.Plan* Plan { get; }

    public NativeLaunchPlan(LaunchPlan plan)
    {
        var ops = plan.Ops;
        nint size = sizeof(Interop.Shim.Plan) + (nint)ops.Count * sizeof(Interop.Shim.Op);
        foreach (var op in ops)
        {
            size += StrSize(op.S0) + StrSize(op.S1) + StrSize(op.S2) + StrSize(op.S3);
            size += ListSize(op.L0) + ListSize(op.L1);
            size += op.Ids is null ? 0 : Math.Max(1, op.Ids.Count) * sizeof(uint) + 8;
        }
        _size = size;
        _block = (byte*)NativeMemory.AllocZeroed((nuint)size);
        var cursor = new Cursor(_block, size);

        var p = (Interop.Shim.Plan*)cursor.Take(sizeof(Interop.Shim.Plan));
        var nativeOps = (Interop.Shim.Op*)cursor.Take(ops.Count * sizeof(Interop.Shim.Op));
        p->Abi = Interop.Shim.AbiVersion;
        p->NOps = (uint)ops.Count;
        p->CloneFlags = (ulong)plan.CloneFlags;
        p->CgroupFd = plan.CgroupFd;
        p->PDeathSig = plan.ParentDeathSignal;
        p->Flags = (plan.WaitForParent ? 1u : 0u) | (plan.SendsState ? 2u : 0u) | (plan.KeepSync ? 4u : 0u)
            | (plan.CloneParent ? Interop.Shim.PlanParent : 0u);
        p->PreserveFds = plan.PreserveFds;
        p->Ops = nativeOps;
        for (int i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            var n = &nativeOps[i];
            n->Kind = (uint)op.Kind;
            n->Flags = (uint)op.Flags;
            n->U0 = op.U0;
            n->U1 = op.U1;
            n->Attr = op.Attr;
            n->Attr2 = op.Attr2;
            n->S0 = cursor.Str(op.S0);
            n->S1 = cursor.Str(op.S1);
            n->S2 = cursor.Str(op.S2);
            n->S3 = cursor.Str(op.S3);
            n->L0 = cursor.List(op.L0);
            n->L1 = cursor.List(op.L1);
            n->Ids = cursor.Ids(op.Ids);
        }
        Plan = p;
    }

    // Every piece is 8-byte aligned, so each may cost up to 7 bytes of padding.
    private static nint StrSize(string? s) => s is null ? 0 : Encoding.UTF8.GetByteCount(s) + 1 + 8;

    private static nint ListSize(IReadOnlyList<string>? list)
    {
        if (list is null)
        {
            return 0;
        }
        nint size = (list.Count + 1) * sizeof(byte*) + 8;
        foreach (var s in list)
        {
            size += StrSize(s);
        }
        return size;
    }

    private struct Cursor(byte* start, nint size)
    {
        private nint _used;

        public byte* Take(nint bytes)
        {
            nint aligned = (_used + 7) & ~7;
            if (aligned + bytes > size)
            {
                throw new InvalidOperationException("launch plan layout overflow");
            }
            _used = aligned + bytes;
            return start + aligned;
        }

        public byte* Str(string? s)
        {
            if (s is null)
            {
                return null;
            }
            if (s.Contains('\0'))
            {
                throw SkiffException.Invalid($"a NUL byte is not allowed here: \"{s.Replace("\0", "\\0")}\"");
            }
            int len = Encoding.UTF8.GetByteCount(s);
            byte* p = Take(0);
            _used += len + 1;
            if (_used > size)
            {
                throw new InvalidOperationException("launch plan layout overflow");
            }
            Encoding.UTF8.GetBytes(s, new Span<byte>(p, len));
            p[len] = 0;
            return p;
        }

        public byte** List(IReadOnlyList<string>? list)
        {
            if (list is null)
            {
                return null;
            }
            var arr = (byte**)Take((list.Count + 1) * sizeof(byte*));
            for (int i = 0; i < list.Count; i++)
            {
                arr[i] = Str(list[i]);
            }
            arr[list.Count] = null;
            return arr;
        }

        public uint* Ids(IReadOnlyList<uint>? ids)
        {
            if (ids is null)
            {
                return null;
            }
            var arr = (uint*)Take(Math.Max(1, ids.Count) * sizeof(uint));
            for (int i = 0; i < ids.Count; i++)
            {
                arr[i] = ids[i];
            }
            return arr;
        }
    }

    public void Dispose()
    {
        if (_block != null)
        {
            NativeMemory.Free(_block);
            _block = null;
        }
        GC.SuppressFinalize(this);
    }

    ~NativeLaunchPlan() => Dispose();

    internal nint Size => _size;
}
