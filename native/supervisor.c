/* The container supervisor: one small process per detached container, as conmon is
 * for Podman. It holds the stdio pipes or the pty master, writes Docker's json-file
 * log, serves attach/stop/kill/resize on DIR/attach.sock, records the exit in
 * DIR/state.json and applies the restart policy, so `skiff` processes can come and go.
 *
 * It is this binary under SKIFF_SUPERVISOR_ARGV0: a constructor sees the name and runs
 * supervisor_main before the .NET runtime starts; it never returns. Everything here is
 * plain C with static buffers (a client's backlog is the only heap memory), to stay
 * near 2 MiB of RSS.
 *
 *   skiff-supervisor DIR [--ready-fd N] [--log-driver json-file|none] [--log-max-size BYTES]
 *       [--log-max-file N] [--restart no|always|unless-stopped|on-failure] [--max-retries N]
 *       [--tty] [--stdin] [--stdin-once] [--direct] [--wait-attach] [--on-exit-argv N PROG ARG...]
 *       -- WORKER_ARGV...
 *
 * The first process forks and exits 0 at once; the supervisor (a new session, a child
 * subreaper) writes one line on the ready fd once the first launch is decided: "ok PID",
 * or "error CODE MESSAGE" after the failure is recorded. After the final exit, state
 * written and socket gone, it execv's the --on-exit-argv program (no PATH search) with
 * SKIFF_CONTAINER_DIR set, in "/": for --rm; a first launch that failed runs it too.
 *
 * The worker (normally skiff itself) creates the container with CLONE_PARENT, so the
 * container is our child, then sends one SOCK_SEQPACKET message on fd 3:
 *   "pid PID[ tty][ hold N]"  with SCM_RIGHTS [pty master (with --tty)] [N fds to hold]
 *   "error CODE MESSAGE"      the launch failed; CODE is the CLI's exit code (125-127)
 * and exits. Its fds 1 and 2 are the container's stdout and stderr pipes: it must not
 * write its own diagnostics there. With --direct, WORKER_ARGV is the container's
 * command, run as our child (a new session, SIGKILL when we die; no pty).
 *
 * attach.sock speaks Docker's stream framing; see serve_request. Clients whose paths
 * exceed sun_path's 108 bytes connect through /proc/self/fd/DIRFD/attach.sock. */
#include "sys.h"

#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"
#include "skiff.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum {
    READ_CHUNK = 32 * 1024,    /* one read from a pipe or the pty: one frame */
    LINE_MAX_LOG = 16 * 1024,  /* Docker splits longer lines into partial entries */
    LOG_BUF = 128 * 1024,      /* encoded entries waiting for one write */
    MAX_CLIENTS = 64,
    CLIENT_BACKLOG = 1 << 20,  /* a client further behind than this is dropped */
    STDIN_BUF = 64 * 1024,
    MAX_HOLD = 16,
    DRAIN_GRACE_MS = 500,      /* output still open this long after the exit is left behind */
    FLUSH_GRACE_MS = 1000,     /* clients get this long to take the last output */
};

/* How long --wait-attach waits for its client before it launches anyway. */
#define WAIT_ATTACH_MS 10000

enum phase { PH_LAUNCHING, PH_RUNNING, PH_DRAINING, PH_BACKOFF, PH_DONE };
enum restart_policy { RP_NO, RP_ALWAYS, RP_UNLESS_STOPPED, RP_ON_FAILURE };

static struct {
    const char *dir;
    char abs_dir[PATH_MAX];
    char log_name[NAME_MAX + 16];
    int log_json;
    unsigned long long log_max_size;
    int log_max_file;
    int restart;
    int max_retries;
    int tty, stdin_open, stdin_once, direct;
    int wait_attach; /* launch once the first attach client is there (or after WAIT_ATTACH_MS) */
    int ready_fd;
    char **on_exit; /* NULL-terminated, on_exit[0] the program */
    char **worker;  /* NULL-terminated */
} opt = {.log_json = 1, .log_max_file = 1, .ready_fd = -1};

/* What state.json says. */
static struct {
    const char *status;
    int pid;
    unsigned long long pid_start;
    int sup_pid;
    unsigned long long sup_start;
    int exit_code;
    struct timespec started, finished;
    int restart_count;
    char error[512];
} st = {.status = "created"};

static enum phase phase;
static int need_reap; /* a child may have exited while its pid was unknown */
static int sig_fd = -1, listen_fd = -1, lock_fd = -1, devnull = -1;
static int ctrl_fd = -1, worker_pid = -1, worker_status = -1;
static int ctr_pidfd = -1;
static int hold[MAX_HOLD], nhold;
static int ever_started;      /* the first launch succeeded: the ready line said ok */
static char ready_error[700]; /* else the line finish() sends */
static struct stat sock_stat; /* attach.sock as we bound it: a successor's is not ours to unlink */
static int stop_requested;    /* no more restarts */
static int stop_signal, stop_timeout = -1, stop_pending;
static long long kill_deadline = -1, drain_deadline = -1, backoff_deadline = -1;
static long long started_mono;
static int backoff_ms = 100;

/* Output sources: [0] stdout pipe or the pty master, [1] the stderr pipe. */
static int src_fd[2] = {-1, -1};
static int pty_fd = -1; /* == src_fd[0] in tty mode, until it reports EIO */
static int stdin_r = -1, stdin_w = -1;
static char stdin_buf[STDIN_BUF];
static size_t stdin_len, stdin_off;
static int stdin_close_pending;

static char line_buf[2][LINE_MAX_LOG];
static size_t line_len[2];
static char log_buf[LOG_BUF];
static size_t log_len;
static int log_fd = -1;
static unsigned long long log_size;
static char rbuf[8 + READ_CHUNK]; /* room for the frame header before the data */

struct client {
    int fd;
    int kind;  /* 0 while the request header arrives, then 'A', 'S', ... */
    int flags; /* 'A': bit0 stdin, bit1 stdout, bit2 stderr */
    unsigned char hdr[9];
    int hdr_len;
    int read_closed;
    int close_after_flush;
    char *out;
    size_t out_len, out_off, out_cap;
};
static struct client clients[MAX_CLIENTS];

