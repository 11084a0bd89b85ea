using System.Runtime.InteropServices;
using Skiff.Linux;

namespace Skiff.Tests;

public unsafe class NativeLaunchPlanTests
{
    private static string? Str(byte* p) => p == null ? null : Marshal.PtrToStringUTF8((nint)p);

    private static List<string> List(byte** l)
    {
        var r = new List<string>();
        for (; *l != null; l++)
        {
            r.Add(Str(*l)!);
        }
        return r;
    }

    [Fact]
    public void The_native_layout_holds_every_field_the_child_reads()
    {
        var plan = new LaunchPlan { CloneFlags = CloneFlags.NewNs | CloneFlags.NewUser, WaitForParent = true, ParentDeathSignal = 9 };
        plan.Ops.Add(LaunchOp.Overlay(["/a", "/b"], "/u", "/w", "/m", LaunchOpFlags.UserXattr));
        plan.Ops.Add(LaunchOp.Identity(1000, 1001, [1001, 10, 20], setGroups: true));
        plan.Ops.Add(LaunchOp.Exec(["sh", "-c", "échö ✓"], ["A=1", ""], "/bin"));

        using var native = new NativeLaunchPlan(plan);
        var p = native.Plan;

        Assert.Equal(Interop.Shim.AbiVersion, p->Abi);
        Assert.Equal(3u, p->NOps);
        Assert.Equal((ulong)(CloneFlags.NewNs | CloneFlags.NewUser), p->CloneFlags);
        Assert.Equal(1u, p->Flags);
        Assert.Equal(9, p->PDeathSig);
        Assert.Equal(-1, p->CgroupFd);

        var overlay = p->Ops[0];
        Assert.Equal((uint)LaunchOpKind.Overlay, overlay.Kind);
        Assert.Equal(["/a", "/b"], List(overlay.L0));
        Assert.Equal("/u", Str(overlay.S0));
        Assert.Equal("/m", Str(overlay.S2));
        Assert.Null(Str(overlay.S3));

        var id = p->Ops[1];
        Assert.Equal(1000u, id.U0);
        Assert.Equal(1001u, id.U1);
        Assert.Equal(new uint[] { 1001, 10, 20 }, new ReadOnlySpan<uint>(id.Ids, 3).ToArray());

        var exec = p->Ops[2];
        Assert.Equal(["sh", "-c", "échö ✓"], List(exec.L0));
        Assert.Equal(["A=1", ""], List(exec.L1));
        Assert.Equal("/bin", Str(exec.S0));
    }

    [Fact]
    public void Pointers_are_aligned_for_the_child()
    {
        var plan = new LaunchPlan();
        plan.Ops.Add(LaunchOp.Hostname("odd"));
        plan.Ops.Add(LaunchOp.Identity(0, 0, [], setGroups: false));
        plan.Ops.Add(LaunchOp.Exec(["x"], ["ab"], null));
        using var native = new NativeLaunchPlan(plan);

        Assert.Equal(0, (long)native.Plan->Ops % 8);
        Assert.Equal(0, (long)native.Plan->Ops[2].L0 % 8);
        Assert.Equal(0, (long)native.Plan->Ops[1].Ids % 4);
    }

    [Fact]
    public void A_nul_byte_in_an_argument_is_refused()
    {
        var plan = new LaunchPlan();
        plan.Ops.Add(LaunchOp.Exec(["a\0b"], [], null));

        var e = Assert.Throws<SkiffException>(() => new NativeLaunchPlan(plan));
        Assert.Equal(ErrorCategory.InvalidArgument, e.Category);
    }

    [Fact]
    public void Op_and_plan_sizes_match_the_c_header()
    {
        Assert.Equal(88, sizeof(Interop.Shim.Op));
        Assert.Equal(40, sizeof(Interop.Shim.Plan));
        Assert.Equal(16, sizeof(Interop.Shim.Child));
        Assert.Equal(16, sizeof(Interop.Shim.Failure));
    }
}
