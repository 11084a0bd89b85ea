namespace Skiff.Oci.Seccomp;

/// <summary>Which syscall-number column of <see cref="SyscallTable"/> an arch uses.</summary>
internal enum SyscallColumn : byte
{
    /// <summary>No table on this host: names never resolve, the arch only gets the default action.</summary>
    None,
    X86_64,
    I386,
    X32,
}

/// <summary>A runtime-spec SCMP_ARCH_* name, its AUDIT_ARCH_* value (seccomp_data.arch) and table.</summary>
internal readonly record struct SeccompArch(uint AuditArch, SyscallColumn Column)
{
    private const uint Bits64 = 0x80000000, LittleEndian = 0x40000000, MipsN32 = 0x20000000;
    private const uint EmI386 = 3, EmMips = 8, EmParisc = 15, EmPpc = 20, EmPpc64 = 21, EmS390 = 22;
    private const uint EmArm = 40, EmX86_64 = 62, EmAarch64 = 183, EmRiscv = 243, EmLoongArch = 258;

    public const uint AuditX86_64 = EmX86_64 | Bits64 | LittleEndian;
    public const uint AuditI386 = EmI386 | LittleEndian;

    /// <summary>x32 calls arrive as AUDIT_ARCH_X86_64 with this bit set in the number.</summary>
    public const uint X32SyscallBit = 0x40000000;

    /// <summary>libseccomp always filters the native arch, listed or not; skiff runs on x86_64.</summary>
    public static readonly SeccompArch Native = new(AuditX86_64, SyscallColumn.X86_64);

    public static bool TryParse(string? name, out SeccompArch arch)
    {
        arch = name switch
        {
            "SCMP_ARCH_X86_64" => Native,
            "SCMP_ARCH_X86" => new(AuditI386, SyscallColumn.I386),
            "SCMP_ARCH_X32" => new(AuditX86_64, SyscallColumn.X32),
            "SCMP_ARCH_ARM" => new(EmArm | LittleEndian, SyscallColumn.None),
            "SCMP_ARCH_AARCH64" => new(EmAarch64 | Bits64 | LittleEndian, SyscallColumn.None),
            "SCMP_ARCH_MIPS" => new(EmMips, SyscallColumn.None),
            "SCMP_ARCH_MIPS64" => new(EmMips | Bits64, SyscallColumn.None),
            "SCMP_ARCH_MIPS64N32" => new(EmMips | Bits64 | MipsN32, SyscallColumn.None),
            "SCMP_ARCH_MIPSEL" => new(EmMips | LittleEndian, SyscallColumn.None),
            "SCMP_ARCH_MIPSEL64" => new(EmMips | Bits64 | LittleEndian, SyscallColumn.None),
            "SCMP_ARCH_MIPSEL64N32" => new(EmMips | Bits64 | LittleEndian | MipsN32, SyscallColumn.None),
            "SCMP_ARCH_PPC" => new(EmPpc, SyscallColumn.None),
            "SCMP_ARCH_PPC64" => new(EmPpc64 | Bits64, SyscallColumn.None),
            "SCMP_ARCH_PPC64LE" => new(EmPpc64 | Bits64 | LittleEndian, SyscallColumn.None),
            "SCMP_ARCH_S390" => new(EmS390, SyscallColumn.None),
            "SCMP_ARCH_S390X" => new(EmS390 | Bits64, SyscallColumn.None),
            "SCMP_ARCH_PARISC" => new(EmParisc, SyscallColumn.None),
            "SCMP_ARCH_PARISC64" => new(EmParisc | Bits64, SyscallColumn.None),
            "SCMP_ARCH_RISCV64" => new(EmRiscv | Bits64 | LittleEndian, SyscallColumn.None),
            "SCMP_ARCH_LOONGARCH64" => new(EmLoongArch | Bits64 | LittleEndian, SyscallColumn.None),
            _ => default,
        };
        return arch.AuditArch != 0;
    }

    /// <summary>The syscall numbers of a column, by <see cref="SyscallTable"/> row.</summary>
    public static ReadOnlySpan<int> Numbers(SyscallColumn column) => column switch
    {
        SyscallColumn.X86_64 => SyscallTable.X86_64,
        SyscallColumn.I386 => SyscallTable.I386,
        SyscallColumn.X32 => SyscallTable.X32,
        _ => [],
    };

    /// <summary>libseccomp compares only the low 32 bits of arguments on 32-bit ABIs (i386, x32).</summary>
    public static bool HasWideArgs(SyscallColumn column) => column == SyscallColumn.X86_64;
}