/* ---------------------------------------------------------------- small helpers */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_time(const struct timespec *ts, char *out, size_t len)
{
    if (ts->tv_sec == 0 && ts->tv_nsec == 0) {
        snprintf(out, len, "0001-01-01T00:00:00Z"); /* Go's zero time, as Docker shows it */
        return;
    }
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts->tv_nsec);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Length of the valid UTF-8 sequence at p (Go's utf8.DecodeRune rules), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n, unsigned *rune)
{
    unsigned c = p[0];
    size_t len;
    unsigned r, min;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        len = 2, r = c & 0x1F, min = 0x80;
    } else if (c < 0xF0) {
        len = 3, r = c & 0x0F, min = 0x800;
    } else {
        len = 4, r = c & 0x07, min = 0x10000;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        r = (r << 6) | (p[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        return 0;
    *rune = r;
    return len;
}

/* A JSON string body as Docker's json-file writes it (Go's encoder with HTML escaping):
 * \" \\ \n \r \t, other controls and < > & as \u00XX, U+2028/9 escaped, bad UTF-8 as
 * \ufffd. out needs 6 * n bytes. Returns the length written. */
static size_t json_escape(char *out, const char *in, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    char *o = out;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
                *o++ = (char)c;
            } else if (c == '\\' || c == '"') {
                *o++ = '\\', *o++ = (char)c;
            } else if (c == '\n') {
                *o++ = '\\', *o++ = 'n';
            } else if (c == '\r') {
                *o++ = '\\', *o++ = 'r';
            } else if (c == '\t') {
                *o++ = '\\', *o++ = 't';
            } else {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4], o[5] = hex[c & 0xF];
                o += 6;
            }
            i++;
            continue;
        }
        unsigned rune = 0;
        size_t len = utf8_len(p + i, n - i, &rune);
        if (len == 0) {
            memcpy(o, "\\ufffd", 6);
            o += 6;
            i++;
            continue;
        }
        if (rune == 0x2028 || rune == 0x2029) {
            memcpy(o, "\\u202", 5);
            o[5] = hex[rune & 0xF];
            o += 6;
        } else {
            memcpy(o, p + i, len);
            o += len;
        }
        i += len;
    }
    return (size_t)(o - out);
}

/* ---------------------------------------------------------------- state.json */

static int state_json(char *buf, size_t len)
{
    char started[48], finished[48], err[sizeof(st.error) * 6];
    fmt_time(&st.started, started, sizeof(started));
    fmt_time(&st.finished, finished, sizeof(finished));
    err[json_escape(err, st.error, strlen(st.error))] = '\0';
    return snprintf(buf, len,
                    "{\"Status\":\"%s\",\"Pid\":%d,\"PidStart\":%llu,\"SupervisorPid\":%d,\"SupervisorStart\":%llu,"
                    "\"ExitCode\":%d,\"StartedAt\":\"%s\",\"FinishedAt\":\"%s\",\"RestartCount\":%d,\"Error\":\"%s\"}\n",
                    st.status, st.pid, st.pid_start, st.sup_pid, st.sup_start, st.exit_code, started, finished,
                    st.restart_count, err);
}

/* tmp + fsync + rename under DIR/lock (the managed writer takes the same lock). */
static void write_state(void)
{
    char buf[4096];
    int n = state_json(buf, sizeof(buf));
    if (n < 0 || (size_t)n >= sizeof(buf))
        return;
    if (lock_fd >= 0)
        while (flock(lock_fd, LOCK_EX) < 0 && errno == EINTR)
            ;
    int fd = open("state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        int ok = write_all(fd, buf, (size_t)n) == 0 && fsync(fd) == 0;
        close(fd);
        if (ok)
            rename("state.json.tmp", "state.json");
        else
            unlink("state.json.tmp");
    }
    if (lock_fd >= 0)
        flock(lock_fd, LOCK_UN);
}

static void set_error(const char *msg)
{
    snprintf(st.error, sizeof(st.error), "%s", msg);
}

/* ---------------------------------------------------------------- json-file log */

/* Writes the first n buffered bytes; the rest moves to the front. */
static void log_write_out(size_t n)
{
    if (log_fd >= 0 && n > 0 && write_all(log_fd, log_buf, n) == 0)
        log_size += n;
    memmove(log_buf, log_buf + n, log_len - n);
    log_len -= n;
}

static void log_flush(void)
{
    log_write_out(log_len);
}

/* Docker's scheme: NAME-json.log.1 is the newest rotated file; max-file 1 truncates. */
static void log_rotate(void)
{
    if (opt.log_max_file <= 1) {
        if (ftruncate(log_fd, 0) == 0)
            log_size = 0;
        return;
    }
    char from[sizeof(opt.log_name) + 16], to[sizeof(opt.log_name) + 16];
    snprintf(to, sizeof(to), "%s.%d", opt.log_name, opt.log_max_file - 1);
    unlink(to);
    for (int i = opt.log_max_file - 2; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%d", opt.log_name, i);
        snprintf(to, sizeof(to), "%s.%d", opt.log_name, i + 1);
        rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.1", opt.log_name);
    rename(opt.log_name, to);
    int fd = open(opt.log_name, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
    if (fd >= 0) {
        dup2(fd, log_fd); /* keeps the number; dup2 clears CLOEXEC, so set it again */
        close(fd);
        fcntl(log_fd, F_SETFD, FD_CLOEXEC);
    }
    log_size = 0;
}

static void log_entry(int stream, const char *data, size_t n)
{
    if (!opt.log_json || log_fd < 0 || n == 0)
        return;
    /* The worst case: every byte as \u00XX, plus the frame of the object. */
    size_t need = n * 6 + 96;
    if (log_len + need > sizeof(log_buf))
        log_flush();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[48];
    fmt_time(&ts, when, sizeof(when));
    char *o = log_buf + log_len;
    static const char head[] = "{\"log\":\"";
    memcpy(o, head, sizeof(head) - 1);
    size_t len = sizeof(head) - 1;
    len += json_escape(o + len, data, n);
    len += (size_t)snprintf(o + len, 96, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                            stream == 2 ? "stderr" : "stdout", when);
    size_t before = log_len;
    log_len += len;
    if (opt.log_max_size > 0 && log_size + log_len > opt.log_max_size && log_size + before > 0) {
        /* The entry would overflow the file: what came before it ends the old one. */
        log_write_out(before);
        log_rotate();
    }
}

/* Splits on '\n' (kept in the entry); a line of 16 KiB without one goes out partial. */
static void log_feed(int stream, const char *data, size_t n)
{
    int s = stream - 1;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) + 1 : n;
        size_t space = LINE_MAX_LOG - line_len[s];
        if (take > space)
            take = space;
        if (line_len[s] == 0 && (take == LINE_MAX_LOG || (take > 0 && data[take - 1] == '\n'))) {
            log_entry(stream, data, take); /* a whole line in place: no copy */
        } else {
            memcpy(line_buf[s] + line_len[s], data, take);
            line_len[s] += take;
            if (line_len[s] == LINE_MAX_LOG || line_buf[s][line_len[s] - 1] == '\n') {
                log_entry(stream, line_buf[s], line_len[s]);
                line_len[s] = 0;
            }
        }
        data += take;
        n -= take;
    }
}

