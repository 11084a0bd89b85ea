/* Terminals and fd passing: raw mode on skiff's side, sizes, SCM_RIGHTS (the pty master,
 * the seccomp listener). */
#include "sys.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "internal.h"
#include "skiff.h"

SKIFF_EXPORT int32_t skiff_tty_raw(int32_t fd, uint8_t *saved, int32_t saved_len)
{
    struct termios t;
    if (saved_len < (int32_t)sizeof(t))
        return -EINVAL;
    if (tcgetattr(fd, &t) < 0)
        return -errno;
    memcpy(saved, &t, sizeof(t));
    cfmakeraw(&t);
    if (tcsetattr(fd, TCSADRAIN, &t) < 0)
        return -errno;
    return (int32_t)sizeof(t);
}

SKIFF_EXPORT int32_t skiff_tty_restore(int32_t fd, const uint8_t *saved, int32_t saved_len)
{
    struct termios t;
    if (saved_len < (int32_t)sizeof(t))
        return -EINVAL;
    memcpy(&t, saved, sizeof(t));
    return tcsetattr(fd, TCSADRAIN, &t) < 0 ? -errno : 0;
}

SKIFF_EXPORT int32_t skiff_tty_size(int32_t fd, uint16_t *rows, uint16_t *cols)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
        return -errno;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

SKIFF_EXPORT int32_t skiff_tty_set_size(int32_t fd, uint16_t rows, uint16_t cols)
{
    struct winsize ws = {.ws_row = rows, .ws_col = cols, .ws_xpixel = 0, .ws_ypixel = 0};
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* One sendmsg of data with fd attached (SCM_RIGHTS): the bytes sent, or -errno. */
static ssize_t send_with_fd(int sock, const void *data, size_t len, int fd)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

int skiff_send_fd_raw(int sock, int fd)
{
    char byte = 'F';
    ssize_t n = send_with_fd(sock, &byte, 1, fd);
    if (n < 0)
        errno = (int)-n;
    return n == 1 ? 0 : -1;
}

SKIFF_EXPORT int32_t skiff_recv_fd(int32_t sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof(u.buf);
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ECONNRESET;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        return -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

SKIFF_EXPORT int32_t skiff_connect_unix(const char *path)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(addr.sun_path))
        return -ENAMETOOLONG;
    memcpy(addr.sun_path, path, len);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    int rc;
    do {
        rc = connect(sock, (const struct sockaddr *)&addr, sizeof(addr));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int e = errno;
        close(sock);
        return -e;
    }
    return sock;
}

SKIFF_EXPORT int32_t skiff_send_fd(int32_t sock, const uint8_t *data, int32_t len, int32_t fd)
{
    if (len <= 0)
        return -EINVAL;
    ssize_t n = send_with_fd(sock, data, (size_t)len, fd);
    if (n < 0)
        return (int32_t)n;
    /* a stream may take less at once: the fd went with the first part, as the spec asks */
    size_t off = (size_t)n;
    while (off < (size_t)len) {
        n = send(sock, data + off, (size_t)len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        off += (size_t)n;
    }
    return 0;
}
