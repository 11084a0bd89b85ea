/* The container child: walks the launch plan with one switch, then execve.
 * It runs in a raw clone3 copy of a multithreaded process, so it calls only
 * async-signal-safe functions and raw syscalls: no malloc, no stdio, no locks. */
#include "sys.h"

#include <limits.h>
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <termios.h>

#include "internal.h"
#include "skiff.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

#define SKIFF_STATE_MAX 65536

struct child_ctx {
    const skiff_plan *plan;
    const char *state; /* the state JSON for hooks, from the parent */
    int sync_fd;       /* kept open for SKIFF_OP_SYNC (SKIFF_PLAN_KEEP_SYNC) */
    size_t state_len;
    int err_fd;
    int root_fd;
    int op_index;
    const char *skipped;   /* an OPTIONAL MKFILE_P could not make this target: its BIND and SETATTR are skipped */
    const char *exec_path; /* resolved by WAIT_START before it reports "created" */
    char exec_buf[PATH_MAX];
};

__attribute__((noreturn)) static void fail(struct child_ctx *ctx, int step, int err)
{
    skiff_failure f = {.op_index = ctx->op_index, .step = step, .err = err, .reserved = 0};
    ssize_t n;
    do {
        n = write(ctx->err_fd, &f, sizeof(f));
    } while (n < 0 && errno == EINTR);
    _exit(126);
}

/* Opens a path beneath the root; the last component is followed, scoped to the root. */
static int resolve(struct child_ctx *ctx, const char *path, int oflags)
{
    struct open_how how = {.flags = (uint64_t)(oflags | O_CLOEXEC), .mode = 0, .resolve = RESOLVE_FLAGS};
    int fd;
    if (ctx->root_fd == AT_FDCWD)
        return open(path, oflags | O_CLOEXEC); /* no root yet: a host path */
    while (*path == '/')
        path++;
    if (*path == '\0')
        path = ".";
    do {
        fd = sys_openat2(ctx->root_fd, path, &how);
    } while (fd < 0 && errno == EAGAIN);
    return fd;
}

/* Splits "a/b/c" into a resolved fd for "a/b" and the name "c" (copied to name). */
static int resolve_parent(struct child_ctx *ctx, const char *path, char *name, size_t name_len)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    char *slash = strrchr(buf, '/');
    const char *base = slash ? slash + 1 : buf;
    if (strlen(base) >= name_len || *base == '\0') {
        errno = EINVAL;
        return -1;
    }
    memcpy(name, base, strlen(base) + 1);
    if (slash)
        *slash = '\0';
    else
        buf[0] = '\0';
    return resolve(ctx, buf, O_PATH | O_DIRECTORY);
}

static void attach(struct child_ctx *ctx, int mnt_fd, const char *target)
{
    int target_fd = resolve(ctx, target, O_PATH);
    if (target_fd < 0)
        fail(ctx, SKIFF_STEP_RESOLVE, errno);
    if (sys_move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        fail(ctx, SKIFF_STEP_MOVE_MOUNT, errno);
    close(target_fd);
    close(mnt_fd);
}

static void bind_tree(struct child_ctx *ctx, const char *source, const char *target, uint64_t attr, int recursive)
{
    unsigned int rec = recursive ? AT_RECURSIVE : 0;
    int fd = sys_open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
    if (fd < 0)
        fail(ctx, SKIFF_STEP_OPEN_TREE, errno);
    if (attr) {
        struct mount_attr ma = {.attr_set = attr, .attr_clr = 0, .propagation = 0, .userns_fd = 0};
        if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | rec, &ma) < 0)
            fail(ctx, SKIFF_STEP_SETATTR, errno);
    }
    attach(ctx, fd, target);
}

/* Applies "k=v,flag,k2=v2" to an fs context. */
static int configure(int fs_fd, const char *options)
{
    char buf[1024];
    if (!options || !*options)
        return 0;
    size_t len = strlen(options);
    if (len >= sizeof(buf)) {
        errno = E2BIG;
        return -1;
    }
    memcpy(buf, options, len + 1);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        int rc;
        if (eq) {
            *eq = '\0';
            rc = sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, tok, eq + 1, 0);
        } else {
            rc = sys_fsconfig(fs_fd, FSCONFIG_SET_FLAG, tok, NULL, 0);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* sysfs belongs to a network namespace: without one of our own the kernel refuses it
 * (at fsopen or at create), and the host's is shown read-only instead. */
static int fall_back(struct child_ctx *ctx, const skiff_op *op, int fs_fd, int err)
{
    if (err != EPERM || !(op->flags & SKIFF_F_FALLBACK_RBIND) || !op->s3)
        return 0;
    if (fs_fd >= 0)
        close(fs_fd);
    bind_tree(ctx, op->s3, op->s2, op->attr, 1);
    return 1;
}

static void op_mount_fs(struct child_ctx *ctx, const skiff_op *op)
{
    int fs_fd = sys_fsopen(op->s0, FSOPEN_CLOEXEC);
    if (fs_fd < 0) {
        if (fall_back(ctx, op, -1, errno))
            return;
        fail(ctx, SKIFF_STEP_FSOPEN, errno);
    }
    /* the source shows in the container's mount table, as "proc" or "tmpfs" */
    if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", op->s0, 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    if (configure(fs_fd, op->s1) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    if (sys_fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        int err = errno;
        if (fall_back(ctx, op, fs_fd, err))
            return;
        fail(ctx, SKIFF_STEP_FSCONFIG, err);
    }
    int mnt_fd = sys_fsmount(fs_fd, FSMOUNT_CLOEXEC, (unsigned int)op->attr);
    if (mnt_fd < 0)
        fail(ctx, SKIFF_STEP_FSMOUNT, errno);
    close(fs_fd);
    attach(ctx, mnt_fd, op->s2);
}