static void log_feed_end(int stream)
{
    int s = stream - 1;
    if (line_len[s] > 0)
        log_entry(stream, line_buf[s], line_len[s]);
    line_len[s] = 0;
}

static void log_open(void)
{
    if (!opt.log_json)
        return;
    log_fd = open(opt.log_name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat sb;
    if (log_fd >= 0 && fstat(log_fd, &sb) == 0)
        log_size = (unsigned long long)sb.st_size;
}

/* ---------------------------------------------------------------- clients */

static void drop_client(struct client *c)
{
    close_fd(&c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void client_flush(struct client *c)
{
    while (c->fd >= 0 && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            drop_client(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->fd >= 0) {
        c->out_off = c->out_len = 0;
        if (c->out_cap > 64 * 1024) { /* give a burst's memory back */
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
        if (c->close_after_flush)
            drop_client(c);
    }
}

/* Sends now what the socket takes; keeps the rest, up to CLIENT_BACKLOG. */
static void client_send(struct client *c, const void *data, size_t len)
{
    if (c->fd < 0)
        return;
    const char *p = data;
    if (c->out_len == c->out_off) {
        while (len > 0) {
            ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0) {
                drop_client(c);
                return;
            }
            p += n;
            len -= (size_t)n;
        }
        if (len == 0)
            return;
    }
    if (c->out_len - c->out_off + len > CLIENT_BACKLOG) {
        drop_client(c); /* a stuck client must never hold the container back */
        return;
    }
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 16384;
        while (cap < c->out_len + len)
            cap *= 2;
        char *grown = realloc(c->out, cap);
        if (!grown) {
            drop_client(c);
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
}

static void put_frame_header(unsigned char *h, int stream, size_t len)
{
    h[0] = (unsigned char)stream;
    h[1] = h[2] = h[3] = 0;
    h[4] = (unsigned char)(len >> 24);
    h[5] = (unsigned char)(len >> 16);
    h[6] = (unsigned char)(len >> 8);
    h[7] = (unsigned char)len;
}

/* rbuf holds [8 free bytes][n bytes of output]: one frame for every attached client. */
static void broadcast(int stream, size_t n)
{
    put_frame_header((unsigned char *)rbuf, stream, n);
    int bit = stream == 2 ? 4 : 2;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0 && clients[i].kind == 'A' && (clients[i].flags & bit))
            client_send(&clients[i], rbuf, 8 + n);
}

static int stdin_target(void)
{
    return opt.tty ? pty_fd : stdin_w;
}

static void close_container_stdin(void)
{
    if (opt.tty)
        return; /* a terminal has no half-close; Docker leaves it open too */
    if (stdin_len > stdin_off) {
        stdin_close_pending = 1;
        return;
    }
    close_fd(&stdin_w);
}

static void stdin_flush(void)
{
    int fd = stdin_target();
    while (fd >= 0 && stdin_off < stdin_len) {
        ssize_t n = write(fd, stdin_buf + stdin_off, stdin_len - stdin_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            stdin_off = stdin_len; /* the reader is gone: what is left goes nowhere */
            break;
        }
        stdin_off += (size_t)n;
    }
    if (stdin_off >= stdin_len) {
        stdin_off = stdin_len = 0;
        if (stdin_close_pending) {
            stdin_close_pending = 0;
            close_container_stdin();
        }
    }
}

/* ---------------------------------------------------------------- the container */

static void signal_container(int sig)
{
    if (ctr_pidfd >= 0)
        sys_pidfd_send_signal(ctr_pidfd, sig);
}

static void kill_container(void)
{
    if (phase != PH_RUNNING)
        return;
    signal_container(SIGKILL);
    if (opt.direct && st.pid > 0)
        kill(-st.pid, SIGKILL); /* its own session: what it left running goes too */
}

static void start_stop(int sig, int timeout)
{
    stop_requested = 1;
    backoff_deadline = -1;
    if (phase == PH_LAUNCHING) {
        stop_pending = 1; /* applied once the pid arrives */
        stop_signal = sig;
        stop_timeout = timeout;
        return;
    }
    if (phase != PH_RUNNING)
        return;
    signal_container(sig);
    if (timeout >= 0) {
        long long at = now_ms() + (long long)timeout * 1000;
        if (kill_deadline < 0 || at < kill_deadline)
            kill_deadline = at;
    }
}

static void reset_child_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
}

/* Moves fds to their final numbers without one clobbering another. */
static int place_fds(const int *from, int n)
{
    int high[4];
    for (int i = 0; i < n; i++) {
        high[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 10);
        if (high[i] < 0)
            return -1;
    }
    for (int i = 0; i < n; i++)
        if (dup2(high[i], i) < 0)
            return -1;
    return sys_close_range((unsigned)n, ~0U, 0) < 0 ? -1 : 0;
}

static void launch_failed(int code, const char *msg);
static void container_started(int pid);

static int make_output_pipes(int out_w[2])
{
    out_w[0] = out_w[1] = -1;
    if (opt.tty)
        return 0;
    int p[2];
    for (int i = 0; i < 2; i++) {
        if (pipe2(p, O_CLOEXEC) < 0)
            return -1;
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        src_fd[i] = p[0];
        out_w[i] = p[1];
    }
    return 0;
}

static void launch_direct(void)
{
    int out_w[2], err_pipe[2];
    if (make_output_pipes(out_w) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
        close_fd(&out_w[0]);
        close_fd(&out_w[1]);
        launch_failed(125, msg);
        return;
    }
    int me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        reset_child_signals();
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != me)
            _exit(125);
        setsid();
        int fds[4] = {stdin_r >= 0 ? stdin_r : devnull, out_w[0], out_w[1], err_pipe[1]};
        if (place_fds(fds, 4) < 0)
            _exit(125);
        fcntl(3, F_SETFD, FD_CLOEXEC);
        execvp(opt.worker[0], opt.worker);
        int e = errno;
        write_all(3, &e, sizeof(e));
        _exit(127);
    }
    int fork_errno = errno;
    close_fd(&out_w[0]);
    close_fd(&out_w[1]);
    close(err_pipe[1]);
    if (pid < 0) {
        close(err_pipe[0]);
        char msg[128];
        snprintf(msg, sizeof(msg), "fork: %s", strerror(fork_errno));
        launch_failed(125, msg);
        return;
    }
    int e = 0;
    ssize_t n;
    do {
        n = read(err_pipe[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    close(err_pipe[0]);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        char msg[256];
        const char *name = opt.worker[0];
        if (e == ENOENT && !strchr(name, '/'))
            snprintf(msg, sizeof(msg), "exec: \"%.200s\": executable file not found in $PATH", name);
        else
            snprintf(msg, sizeof(msg), "exec: \"%.200s\": %s", name, strerror(e));
        launch_failed(e == ENOENT ? 127 : 126, msg);
        return;
    }
    container_started(pid);
}

static void launch_worker(void)
{
    int out_w[2], sp[2];
    if (make_output_pipes(out_w) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "pipe: %s", strerror(errno));
        close_fd(&out_w[0]);
        close_fd(&out_w[1]);
        launch_failed(125, msg);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        reset_child_signals();
        int in = opt.tty ? devnull : (stdin_r >= 0 ? stdin_r : devnull);
        int fds[4] = {in, opt.tty ? devnull : out_w[0], opt.tty ? devnull : out_w[1], sp[1]};
        if (place_fds(fds, 4) < 0)
            _exit(125);
        execv(opt.worker[0], opt.worker); /* relative paths are relative to DIR */
        char msg[PATH_MAX + 128];
        int n = snprintf(msg, sizeof(msg), "error 125 exec %s: %s", opt.worker[0], strerror(errno));
        if (n > 0)
            send(3, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, MSG_NOSIGNAL);
        _exit(127);
    }
    int fork_errno = errno;
    close_fd(&out_w[0]);
    close_fd(&out_w[1]);
    close(sp[1]);
    if (pid < 0) {
        close(sp[0]);
        char msg[128];
        snprintf(msg, sizeof(msg), "fork: %s", strerror(fork_errno));
        launch_failed(125, msg);
        return;
    }
    worker_pid = pid;
    worker_status = -1;
    ctrl_fd = sp[0];
    fcntl(ctrl_fd, F_SETFL, O_NONBLOCK);
    phase = PH_LAUNCHING;
}

static void launch(void)
{
    if (opt.direct)
        launch_direct();
    else
        launch_worker();
}

static void close_outputs(void)
{
    for (int s = 0; s < 2; s++) {
        if (src_fd[s] >= 0) {
            close_fd(&src_fd[s]);
            log_feed_end(s + 1);
        }
    }
    log_flush();
    pty_fd = -1;
}

static void finish(void) __attribute__((noreturn));

/* No restart, or the next one. */
static void after_exit(void)
{
    int code = st.exit_code;
    int again = 0;
    if (!stop_requested) {
        switch (opt.restart) {
        case RP_ALWAYS:
        case RP_UNLESS_STOPPED:
            again = 1;
            break;
        case RP_ON_FAILURE:
            again = code != 0 && (opt.max_retries == 0 || st.restart_count < opt.max_retries);
            break;
        case RP_NO:
        default:
            break;
        }
    }
    if (!again) {
        phase = PH_DONE;
        return;
    }
    /* Docker's backoff: doubling from 100 ms; a run of 10 s or more starts it over. */
    if (now_ms() - started_mono >= 10000)
        backoff_ms = 100;
    st.restart_count++;
    st.status = "restarting";
    st.pid = 0;
    st.pid_start = 0;
    write_state();
    phase = PH_BACKOFF;
    backoff_deadline = now_ms() + backoff_ms;
    backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
}

static void launch_failed(int code, const char *msg)
{
    close_outputs();
    close_fd(&ctrl_fd);
    clock_gettime(CLOCK_REALTIME, &st.finished);
    st.exit_code = code;
    st.pid = 0;
    st.pid_start = 0;
    set_error(msg);
    if (!ever_started) {
        /* Docker leaves a container whose first start failed as "created". The caller
         * hears of it once that is on disk and the socket is gone (finish). */
        snprintf(ready_error, sizeof(ready_error), "error %d %s\n", code, msg);
        st.status = "created";
        phase = PH_DONE;
        return;
    }
    st.status = "exited";
    started_mono = now_ms();
    after_exit();
}

static void container_started(int pid)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    /* Without CLONE_PARENT the container is not ours to wait for: refuse it. */
    if (pidfd < 0 || waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the container (pid %d) is not the supervisor's child", pid);
        if (pidfd >= 0)
            close(pidfd); /* not ours to kill either: the pid may be anything */
        for (int i = 0; i < nhold; i++)
            close(hold[i]);
        nhold = 0;
        close_fd(&pty_fd);
        src_fd[0] = -1;
        launch_failed(125, msg);
        return;
    }
    ctr_pidfd = pidfd;
    st.pid = pid;
    st.pid_start = 0;
    skiff_start_time(pid, &st.pid_start);
    clock_gettime(CLOCK_REALTIME, &st.started);
    started_mono = now_ms();
    st.status = "running";
    st.exit_code = 0;
    st.error[0] = '\0';
    phase = PH_RUNNING;
    write_state();
    if (!ever_started) {
        ever_started = 1;
        if (opt.ready_fd >= 0) {
            char line[32];
            int n = snprintf(line, sizeof(line), "ok %d\n", pid);
            write_all(opt.ready_fd, line, (size_t)n);
            close_fd(&opt.ready_fd);
        }
    }
    if (stop_pending) {
        stop_pending = 0;
        start_stop(stop_signal, stop_timeout);
    }
    need_reap = 1;
}

/* The worker closed fd 3 without a word and has been reaped: its exit status says why. */
static void launcher_gone(void)
{
    if (phase != PH_LAUNCHING || ctrl_fd >= 0 || worker_pid > 0)
        return;
    char m[128];
    snprintf(m, sizeof(m), "the container launcher died (exit status %d)", worker_status);
    launch_failed(125, m);
}

/* The worker's one message: "pid PID ..." with fds, or "error CODE MESSAGE". */
static void read_control(void)
{
    char text[1024];
    union {
        char buf[CMSG_SPACE(sizeof(int) * (MAX_HOLD + 1))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = text, .iov_len = sizeof(text) - 1};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    ssize_t n;
    do {
        n = recvmsg(ctrl_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return;
    int fds[MAX_HOLD + 1], nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (nfds < MAX_HOLD + 1)
                fds[nfds++] = fd;
            else
                close(fd);
        }
    }
    close_fd(&ctrl_fd);
    if (n <= 0) {
        launcher_gone(); /* fails the launch once the worker is reaped too */
        return;
    }
    text[n] = '\0';
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    int pid = 0, code = 0, used = 0;
    if (sscanf(text, "pid %d%n", &pid, &used) == 1 && pid > 0) {
        int first_hold = 0;
        if (pid == worker_pid)
            worker_pid = -1; /* the worker became the container (it exec'd): one child, not two */
        if (opt.tty) {
            if (nfds == 0) {
                for (int i = 0; i < nfds; i++)
                    close(fds[i]);
                launch_failed(125, "the container launcher sent no terminal");
                return;
            }
            pty_fd = src_fd[0] = fds[0];
            fcntl(pty_fd, F_SETFL, O_NONBLOCK);
            first_hold = 1;
        }
        for (int i = first_hold; i < nfds; i++)
            hold[nhold++] = fds[i];
        container_started(pid);
        return;
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (sscanf(text, "error %d %n", &code, &used) == 1 && code > 0) {
        launch_failed(code, text + used);
        return;
    }
    char m[1200];
    snprintf(m, sizeof(m), "the container launcher sent \"%.1000s\"", text);
    launch_failed(125, m);
}

static void container_exited(const siginfo_t *si)
{
    clock_gettime(CLOCK_REALTIME, &st.finished);
    st.exit_code = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
    st.pid = 0;
    st.pid_start = 0;
    close_fd(&ctr_pidfd);
    for (int i = 0; i < nhold; i++)
        close(hold[i]);
    nhold = 0;
    kill_deadline = -1;
    phase = PH_DRAINING;
    drain_deadline = now_ms() + DRAIN_GRACE_MS;
}

/* SIGCHLD: the worker, the container, and orphans we adopted as a subreaper. */
static void reap(void)
{
    siginfo_t si;
    if (worker_pid > 0) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)worker_pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == worker_pid) {
            worker_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
            worker_pid = -1;
            /* Its message, if any, is still queued on the socket. */
            if (ctrl_fd >= 0 && phase == PH_LAUNCHING)
                read_control();
            launcher_gone();
        }
    }
    if (phase == PH_RUNNING && st.pid > 0) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)st.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == st.pid) {
            if (opt.direct)
                kill(-st.pid, SIGKILL); /* the zombie still holds the group id */
            memset(&si, 0, sizeof(si));
            if (waitid(P_PID, (id_t)st.pid, &si, WEXITED) == 0)
                container_exited(&si);
        }
    }
    /* Orphans; not while a container's pid is still unknown (it may be one of them). */
    if (phase == PH_LAUNCHING)
        return;
    for (;;) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
            return;
        if (si.si_pid == worker_pid || (phase == PH_RUNNING && si.si_pid == st.pid))
            return; /* handled above on its own terms */
        waitid(P_PID, (id_t)si.si_pid, &si, WEXITED | WNOHANG);
    }
}

