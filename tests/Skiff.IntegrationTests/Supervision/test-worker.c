/* A stand-in for skiff's worker in the supervisor's tests: launches argv[1..] with
 * clone3(CLONE_PARENT), so that the container is the supervisor's child, not ours, and
 * reports "pid PID" on fd 3 as the real worker does. TEST_WORKER_TTY=1: the container
 * gets a new pty as its controlling terminal, and the master goes along (SCM_RIGHTS). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(const char *text, int fd)
{
    struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    memset(&u, 0, sizeof(u));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(3, &msg, 0) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return report("error 125 test-worker: no command", -1) + 2;
    int tty = getenv("TEST_WORKER_TTY") != NULL;
    int master = -1, slave = -1;
    if (tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
            (slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
            return report("error 125 test-worker: no pty", -1) + 2;
    }
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.flags = CLONE_PARENT; /* exit_signal stays 0: clone3 refuses one with CLONE_PARENT */
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    if (pid < 0)
        return report("error 125 test-worker: clone3 failed", -1) + 2;
    if (pid == 0) {
        close(3);
        if (tty) {
            setsid();
            ioctl(slave, TIOCSCTTY, 0);
            for (int i = 0; i < 3; i++)
                dup2(slave, i);
        }
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    char text[64];
    snprintf(text, sizeof(text), "pid %ld%s", pid, tty ? " tty" : "");
    return report(text, master);
}
