using Skiff.Linux;

namespace Skiff.Tests.Supervision;

/// <summary>LaunchPlan.CloneParent reaches the C plan as SKIFF_PLAN_PARENT (native/skiff.h).</summary>
public unsafe class CloneParentPlanTests
{
    [Fact]
    public void Clone_parent_sets_the_plan_parent_flag()
    {
        var plan = new LaunchPlan { CloneParent = true };
        plan.Ops.Add(LaunchOp.Exec(["true"], [], "/bin"));

        using var native = new NativeLaunchPlan(plan);

        Assert.Equal(8u, native.Plan->Flags);
        Assert.Equal(Interop.Shim.PlanParent, native.Plan->Flags);
    }

    [Fact]
    public void Clone_parent_combines_with_the_other_flags()
    {
        var plan = new LaunchPlan { CloneParent = true, WaitForParent = true, KeepSync = true };
        plan.Ops.Add(LaunchOp.Exec(["true"], [], "/bin"));

        using var native = new NativeLaunchPlan(plan);

        Assert.Equal(1u | 4u | 8u, native.Plan->Flags);
    }

    [Fact]
    public void Without_clone_parent_the_flag_is_clear()
    {
        var plan = new LaunchPlan { WaitForParent = true, SendsState = true };
        plan.Ops.Add(LaunchOp.Exec(["true"], [], "/bin"));

        using var native = new NativeLaunchPlan(plan);

        Assert.Equal(0u, native.Plan->Flags & Interop.Shim.PlanParent);
        Assert.Equal(3u, native.Plan->Flags);
    }
}