/* ---------------------------------------------------------------- requests */

static int be32(const unsigned char *p)
{
    return (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int header_size(int kind)
{
    switch (kind) {
    case 'A':
        return 2;
    case 'R':
    case 'K':
        return 5;
    case 'S':
        return 9;
    case 'P':
        return 1;
    default:
        return -1;
    }
}

/* One request, its header complete:
 *   'A' FLAGS               attach: frames out, raw stdin in; stream 3 "exit CODE" at the end
 *   'R' rows:u16 cols:u16   resize the terminal; reply 0
 *   'S' sig:i32 timeout:i32 stop (no more restarts), SIGKILL after timeout s (-1 never);
 *                           the connection closes once the container is gone and recorded
 *   'K' sig:i32             send a signal; reply 0, or errno (ESRCH: not running)
 *   'P'                     reply with state.json's text
 * Integers are big-endian. */
static void serve_request(struct client *c)
{
    unsigned char *h = c->hdr;
    switch (c->kind) {
    case 'A':
        c->flags = h[1];
        if (!opt.stdin_open)
            c->flags &= ~1;
        if (opt.wait_attach && phase == PH_BACKOFF && !ever_started) {
            /* The foreground run is attached: nothing the container writes can be missed now. */
            opt.wait_attach = 0;
            backoff_deadline = now_ms();
        }
        break;
    case 'R': {
        unsigned short rows = (unsigned short)(h[1] << 8 | h[2]), cols = (unsigned short)(h[3] << 8 | h[4]);
        if (pty_fd >= 0) {
            struct winsize ws = {.ws_row = rows, .ws_col = cols, .ws_xpixel = 0, .ws_ypixel = 0};
            ioctl(pty_fd, TIOCSWINSZ, &ws);
        }
        unsigned char ok = 0;
        c->close_after_flush = 1;
        client_send(c, &ok, 1);
        client_flush(c);
        break;
    }
    case 'S': {
        int sig = be32(h + 1), timeout = be32(h + 5);
        if (sig <= 0 || sig > 64)
            sig = SIGTERM;
        start_stop(sig, timeout);
        if (phase == PH_BACKOFF)
            phase = PH_DONE; /* no restart after all; the client goes once the state is written */
        break;
    }
    case 'K': {
        int sig = be32(h + 1);
        unsigned char reply = 0;
        if (phase != PH_RUNNING || ctr_pidfd < 0)
            reply = ESRCH;
        else if (sys_pidfd_send_signal(ctr_pidfd, sig) < 0)
            reply = (unsigned char)errno;
        c->close_after_flush = 1;
        client_send(c, &reply, 1);
        client_flush(c);
        break;
    }
    case 'P': {
        char buf[4096];
        int n = state_json(buf, sizeof(buf));
        c->close_after_flush = 1;
        if (n > 0 && (size_t)n < sizeof(buf))
            client_send(c, buf, (size_t)n);
        client_flush(c);
        break;
    }
    default:
        drop_client(c);
        break;
    }
}

static void client_readable(struct client *c)
{
    if (c->kind == 0) {
        ssize_t n = recv(c->fd, c->hdr + c->hdr_len, 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            drop_client(c);
            return;
        }
        c->hdr_len++;
        int need = header_size(c->hdr[0]);
        if (need < 0) {
            drop_client(c);
            return;
        }
        while (c->hdr_len < need) {
            n = recv(c->fd, c->hdr + c->hdr_len, (size_t)(need - c->hdr_len), MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n <= 0) {
                drop_client(c);
                return;
            }
            c->hdr_len += (int)n;
        }
        c->kind = c->hdr[0];
        serve_request(c);
        return;
    }
    if (c->kind != 'A')
        return;
    ssize_t n = recv(c->fd, stdin_buf, sizeof(stdin_buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        drop_client(c);
        return;
    }
    if (n == 0) {
        c->read_closed = 1;
        if ((c->flags & 1) && opt.stdin_once)
            close_container_stdin();
        return;
    }
    if (!(c->flags & 1) || stdin_target() < 0)
        return; /* nowhere to go */
    stdin_off = 0;
    stdin_len = (size_t)n;
    stdin_flush();
}

static void accept_clients(void)
{
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        struct client *c = NULL;
        for (int i = 0; i < MAX_CLIENTS && !c; i++)
            if (clients[i].fd < 0)
                c = &clients[i];
        if (!c) {
            close(fd);
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->fd = fd;
    }
}

/* ---------------------------------------------------------------- the loop */

static void read_output(int s)
{
    int stream = s + 1;
    for (int rounds = 0; rounds < 4 && src_fd[s] >= 0; rounds++) {
        ssize_t n = read(src_fd[s], rbuf + 8, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF, or EIO once a terminal's last slave closed */
            if (src_fd[s] == pty_fd)
                pty_fd = -1;
            close_fd(&src_fd[s]);
            log_feed_end(stream);
            return;
        }
        log_feed(stream, rbuf + 8, (size_t)n);
        broadcast(stream, (size_t)n);
        if (n < READ_CHUNK)
            return;
    }
}

static void handle_signals(void)
{
    struct signalfd_siginfo si;
    while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            reap();
            break;
        case SIGTERM:
        case SIGINT:
            /* Someone stops us: stop the container as `skiff stop` would. */
            start_stop(SIGTERM, 10);
            if (phase == PH_BACKOFF)
                phase = PH_DONE;
            break;
        default:
            break;
        }
    }
}

__attribute__((noreturn)) static void finish(void)
{
    close_outputs();
    if (ever_started)
        st.status = "exited"; /* else "created", as launch_failed left it */
    st.pid = 0;
    st.pid_start = 0;
    write_state();

    char exit_frame[8 + 32];
    int n = snprintf(exit_frame + 8, sizeof(exit_frame) - 8, "exit %d", st.exit_code);
    put_frame_header((unsigned char *)exit_frame, 3, (size_t)n);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &clients[i];
        if (c->fd < 0)
            continue;
        if (c->kind == 'A')
            client_send(c, exit_frame, 8 + (size_t)n);
        c->close_after_flush = 1;
        client_flush(c);
    }
    /* The last output and the exit frame get a moment to reach slow readers. */
    long long until = now_ms() + FLUSH_GRACE_MS;
    for (;;) {
        struct pollfd pfd[MAX_CLIENTS];
        struct client *who[MAX_CLIENTS];
        int np = 0;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) {
                pfd[np].fd = clients[i].fd;
                pfd[np].events = POLLOUT;
                pfd[np].revents = 0;
                who[np++] = &clients[i];
            }
        long long left = until - now_ms();
        if (np == 0 || left <= 0)
            break;
        if (poll(pfd, (nfds_t)np, (int)left) <= 0)
            break;
        for (int i = 0; i < np; i++)
            if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))
                client_flush(who[i]);
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            drop_client(&clients[i]);
    struct stat now;
    if (stat("attach.sock", &now) == 0 && now.st_ino == sock_stat.st_ino && now.st_dev == sock_stat.st_dev)
        unlink("attach.sock");
    close_fd(&listen_fd);
    close_fd(&log_fd);
    close_fd(&lock_fd);
    if (opt.ready_fd >= 0) {
        const char *line = ready_error[0] ? ready_error : "error 125 the supervisor gave up\n";
        write_all(opt.ready_fd, line, strlen(line));
        close_fd(&opt.ready_fd);
    }

    if (opt.on_exit) {
        /* --rm and friends: the caller's program, with the directory named in the env. */
        setenv("SKIFF_CONTAINER_DIR", opt.abs_dir, 1);
        reset_child_signals();
        if (chdir("/") == 0) {
            execv(opt.on_exit[0], opt.on_exit);
        }
        _exit(127);
    }
    _exit(0);
}

