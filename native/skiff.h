/*
 * skiff native shim: the only code that runs between clone3 and execve.
 *
 * Managed code validates the container spec and lowers it into a flat launch
 * plan (skiff_plan). skiff_launch clones the child, which walks the plan with one
 * switch, allocating nothing and logging nothing. On failure the child writes a
 * skiff_failure to a close-on-exec pipe and _exits; EOF on that pipe means execve
 * succeeded.
 *
 * Return convention for every exported function: a value >= 0 is success, a
 * negative value is -errno. Nothing here sets errno for the caller to read.
 * Exported names share the prefix skiff_; all types are fixed width.
 */
#ifndef SKIFF_H
#define SKIFF_H

#include <stdint.h>

#define SKIFF_ABI_VERSION 1u

/* One operation of the plan. Paths marked "in root" are resolved beneath the
 * root set by SKIFF_OP_ROOT with openat2(RESOLVE_IN_ROOT), so a symlink in an
 * image can never point a mount outside the container. */
typedef enum skiff_op_kind {
    SKIFF_OP_PROPAGATION = 1, /* mount(NULL, s2, NULL, attr) on a host path: MS_REC|MS_PRIVATE */
    SKIFF_OP_OVERLAY = 2,     /* l0 lower dirs, s0 upper, s1 work, s2 host target; flags USERXATTR|VOLATILE */
    SKIFF_OP_ROOT = 3,        /* s2 host path: the root for later "in root" paths */
    SKIFF_OP_MOUNT_FS = 4,    /* s0 fstype, s1 "k=v,flag" options, s2 target in root, attr MOUNT_ATTR_*;
                                 FALLBACK_RBIND: on EPERM, bind host path s3 recursively instead */
    SKIFF_OP_BIND = 5,        /* s3 host source, s2 target in root, attr MOUNT_ATTR_*, flags RECURSIVE */
    SKIFF_OP_MKDIR = 6,       /* s2 in root, attr mode; an existing directory is fine */
    SKIFF_OP_MKFILE = 7,      /* s2 in root, attr mode; an existing file is fine (a bind target) */
    SKIFF_OP_SYMLINK = 8,     /* s0 link text, s2 link path in root; an existing entry is left alone */
    SKIFF_OP_PIVOT_ROOT = 9,  /* pivot_root into the root, detach the old one */
    SKIFF_OP_HOSTNAME = 10,   /* s0 */
    SKIFF_OP_LOOPBACK_UP = 11,
    SKIFF_OP_OPEN_PTY = 12,   /* u0 unix socket fd for the master, u1 rows<<16|cols; the slave becomes 0,1,2 */
    SKIFF_OP_STDIN_NULL = 13, /* /dev/null on fd 0 (no -i) */
    SKIFF_OP_CHDIR = 14,      /* s0 container path, made when missing */
    SKIFF_OP_IDENTITY = 15,   /* u0 uid, u1 gid, ids[attr] supplementary groups; flags SETGROUPS */
    SKIFF_OP_EXEC = 16,       /* l0 argv, l1 envp, s0 PATH to search when argv[0] has no '/',
                                 s1 the file to run instead of argv[0] */
    SKIFF_OP_DETACH = 17,     /* setsid, /dev/null on 0, 1 and 2, chdir / (before pivot: the host's) */
    SKIFF_OP_WRITE_FILE = 18, /* s2 path (in root until pivot, then the container's), s0 text: sysctls, oom_score_adj */
    SKIFF_OP_MKNOD = 19,      /* s2 in root, u0 mode (type and permissions), attr dev_t, u1 uid, attr2 gid;
                                 on EPERM (rootless) bind host path s3 instead when set */
    SKIFF_OP_MASK = 20,       /* s2 container path: /dev/null over a file, a read-only tmpfs over a directory;
                                 a missing path is skipped */
    SKIFF_OP_SETATTR = 21,    /* s2 path: mount_setattr set attr, clear attr2; flags RECURSIVE; READONLY_BIND:
                                 bind the path onto itself first (readonlyPaths); a missing path is skipped */
    SKIFF_OP_RLIMIT = 22,     /* u0 resource, attr soft, attr2 hard */
    SKIFF_OP_CAPS_BOUND = 23, /* ids: 2 words, the bounding set to keep; every other capability is dropped */
    SKIFF_OP_CAPS = 24,       /* ids: 10 words, effective, permitted, inheritable, ambient (2 words each), 2 spare */
    SKIFF_OP_NO_NEW_PRIVS = 25,
    SKIFF_OP_SECCOMP = 26,    /* ids: the sock_filter program, attr its instruction count, u0 SECCOMP_FILTER_FLAG_*;
                                 with NEW_LISTENER the listener fd goes over the unix socket u1 (SCM_RIGHTS), then
                                 SKIFF_REPORT_SECCOMP: the parent hands it to the agent without waiting for us */
    SKIFF_OP_UMASK = 27,      /* u0 */
    SKIFF_OP_PERSONALITY = 28,/* u0 */
    SKIFF_OP_SETNS = 29,      /* u0 namespace fd, u1 CLONE_NEW* type */
    SKIFF_OP_FORK = 30,       /* clone again (CLONE_PARENT) so that a joined pid namespace applies; the middle
                                 process reports the new pid and exits */
    SKIFF_OP_WAIT_START = 31, /* u0 fifo fd (O_RDWR): report "created", then block until `start` writes a byte.
                                 The next op must be EXEC: its file is resolved first, so a missing command
                                 fails create, not start */
    SKIFF_OP_MKDIR_P = 32,    /* s2 in root, attr mode: every missing component is made */
    SKIFF_OP_MKFILE_P = 33,   /* s2 in root: missing parents made, then an empty file (a bind target); flags OPTIONAL:
                               * if the target cannot be written (EACCES, EPERM, EROFS), BIND and SETATTR ops on it are skipped */
    SKIFF_OP_SYNC = 35,       /* report SKIFF_REPORT_SYNC and wait for one more byte on the sync pipe
                                 (prestart and createRuntime hooks run in the parent meanwhile) */
    SKIFF_OP_HOOK = 34,       /* runtime-spec hook run from the child, in the container's namespaces: s0 path
                                 (resolved where the child stands: before pivot_root the runtime's view,
                                 after it the container's), l0 argv, l1 envp, u0 timeout in seconds (0 none),
                                 u1 the hook's index; the state JSON the parent sent after the go byte goes
                                 to its stdin. A non-zero exit fails the launch (err: exit status) */
    SKIFF_OP_TIMENS = 36,     /* unshare(CLONE_NEWTIME), s0 (when set) written to /proc/self/timens_offsets, then
                                 setns into it: the offsets are fixed before anything enters, and the child, its
                                 hooks and the program all run in it (clone3 cannot: offsets freeze on entry) */
} skiff_op_kind;

