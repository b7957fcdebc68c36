#!/usr/bin/env python3
"""The classic two-terminal demo of fd passing, with the fdcred package.

Terminal 1:  python3 passwd_demo.py receive /tmp/demo.sock
Terminal 2:  python3 passwd_demo.py send /tmp/demo.sock

The sender opens /etc/passwd and sends the open descriptor, with its
credentials attached by the kernel; the receiver never opens the file, yet
prints its first lines, and says which process, user and group sent it.
"""

import os
import socket
import sys

import fdcred

LINES = 3


def receive(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as srv:
        if os.path.exists(path):
            os.unlink(path)
        srv.bind(path)
        os.chmod(path, 0o666)  # any user may send
        fdcred.allow_recv_cred(srv)  # before listen: no message escapes it
        srv.listen(1)
        print("receiver: waiting on %s" % path, flush=True)
        conn, _ = srv.accept()
        with conn:
            what, who = fdcred.recvcred(conn, 256)
            fd = fdcred.recvfd(conn)
            with open(fd, "r", closefd=True) as f:
                head = [f.readline().rstrip("\n") for _ in range(LINES)]
        os.unlink(path)
    print("receiver: got fd %d for %s from pid %s uid %s gid %s" % (fd, what.decode(), who.pid, who.uid, who.gid))
    for line in head:
        print("  " + line)


def send(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        with open("/etc/passwd", "rb") as f:
            fdcred.sendcred(s, b"/etc/passwd")  # my pid, uid, gid: the kernel vouches
            fdcred.sendfd(s, f)
            fd = f.fileno()
        print("sender: pid %d uid %d gid %d sent fd %d for /etc/passwd" % (os.getpid(), os.getuid(), os.getgid(), fd))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("receive", "send"):
        sys.exit("usage: passwd_demo.py receive|send SOCKPATH")
    (receive if sys.argv[1] == "receive" else send)(sys.argv[2])
