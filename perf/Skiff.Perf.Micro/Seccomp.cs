using BenchmarkDotNet.Attributes;
using Skiff.Oci;
using Skiff.Oci.Seccomp;

namespace Skiff.Perf.Micro;

/// <summary>
/// A profile shaped like Docker's default (x86_64, x86 and x32; errno by default; one allow rule of about 300
/// syscalls; personality and clone with argument checks) compiled to BPF, as every container start with a
/// seccomp profile does.
/// </summary>
[MemoryDiagnoser]
public class SeccompCompilation
{
    private static readonly string[] Allowed =
    [
        "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
        "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range", "connect", "copy_file_range", "creat",
        "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd",
        "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fanotify_mark",
        "fchdir", "fchmod", "fchmodat", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
        "fremovexattr", "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futimesat", "getcpu", "getcwd", "getdents",
        "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
        "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "ioprio_get",
        "ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "kill", "lchown", "lgetxattr",
        "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise", "membarrier",
        "memfd_create", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
        "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
        "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
        "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
        "pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg",
        "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
        "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto",
        "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
        "setreuid", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setxattr",
        "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "socket", "socketpair", "splice",
        "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime",
        "timerfd_settime", "times", "tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat", "utimes",
        "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
    ];

    private LinuxSeccomp _profile = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rules = new List<SeccompSyscall> { new() { Names = [.. Allowed], Action = "SCMP_ACT_ALLOW" } };
        // Docker allows only these personalities, and clone without new namespaces.
        foreach (ulong persona in new ulong[] { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff })
            rules.Add(new() { Names = ["personality"], Action = "SCMP_ACT_ALLOW", Args = [new() { Index = 0, Value = persona, Op = "SCMP_CMP_EQ" }] });
        rules.Add(new() { Names = ["clone"], Action = "SCMP_ACT_ALLOW", Args = [new() { Index = 0, Value = 0x7E020000, ValueTwo = 0, Op = "SCMP_CMP_MASKED_EQ" }] });
        rules.Add(new() { Names = ["clone3"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 38 });
        _profile = new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = 1,
            Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Syscalls = rules,
        };
        Compile(); // a profile the compiler refuses should fail here, not in the middle of a run
    }

    [Benchmark]
    public int Compile() => SeccompCompiler.Compile(_profile).Filter.Length;
}

/// <summary>
/// Docker's default profile (src/Skiff.Engine/Seccomp/default.json) parsed from its JSON, made from the
/// generated objects, and converted to the runtime-spec profile for x86_64 with Docker's default
/// capabilities: the steps before compiling that every `skiff run` without --security-opt pays.
/// </summary>
[MemoryDiagnoser]
public class DockerDefaultSeccomp
{
    private byte[] _json = [];
    private Skiff.Engine.Seccomp.DockerSeccompProfile _parsed = null!;

    [GlobalSetup]
    public void Setup()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Runtime.sln")))
            dir = dir.Parent;
        _json = File.ReadAllBytes(Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Runtime.sln not found above " + AppContext.BaseDirectory),
            "src", "Skiff.Engine", "Seccomp", "default.json"));
        _parsed = Parse();
    }

    [Benchmark]
    public Skiff.Engine.Seccomp.DockerSeccompProfile Parse() => Skiff.Engine.Seccomp.DockerSeccomp.Parse(_json, "default");

    [Benchmark]
    public Skiff.Engine.Seccomp.DockerSeccompProfile Generated() => Skiff.Engine.Seccomp.DockerSeccomp.CreateDefault();

    [Benchmark]
    public LinuxSeccomp? Convert() =>
        Skiff.Engine.Seccomp.DockerSeccomp.Convert(_parsed, Skiff.Engine.Containers.ContainerCapabilities.DockerDefault, "amd64", new Version(6, 1));
}