enum {
    SKIFF_F_USERXATTR = 1u << 0,
    SKIFF_F_VOLATILE = 1u << 1,
    SKIFF_F_RECURSIVE = 1u << 2,
    SKIFF_F_FALLBACK_RBIND = 1u << 3,
    SKIFF_F_SETGROUPS = 1u << 4,
    SKIFF_F_KEEPCAPS = 1u << 5,      /* IDENTITY: capabilities survive the uid change (a CAPS op follows) */
    SKIFF_F_READONLY_BIND = 1u << 6, /* SETATTR */
    SKIFF_F_OPTIONAL = 1u << 7,      /* a missing source or target is skipped */
};

typedef struct skiff_op {
    uint32_t kind;  /* skiff_op_kind */
    uint32_t flags; /* SKIFF_F_* */
    uint32_t u0;
    uint32_t u1;
    uint64_t attr;
    uint64_t attr2;
    const char *s0;
    const char *s1;
    const char *s2;
    const char *s3;
    const char *const *l0; /* NULL-terminated */
    const char *const *l1; /* NULL-terminated */
    const uint32_t *ids;
} skiff_op;

enum {
    SKIFF_PLAN_WAIT_SYNC = 1u << 0, /* wait for the parent's go byte (id maps written) */
    SKIFF_PLAN_STATE = 1u << 1,     /* after the go byte: a 4-byte length and the state JSON for hooks */
    SKIFF_PLAN_KEEP_SYNC = 1u << 2, /* the sync pipe stays open after the go byte, for SKIFF_OP_SYNC */
    SKIFF_PLAN_PARENT = 1u << 3,    /* CLONE_PARENT: the child is our parent's child (a supervisor's worker
                                       launches the container as the supervisor's own child); no pidfd wait */
};

typedef struct skiff_plan {
    uint32_t abi;          /* SKIFF_ABI_VERSION */
    uint32_t nops;
    uint64_t clone_flags;  /* CLONE_NEW* */
    int32_t cgroup_fd;     /* CLONE_INTO_CGROUP when >= 0 */
    int32_t pdeathsig;     /* signal the child gets when skiff dies, 0 for none */
    uint32_t flags;        /* SKIFF_PLAN_* */
    uint32_t preserve_fds; /* fds 3..3+n-1 stay open across exec */
    const skiff_op *ops;
} skiff_plan;

