/*
 * credclient: ask credserver who we are.
 *
 *   credclient SOCKPATH [REQUEST]
 *
 * Connects to the SOCK_SEQPACKET socket at SOCKPATH, checks who the server
 * is (the kernel's record of the listening process, so a stranger cannot
 * pose as it), sends REQUEST (default "who am I?") with its credentials
 * attached and prints the answer.
 *
 * Exit status: 0 answered, 3 refused by the server, 1 on any error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fdcred.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char *prog = "credclient";

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s SOCKPATH [REQUEST]\n", prog);
        return 2;
    }
    const char *path = argv[1];
    const char *request = argc == 3 ? argv[2] : "who am I?";
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: socket path must be 1 to %zu bytes\n", prog, sizeof sun.sun_path - 1);
        return 2;
    }
    if (request[0] == '\0' || strlen(request) > 200) {
        fprintf(stderr, "%s: the request must be 1 to 200 bytes\n", prog);
        return 2;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);

    int status = 1;
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) {
        perror("socket(AF_UNIX, SOCK_SEQPACKET)");
        return 1;
    }
    /* A stalled server must not hang us. */
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        perror("setsockopt(timeouts)");
        goto out;
    }
    int r;
    do
        r = connect(s, (struct sockaddr *)&sun, sizeof sun);
    while (r != 0 && errno == EINTR);
    if (r != 0) {
        fprintf(stderr, "%s: connect %s: %s\n", prog, path, strerror(errno));
        goto out;
    }
    struct fdcred_cred server;
    if (fdcred_peer_cred(s, &server) != 0) {
        perror("fdcred_peer_cred");
        goto out;
    }
    printf("%s: I am pid %d uid %u gid %u; the server is pid %d uid %u\n", prog, (int)getpid(), (unsigned)getuid(),
           (unsigned)getgid(), (server.known & FDCRED_CRED_PID) ? (int)server.pid : -1, (unsigned)server.uid);
    fflush(stdout);

    /* NULL: attach my own pid and real ids; the kernel checks them. A
     * server that refused us may already have hung up: read its reason. */
    if (fdcred_send_cred(s, NULL, request, strlen(request)) < 0 && errno != EPIPE && errno != ECONNRESET) {
        perror("fdcred_send_cred");
        goto out;
    }
    char answer[512];
    ssize_t n;
    do
        /* A plain recv: any descriptor a server might attach is discarded
         * by the kernel, since we give it no room. */
        n = recv(s, answer, sizeof answer - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        fprintf(stderr, "%s: reading the answer: %s\n", prog,
                errno == EAGAIN ? "no answer within 10 s" : strerror(errno));
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "%s: the server hung up without answering\n", prog);
        goto out;
    }
    answer[n] = '\0';
    printf("%s: the server says: %s\n", prog, answer);
    status = strncmp(answer, "refused", 7) == 0 ? 3 : 0;

out:
    if (close(s) != 0)
        perror("close");
    return status;
}
