using System.Runtime.InteropServices;

namespace Skiff;

public static unsafe partial class Interop
{
    /// <summary>The few libc calls .NET does not wrap.</summary>
    public static partial class Libc
    {
        private const string Lib = "libc";

        public const int AF_UNIX = 1;
        public const int SOCK_STREAM = 1;
        public const int SOCK_CLOEXEC = 0x80000;
        public const int O_RDONLY = 0;
        public const int O_CLOEXEC = 0x80000;

        [LibraryImport(Lib)]
        public static partial nint strerror(int errnum);

        [LibraryImport(Lib)]
        public static partial uint getuid();

        [LibraryImport(Lib)]
        public static partial uint getgid();

        [LibraryImport(Lib)]
        public static partial uint geteuid();

        [LibraryImport(Lib, SetLastError = true)]
        public static partial int socketpair(int domain, int type, int protocol, int* sv);

        [LibraryImport(Lib, SetLastError = true)]
        public static partial int close(int fd);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int open(string path, int flags);

        [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int open(string path, int flags, uint mode);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int rename(string from, string to);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int unlink(string path);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

        [LibraryImport(Lib, SetLastError = true)]
        public static partial nint read(int fd, byte* buf, nint count);

        [LibraryImport(Lib, SetLastError = true)]
        public static partial nint write(int fd, byte* buf, nint count);

        [LibraryImport(Lib, SetLastError = true)]
        public static partial int isatty(int fd);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int access(string path, int mode);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int mkfifo(string path, uint mode);

        [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int mkdir(string path, uint mode);

        [LibraryImport(Lib, SetLastError = true)]
        public static partial int kill(int pid, int sig);

        [LibraryImport(Lib, SetLastError = true)]
        private static partial long syscall(long number, int pid, uint flags);

        /// <summary>pidfd_open(2); glibc 2.36 has no wrapper worth relying on.</summary>
        public static int pidfd_open(int pid, uint flags) => (int)syscall(434, pid, flags);

        [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
        private static partial long syscall_bpf(long number, int cmd, void* attr, uint size);

        /// <summary>bpf(2); glibc has no wrapper.</summary>
        public static long bpf(int cmd, void* attr, uint size) => syscall_bpf(321, cmd, attr, size);

        public const int LOCK_EX = 2;

        [LibraryImport(Lib, SetLastError = true)]
        public static partial int flock(int fd, int operation);

        [LibraryImport(Lib, SetLastError = true)]
        private static partial nint getrandom(byte* buf, nint len, uint flags);

        public static void GetRandom(Span<byte> into)
        {
            fixed (byte* p = into)
            {
                nint done = 0;
                while (done < into.Length)
                {
                    nint n = getrandom(p + done, into.Length - done, 0);
                    if (n < 0)
                    {
                        int err = Marshal.GetLastPInvokeError();
                        if (err == Errno.EINTR)
                        {
                            continue;
                        }
                        throw new SystemCallException("getrandom", err);
                    }
                    done += n;
                }
            }
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct UtsName
        {
            public fixed byte SysName[65];
            public fixed byte NodeName[65];
            public fixed byte Release[65];
            public fixed byte Version[65];
            public fixed byte Machine[65];
            public fixed byte DomainName[65];
        }

        [LibraryImport(Lib, SetLastError = true)]
        public static partial int uname(UtsName* buf);

        /// <summary>Reads the whole of count bytes unless EOF; retries EINTR. Returns bytes read or -errno.</summary>
        public static nint ReadRetry(int fd, byte* buf, nint count)
        {
            while (true)
            {
                nint n = read(fd, buf, count);
                if (n >= 0)
                {
                    return n;
                }
                int err = Marshal.GetLastPInvokeError();
                if (err != Errno.EINTR)
                {
                    return -err;
                }
            }
        }

        /// <summary>Writes everything; retries EINTR and short writes. Returns 0 or -errno.</summary>
        public static int WriteAll(int fd, byte* buf, nint count)
        {
            while (count > 0)
            {
                nint n = write(fd, buf, count);
                if (n < 0)
                {
                    int err = Marshal.GetLastPInvokeError();
                    if (err == Errno.EINTR)
                    {
                        continue;
                    }
                    return -err;
                }
                buf += n;
                count -= n;
            }
            return 0;
        }
    }
}