/* What the parent holds after skiff_launch. */
typedef struct skiff_child {
    int32_t pid;
    int32_t pidfd;
    int32_t sync_fd; /* write end: skiff_release sends the go byte and closes it */
    int32_t err_fd;  /* read end: skiff_await_exec reads a failure or EOF */
} skiff_child;

/* Where the child stopped. */
typedef enum skiff_step {
    SKIFF_STEP_NONE = 0,
    SKIFF_STEP_SYNC = 1,
    SKIFF_STEP_SIGNALS = 2,
    SKIFF_STEP_PROPAGATION = 3,
    SKIFF_STEP_FSOPEN = 4,
    SKIFF_STEP_FSCONFIG = 5,
    SKIFF_STEP_FSMOUNT = 6,
    SKIFF_STEP_RESOLVE = 7,
    SKIFF_STEP_MOVE_MOUNT = 8,
    SKIFF_STEP_OPEN_TREE = 9,
    SKIFF_STEP_SETATTR = 10,
    SKIFF_STEP_MKDIR = 11,
    SKIFF_STEP_MKFILE = 12,
    SKIFF_STEP_SYMLINK = 13,
    SKIFF_STEP_PIVOT_ROOT = 14,
    SKIFF_STEP_HOSTNAME = 15,
    SKIFF_STEP_LOOPBACK = 16,
    SKIFF_STEP_PTY = 17,
    SKIFF_STEP_SEND_FD = 18,
    SKIFF_STEP_SETSID = 19,
    SKIFF_STEP_STDIO = 20,
    SKIFF_STEP_CHDIR = 21,
    SKIFF_STEP_SETGROUPS = 22,
    SKIFF_STEP_SETGID = 23,
    SKIFF_STEP_SETUID = 24,
    SKIFF_STEP_EXEC = 25,
    SKIFF_STEP_PLAN = 26,
    SKIFF_STEP_CLOSE_FDS = 27,
    SKIFF_STEP_PDEATHSIG = 28,
    SKIFF_STEP_WRITE_FILE = 29,
    SKIFF_STEP_MKNOD = 30,
    SKIFF_STEP_CHOWN = 31,
    SKIFF_STEP_MASK = 32,
    SKIFF_STEP_RLIMIT = 33,
    SKIFF_STEP_CAPS = 34,
    SKIFF_STEP_NO_NEW_PRIVS = 35,
    SKIFF_STEP_SECCOMP = 36,
    SKIFF_STEP_PERSONALITY = 37,
    SKIFF_STEP_SETNS = 38,
    SKIFF_STEP_FORK = 39,
    SKIFF_STEP_WAIT_START = 40,
    SKIFF_STEP_REPORT = 41,
    SKIFF_STEP_HOOK = 42,      /* err: the hook's exit status, 128 + signal, or -ETIMEDOUT */
    SKIFF_STEP_TIMENS = 43,
} skiff_step;

/* Records on the report pipe besides failures (op_index values). */
#define SKIFF_REPORT_CREATED (-2) /* WAIT_START reached: the container is created */
#define SKIFF_REPORT_PID (-3)     /* FORK: step holds the pid of the process that goes on */
#define SKIFF_REPORT_SYNC (-4)    /* SYNC: waiting for the parent's byte */
#define SKIFF_REPORT_SECCOMP (-5) /* SECCOMP: the listener fd is on the op's socket */

typedef struct skiff_failure {
    int32_t op_index; /* -1 before the first op; or a SKIFF_REPORT_* */
    int32_t step;     /* skiff_step */
    int32_t err;      /* errno */
    int32_t reserved;
} skiff_failure;

/* Clones the child described by plan. Returns 0 and fills *child, or -errno. */
int32_t skiff_launch(const skiff_plan *plan, skiff_child *child);
/* The go byte, then the state JSON for hooks (SKIFF_PLAN_STATE); closes the fd unless keep. */
int32_t skiff_release_state(int32_t sync_fd, const uint8_t *state, int32_t len, int32_t keep);
/* Sends the go byte (when go != 0) and closes the sync fd. */
int32_t skiff_release(int32_t sync_fd, int32_t go);
/* 0: the child reached execve; 1: *failure is filled; < 0: -errno. Closes err_fd. */
int32_t skiff_await_exec(int32_t err_fd, skiff_failure *failure);
/* One record from the report pipe without closing it: 1 filled, 0 EOF, < 0 -errno. */
int32_t skiff_read_report(int32_t err_fd, skiff_failure *record);
/* Waits for the child to exit: its exit code, or 128 + signal. */
int32_t skiff_wait(int32_t pidfd);
/* skiff_wait, forwarding SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1 and SIGUSR2 to the
 * child and, with pty_master >= 0, SIGWINCH as a resize of the container's terminal. */
