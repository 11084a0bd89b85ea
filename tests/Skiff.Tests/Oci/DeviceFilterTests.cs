using System.Diagnostics;
using Skiff.Oci;
using Skiff.Runtime.Cgroups;

namespace Skiff.Tests.Oci;

public class DeviceFilterTests
{
    private static DeviceCgroup Rule(bool allow, string? type, long? major, long? minor, string access) =>
        new() { Allow = allow, Type = type, Major = major, Minor = minor, Access = access };

    [Fact]
    public void Rules_become_blocks_checked_last_to_first_and_a_catch_all_ends_the_program()
    {
        // deny everything, then allow c 1:5 rw: the allow is checked first; the deny-all ends the program.
        var program = DeviceFilter.Compile([Rule(false, "a", null, null, "rwm"), Rule(true, "c", 1, 5, "rw")]);
        int n = program.Length / 8;
        Assert.Equal(6 + 6 + 2, n);
        Assert.Equal(0x55, program[6 * 8]);     // if type != char: next
        Assert.Equal(0x45, program[7 * 8]);     // if access asks for mknod: next
        Assert.Equal(0x95, program[^8]);        // exit, after "r0 = 0" of the deny-all rule
        Assert.Equal(0, BitConverter.ToInt32(program, (n - 2) * 8 + 4));

        var noCatchAll = DeviceFilter.Compile([Rule(true, "c", 1, 5, "rwm")]);
        Assert.Equal(0, BitConverter.ToInt32(noCatchAll, noCatchAll.Length - 16 + 4)); // default: deny
    }

    [Fact]
    public void Bad_rules_name_the_field()
    {
        var e = Assert.ThrowsAny<SkiffException>(() => DeviceFilter.Compile([Rule(true, "x", null, null, "r")]));
        Assert.Contains("linux.resources.devices[0].type", e.Message);
        e = Assert.ThrowsAny<SkiffException>(() => DeviceFilter.Compile([Rule(true, "c", null, null, "rq")]));
        Assert.Contains("linux.resources.devices[0].access", e.Message);
    }

    /// <summary>For real, where a cgroup2 hierarchy is mounted and we are root (CI is both).</summary>
    [Fact]
    public void The_kernel_loads_the_filter_and_denies_what_it_does_not_allow()
    {
        string? root = Cgroup2Mount();
        if (Skiff.Interop.Libc.geteuid() != 0 || root is null || !File.Exists("/dev/kmsg"))
        {
            return; // needs root and a cgroup2 hierarchy
        }
        string rel = $"skiff-devtest-{Environment.ProcessId}";
        var cgroup = new CgroupV2(root, rel);
        try
        {
            cgroup.Create(new Resources { Devices = [Rule(false, "a", null, null, "rwm")] });
            var psi = new ProcessStartInfo("/bin/sh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add($"echo $$ > {root}/{rel}/cgroup.procs && head -c 1 /dev/zero > /dev/null && echo zero-ok; (exec 3</dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied");
            using var p = System.Diagnostics.Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal("zero-ok\nkmsg-denied\n", output);
        }
        finally
        {
            cgroup.Destroy();
        }
    }

    private static string? Cgroup2Mount()
    {
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            int dash = line.IndexOf(" - cgroup2 ", StringComparison.Ordinal);
            if (dash > 0)
            {
                return line[..dash].Split(' ')[4];
            }
        }
        return null;
    }
}
