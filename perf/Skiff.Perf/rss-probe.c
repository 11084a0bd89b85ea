/*
 * rss-probe: run a command, write its ru_maxrss (KiB, the command and its reaped descendants) to fd 3,
 * and exit with its status.
 *
 * Why this exists: execve records the high-water RSS of the memory the process had before the exec
 * (fs/exec.c, exec_mmap). A child posix_spawn'ed by the .NET harness shares the harness's ~30 MiB
 * until it execs, so its ru_maxrss can never read below that. Forked from this small process instead,
 * the command starts from a few copied pages and ru_maxrss shows its own peak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rss-probe PATH [ARG...]  (result on fd 3)\n");
        return 125;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("rss-probe: fork");
        return 125;
    }
    if (pid == 0) {
        close(3);
        execv(argv[1], argv + 1);
        fprintf(stderr, "rss-probe: exec %s: %m\n", argv[1]);
        _exit(127);
    }
    int status;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            perror("rss-probe: wait4");
            return 125;
        }
    }
    if (dprintf(3, "%ld\n", usage.ru_maxrss) < 0)
        return 125;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
