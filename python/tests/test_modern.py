"""The modern API against CPython's own socket calls and across processes
(ported from the ctypes module's tests: the names and behaviour stay)."""

import array
import errno
import os
import socket
import subprocess
import sys

import fdcred
from helpers import IS_ROOT, NOBODY, TIMEOUT, UCRED, Base, become_nobody, forked, open_fds, same_file, wait_readable

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)
import passwd_demo  # noqa: E402


class FdPassing(Base):
    def test_fds_and_data_between_two_python_processes(self):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        r, w = os.pipe()

        def sender():
            parent.close()
            os.close(r)
            with open("/etc/passwd", "rb") as f:
                self.assertEqual(fdcred.send_fds(child, b"passwd+pipe", [f, w]), 11)
            # the parent answers through the pipe end we sent it
            wait_readable(child, "parent's go-ahead")
            self.assertEqual(child.recv(16), b"done")

        with forked(sender):
            os.close(w)
            child.close()
            wait_readable(parent, "the child's fds")
            data, fds = fdcred.recv_fds(parent, 64, 4)
            self.assertEqual(data, b"passwd+pipe")
            self.assertEqual(len(fds), 2, "fds received: %r" % fds)
            self.assertTrue(same_file(fds[0], "/etc/passwd"), "fd %d is not /etc/passwd" % fds[0])
            os.write(fds[1], b"x")
            self.assertEqual(os.read(r, 1), b"x", "fd %d is not the child's pipe" % fds[1])
            for fd in fds:
                self.assertFalse(os.get_inheritable(fd), "fd %d is not close-on-exec" % fd)
                os.close(fd)
            parent.send(b"done")
        os.close(r)
        parent.close()

    def test_sendfd_recvfd_classic_one_byte(self):
        a, b = socket.socketpair()
        with a, b, open("/etc/passwd", "rb") as f:
            fdcred.sendfd(a, f.fileno())  # an int works as well as a file object
            wait_readable(b, "sendfd message")
            fd = fdcred.recvfd(b.fileno())
            try:
                self.assertTrue(same_file(fd, "/etc/passwd"))
                self.assertNotEqual(fd, f.fileno())
            finally:
                os.close(fd)
            # exactly one byte, as the classic protocol has it
            fdcred.sendfd(a, f)
            data, anc, flags, _ = b.recvmsg(16, socket.CMSG_SPACE(4 * 4))
            self.assertEqual(data, b"\0")
            fds = array.array("i", anc[0][2])
            self.assertEqual(len(fds), 1)
            os.close(fds[0])

    def test_cpython_send_fds_to_fdcred_recv_fds(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        r, w = os.pipe()
        with a, b:
            socket.send_fds(a, [b"from cpython"], [r, w])
            wait_readable(b, "CPython's message")
            data, fds = fdcred.recv_fds(b, 64, 2)
            self.assertEqual(data, b"from cpython")
            self.assertEqual(len(fds), 2)
            os.write(fds[1], b"!")
            self.assertEqual(os.read(r, 1), b"!")
            for fd in fds + [r, w]:
                os.close(fd)

    def test_fdcred_send_fds_to_cpython_recv_fds(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with a, b, open("/etc/passwd", "rb") as f:
            self.assertEqual(fdcred.send_fds(a, b"to cpython", [f, f.fileno()]), 10)
            wait_readable(b, "fdcred's message")
            data, fds, flags, _ = socket.recv_fds(b, 64, 2)
            self.assertEqual((data, len(fds), flags & socket.MSG_CTRUNC), (b"to cpython", 2, 0))
            for fd in fds:
                self.assertTrue(same_file(fd, "/etc/passwd"))
                os.close(fd)

    def test_more_fds_than_maxfds_raises_emsgsize_and_closes_all(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b, open("/etc/passwd", "rb") as f:
            socket.send_fds(a, [b"three"], [f.fileno()] * 3)
            before = open_fds()
            with self.assertRaises(OSError) as cm:
                fdcred.recv_fds(b, 64, 1)
            self.assertEqual(cm.exception.errno, errno.EMSGSIZE)
            self.assertEqual(open_fds(), before, "surplus fds left open")

    def test_zero_maxfds_closes_unexpected_fds(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b, open("/etc/passwd", "rb") as f:
            socket.send_fds(a, [b"x"], [f.fileno()])
            before = open_fds()
            with self.assertRaises(OSError) as cm:
                fdcred.recv_fds(b, 64, 0)
            self.assertEqual(cm.exception.errno, errno.EMSGSIZE)
            self.assertEqual(open_fds(), before)

    def test_many_fds_up_to_max(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b, open("/etc/passwd", "rb") as f:
            fdcred.send_fds(a, b"max", [f] * fdcred.MAX_FDS)
            data, fds = fdcred.recv_fds(b, 8, fdcred.MAX_FDS)
            self.assertEqual((data, len(fds)), (b"max", fdcred.MAX_FDS))
            for fd in fds:
                os.close(fd)


class Index:
    """An integer that is not an int (as numpy's are): has __index__ only."""

    def __init__(self, n):
        self.n = n

    def __index__(self):
        return self.n


class ArgumentForms(Base):
    """send_fds/recv_fds take a fast path for their common case; every other
    form of argument must give what the slow path always gave."""

    def roundtrip(self, fds, bufsize=8, maxfds=8, data=b"x"):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        with a, b:
            self.assertEqual(fdcred.send_fds(a, data, fds), len(data))
            got, received = fdcred.recv_fds(b, bufsize, maxfds)
            for fd in received:
                os.close(fd)
            return got, len(received)

    def test_every_form_of_descriptor(self):
        r, w = os.pipe()
        s1, s2 = socket.socketpair()
        with s1, s2, open("/etc/passwd", "rb") as f:
            try:
                for fds in ([r], [r, w], [Index(r)], [Index(r), Index(w)], [f], [f, s1], [r, f, Index(w)], [s1] * 9):
                    with self.subTest(fds=fds):
                        self.assertEqual(self.roundtrip(fds, maxfds=16), (b"x", len(fds)))
            finally:
                os.close(r)
                os.close(w)

    def test_bad_descriptors(self):
        a, b = socket.socketpair()
        with a, b:
            for fds in ([2**31], [0, 2**40], [-(2**31) - 1]):
                with self.subTest(fds=fds), self.assertRaises(OSError) as cm:
                    fdcred.send_fds(a, b"x", fds)
                self.assertEqual(cm.exception.errno, errno.EBADF)
            for fds in ([None], [1.5], [0, None]):
                with self.subTest(fds=fds), self.assertRaises((TypeError, AttributeError)):
                    fdcred.send_fds(a, b"x", fds)

    def test_sizes_around_the_cached_buffers(self):
        # Negative sizes fail whether or not this thread has buffers yet.
        a, b = socket.socketpair()
        with a, b:
            for _ in range(2):
                for bufsize, maxfds in ((-1, 1), (1, -1)):
                    with self.assertRaises(OSError) as cm:
                        fdcred.recv_fds(b, bufsize, maxfds)
                    self.assertEqual(cm.exception.errno, errno.EINVAL)
                self.roundtrip([0])
        # Past the cache: the buffers grow, and smaller calls after still work.
        big = bytes(range(256)) * 40
        self.assertEqual(self.roundtrip([0], bufsize=len(big), data=big), (big, 1))
        self.assertEqual(self.roundtrip([0, 1, 2], maxfds=fdcred.MAX_FDS + 100), (b"x", 3))
        self.assertEqual(self.roundtrip([0], bufsize=1), (b"x", 1))
        # recvcred shares the cached buffers.
        a, b = socket.socketpair()
        with a, b:
            fdcred.allow_recv_cred(b)
            fdcred.sendcred(a, b"c")
            data, cred = fdcred.recvcred(b, 4)
            self.assertEqual((data, cred.pid), (b"c", os.getpid()))


class Errors(Base):
    def expect(self, err, fn, *args):
        with self.assertRaises(OSError) as cm:
            fn(*args)
        self.assertEqual(cm.exception.errno, err, "%s%r raised %r" % (fn.__name__, args, cm.exception))
        return cm.exception

    def test_errno_mapping(self):
        r, w = os.pipe()
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        a, b = socket.socketpair()
        closed = os.dup(r)
        os.close(closed)
        try:
            self.expect(errno.EBADF, fdcred.recvfd, closed)
            self.expect(errno.EBADF, fdcred.sendfd, a, closed)
            self.expect(errno.EBADF, fdcred.send_fds, -1, b"x", [])
            self.expect(errno.ENOTSOCK, fdcred.recvfd, r)
            self.expect(errno.ENOTSOCK, fdcred.peer_cred, w)
            self.expect(errno.EOPNOTSUPP, fdcred.sendfd, udp, r)
            self.expect(errno.EOPNOTSUPP, fdcred.peer_cred, tcp)
            self.expect(errno.ENOTCONN, fdcred.peer_cred, dgram)
            self.expect(errno.EINVAL, fdcred.send_fds, a, b"x", [r] * (fdcred.MAX_FDS + 1))
            self.expect(errno.EINVAL, fdcred.send_fds, a, b"", [r])  # a stream needs a byte
            a.send(b"?")  # a message without an fd
            self.expect(errno.ENOMSG, fdcred.recvfd, b)
            a.send(b"?")  # credentials were never asked for
            self.expect(errno.ENOMSG, fdcred.recvcred, b, 8)
            a.close()
            e = self.expect(errno.ECONNRESET, fdcred.recvfd, b)
            self.assertIsInstance(e, ConnectionResetError)
            self.expect(errno.EPIPE, fdcred.sendfd, b, r)  # never SIGPIPE: an exception
            b.setblocking(False)
            c, d = socket.socketpair()
            c.setblocking(False)
            with c, d:
                e = self.expect(errno.EAGAIN, fdcred.recv_fds, c, 8, 1)
                self.assertIsInstance(e, BlockingIOError)
        finally:
            for s in (tcp, udp, dgram, a, b):
                s.close()
            os.close(r)
            os.close(w)

    def test_forged_credentials_raise_eperm(self):
        if not IS_ROOT:
            self.skipTest("needs root to switch to uid %d" % NOBODY)
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        fdcred.allow_recv_cred(b)

        def forger():
            become_nobody()
            with self.assertRaises(PermissionError):
                fdcred.sendcred(a, b"I am root", fdcred.Cred(None, 0, None))
            fdcred.sendcred(a, b"I am nobody")

        with forked(forger) as pid:
            pass
        with a, b:
            wait_readable(b, "the honest message")
            data, cred = fdcred.recvcred(b, 64)
            self.assertEqual((data, cred), (b"I am nobody", fdcred.Cred(pid, NOBODY, NOBODY)))


class Credentials(Base):
    def test_cpython_scm_credentials_to_recvcred(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        fdcred.allow_recv_cred(b)
        me = (os.getpid(), os.getuid(), os.getgid())
        with a, b:
            a.sendmsg([b"mine"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, UCRED.pack(*me))])
            wait_readable(b, "CPython's credentials")
            self.assertEqual(fdcred.recvcred(b, 16), (b"mine", fdcred.Cred(*me)))
            if IS_ROOT:  # root may claim another identity; the receiver sees exactly it
                a.sendmsg([b"other"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, UCRED.pack(me[0], 4321, 1234))])
                self.assertEqual(fdcred.recvcred(b, 16), (b"other", fdcred.Cred(me[0], 4321, 1234)))

    def test_sendcred_to_cpython_recvmsg(self):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        with a, b:
            self.assertEqual(fdcred.sendcred(a, b"hi"), 2)
            cases = [(b"hi", (os.getpid(), os.getuid(), os.getgid()))]
            if IS_ROOT:
                fdcred.sendcred(a, b"as nobody", fdcred.Cred(None, NOBODY, NOBODY))
                cases.append((b"as nobody", (os.getpid(), NOBODY, NOBODY)))
            for want_data, want_cred in cases:
                data, anc, flags, _ = b.recvmsg(64, socket.CMSG_SPACE(UCRED.size))
                self.assertEqual(data, want_data)
                creds = [UCRED.unpack(d) for lvl, typ, d in anc if (lvl, typ) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)]
                self.assertEqual(creds, [want_cred])

    def test_credentials_from_another_uid_across_processes(self):
        if not IS_ROOT:
            self.skipTest("needs root to switch to uid %d" % NOBODY)
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fdcred.allow_recv_cred(b)  # before the other end can send

        def child():
            become_nobody()
            fdcred.sendcred(a, b"hello")

        with forked(child) as pid:
            wait_readable(b, "the child's message")
            data, cred = fdcred.recvcred(b, 64)
        self.assertEqual((data, cred), (b"hello", fdcred.Cred(pid, NOBODY, NOBODY)))
        self.assertEqual(fdcred.peer_cred(b), fdcred.Cred(os.getpid(), 0, 0))  # socketpair: recorded at creation
        a.close()
        b.close()

    def test_peer_cred_of_a_cpython_connection(self):
        path = os.path.join(self.tmp, "peer.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        os.chmod(path, 0o666)
        srv.listen(1)
        uid = NOBODY if IS_ROOT else os.getuid()
        gid = NOBODY if IS_ROOT else os.getgid()

        def client():
            srv.close()
            if IS_ROOT:
                become_nobody()
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.connect(path)
                wait_readable(c, "server's bye")
                c.recv(1)

        with forked(client) as pid:
            wait_readable(srv, "the connection")
            conn, _ = srv.accept()
            with conn:
                cred = fdcred.peer_cred(conn)
                self.assertEqual(cred, fdcred.Cred(pid, uid, gid))
                raw = UCRED.unpack(conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size))
                self.assertEqual(tuple(cred), raw)
                conn.send(b"!")
        srv.close()

    def test_passwd_two_terminal_demo(self):
        """One process sends an open /etc/passwd and its credentials; the
        other prints the first lines and who sent them."""
        path = os.path.join(self.tmp, "demo.sock")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        receiver = subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLES, "passwd_demo.py"), "receive", path],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        try:
            first = receiver.stdout.readline()
            self.assertIn("waiting", first)

            def sender():
                if IS_ROOT:
                    become_nobody()  # a different user: the kernel says so, not the sender
                passwd_demo.send(path)

            with forked(sender) as pid:
                pass
            out, _ = receiver.communicate(timeout=TIMEOUT)
        finally:
            if receiver.poll() is None:
                receiver.kill()
                receiver.communicate()
        self.assertEqual(receiver.returncode, 0, out)
        uid = NOBODY if IS_ROOT else os.getuid()
        gid = NOBODY if IS_ROOT else os.getgid()
        self.assertIn("from pid %d uid %d gid %d" % (pid, uid, gid), out)
        with open("/etc/passwd") as f:
            self.assertIn("  " + f.readline().rstrip("\n"), out)
