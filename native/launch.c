/* The parent side of a launch: clone3, the go byte, the exec report, the wait. */
#include "sys.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "internal.h"
#include "skiff.h"

/* The supervisor face (supervisor.c) is chosen by argv[0] before .NET starts, so no
 * managed call may ever reach it: this reference makes the linker take its object from
 * the archive anyway (launch.o is always in). */
extern const int skiff_supervisor_face_linked;
__attribute__((used)) static const int *const supervisor_face = &skiff_supervisor_face_linked;

SKIFF_EXPORT int32_t skiff_launch(const skiff_plan *plan, skiff_child *child)
{
    if (!plan || !child || plan->abi != SKIFF_ABI_VERSION || !plan->ops)
        return -EINVAL;
    int sync[2], err[2];
    if (pipe2(sync, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(err, O_CLOEXEC) < 0) {
        int e = errno;
        close(sync[0]);
        close(sync[1]);
        return -e;
    }

    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = plan->clone_flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    if (plan->flags & SKIFF_PLAN_PARENT) {
        /* clone3 refuses an exit signal with CLONE_PARENT: the child inherits ours (SIGCHLD). */
        args.flags |= CLONE_PARENT;
        args.exit_signal = 0;
    }
    if (plan->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)plan->cgroup_fd;
    }

    /* Block every signal across the clone so that no .NET handler runs in the child
     * before it resets them all to their defaults. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = sys_clone3(&args);
    if (pid == 0) {
        close(sync[1]);
        close(err[0]);
        skiff_child_main(plan, sync[0], err[1]);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(sync[0]);
    close(err[1]);
    if (pid < 0) {
        close(sync[1]);
        close(err[0]);
        return -saved;
    }
    child->pid = (int32_t)pid;
    child->pidfd = pidfd;
    child->sync_fd = sync[1];
    child->err_fd = err[0];
    return 0;
}

SKIFF_EXPORT int32_t skiff_release(int32_t sync_fd, int32_t go)
{
    int32_t rc = 0;
    if (go) {
        char b = 'G';
        ssize_t n;
        do {
            n = write(sync_fd, &b, 1);
        } while (n < 0 && errno == EINTR);
        /* EPIPE: the child does not wait for us, or is gone; its report says which. */
        if (n != 1 && errno != EPIPE)
            rc = -errno;
    }
    close(sync_fd);
    return rc;
}

SKIFF_EXPORT int32_t skiff_await_exec(int32_t err_fd, skiff_failure *failure)
{
    int32_t rc = skiff_read_report(err_fd, failure);
    close(err_fd);
    return rc;
}

static int32_t decode_status(const siginfo_t *info)
{
    switch (info->si_code) {
    case CLD_EXITED:
        return info->si_status;
    case CLD_KILLED:
    case CLD_DUMPED:
        return 128 + info->si_status;
    default:
        return -EPROTO;
    }
}

SKIFF_EXPORT int32_t skiff_wait(int32_t pidfd)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    for (;;) {
        if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) == 0)
            return decode_status(&info);
        if (errno != EINTR)
            return -errno;
    }
}

SKIFF_EXPORT int32_t skiff_signal(int32_t pidfd, int32_t sig)
{
    return sys_pidfd_send_signal(pidfd, sig) < 0 ? -errno : 0;
}

extern char **environ;

SKIFF_EXPORT int32_t skiff_spawn_wait(const char *path, const char *const *argv, const char *const *envp)
{
    pid_t pid;
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* The child starts with default signal handling, whatever .NET installed. */
    sigset_t def;
    sigfillset(&def);
    posix_spawnattr_setsigdefault(&attr, &def);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    int rc = posix_spawn(&pid, path, NULL, &attr, (char *const *)argv, envp ? (char *const *)envp : environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return -rc;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    int32_t code = skiff_wait(pidfd);
    close(pidfd);
    return code;
}

/* Signal forwarding while skiff run waits: a C handler instead of .NET's signal
 * thread, which would cost a thread start on every run. Installed before the clone
 * (skiff_forward_begin) so that a ^C during setup is held, not fatal to skiff before
 * it cleans up, and passed on once the container runs. SIGWINCH passes skiff's
 * window size to the container's terminal. */
static const int fwd_sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
enum { FWD_N = sizeof(fwd_sigs) / sizeof(fwd_sigs[0]) };
static struct sigaction fwd_old[FWD_N];
static volatile sig_atomic_t fwd_installed;
static volatile sig_atomic_t fwd_pidfd = -1;
static volatile sig_atomic_t fwd_master = -1;
static volatile sig_atomic_t fwd_pending[65];

static void forward(int sig)
{
    int saved = errno;
    if (sig == SIGWINCH) {
        struct winsize ws;
        if (fwd_master >= 0 && ioctl(0, TIOCGWINSZ, &ws) == 0)
            ioctl(fwd_master, TIOCSWINSZ, &ws);
    } else if (fwd_pidfd >= 0) {
        sys_pidfd_send_signal(fwd_pidfd, sig);
    } else if (sig > 0 && sig < 65) {
        fwd_pending[sig] = 1;
    }
    errno = saved;
}

SKIFF_EXPORT int32_t skiff_forward_begin(void)
{
    if (fwd_installed)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < FWD_N; i++)
        sigaction(fwd_sigs[i], &sa, &fwd_old[i]);
    fwd_installed = 1;
    return 0;
}

SKIFF_EXPORT int32_t skiff_forward_end(void)
{
    if (!fwd_installed)
        return 0;
    for (int i = 0; i < FWD_N; i++)
        sigaction(fwd_sigs[i], &fwd_old[i], NULL);
    fwd_installed = 0;
    fwd_pidfd = -1;
    fwd_master = -1;
    return 0;
}

SKIFF_EXPORT int32_t skiff_wait_forwarding(int32_t pidfd, int32_t pty_master)
{
    int began = fwd_installed;
    skiff_forward_begin();
    fwd_master = pty_master;
    fwd_pidfd = pidfd;
    /* what arrived while the container was being set up goes to it now */
    for (int sig = 1; sig < 65; sig++) {
        if (fwd_pending[sig]) {
            fwd_pending[sig] = 0;
            sys_pidfd_send_signal(pidfd, sig);
        }
    }
    int32_t rc = skiff_wait(pidfd);
    fwd_pidfd = -1;
    fwd_master = -1;
    if (!began)
        skiff_forward_end();
    return rc;
}

SKIFF_EXPORT int32_t skiff_release_state(int32_t sync_fd, const uint8_t *state, int32_t len, int32_t keep)
{
    char b = 'G';
    uint32_t n32 = (uint32_t)len;
    const void *parts[3] = {&b, &n32, state};
    size_t sizes[3] = {1, sizeof(n32), (size_t)len};
    int parts_n = state ? 3 : 1;
    int32_t rc = 0;
    for (int i = 0; i < parts_n && rc == 0; i++) {
        size_t off = 0;
        while (off < sizes[i]) {
            ssize_t n = write(sync_fd, (const char *)parts[i] + off, sizes[i] - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = errno == EPIPE ? 0 : -errno;
                break;
            }
            off += (size_t)n;
        }
    }
    if (!keep)
        close(sync_fd);
    return rc;
}

SKIFF_EXPORT int32_t skiff_read_report(int32_t err_fd, skiff_failure *record)
{
    size_t got = 0;
    while (got < sizeof(*record)) {
        ssize_t n = read(err_fd, (char *)record + got, sizeof(*record) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return got == 0 ? 0 : -EPROTO;
        got += (size_t)n;
    }
    return 1;
}
