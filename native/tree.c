/* Removing a container's directory. Rootless, the upper layer holds files owned by
 * subordinate ids that the user cannot remove; a child that joins the container's
 * user namespace has the capabilities to. The walk uses fds and a stack buffer per
 * level: it runs in a raw clone3 child and must not allocate. */
#include "sys.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "internal.h"
#include "skiff.h"

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int empty_dir(int dfd, int depth)
{
    char buf[2048];
    if (depth > 256)
        return -ELOOP;
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        int removed = 0;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *name = d->d_name;
            if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
                continue;
            /* ENOENT: the overlay of a dying mount namespace may still tidy its work
             * directory while we walk it; gone is what we want. */
            if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT) {
                removed = 1;
                continue;
            }
            if (errno != EISDIR && errno != EPERM)
                return -errno;
            int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 && errno == EACCES) {
                /* a directory the container made unreadable: make it ours to walk */
                if (fchmodat(dfd, name, 0700, 0) < 0)
                    return -errno;
                sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
            if (sub < 0 && errno == ENOENT)
                continue;
            if (sub < 0)
                return -errno;
            int rc = empty_dir(sub, depth + 1);
            close(sub);
            if (rc < 0)
                return rc;
            if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
            removed = 1;
        }
        /* entries moved under our feet: read the directory again from the start */
        if (removed && lseek(dfd, 0, SEEK_SET) < 0)
            return -errno;
    }
}

static int32_t remove_tree_here(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int rc = empty_dir(fd, 0);
    close(fd);
    if (rc < 0)
        return rc;
    if (rmdir(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

SKIFF_EXPORT int32_t skiff_remove_tree(int32_t userns_fd, const char *path)
{
    if (userns_fd < 0)
        return remove_tree_here(path);
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = sys_clone3(&args);
    if (pid == 0) {
        if (setns(userns_fd, CLONE_NEWUSER) < 0)
            _exit(1);
        int32_t rc = remove_tree_here(path);
        _exit(rc == 0 ? 0 : (-rc) & 0xff);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return -saved;
    int32_t code = skiff_wait(pidfd);
    close(pidfd);
    if (code < 0)
        return code;
    return code == 0 ? 0 : -(code == 1 ? EPERM : code);
}