__attribute__((noreturn)) static void run_loop(void)
{
    struct pollfd pfd[8 + MAX_CLIENTS];
    struct client *who[8 + MAX_CLIENTS];
    for (;;) {
        if (need_reap) {
            need_reap = 0;
            reap();
        }
        if (phase == PH_DONE)
            finish();
        long long now = now_ms();
        if (phase == PH_BACKOFF && backoff_deadline >= 0 && now >= backoff_deadline) {
            backoff_deadline = -1;
            launch();
            continue;
        }
        if (phase == PH_RUNNING && kill_deadline >= 0 && now >= kill_deadline) {
            kill_deadline = -1;
            kill_container();
        }
        if (phase == PH_DRAINING && ((src_fd[0] < 0 && src_fd[1] < 0) || now >= drain_deadline)) {
            close_outputs();
            after_exit();
            continue;
        }

        int np = 0;
        int i_sig = -1, i_listen = -1, i_ctrl = -1, i_src[2] = {-1, -1}, i_stdin = -1;
#define ADD(fd_, ev_) (pfd[np].fd = (fd_), pfd[np].events = (short)(ev_), pfd[np].revents = 0, who[np] = NULL, np++)
        i_sig = ADD(sig_fd, POLLIN);
        if (listen_fd >= 0)
            i_listen = ADD(listen_fd, POLLIN);
        if (ctrl_fd >= 0)
            i_ctrl = ADD(ctrl_fd, POLLIN);
        for (int s = 0; s < 2; s++)
            if (src_fd[s] >= 0)
                i_src[s] = ADD(src_fd[s], POLLIN);
        if (stdin_len > stdin_off && stdin_target() >= 0)
            i_stdin = ADD(stdin_target(), POLLOUT);
        int first_client = np;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            struct client *c = &clients[i];
            if (c->fd < 0)
                continue;
            short ev = 0;
            /* Input waits in the socket while the last chunk is unwritten or there is no
             * stdin to write to (a terminal between restarts): the container sets the pace. */
            if (!c->read_closed && (c->kind == 0 || (c->kind == 'A' && stdin_len == stdin_off &&
                                                     (!(c->flags & 1) || stdin_target() >= 0))))
                ev |= POLLIN;
            if (c->out_len > c->out_off)
                ev |= POLLOUT;
            ADD(c->fd, ev);
            who[np - 1] = c;
        }
#undef ADD
        long long deadline = -1;
        if (phase == PH_BACKOFF)
            deadline = backoff_deadline;
        if (phase == PH_RUNNING && kill_deadline >= 0)
            deadline = kill_deadline;
        if (phase == PH_DRAINING)
            deadline = drain_deadline;
        int timeout = -1;
        if (deadline >= 0)
            timeout = deadline > now ? (int)(deadline - now) : 0;
        int ready = poll(pfd, (nfds_t)np, timeout);
        if (ready < 0 && errno != EINTR)
            _exit(125);
        if (ready <= 0)
            continue;

        for (int s = 0; s < 2; s++)
            if (i_src[s] >= 0 && pfd[i_src[s]].revents)
                read_output(s);
        log_flush();
        if (i_stdin >= 0 && pfd[i_stdin].revents)
            stdin_flush();
        for (int i = first_client; i < np; i++) {
            struct client *c = who[i];
            if (!c || c->fd != pfd[i].fd)
                continue;
            if (pfd[i].revents & POLLOUT)
                client_flush(c);
            if (c->fd >= 0 && (pfd[i].revents & POLLIN))
                client_readable(c);
            /* Both directions shut: nothing more to read or to send (poll would spin). */
            if (c->fd >= 0 && (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL)))
                drop_client(c);
        }
        if (i_listen >= 0 && pfd[i_listen].revents)
            accept_clients();
        if (i_ctrl >= 0 && ctrl_fd >= 0 && pfd[i_ctrl].revents)
            read_control();
        if (pfd[i_sig].revents)
            handle_signals();
    }
}