/* Kernels before 6.8 lack "lowerdir+": join the layers into one option instead. */
static int overlay_lowers_joined(int fs_fd, const char *const *lowers)
{
    char buf[PATH_MAX * 4];
    size_t used = 0;
    for (const char *const *l = lowers; *l; l++) {
        size_t len = strlen(*l);
        if (used + len + 2 > sizeof(buf)) {
            errno = E2BIG;
            return -1;
        }
        if (used)
            buf[used++] = ':';
        memcpy(buf + used, *l, len);
        used += len;
    }
    buf[used] = '\0';
    return sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir", buf, 0);
}

static void op_overlay(struct child_ctx *ctx, const skiff_op *op)
{
    int fs_fd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs_fd < 0)
        fail(ctx, SKIFF_STEP_FSOPEN, errno);
    if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    for (const char *const *l = op->l0; l && *l; l++) {
        if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir+", *l, 0) < 0) {
            if (errno == EINVAL && l == op->l0 && overlay_lowers_joined(fs_fd, op->l0) == 0)
                break;
            fail(ctx, SKIFF_STEP_FSCONFIG, errno);
        }
    }
    if (op->s0 && sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "upperdir", op->s0, 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    if (op->s1 && sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "workdir", op->s1, 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    if ((op->flags & SKIFF_F_USERXATTR) && sys_fsconfig(fs_fd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    if ((op->flags & SKIFF_F_VOLATILE) && op->s0 &&
        sys_fsconfig(fs_fd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    if (sys_fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        fail(ctx, SKIFF_STEP_FSCONFIG, errno);
    int mnt_fd = sys_fsmount(fs_fd, FSMOUNT_CLOEXEC, (unsigned int)op->attr);
    if (mnt_fd < 0)
        fail(ctx, SKIFF_STEP_FSMOUNT, errno);
    close(fs_fd);
    if (sys_move_mount(mnt_fd, "", AT_FDCWD, op->s2, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        fail(ctx, SKIFF_STEP_MOVE_MOUNT, errno);
    close(mnt_fd);
}


/* A bind target: 0 when made or already there (any type but a symlink), else -1 with errno.
 * What is there is not opened: opening a file of an overlay's lower layer for writing copies it
 * (and its directory) up into the container's writable layer, for nothing. */
static int make_file_at(int dir_fd, const char *name, mode_t mode)
{
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            errno = ELOOP;
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT)
        return -1;
    int fd = openat(dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    close(fd);
    return 0;
}

static void op_create(struct child_ctx *ctx, const skiff_op *op)
{
    char name[NAME_MAX + 1];
    int dir_fd = resolve_parent(ctx, op->s2, name, sizeof(name));
    if (dir_fd < 0)
        fail(ctx, SKIFF_STEP_RESOLVE, errno);
    switch ((skiff_op_kind)op->kind) {
    case SKIFF_OP_MKDIR:
        if (mkdirat(dir_fd, name, (mode_t)op->attr) < 0 && errno != EEXIST)
            fail(ctx, SKIFF_STEP_MKDIR, errno);
        break;
    case SKIFF_OP_MKFILE:
        if (make_file_at(dir_fd, name, (mode_t)op->attr) < 0)
            fail(ctx, SKIFF_STEP_MKFILE, errno);
        break;
    case SKIFF_OP_SYMLINK:
        if (symlinkat(op->s0, dir_fd, name) < 0 && errno != EEXIST)
            fail(ctx, SKIFF_STEP_SYMLINK, errno);
        break;
    case SKIFF_OP_PROPAGATION:
    case SKIFF_OP_OVERLAY:
    case SKIFF_OP_ROOT:
    case SKIFF_OP_MOUNT_FS:
    case SKIFF_OP_BIND:
    case SKIFF_OP_PIVOT_ROOT:
    case SKIFF_OP_HOSTNAME:
    case SKIFF_OP_LOOPBACK_UP:
    case SKIFF_OP_OPEN_PTY:
    case SKIFF_OP_STDIN_NULL:
    case SKIFF_OP_CHDIR:
    case SKIFF_OP_IDENTITY:
    case SKIFF_OP_EXEC:
    case SKIFF_OP_DETACH:
    case SKIFF_OP_WRITE_FILE:
    case SKIFF_OP_MKNOD:
    case SKIFF_OP_MASK:
    case SKIFF_OP_SETATTR:
    case SKIFF_OP_RLIMIT:
    case SKIFF_OP_CAPS_BOUND:
    case SKIFF_OP_CAPS:
    case SKIFF_OP_NO_NEW_PRIVS:
    case SKIFF_OP_SECCOMP:
    case SKIFF_OP_UMASK:
    case SKIFF_OP_PERSONALITY:
    case SKIFF_OP_SETNS:
    case SKIFF_OP_FORK:
    case SKIFF_OP_WAIT_START:
    case SKIFF_OP_MKDIR_P:
    case SKIFF_OP_MKFILE_P:
    case SKIFF_OP_HOOK:
    case SKIFF_OP_SYNC:
    case SKIFF_OP_TIMENS:
    default:
        fail(ctx, SKIFF_STEP_PLAN, EINVAL);
    }
    close(dir_fd);
}

static void op_pivot_root(struct child_ctx *ctx)
{
    if (fchdir(ctx->root_fd) < 0)
        fail(ctx, SKIFF_STEP_PIVOT_ROOT, errno);
    if (sys_pivot_root(".", ".") < 0)
        fail(ctx, SKIFF_STEP_PIVOT_ROOT, errno);
    if (sys_umount2(".", MNT_DETACH) < 0)
        fail(ctx, SKIFF_STEP_PIVOT_ROOT, errno);
    if (chdir("/") < 0)
        fail(ctx, SKIFF_STEP_PIVOT_ROOT, errno);
    close(ctx->root_fd);
    ctx->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ctx->root_fd < 0)
        fail(ctx, SKIFF_STEP_PIVOT_ROOT, errno);
}

static void op_loopback_up(struct child_ctx *ctx)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail(ctx, SKIFF_STEP_LOOPBACK, errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        fail(ctx, SKIFF_STEP_LOOPBACK, errno);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        fail(ctx, SKIFF_STEP_LOOPBACK, errno);
    close(fd);
}

static void make_stdio(struct child_ctx *ctx, int fd, int first)
{
    for (int i = first; i <= 2; i++)
        if (dup2(fd, i) < 0)
            fail(ctx, SKIFF_STEP_STDIO, errno);
    if (fd > 2)
        close(fd);
}

/* The pty lives in the container's own devpts, as runc's does; the master goes to skiff. */
static void op_open_pty(struct child_ctx *ctx, const skiff_op *op)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        fail(ctx, SKIFF_STEP_PTY, errno);
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        fail(ctx, SKIFF_STEP_PTY, errno);
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        fail(ctx, SKIFF_STEP_PTY, errno);
    struct winsize ws = {.ws_row = (unsigned short)(op->u1 >> 16), .ws_col = (unsigned short)(op->u1 & 0xffff),
                         .ws_xpixel = 0, .ws_ypixel = 0};
    if (ws.ws_row && ws.ws_col && ioctl(master, TIOCSWINSZ, &ws) < 0)
        fail(ctx, SKIFF_STEP_PTY, errno);
    if (skiff_send_fd_raw((int)op->u0, master) < 0)
        fail(ctx, SKIFF_STEP_SEND_FD, errno);
    close(master);
    close((int)op->u0);
    if (setsid() < 0)
        fail(ctx, SKIFF_STEP_SETSID, errno);
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        fail(ctx, SKIFF_STEP_SETSID, errno);
    make_stdio(ctx, slave, 0);
}

/* A process that outlives skiff: its own session, no terminal, no inherited stdio. */
static void op_detach(struct child_ctx *ctx)
{
    if (setsid() < 0)
        fail(ctx, SKIFF_STEP_SETSID, errno);
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fail(ctx, SKIFF_STEP_STDIO, errno);
    make_stdio(ctx, fd, 0);
    if (chdir("/") < 0)
        fail(ctx, SKIFF_STEP_CHDIR, errno);
}

static void op_stdin_null(struct child_ctx *ctx)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail(ctx, SKIFF_STEP_STDIO, errno);
    if (dup2(fd, 0) < 0)
        fail(ctx, SKIFF_STEP_STDIO, errno);
    if (fd != 0)
        close(fd);
}

/* mkdir -p, then chdir: Docker makes a missing working directory. */
static void op_chdir(struct child_ctx *ctx, const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        fail(ctx, SKIFF_STEP_CHDIR, ENAMETOOLONG);
    if (chdir(path) == 0)
        return;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char saved = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                fail(ctx, SKIFF_STEP_CHDIR, errno);
            buf[i] = saved;
        }
    }
    if (chdir(path) < 0)
        fail(ctx, SKIFF_STEP_CHDIR, errno);
}

/* Raw syscalls, not glibc's wrappers: those broadcast the change to every thread
 * glibc believes exists (SETXID), and in this copy of a multithreaded process that
 * waits forever on threads that are not here. */
static void op_identity(struct child_ctx *ctx, const skiff_op *op)
{
    if (op->flags & SKIFF_F_SETGROUPS) {
        if (syscall(SYS_setgroups, (size_t)op->attr, (const gid_t *)op->ids) < 0)
            fail(ctx, SKIFF_STEP_SETGROUPS, errno);
    }
    if ((op->flags & SKIFF_F_KEEPCAPS) && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        fail(ctx, SKIFF_STEP_CAPS, errno);
    if (syscall(SYS_setresgid, op->u1, op->u1, op->u1) < 0)
        fail(ctx, SKIFF_STEP_SETGID, errno);
    if (syscall(SYS_setresuid, op->u0, op->u0, op->u0) < 0)
        fail(ctx, SKIFF_STEP_SETUID, errno);
    if ((op->flags & SKIFF_F_KEEPCAPS) && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        fail(ctx, SKIFF_STEP_CAPS, errno);
}

/* PATH search as execvpe would do it, with the container's PATH rather than ours.
 * Fills buf with the file to run; 0 or an errno (ENOENT, EACCES, ...). */
static int resolve_exec(const skiff_op *op, char *buf, size_t len)
{
    const char *file = op->s1 ? op->s1 : op->l0[0];
    struct stat st;
    if (op->s1 || strchr(file, '/') || !op->s0) {
        if (strlen(file) >= len)
            return ENAMETOOLONG;
        memcpy(buf, file, strlen(file) + 1);
        if (stat(buf, &st) < 0)
            return errno;
        if (S_ISDIR(st.st_mode) || access(buf, X_OK) < 0)
            return EACCES;
        return 0;
    }
    size_t flen = strlen(file);
    int seen_eacces = 0;
    const char *p = op->s0;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        if (dlen + flen + 2 <= len) {
            size_t n = 0;
            if (dlen == 0)
                buf[n++] = '.';
            memcpy(buf + n, p, dlen);
            n += dlen;
            buf[n++] = '/';
            memcpy(buf + n, file, flen + 1);
            if (stat(buf, &st) == 0) {
                if (!S_ISDIR(st.st_mode) && access(buf, X_OK) == 0)
                    return 0;
                seen_eacces = 1;
            } else if (errno == EACCES) {
                seen_eacces = 1;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    return seen_eacces ? EACCES : ENOENT;
}

__attribute__((noreturn)) static void op_exec(struct child_ctx *ctx, const skiff_op *op)
{
    char *const *argv = (char *const *)op->l0;
    char *const *envp = (char *const *)op->l1;
    if (!ctx->exec_path) {
        int err = resolve_exec(op, ctx->exec_buf, sizeof(ctx->exec_buf));
        if (err)
            fail(ctx, SKIFF_STEP_EXEC, err);
        ctx->exec_path = ctx->exec_buf;
    }
    execve(ctx->exec_path, argv, envp);
    fail(ctx, SKIFF_STEP_EXEC, errno);
}

static void report(struct child_ctx *ctx, int32_t kind, int32_t value)
{
    skiff_failure r = {.op_index = kind, .step = value, .err = 0, .reserved = 0};
    ssize_t n;
    do {
        n = write(ctx->err_fd, &r, sizeof(r));
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(r))
        fail(ctx, SKIFF_STEP_REPORT, errno);
}

/* A hook: a raw clone of this (single-threaded) child execs it with the state on stdin;
 * waiting polls the pidfd so a timeout can kill it. */
static void op_hook(struct child_ctx *ctx, const skiff_op *op)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        fail(ctx, SKIFF_STEP_HOOK, errno);
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    long pid = sys_clone3(&args);
    if (pid < 0)
        fail(ctx, SKIFF_STEP_HOOK, errno);
    if (pid == 0) {
        if (dup2(p[0], 0) < 0)
            _exit(127);
        execve(op->s0, (char *const *)op->l0, (char *const *)op->l1);
        _exit(127);
    }
    close(p[0]);
    size_t off = 0;
    while (off < ctx->state_len) {
        ssize_t n = write(p[1], ctx->state + off, ctx->state_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a hook need not read its stdin */
        off += (size_t)n;
    }
    close(p[1]);
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN, .revents = 0};
    int timeout_ms = op->u0 ? (int)op->u0 * 1000 : -1;
    int ready;
    do {
        ready = poll(&pfd, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
        sys_pidfd_send_signal(pidfd, SIGKILL);
        siginfo_t gone;
        waitid(P_PIDFD, (id_t)pidfd, &gone, WEXITED);
        fail(ctx, SKIFF_STEP_HOOK, -ETIMEDOUT);
    }
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    while (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0)
        if (errno != EINTR)
            fail(ctx, SKIFF_STEP_HOOK, errno);
    close(pidfd);
    int status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
    if (status != 0)
        fail(ctx, SKIFF_STEP_HOOK, status);
}

/* create: resolve the command now, say "created", and sleep until `start` writes. */
static void op_wait_start(struct child_ctx *ctx, const skiff_op *op, const skiff_op *exec)
{
    if (!exec || exec->kind != SKIFF_OP_EXEC)
        fail(ctx, SKIFF_STEP_PLAN, EINVAL);
    int err = resolve_exec(exec, ctx->exec_buf, sizeof(ctx->exec_buf));
    if (err) {
        ctx->op_index = (int)(exec - ctx->plan->ops);
        fail(ctx, SKIFF_STEP_EXEC, err);
    }
    ctx->exec_path = ctx->exec_buf;
    report(ctx, SKIFF_REPORT_CREATED, 0);
    char b;
    ssize_t n;
    do {
        n = read((int)op->u0, &b, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1)
        fail(ctx, SKIFF_STEP_WAIT_START, n < 0 ? errno : EPIPE);
    close((int)op->u0);
}

/* text in one write (a /proc or /sys file takes it whole or not at all), then close fd. */
static void write_text(struct child_ctx *ctx, int fd, const char *text)
{
    size_t len = strlen(text);
    ssize_t n;
    do {
        n = write(fd, text, len);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len)
        fail(ctx, SKIFF_STEP_WRITE_FILE, n < 0 ? errno : EIO);
    close(fd);
}

static void op_write_file(struct child_ctx *ctx, const skiff_op *op)
{
    int fd = resolve(ctx, op->s2, O_WRONLY);
    if (fd < 0)
        fail(ctx, SKIFF_STEP_WRITE_FILE, errno);
    write_text(ctx, fd, op->s0);
}

static void op_mknod(struct child_ctx *ctx, const skiff_op *op)
{
    char name[NAME_MAX + 1];
    int dir_fd = resolve_parent(ctx, op->s2, name, sizeof(name));
    if (dir_fd < 0)
        fail(ctx, SKIFF_STEP_RESOLVE, errno);
    if (mknodat(dir_fd, name, (mode_t)op->u0, (dev_t)op->attr) < 0 && errno != EEXIST) {
        /* no mknod in a user namespace: bind the host's node, as crun does rootless */
        if (errno == EPERM && op->s3) {
            int fd = openat(dir_fd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 && errno != EEXIST)
                fail(ctx, SKIFF_STEP_MKFILE, errno);
            if (fd >= 0)
                close(fd);
            close(dir_fd);
            bind_tree(ctx, op->s3, op->s2, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0);
            return;
        }
        fail(ctx, SKIFF_STEP_MKNOD, errno);
    }
    if (fchownat(dir_fd, name, op->u1, (gid_t)op->attr2, AT_SYMLINK_NOFOLLOW) < 0)
        fail(ctx, SKIFF_STEP_CHOWN, errno);
    close(dir_fd);
}

/* maskedPaths: /dev/null over a file, an empty read-only tmpfs over a directory. */
static void op_mask(struct child_ctx *ctx, const skiff_op *op)
{
    int target = resolve(ctx, op->s2, O_PATH);
    if (target < 0) {
        if (errno == ENOENT)
            return;
        fail(ctx, SKIFF_STEP_RESOLVE, errno);
    }
    struct stat st;
    if (fstat(target, &st) < 0)
        fail(ctx, SKIFF_STEP_MASK, errno);
    int mnt;
    if (S_ISDIR(st.st_mode)) {
        int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
            fail(ctx, SKIFF_STEP_FSOPEN, errno);
        if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
            sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
            fail(ctx, SKIFF_STEP_FSCONFIG, errno);
        mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
        if (mnt < 0)
            fail(ctx, SKIFF_STEP_FSMOUNT, errno);
        close(fs);
    } else {
        mnt = sys_open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (mnt < 0)
            fail(ctx, SKIFF_STEP_OPEN_TREE, errno);
    }
    if (sys_move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        fail(ctx, SKIFF_STEP_MASK, errno);
    close(mnt);
    close(target);
}

/* mount_setattr on a path: flags, propagation; READONLY_BIND first binds the path onto itself. */
static void op_setattr(struct child_ctx *ctx, const skiff_op *op)
{
    unsigned int rec = (op->flags & SKIFF_F_RECURSIVE) ? AT_RECURSIVE : 0;
    int target = resolve(ctx, op->s2, O_PATH);
    if (target < 0) {
        if (errno == ENOENT && (op->flags & SKIFF_F_OPTIONAL))
            return;
        fail(ctx, SKIFF_STEP_RESOLVE, errno);
    }
    int fd = target;
    if (op->flags & SKIFF_F_READONLY_BIND) {
        fd = sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
        if (fd < 0)
            fail(ctx, SKIFF_STEP_OPEN_TREE, errno);
    }
    struct mount_attr ma = {.attr_set = op->attr, .attr_clr = op->attr2, .propagation = op->u0, .userns_fd = 0};
    if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | rec, &ma) < 0)
        fail(ctx, SKIFF_STEP_SETATTR, errno);
    if (fd != target) {
        if (sys_move_mount(fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
            fail(ctx, SKIFF_STEP_MOVE_MOUNT, errno);
        close(fd);
    }
    close(target);
}

static void op_rlimit(struct child_ctx *ctx, const skiff_op *op)
{
    struct rlimit64 rl = {.rlim_cur = op->attr, .rlim_max = op->attr2};
    if (syscall(SYS_prlimit64, 0, op->u0, &rl, NULL) < 0)
        fail(ctx, SKIFF_STEP_RLIMIT, errno);
}

static void op_caps_bound(struct child_ctx *ctx, const skiff_op *op)
{
    uint64_t keep = (uint64_t)op->ids[0] | ((uint64_t)op->ids[1] << 32);
    for (int cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
            break; /* past the kernel's last capability */
        if (!(keep & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            fail(ctx, SKIFF_STEP_CAPS, errno);
    }
}

static void op_caps(struct child_ctx *ctx, const skiff_op *op)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        data[i].effective = op->ids[0 + i];
        data[i].permitted = op->ids[2 + i];
        data[i].inheritable = op->ids[4 + i];
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail(ctx, SKIFF_STEP_CAPS, errno);
    uint64_t ambient = (uint64_t)op->ids[6] | ((uint64_t)op->ids[7] << 32);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        fail(ctx, SKIFF_STEP_CAPS, errno);
    for (int cap = 0; cap < 64; cap++)
        if ((ambient & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            fail(ctx, SKIFF_STEP_CAPS, errno);
}

static void op_seccomp(struct child_ctx *ctx, const skiff_op *op)
{
    struct sock_fprog prog = {.len = (unsigned short)op->attr, .filter = (struct sock_filter *)op->ids};
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, op->u0, &prog);
    if (listener < 0)
        fail(ctx, SKIFF_STEP_SECCOMP, errno);
    if (!(op->u0 & SECCOMP_FILTER_FLAG_NEW_LISTENER))
        return;
    /* From here a notified syscall blocks until the agent answers, and the agent gets the
     * listener from the parent: send it and report before anything else (the rule set
     * refuses SCMP_ACT_NOTIFY for sendmsg and write, which these use). */
    if (skiff_send_fd_raw((int)op->u1, (int)listener) < 0)
        fail(ctx, SKIFF_STEP_SEND_FD, errno);
    report(ctx, SKIFF_REPORT_SECCOMP, 0);
    close((int)listener);
    close((int)op->u1);
}

/* A time namespace with offsets: they can be written only before any process is in it. */
static void op_timens(struct child_ctx *ctx, const skiff_op *op)
{
    if (unshare(CLONE_NEWTIME) < 0)
        fail(ctx, SKIFF_STEP_TIMENS, errno);
    if (op->s0) {
        int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            fail(ctx, SKIFF_STEP_WRITE_FILE, errno);
        write_text(ctx, fd, op->s0);
    }
    /* unshare moved only our future children; this moves us (one thread: setns allows it). */
    int ns = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWTIME) < 0)
        fail(ctx, SKIFF_STEP_TIMENS, errno);
    close(ns);
}

/* exec into a pid namespace joined with setns: only children land in it. The middle
 * process reports the new pid and leaves; CLONE_PARENT makes it skiff's child. */
static void op_fork(struct child_ctx *ctx)
{
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_PARENT;
    long pid = sys_clone3(&args);
    if (pid < 0)
        fail(ctx, SKIFF_STEP_FORK, errno);
    if (pid > 0) {
        report(ctx, SKIFF_REPORT_PID, (int32_t)pid);
        _exit(0);
    }
}

/* mkdir -p beneath the root: each prefix resolved afresh, so no symlink leads out. */
static void mkdir_p(struct child_ctx *ctx, const char *path, mode_t mode)
{
    char buf[PATH_MAX], name[NAME_MAX + 1];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        fail(ctx, SKIFF_STEP_MKDIR, ENAMETOOLONG);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (buf[i - 1] != '/') {
            int dir_fd = resolve_parent(ctx, buf, name, sizeof(name));
            if (dir_fd < 0)
                fail(ctx, SKIFF_STEP_RESOLVE, errno);
            if (mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST)
                fail(ctx, SKIFF_STEP_MKDIR, errno);
            close(dir_fd);
        }
        buf[i] = saved;
    }
}

static void mkfile_p(struct child_ctx *ctx, const char *path, int optional)
{
    char buf[PATH_MAX], name[NAME_MAX + 1];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        fail(ctx, SKIFF_STEP_MKFILE, ENAMETOOLONG);
    memcpy(buf, path, len + 1);
    char *slash = strrchr(buf, '/');
    if (slash && slash != buf) {
        *slash = '\0';
        mkdir_p(ctx, buf, 0755);
    }
    int dir_fd = resolve_parent(ctx, path, name, sizeof(name));
    if (dir_fd < 0)
        fail(ctx, SKIFF_STEP_RESOLVE, errno);
    if (make_file_at(dir_fd, name, 0644) < 0) {
        if (optional && (errno == EACCES || errno == EPERM || errno == EROFS)) {
            /* A root filesystem the container may not write (a host directory rootless):
             * the bind onto this target is skipped rather than the container refused. */
            ctx->skipped = path;
            close(dir_fd);
            return;
        }
        if (errno != ELOOP)
            fail(ctx, SKIFF_STEP_MKFILE, errno);
    }
    close(dir_fd);
}

static void reset_signals(struct child_ctx *ctx)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        /* glibc reserves 32 and 33 for itself; the kernel refuses nothing else here. */
        if (sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
            fail(ctx, SKIFF_STEP_SIGNALS, errno);
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        fail(ctx, SKIFF_STEP_SIGNALS, errno);
}

static int read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

__attribute__((noreturn)) void skiff_child_main(const skiff_plan *plan, int sync_fd, int err_fd)
{
    struct child_ctx ctx = {.plan = plan, .err_fd = err_fd, .root_fd = AT_FDCWD, .op_index = -1, .sync_fd = -1};

    if (plan->pdeathsig && prctl(PR_SET_PDEATHSIG, (unsigned long)plan->pdeathsig, 0, 0, 0) < 0)
        fail(&ctx, SKIFF_STEP_PDEATHSIG, errno);
    reset_signals(&ctx);
    /* Nothing of the parent's leaks into the container: every fd past stdio (and the
     * preserved ones) is closed by execve. The plan's own fds stay usable until then. */
    if (sys_close_range(3 + plan->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        fail(&ctx, SKIFF_STEP_CLOSE_FDS, errno);

    if (plan->flags & SKIFF_PLAN_WAIT_SYNC) {
        char go = 0;
        ssize_t n;
        do {
            n = read(sync_fd, &go, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(125); /* the parent went away or gave up: nothing to report to */
    }
    char state[SKIFF_STATE_MAX];
    if (plan->flags & SKIFF_PLAN_STATE) {
        uint32_t len = 0;
        if (read_full(sync_fd, &len, sizeof(len)) != 0 || len > sizeof(state) || read_full(sync_fd, state, len) != 0)
            _exit(125);
        ctx.state = state;
        ctx.state_len = len;
    }
    if (plan->flags & SKIFF_PLAN_KEEP_SYNC)
        ctx.sync_fd = sync_fd; /* close-on-exec: gone at execve */
    else
        close(sync_fd);

    /* In a new user namespace we still carry the creator's host ids, which the new map
     * may not cover (root mapping container root to 100000): become the namespace's
     * root, as runc does, so that what we create has an owner there. Unmapped 0 is fine. */
    if (plan->clone_flags & CLONE_NEWUSER) {
        if (syscall(SYS_setresgid, 0, 0, 0) < 0 && errno != EINVAL)
            fail(&ctx, SKIFF_STEP_SETGID, errno);
        if (syscall(SYS_setresuid, 0, 0, 0) < 0 && errno != EINVAL)
            fail(&ctx, SKIFF_STEP_SETUID, errno);
    }

    for (uint32_t i = 0; i < plan->nops; i++) {
        const skiff_op *op = &plan->ops[i];
        ctx.op_index = (int)i;
        switch ((skiff_op_kind)op->kind) {
        case SKIFF_OP_PROPAGATION:
            if (sys_mount(NULL, op->s2, NULL, (unsigned long)op->attr, NULL) < 0)
                fail(&ctx, SKIFF_STEP_PROPAGATION, errno);
            break;
        case SKIFF_OP_OVERLAY:
            op_overlay(&ctx, op);
            break;
        case SKIFF_OP_ROOT:
            if (ctx.root_fd >= 0)
                close(ctx.root_fd);
            ctx.root_fd = open(op->s2, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (ctx.root_fd < 0)
                fail(&ctx, SKIFF_STEP_RESOLVE, errno);
            break;
        case SKIFF_OP_MOUNT_FS:
            op_mount_fs(&ctx, op);
            break;
        case SKIFF_OP_BIND:
            if (ctx.skipped && strcmp(ctx.skipped, op->s2) == 0)
                break;
            bind_tree(&ctx, op->s3, op->s2, op->attr, (op->flags & SKIFF_F_RECURSIVE) != 0);
            break;
        case SKIFF_OP_MKDIR:
        case SKIFF_OP_MKFILE:
        case SKIFF_OP_SYMLINK:
            op_create(&ctx, op);
            break;
        case SKIFF_OP_PIVOT_ROOT:
            op_pivot_root(&ctx);
            break;
        case SKIFF_OP_HOSTNAME:
            if (sethostname(op->s0, strlen(op->s0)) < 0)
                fail(&ctx, SKIFF_STEP_HOSTNAME, errno);
            break;
        case SKIFF_OP_LOOPBACK_UP:
            op_loopback_up(&ctx);
            break;
        case SKIFF_OP_OPEN_PTY:
            op_open_pty(&ctx, op);
            break;
        case SKIFF_OP_STDIN_NULL:
            op_stdin_null(&ctx);
            break;
        case SKIFF_OP_DETACH:
            op_detach(&ctx);
            break;
        case SKIFF_OP_WRITE_FILE:
            op_write_file(&ctx, op);
            break;
        case SKIFF_OP_MKNOD:
            op_mknod(&ctx, op);
            break;
        case SKIFF_OP_MASK:
            op_mask(&ctx, op);
            break;
        case SKIFF_OP_SETATTR:
            if (ctx.skipped && strcmp(ctx.skipped, op->s2) == 0)
                break;
            op_setattr(&ctx, op);
            break;
        case SKIFF_OP_RLIMIT:
            op_rlimit(&ctx, op);
            break;
        case SKIFF_OP_CAPS_BOUND:
            op_caps_bound(&ctx, op);
            break;
        case SKIFF_OP_CAPS:
            op_caps(&ctx, op);
            break;
        case SKIFF_OP_NO_NEW_PRIVS:
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fail(&ctx, SKIFF_STEP_NO_NEW_PRIVS, errno);
            break;
        case SKIFF_OP_SECCOMP:
            op_seccomp(&ctx, op);
            break;
        case SKIFF_OP_TIMENS:
            op_timens(&ctx, op);
            break;
        case SKIFF_OP_UMASK:
            umask((mode_t)op->u0);
            break;
        case SKIFF_OP_PERSONALITY:
            if (personality(op->u0) < 0)
                fail(&ctx, SKIFF_STEP_PERSONALITY, errno);
            break;
        case SKIFF_OP_SETNS:
            if (setns((int)op->u0, (int)op->u1) < 0)
                fail(&ctx, SKIFF_STEP_SETNS, errno);
            close((int)op->u0);
            break;
        case SKIFF_OP_FORK:
            op_fork(&ctx);
            break;
        case SKIFF_OP_WAIT_START: {
            /* startContainer hooks may stand between the wait and the exec */
            uint32_t j = i + 1;
            while (j < plan->nops && plan->ops[j].kind == SKIFF_OP_HOOK)
                j++;
            op_wait_start(&ctx, op, j < plan->nops ? &plan->ops[j] : NULL);
            break;
        }
        case SKIFF_OP_HOOK:
            op_hook(&ctx, op);
            break;
        case SKIFF_OP_SYNC: {
            report(&ctx, SKIFF_REPORT_SYNC, 0);
            char b;
            if (ctx.sync_fd < 0 || read_full(ctx.sync_fd, &b, 1) != 0)
                _exit(125); /* the parent gave up (a hook failed): it kills us */
            close(ctx.sync_fd);
            ctx.sync_fd = -1;
            break;
        }
        case SKIFF_OP_MKDIR_P:
            mkdir_p(&ctx, op->s2, (mode_t)op->attr);
            break;
        case SKIFF_OP_MKFILE_P:
            mkfile_p(&ctx, op->s2, (op->flags & SKIFF_F_OPTIONAL) != 0);
            break;
        case SKIFF_OP_CHDIR:
            op_chdir(&ctx, op->s0);
            break;
        case SKIFF_OP_IDENTITY:
            op_identity(&ctx, op);
            break;
        case SKIFF_OP_EXEC:
            op_exec(&ctx, op);
        default:
            fail(&ctx, SKIFF_STEP_PLAN, EINVAL);
        }
    }
    fail(&ctx, SKIFF_STEP_PLAN, ENOEXEC); /* a plan must end in SKIFF_OP_EXEC */
}
