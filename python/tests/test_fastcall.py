"""The per-message functions (sendfd, recvfd, send_fds, recv_fds) have
METH_FASTCALL entry points of their own (python/src/lib.rs); every other
kind of call goes to the PyO3 function. Both paths must behave the same."""

import errno
import inspect
import os
import socket

import fdcred
from helpers import Base


class FastCall(Base):
    def pair(self, kind=socket.SOCK_DGRAM):
        a, b = socket.socketpair(socket.AF_UNIX, kind)
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        return a, b

    def devnull(self):
        fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.addCleanup(os.close, fd)
        return fd

    def test_keyword_calls_take_the_pyo3_path_and_work(self):
        a, b = self.pair()
        fd = self.devnull()
        self.assertEqual(fdcred.send_fds(sock=a, data=b"kw", fds=[fd]), 2)
        data, fds = fdcred.recv_fds(b, bufsize=8, maxfds=1)
        self.assertEqual((data, len(fds)), (b"kw", 1))
        os.close(fds[0])
        fdcred.sendfd(a, fd=fd)
        os.close(fdcred.recvfd(sock=b))

    def test_positional_calls_with_ints_and_socket_objects(self):
        a, b = self.pair(socket.SOCK_SEQPACKET)
        fd = self.devnull()
        for send_sock, recv_sock in ((a, b), (a.fileno(), b.fileno())):
            self.assertEqual(fdcred.send_fds(send_sock, bytearray(b"ab"), (fd, fd)), 2)
            data, fds = fdcred.recv_fds(recv_sock, 2, 2)
            self.assertEqual((data, len(fds)), (b"ab", 2))
            for n in fds:
                self.assertTrue(os.get_inheritable(n) is False)
                os.close(n)

    def test_argument_errors_are_those_of_the_pyo3_function(self):
        a, b = self.pair()
        with self.assertRaises(TypeError):
            fdcred.send_fds(a, b"x")
        with self.assertRaises(TypeError):
            fdcred.recv_fds(b, 1, 1, 1)
        with self.assertRaises(TypeError):
            fdcred.recv_fds(b, "1", 1)
        with self.assertRaises(TypeError):
            fdcred.recvfd(b, nosuch=1)
        with self.assertRaises(OSError) as cm:
            fdcred.recv_fds(b, -1, 1)
        self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_errors_are_oserror_subclasses_and_truncation_closes_fds(self):
        a, b = self.pair()
        fd = self.devnull()
        b.setblocking(False)
        with self.assertRaises(BlockingIOError):
            fdcred.recv_fds(b, 1, 1)
        fdcred.send_fds(a, b"x", [fd, fd])
        with self.assertRaises(OSError) as cm:
            fdcred.recv_fds(b, 1, 1)  # two fds, one asked for: both closed (Base checks)
        self.assertEqual(cm.exception.errno, errno.EMSGSIZE)

    def test_signatures_module_and_names(self):
        for name, params in (
            ("sendfd", ["sock", "fd"]),
            ("recvfd", ["sock"]),
            ("send_fds", ["sock", "data", "fds"]),
            ("recv_fds", ["sock", "bufsize", "maxfds"]),
        ):
            function = getattr(fdcred, name)
            self.assertEqual(function.__name__, name)
            self.assertEqual(function.__module__, "fdcred._fdcred")
            self.assertIs(function.__self__, fdcred._fdcred)
            self.assertEqual(list(inspect.signature(function).parameters), params)