/* ---------------------------------------------------------------- setup */

__attribute__((noreturn, format(printf, 1, 2))) static void usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dprintf(2, "skiff-supervisor: %s\n", msg);
    if (opt.ready_fd >= 0)
        dprintf(opt.ready_fd, "error 125 %s\n", msg);
    _exit(125);
}

static long parse_num(const char *flag, const char *v, long min)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || n < min)
        usage_error("bad value for %s", flag);
    return n;
}

static void parse_args(int argc, char **argv)
{
    if (argc < 2)
        usage_error("%s", "usage: skiff-supervisor DIR [options] -- WORKER_ARGV...");
    opt.dir = argv[1];
    /* --ready-fd first, so that every later complaint can reach the caller. */
    for (int i = 2; i + 1 < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--ready-fd") == 0)
            opt.ready_fd = (int)strtol(argv[i + 1], NULL, 10) > 2 ? (int)strtol(argv[i + 1], NULL, 10) : -1;
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--ready-fd") == 0) {
            parse_num(a, v, 3);
            i++;
        } else if (strcmp(a, "--log-driver") == 0) {
            if (!v || (strcmp(v, "json-file") != 0 && strcmp(v, "none") != 0))
                usage_error("unsupported log driver \"%s\": json-file or none", v ? v : "");
            opt.log_json = strcmp(v, "json-file") == 0;
            i++;
        } else if (strcmp(a, "--log-max-size") == 0) {
            opt.log_max_size = (unsigned long long)parse_num(a, v, 0);
            i++;
        } else if (strcmp(a, "--log-max-file") == 0) {
            opt.log_max_file = (int)parse_num(a, v, 1);
            i++;
        } else if (strcmp(a, "--restart") == 0) {
            if (v && strcmp(v, "no") == 0)
                opt.restart = RP_NO;
            else if (v && strcmp(v, "always") == 0)
                opt.restart = RP_ALWAYS;
            else if (v && strcmp(v, "unless-stopped") == 0)
                opt.restart = RP_UNLESS_STOPPED;
            else if (v && strcmp(v, "on-failure") == 0)
                opt.restart = RP_ON_FAILURE;
            else
                usage_error("invalid restart policy \"%s\"", v ? v : "");
            i++;
        } else if (strcmp(a, "--max-retries") == 0) {
            opt.max_retries = (int)parse_num(a, v, 0);
            i++;
        } else if (strcmp(a, "--tty") == 0) {
            opt.tty = 1;
        } else if (strcmp(a, "--stdin") == 0) {
            opt.stdin_open = 1;
        } else if (strcmp(a, "--stdin-once") == 0) {
            opt.stdin_once = 1;
        } else if (strcmp(a, "--direct") == 0) {
            opt.direct = 1;
        } else if (strcmp(a, "--wait-attach") == 0) {
            opt.wait_attach = 1;
        } else if (strcmp(a, "--on-exit-argv") == 0) {
            static char *on_exit_argv[64];
            long n = parse_num(a, v, 1);
            if (n >= 64 || i + 1 + n >= argc)
                usage_error("%s: N and then N arguments (at most 63)", a);
            for (long k = 0; k < n; k++)
                on_exit_argv[k] = argv[i + 2 + k];
            on_exit_argv[n] = NULL;
            opt.on_exit = on_exit_argv;
            i += 1 + (int)n;
        } else {
            usage_error("unknown option \"%s\"", a);
        }
    }
    if (i >= argc)
        usage_error("%s", "no worker command after --");
    opt.worker = &argv[i];
    if (opt.tty && opt.direct)
        usage_error("%s", "--tty needs a worker: --direct has no terminal");
}

