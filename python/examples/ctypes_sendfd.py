#!/usr/bin/env python3
"""Calling the C ABI of libfdcred from another language's FFI: Python's
ctypes, for a program that loads libfdcred.so itself instead of using the
fdcred package. (Python programs should use the package: pip install ./python.)

    LD_LIBRARY_PATH=target/release python3 ctypes_sendfd.py

It sends /etc/passwd's descriptor over a socketpair with fdcred_sendfd,
receives it with fdcred_recvfd, and reads the file through it.
"""

import ctypes
import ctypes.util
import os
import socket

lib = ctypes.CDLL(ctypes.util.find_library("fdcred") or "libfdcred.so.0", use_errno=True)
lib.fdcred_version.restype = ctypes.c_char_p
lib.fdcred_sendfd.argtypes = [ctypes.c_int, ctypes.c_int]
lib.fdcred_recvfd.argtypes = [ctypes.c_int]


def check(result):
    """The C convention: -1 and errno on failure."""
    if result < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return result


a, b = socket.socketpair()
with a, b, open("/etc/passwd", "rb") as f:
    check(lib.fdcred_sendfd(a.fileno(), f.fileno()))
    fd = check(lib.fdcred_recvfd(b.fileno()))
cloexec = not os.get_inheritable(fd)
with open(fd, "rb") as received:
    first = received.readline().decode().rstrip()
print("libfdcred %s: fd %d, close-on-exec %s, reads %r" % (lib.fdcred_version().decode(), fd, cloexec, first))