int32_t skiff_wait_forwarding(int32_t pidfd, int32_t pty_master);
/* Installs the forwarding handlers early: signals that arrive before skiff_wait_forwarding
 * are held and then delivered to the child. skiff_forward_end restores the old handlers. */
int32_t skiff_forward_begin(void);
int32_t skiff_forward_end(void);
/* Sends a signal through a pidfd. */
int32_t skiff_signal(int32_t pidfd, int32_t sig);
/* Removes a directory tree; with userns_fd >= 0, from inside that user namespace, so
 * files owned by subordinate ids can be removed by an unprivileged user. */
int32_t skiff_remove_tree(int32_t userns_fd, const char *path);
/* posix_spawn + wait: the exit code, 128 + signal, or -errno. For newuidmap and friends. */
int32_t skiff_spawn_wait(const char *path, const char *const *argv, const char *const *envp);

/* Terminals. */
int32_t skiff_tty_raw(int32_t fd, uint8_t *saved, int32_t saved_len);
int32_t skiff_tty_restore(int32_t fd, const uint8_t *saved, int32_t saved_len);
int32_t skiff_tty_size(int32_t fd, uint16_t *rows, uint16_t *cols);
int32_t skiff_tty_set_size(int32_t fd, uint16_t rows, uint16_t cols);
/* Receives one fd sent with SCM_RIGHTS. */
int32_t skiff_recv_fd(int32_t sock);
/* A unix stream socket connected to path (close-on-exec): the fd, or -errno. */
int32_t skiff_connect_unix(const char *path);
/* Sends data with fd attached (SCM_RIGHTS) to the first sendmsg, the rest after it. */
int32_t skiff_send_fd(int32_t sock, const uint8_t *data, int32_t len, int32_t fd);

/* The user-namespace keeper (keeper.c). */
#define SKIFF_KEEPER_ARGV0 "skiff-userns-keeper"
#define SKIFF_KEEPER_PID_FILE "userns-keeper.pid"
/* The runtime state directory: $XDG_RUNTIME_DIR/skiff, /tmp/skiff-run-UID, or /run/skiff. */
int32_t skiff_runtime_dir(char *buf, int32_t len);
/* The pid of a live keeper recorded in pid_file ("PID STARTTIME"), or -errno. */
int32_t skiff_keeper_read(const char *pid_file);
/* The keeper whose user namespace this process joined before .NET started, or 0. */
int32_t skiff_keeper_joined(void);
/* /proc/PID/stat's start time, for recording a keeper. 0 or -errno. */
int32_t skiff_process_start_time(int32_t pid, uint64_t *start);

/* The container supervisor (supervisor.c): this binary run as SKIFF_SUPERVISOR_ARGV0. */
#define SKIFF_SUPERVISOR_ARGV0 "skiff-supervisor"
#define SKIFF_SUPERVISOR_READY_FD 3
/* posix_spawn of a supervisor (argv says "--ready-fd 3"): a pipe's write end is its fd 3,
 * the read end goes to *ready_fd. Waits for the first process, which forks the supervisor
 * and exits at once: returns that exit code (the ready line says the rest), or -errno. */
int32_t skiff_supervisor_spawn(const char *path, const char *const *argv, const char *const *envp, int32_t *ready_fd);
/* The worker's one message on its fd 3: text, and fds passed with SCM_RIGHTS (at most 17). */
int32_t skiff_supervisor_report(int32_t sock, const uint8_t *text, int32_t len, const int32_t *fds, int32_t nfds);

/* Kernel feature probe, run in a throw-away child. Each field: 0 works, else errno. */
typedef struct skiff_probe {
    int32_t clone3;
    int32_t pidfd;
    int32_t userns;
    int32_t mount_api;
    int32_t overlay_userns;
    int32_t reserved;
} skiff_probe;
/* dir: an empty scratch directory the probe may use for overlay. */
int32_t skiff_probe_kernel(const char *dir, skiff_probe *out);

/* The managed mirror (src/Skiff.Interop/Interop.Shim.cs) relies on these layouts. */
_Static_assert(sizeof(skiff_op) == 88, "skiff_op layout");
_Static_assert(sizeof(skiff_plan) == 40, "skiff_plan layout");
_Static_assert(sizeof(skiff_child) == 16, "skiff_child layout");
_Static_assert(sizeof(skiff_failure) == 16, "skiff_failure layout");
_Static_assert(sizeof(skiff_probe) == 24, "skiff_probe layout");

#endif