static void setup_fail(const char *what) __attribute__((noreturn));
static void setup_fail(const char *what)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));
    if (opt.ready_fd >= 0)
        dprintf(opt.ready_fd, "error 125 %s\n", msg);
    _exit(125);
}

/* Closes every fd from 3 up but the two kept (either may be -1). */
static void close_all_but(int keep1, int keep2)
{
    int a = keep1 < keep2 ? keep1 : keep2, b = keep1 < keep2 ? keep2 : keep1;
    unsigned from = 3;
    int keep[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (keep[k] < (int)from)
            continue;
        if (keep[k] > (int)from)
            sys_close_range(from, (unsigned)keep[k] - 1, 0);
        from = (unsigned)keep[k] + 1;
    }
    sys_close_range(from, ~0U, 0);
}

__attribute__((noreturn)) static void supervisor_main(int argc, char **argv)
{
    skiff_keeper_attach(argc, argv); /* constructors run in no set order: this one may be first */
    parse_args(argc, argv);
    if (opt.ready_fd >= 0 && fcntl(opt.ready_fd, F_SETFD, FD_CLOEXEC) < 0)
        opt.ready_fd = -1;
    if (chdir(opt.dir) < 0) {
        char what[PATH_MAX + 16];
        snprintf(what, sizeof(what), "chdir %s", opt.dir);
        setup_fail(what);
    }
    if (!getcwd(opt.abs_dir, sizeof(opt.abs_dir)))
        setup_fail("getcwd");
    const char *base = strrchr(opt.abs_dir, '/');
    base = base && base[1] ? base + 1 : "container";
    snprintf(opt.log_name, sizeof(opt.log_name), "%.*s-json.log", NAME_MAX, base);

    /* Bound before the fork: once the first process is gone, a client can connect (--wait-attach). */
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0)
        setup_fail("socket");
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, "attach.sock"); /* relative: we stand in DIR, however long its path */
    unlink("attach.sock");
    mode_t old = umask(0077);
    int bound = bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (bound < 0)
        setup_fail("bind attach.sock");
    if (listen(listen_fd, 16) < 0)
        setup_fail("listen attach.sock");
    stat("attach.sock", &sock_stat);

    /* Fork once: the spawner reaps the first process at once and is never our parent. */
    pid_t first = fork();
    if (first < 0)
        setup_fail("fork");
    if (first > 0)
        _exit(0);
    setsid();

    /* We hold nothing of the spawner's but the ready fd. */
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        setup_fail("open /dev/null");
    for (int fd = 0; fd < 3; fd++)
        dup2(devnull, fd);
    close_all_but(opt.ready_fd, listen_fd);
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    prctl(PR_SET_NAME, SKIFF_SUPERVISOR_ARGV0, 0, 0, 0); /* the kernel keeps 15 bytes */
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sig_fd < 0)
        setup_fail("signalfd");

    st.sup_pid = getpid();
    skiff_start_time(st.sup_pid, &st.sup_start);
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;

    lock_fd = open("lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0)
        setup_fail("open lock");


    if (opt.stdin_open && !opt.tty) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            setup_fail("pipe");
        stdin_r = p[0];
        stdin_w = p[1];
        fcntl(stdin_w, F_SETFL, O_NONBLOCK);
    }
    log_open();

    if (opt.wait_attach) {
        phase = PH_BACKOFF;
        backoff_deadline = now_ms() + WAIT_ATTACH_MS;
    } else {
        launch();
    }
    run_loop();
}

