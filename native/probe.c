/* skiff info: does this kernel give us what skiff relies on? Each probe is tried for
 * real, in a throw-away child with its own user and mount namespaces. */
#include "sys.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "skiff.h"

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

struct overlay_dirs {
    char lower[512], upper[512], work[512], merged[512];
};

/* Runs in the raw clone3 child: no stdio, no malloc; the paths are made beforehand. */
static int try_overlay(const struct overlay_dirs *d)
{
    const char *lower = d->lower, *upper = d->upper, *work = d->work, *merged = d->merged;
    const char *dirs[] = {lower, upper, work, merged};
    for (int i = 0; i < 4; i++)
        if (mkdir(dirs[i], 0700) < 0 && errno != EEXIST)
            return errno;
    int fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return errno;
    if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lower, 0) < 0 &&
        sys_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0)
        return errno;
    if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
        sys_fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
        return errno;
    if (getuid() != 0 || geteuid() != 0)
        return EPERM;
    sys_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
    if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return errno;
    int m = sys_fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (m < 0)
        return errno;
    if (sys_move_mount(m, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return errno;
    return 0;
}

SKIFF_EXPORT int32_t skiff_probe_kernel(const char *dir, skiff_probe *out)
{
    memset(out, 0, sizeof(*out));
    out->pidfd = (int32_t)syscall(SYS_pidfd_open, getpid(), 0);
    if (out->pidfd >= 0) {
        close(out->pidfd);
        out->pidfd = 0;
    } else {
        out->pidfd = errno;
    }

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    char uid_map[64], gid_map[64];
    snprintf(uid_map, sizeof(uid_map), "0 %u 1", (unsigned)getuid());
    snprintf(gid_map, sizeof(gid_map), "0 %u 1", (unsigned)getgid());
    struct overlay_dirs dirs;
    snprintf(dirs.lower, sizeof(dirs.lower), "%s/l", dir);
    snprintf(dirs.upper, sizeof(dirs.upper), "%s/u", dir);
    snprintf(dirs.work, sizeof(dirs.work), "%s/w", dir);
    snprintf(dirs.merged, sizeof(dirs.merged), "%s/m", dir);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = sys_clone3(&args);
    if (pid == 0) {
        int32_t res[2] = {0, 0};
        close(pipefd[0]);
        write_file("/proc/self/setgroups", "deny");
        if (write_file("/proc/self/uid_map", uid_map) == 0)
            write_file("/proc/self/gid_map", gid_map);
        int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
        res[0] = fs < 0 ? errno : 0;
        if (fs >= 0)
            close(fs);
        res[1] = res[0] ? res[0] : try_overlay(&dirs);
        if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
            _exit(1);
        _exit(0);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        out->clone3 = saved == ENOSYS ? ENOSYS : 0;
        out->userns = saved;
        out->mount_api = saved;
        out->overlay_userns = saved;
        return 0;
    }
    int32_t res[2] = {EIO, EIO};
    ssize_t n;
    do {
        n = read(pipefd[0], res, sizeof(res));
    } while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    skiff_wait(pidfd);
    close(pidfd);
    out->mount_api = res[0];
    out->overlay_userns = res[1];
    return 0;
}
