/* Shared between the shim's files; not exported. */
#ifndef SKIFF_INTERNAL_H
#define SKIFF_INTERNAL_H

#include "skiff.h"

__attribute__((noreturn)) void skiff_child_main(const skiff_plan *plan, int sync_fd, int err_fd);
/* Sends fd over a unix socket with SCM_RIGHTS; async-signal-safe. 0 or -1 with errno. */
int skiff_send_fd_raw(int sock, int fd);

unsigned skiff_host_uid(void);
int skiff_start_time(int pid, unsigned long long *start);
/* keeper.c: join the keeper's user namespace (or see we are in it); once per process. */
void skiff_keeper_attach(int argc, char **argv);

#define SKIFF_EXPORT __attribute__((visibility("default")))

#endif
