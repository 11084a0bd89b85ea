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
#include <termios.h>

#include "internal.h"
#include "skiff.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

struct child_ctx {
    const skiff_plan *plan;
    int err_fd;
    int root_fd;
    int op_index;
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
    case SKIFF_OP_MKFILE: {
        int fd = openat(dir_fd, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, (mode_t)op->attr);
        if (fd < 0 && errno != EEXIST && errno != EISDIR)
            fail(ctx, SKIFF_STEP_MKFILE, errno);
        if (fd >= 0)
            close(fd);
        break;
    }
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
    ctx->root_fd = -1;
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
    if (syscall(SYS_setresgid, op->u1, op->u1, op->u1) < 0)
        fail(ctx, SKIFF_STEP_SETGID, errno);
    if (syscall(SYS_setresuid, op->u0, op->u0, op->u0) < 0)
        fail(ctx, SKIFF_STEP_SETUID, errno);
}

/* PATH search with execve and the container's environment, as execvpe would do
 * with the container's PATH rather than ours. */
__attribute__((noreturn)) static void op_exec(struct child_ctx *ctx, const skiff_op *op)
{
    char *const *argv = (char *const *)op->l0;
    char *const *envp = (char *const *)op->l1;
    if (op->s1) {
        execve(op->s1, argv, envp);
        fail(ctx, SKIFF_STEP_EXEC, errno);
    }
    const char *file = argv[0];
    if (strchr(file, '/') || !op->s0) {
        execve(file, argv, envp);
        fail(ctx, SKIFF_STEP_EXEC, errno);
    }
    char buf[PATH_MAX];
    size_t flen = strlen(file);
    int seen_eacces = 0;
    const char *p = op->s0;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        if (dlen + flen + 2 <= sizeof(buf)) {
            size_t n = 0;
            if (dlen == 0)
                buf[n++] = '.';
            memcpy(buf + n, p, dlen);
            n += dlen;
            buf[n++] = '/';
            memcpy(buf + n, file, flen + 1);
            execve(buf, argv, envp);
            switch (errno) {
            case EACCES:
                seen_eacces = 1;
                break;
            case ENOENT:
            case ENOTDIR:
            case ENAMETOOLONG:
            case ELOOP:
                break;
            default:
                fail(ctx, SKIFF_STEP_EXEC, errno);
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    fail(ctx, SKIFF_STEP_EXEC, seen_eacces ? EACCES : ENOENT);
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

__attribute__((noreturn)) void skiff_child_main(const skiff_plan *plan, int sync_fd, int err_fd)
{
    struct child_ctx ctx = {.plan = plan, .err_fd = err_fd, .root_fd = AT_FDCWD, .op_index = -1};

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
    close(sync_fd);

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
