using System.Runtime.InteropServices;

namespace Skiff;

/// <summary>The native shim (native/skiff.h). Every function returns >= 0 or -errno.</summary>
public static unsafe partial class Interop
{
    public static partial class Shim
    {
        private const string Lib = "skiff_native";
        public const uint AbiVersion = 1;

        [StructLayout(LayoutKind.Sequential)]
        public struct Op
        {
            public uint Kind;
            public uint Flags;
            public uint U0;
            public uint U1;
            public ulong Attr;
            public ulong Attr2;
            public byte* S0;
            public byte* S1;
            public byte* S2;
            public byte* S3;
            public byte** L0;
            public byte** L1;
            public uint* Ids;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct Plan
        {
            public uint Abi;
            public uint NOps;
            public ulong CloneFlags;
            public int CgroupFd;
            public int PDeathSig;
            public uint Flags;
            public uint PreserveFds;
            public Op* Ops;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct Child
        {
            public int Pid;
            public int PidFd;
            public int SyncFd;
            public int ErrFd;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct Failure
        {
            public int OpIndex;
            public int Step;
            public int Err;
            public int Reserved;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct Probe
        {
            public int Clone3;
            public int PidFd;
            public int UserNs;
            public int MountApi;
            public int OverlayUserNs;
            public int Reserved;
        }

        [LibraryImport(Lib, EntryPoint = "skiff_launch")]
        public static partial int Launch(Plan* plan, Child* child);

        [LibraryImport(Lib, EntryPoint = "skiff_release")]
        public static partial int Release(int syncFd, int go);

        [LibraryImport(Lib, EntryPoint = "skiff_release_state")]
        public static partial int ReleaseState(int syncFd, byte* state, int len, int keep);

        [LibraryImport(Lib, EntryPoint = "skiff_await_exec")]
        public static partial int AwaitExec(int errFd, Failure* failure);

        [LibraryImport(Lib, EntryPoint = "skiff_read_report")]
        public static partial int ReadReport(int errFd, Failure* record);

        public const int ReportCreated = -2;
        public const int ReportPid = -3;
        public const int ReportSync = -4;
        public const int ReportSeccomp = -5;

        [LibraryImport(Lib, EntryPoint = "skiff_wait")]
        public static partial int Wait(int pidFd);

        [LibraryImport(Lib, EntryPoint = "skiff_wait_forwarding")]
        public static partial int WaitForwarding(int pidFd, int ptyMaster);

        [LibraryImport(Lib, EntryPoint = "skiff_forward_begin")]
        public static partial int ForwardBegin();

        [LibraryImport(Lib, EntryPoint = "skiff_forward_end")]
        public static partial int ForwardEnd();

        [LibraryImport(Lib, EntryPoint = "skiff_signal")]
        public static partial int Signal(int pidFd, int sig);

        [LibraryImport(Lib, EntryPoint = "skiff_remove_tree", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int RemoveTree(int userNsFd, string path);

        [LibraryImport(Lib, EntryPoint = "skiff_spawn_wait")]
        public static partial int SpawnWait(byte* path, byte** argv, byte** envp);

        [LibraryImport(Lib, EntryPoint = "skiff_tty_raw")]
        public static partial int TtyRaw(int fd, byte* saved, int savedLen);

        [LibraryImport(Lib, EntryPoint = "skiff_tty_restore")]
        public static partial int TtyRestore(int fd, byte* saved, int savedLen);

        [LibraryImport(Lib, EntryPoint = "skiff_tty_size")]
        public static partial int TtySize(int fd, ushort* rows, ushort* cols);

        [LibraryImport(Lib, EntryPoint = "skiff_tty_set_size")]
        public static partial int TtySetSize(int fd, ushort rows, ushort cols);

        [LibraryImport(Lib, EntryPoint = "skiff_recv_fd")]
        public static partial int RecvFd(int sock);

        [LibraryImport(Lib, EntryPoint = "skiff_connect_unix", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int ConnectUnix(string path);

        [LibraryImport(Lib, EntryPoint = "skiff_send_fd")]
        public static partial int SendFd(int sock, byte* data, int len, int fd);

        [LibraryImport(Lib, EntryPoint = "skiff_runtime_dir")]
        public static partial int RuntimeDir(byte* buf, int len);

        [LibraryImport(Lib, EntryPoint = "skiff_keeper_read", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int KeeperRead(string pidFile);

        [LibraryImport(Lib, EntryPoint = "skiff_keeper_joined")]
        public static partial int KeeperJoined();

        [LibraryImport(Lib, EntryPoint = "skiff_process_start_time")]
        public static partial int ProcessStartTime(int pid, ulong* start);

        public const string KeeperArgv0 = "skiff-userns-keeper";
        public const string KeeperPidFile = "userns-keeper.pid";

        [LibraryImport(Lib, EntryPoint = "skiff_probe_kernel", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int ProbeKernel(string dir, Probe* probe);

        /// <summary>native/supervisor.c: this binary under that name is a container supervisor.</summary>
        public const string SupervisorArgv0 = "skiff-supervisor";
        /// <summary>The supervisor's --ready-fd, where SupervisorSpawn puts the ready pipe.</summary>
        public const int SupervisorReadyFd = 3;
        /// <summary>The launch plan flag that adds CLONE_PARENT (SKIFF_PLAN_PARENT).</summary>
        public const uint PlanParent = 8;

        [LibraryImport(Lib, EntryPoint = "skiff_supervisor_spawn")]
        public static partial int SupervisorSpawn(byte* path, byte** argv, byte** envp, int* readyFd);

        [LibraryImport(Lib, EntryPoint = "skiff_supervisor_report")]
        public static partial int SupervisorReport(int sock, byte* text, int len, int* fds, int nfds);
    }
}