/* Referenced from launch.c so that a static link always takes this file. */
const int skiff_supervisor_face_linked = 1;

__attribute__((constructor)) static void skiff_supervisor_face(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc < 1 || !argv || !argv[0])
        return;
    const char *base = strrchr(argv[0], '/');
    if (strcmp(base ? base + 1 : argv[0], SKIFF_SUPERVISOR_ARGV0) == 0)
        supervisor_main(argc, argv);
}

/* ---------------------------------------------------------------- exports for managed code */

extern char **environ;

SKIFF_EXPORT int32_t skiff_supervisor_spawn(const char *path, const char *const *argv, const char *const *envp,
                                            int32_t *ready_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* The write end becomes fd 3 (--ready-fd 3), the only fd inherited besides stdio; dup2
     * onto itself clears FD_CLOEXEC too (glibc >= 2.29) should it already be 3. */
    posix_spawn_file_actions_adddup2(&fa, p[1], SKIFF_SUPERVISOR_READY_FD);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &attr, (char *const *)argv, envp ? (char *const *)envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -rc;
    }
    *ready_fd = p[0];
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno == ECHILD)
            return 0; /* someone else reaped it; the ready line tells the rest */
        if (errno != EINTR)
            return 0;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

SKIFF_EXPORT int32_t skiff_supervisor_report(int32_t sock, const uint8_t *text, int32_t len, const int32_t *fds,
                                             int32_t nfds)
{
    if (len <= 0 || nfds < 0 || nfds > MAX_HOLD + 1)
        return -EINVAL;
    struct iovec iov = {.iov_base = (void *)text, .iov_len = (size_t)len};
    union {
        char buf[CMSG_SPACE(sizeof(int) * (MAX_HOLD + 1))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == len ? 0 : n < 0 ? -errno : -EPROTO;
}
