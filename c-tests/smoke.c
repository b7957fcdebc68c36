/* The smallest end-to-end check: one fd across a socketpair both ways. */
#include <fdcred.h>
#include <sys/socket.h>

#include "harness.h"

static void test_sendfd_recvfd_roundtrip_on_socketpair(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    MUST(fdcred_sendfd(sv[0], p[1]));
    int got = MUST(fdcred_recvfd(sv[1]));
    CHECK(same_file(got, p[1]), "received fd %d is not the pipe", got);
    CHECK(is_cloexec(got), "received fd %d lacks close-on-exec", got);
    close(got);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static const struct test tests[] = {
    TEST(test_sendfd_recvfd_roundtrip_on_socketpair),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
