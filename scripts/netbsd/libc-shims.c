/*
 * What Rust's std for x86_64-unknown-netbsd (and Debian's static
 * libgcc_eh) call that the rumprun libc (NetBSD 7.99, 2016) does not have.
 * Linked into every test image by scripts/netbsd/rumprun-link; never part
 * of the library. See scripts/test-netbsd.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <signal.h>
#include <stddef.h>

/* accept4 arrived in NetBSD 8; paccept (NetBSD 6) takes the same
 * SOCK_CLOEXEC / SOCK_NONBLOCK flags, with a signal mask we do not need. */
int accept4(int sock, struct sockaddr *addr, socklen_t *addrlen, int flags);
int accept4(int sock, struct sockaddr *addr, socklen_t *addrlen, int flags) {
    return paccept(sock, addr, addrlen, NULL, flags);
}

/* The libc symbol behind sigaltstack(2) in NetBSD's headers, missing here.
 * Signals are not delivered in the unikernel, so there is no alternate stack
 * to install: report "none" (SS_DISABLE) truthfully and accept a new one as
 * a no-op. std then has no stack-overflow handler, which it tolerates. */
int __sigaltstack14(const stack_t *ss, stack_t *oss);
int __sigaltstack14(const stack_t *ss, stack_t *oss) {
    (void)ss;
    if (oss != NULL) {
        oss->ss_sp = NULL;
        oss->ss_size = 0;
        oss->ss_flags = SS_DISABLE;
    }
    return 0;
}

/* Debian's libgcc_eh asks glibc's loader where a pc's unwind tables are.
 * There is no loader: -1 ("not found") makes it use the tables registered
 * at startup (eh-frame-register.c). */
int _dl_find_object(void *pc, void *result);
int _dl_find_object(void *pc, void *result) {
    (void)pc;
    (void)result;
    return -1;
}
