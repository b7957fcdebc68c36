#!/usr/bin/env python3
"""An update server: it hands the update file, opened read-only, to one user
and refuses every other, on the kernel's word about who is asking.

    python3 update_server.py SOCKPATH UPDATEFILE ALLOWED_UID [CONNECTIONS]
    python3 update_server.py --client SOCKPATH

The server listens on a SOCK_SEQPACKET socket anyone may connect to. Per
connection it asks the kernel twice who the peer is: the connection's
credentials (peer_cred, recorded at connect) and the request's own
(credentials on the message, after the handshake); both must name
ALLOWED_UID. It then answers b"ok" with the open file attached; anyone else
gets b"refused uid N" and no descriptor. The client prints what it got: the
file's first line, or the refusal (and exits 3).
"""

import os
import socket
import sys

import fdcred


def serve(path, update_file, allowed_uid, connections=None):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as srv:
        if os.path.exists(path):
            os.unlink(path)
        srv.bind(path)
        os.chmod(path, 0o666)
        srv.listen(8)
        print("update server: serving %s to uid %d on %s" % (update_file, allowed_uid, path), flush=True)
        served = 0
        while connections is None or served < connections:
            conn, _ = srv.accept()
            with conn:
                answer(conn, update_file, allowed_uid)
            served += 1


def answer(conn, update_file, allowed_uid):
    peer = fdcred.peer_cred(conn)
    try:
        fdcred.cred_handshake_receiver(conn)  # from now on each request carries its sender's ids
        request, who = fdcred.recvcred(conn, 64)
    except OSError as e:
        print("update server: pid %s uid %s: no request (%s)" % (peer.pid, peer.uid, e.strerror), flush=True)
        return
    if request != b"update" or peer.uid != allowed_uid or who.uid != allowed_uid:
        print("update server: refused pid %s uid %s" % (who.pid, who.uid), flush=True)
        conn.send(b"refused uid %d" % who.uid)
        return
    with open(update_file, "rb") as f:
        fdcred.send_fds(conn, b"ok", [f])
    print("update server: sent the update to pid %s uid %s" % (who.pid, who.uid), flush=True)


def client(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        fdcred.cred_handshake_sender(s)
        fdcred.sendcred(s, b"update")
        data, fds = fdcred.recv_fds(s, 64, 1)
    if data != b"ok" or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        print("client uid %d: %s" % (os.getuid(), data.decode()))
        return 3
    with open(fds[0], "rb") as f:
        print("client uid %d: got the update: %s" % (os.getuid(), f.readline().decode().rstrip()))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--client":
        sys.exit(client(args[1]))
    if len(args) not in (3, 4):
        sys.exit(__doc__)
    serve(args[0], args[1], int(args[2]), int(args[3]) if len(args) == 4 else None)
