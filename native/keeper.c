/* The user-namespace keeper, as Podman's rootless pause process: one small process
 * per user holds a user namespace with the full id mapping. A C constructor joins it
 * before the .NET runtime starts (setns refuses multithreaded callers), so a rootless
 * skiff needs no newuidmap/newgidmap per command and owns the files of every mapped
 * id. The keeper itself is this binary re-executed under KEEPER_ARGV0: the
 * constructor sees that name and parks, never starting .NET. */
#include "sys.h"

#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "skiff.h"

static int32_t joined_pid;

/* $XDG_RUNTIME_DIR/skiff when that directory is ours, else /tmp/skiff-run-UID. */
SKIFF_EXPORT int32_t skiff_runtime_dir(char *buf, int32_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    int n;
    if (geteuid() == 0 && joined_pid == 0)
        n = snprintf(buf, (size_t)len, "/run/skiff");
    else if (xdg && *xdg == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
             (st.st_uid == getuid() || joined_pid != 0))
        n = snprintf(buf, (size_t)len, "%s/skiff", xdg);
    else
        n = snprintf(buf, (size_t)len, "/tmp/skiff-run-%u", (unsigned)(joined_pid ? skiff_host_uid() : getuid()));
    return (n < 0 || n >= len) ? -ENAMETOOLONG : n;
}

/* Field 22 of /proc/PID/stat: the start time that tells a live keeper from a reused pid. */
int skiff_start_time(int pid, unsigned long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return -1;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (field != 22)
        return -1;
    *start = strtoull(p, NULL, 10);
    return 0;
}

/* The host uid, which getuid() no longer shows once we are inside the keeper. */
static unsigned host_uid = (unsigned)-1;

unsigned skiff_host_uid(void)
{
    return host_uid == (unsigned)-1 ? (unsigned)getuid() : host_uid;
}

/* Does /proc/PID/uid_map map container root onto uid? (Joining is not undoable.) */
static int maps_root_to(int pid, unsigned uid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned inside, outside, count;
    return sscanf(buf, " %u %u %u", &inside, &outside, &count) == 3 && inside == 0 && outside == uid && count >= 1;
}

SKIFF_EXPORT int32_t skiff_keeper_read(const char *pid_file)
{
    char buf[128];
    int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EINVAL;
    buf[n] = '\0';
    int pid = 0;
    unsigned long long want = 0, have = 0;
    if (sscanf(buf, "%d %llu", &pid, &want) != 2 || pid <= 0)
        return -EINVAL;
    if (skiff_start_time(pid, &have) < 0 || have != want)
        return -ESRCH;
    return pid;
}

SKIFF_EXPORT int32_t skiff_keeper_joined(void)
{
    return joined_pid;
}

__attribute__((noreturn)) static void keeper_main(void)
{
    /* Ignore what a terminal or a careless kill would send; SIGTERM and SIGKILL end it. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    for (;;)
        pause();
}

/* Inside a user namespace that maps root to an unprivileged host uid, and that namespace
 * is the keeper's: behave as a process that joined it. */
static void inherit_keeper(void)
{
    char buf[256];
    int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    unsigned inside, outside, count;
    if (sscanf(buf, " %u %u %u", &inside, &outside, &count) != 3 || inside != 0 || outside == 0)
        return;
    host_uid = outside;
    joined_pid = -1; /* so that skiff_runtime_dir names the user's directory */
    char dir[PATH_MAX], pid_file[PATH_MAX + 32];
    int pid = -1;
    if (skiff_runtime_dir(dir, sizeof(dir)) >= 0) {
        snprintf(pid_file, sizeof(pid_file), "%s/%s", dir, SKIFF_KEEPER_PID_FILE);
        pid = skiff_keeper_read(pid_file);
    }
    struct stat ours, theirs;
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
    if (pid > 0 && stat("/proc/self/ns/user", &ours) == 0 && stat(ns, &theirs) == 0 &&
        ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev) {
        joined_pid = pid;
        return;
    }
    joined_pid = 0;
    host_uid = (unsigned)-1;
}

/* Join the keeper's user namespace, or recognise that we were started inside it. Runs
 * once, from whichever constructor comes first (this file's or the supervisor face's). */
void skiff_keeper_attach(int argc, char **argv)
{
    static int attached;
    if (attached)
        return;
    attached = 1;
    if (argc > 0 && argv && argv[0] && strcmp(argv[0], SKIFF_KEEPER_ARGV0) == 0)
        keeper_main();
    if (geteuid() == 0) {
        /* Started from inside the keeper's namespace (a supervisor's worker, its exit
         * command): still the rootless user's skiff, not the host's root. */
        inherit_keeper();
        return;
    }
    if (getenv("SKIFF_NO_KEEPER"))
        return;
    /* The OCI runtime face keeps runc's rootless semantics: its callers bring their
     * own user namespace (Podman) or ask for one in config.json. */
    if (argc > 0 && argv && argv[0]) {
        const char *base = strrchr(argv[0], '/');
        if (strcmp(base ? base + 1 : argv[0], "skiff-runc") == 0)
            return;
    }
    char dir[PATH_MAX], pid_file[PATH_MAX + 32];
    if (skiff_runtime_dir(dir, sizeof(dir)) < 0)
        return;
    snprintf(pid_file, sizeof(pid_file), "%s/%s", dir, SKIFF_KEEPER_PID_FILE);
    int pid = skiff_keeper_read(pid_file);
    if (pid <= 0 || !maps_root_to(pid, (unsigned)getuid()))
        return;
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
    int fd = open(ns, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    unsigned uid = (unsigned)getuid();
    if (setns(fd, CLONE_NEWUSER) == 0) {
        joined_pid = pid;
        host_uid = uid;
    }
    close(fd);
}

SKIFF_EXPORT int32_t skiff_process_start_time(int32_t pid, uint64_t *start)
{
    unsigned long long s;
    if (skiff_start_time(pid, &s) < 0)
        return -ESRCH;
    *start = s;
    return 0;
}

__attribute__((constructor)) static void skiff_keeper_join(int argc, char **argv, char **envp)
{
    (void)envp;
    skiff_keeper_attach(argc, argv);
}
