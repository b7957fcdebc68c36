/* A program built with nothing but `pkg-config --cflags --libs fdcred`. */
#include <fdcred.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    int sv[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(p) != 0)
        return 1;
    if (fdcred_sendfd(sv[0], p[1]) != 0)
        return 2;
    int fd = fdcred_recvfd(sv[1]);
    if (fd < 0 || write(fd, "!", 1) != 1)
        return 3;
    char c = 0;
    if (read(p[0], &c, 1) != 1 || c != '!')
        return 4;
    printf("ok %s\n", fdcred_version());
    return 0;
}
