"""Pass open file descriptors and kernel-vouched credentials over Unix sockets.

A ctypes binding of libfdcred: no compiler needed, only the shared library.
It is found at $FDCRED_LIBRARY (a path) first, then through the system's
usual search (ctypes.util.find_library("fdcred"), then the soname
libfdcred.so.0).

Every `sock` and `fd` argument may be a socket object (anything with
fileno()) or an integer (an int, or anything with __index__). Errors raise OSError with the library's errno (so
ConnectionResetError, PermissionError, ... where Python has a subclass).
Every descriptor returned is owned by the caller and close-on-exec; the
descriptors passed to a send stay open and stay the caller's.

    sendfd(sock, fd) -> None
    recvfd(sock) -> int
    send_fds(sock, data, fds) -> int              bytes sent
    recv_fds(sock, bufsize, maxfds) -> (bytes, [int])
    sendcred(sock, data=b"\\0", cred=None) -> int  cred None: my own ids
    recvcred(sock, bufsize) -> (bytes, Cred)
    allow_recv_cred(sock) -> None
    peer_cred(sock) -> Cred
    Cred(pid, uid, gid)                           None where unknown

The calls block as the system calls they wrap do. A Python socket with a
timeout (settimeout) is non-blocking underneath: the calls then raise
BlockingIOError (EAGAIN) instead of waiting; use select/selectors first.

Unlike socket.recv_fds, a message that carried more descriptors than
`maxfds`, or whose descriptors the kernel truncated, raises (EMSGSIZE,
EBADMSG) after every one of its descriptors has been closed: a partial set
is never handed out as if it were complete.
"""

import collections
import ctypes
import ctypes.util
import errno
import operator
import os
import socket
import struct
import threading

__all__ = [
    "Cred",
    "MAX_FDS",
    "allow_recv_cred",
    "peer_cred",
    "recv_fds",
    "recvcred",
    "recvfd",
    "send_fds",
    "sendcred",
    "sendfd",
    "version",
]

SONAME = "libfdcred.so.0"
MAX_FDS = 253  # FDCRED_MAX_FDS on Linux

_CRED_PID = 1 << 0
_CRED_UID = 1 << 1
_CRED_GID = 1 << 2


def _load():
    path = os.environ.get("FDCRED_LIBRARY")
    if path:
        return ctypes.CDLL(path, use_errno=True)
    tried = []
    for name in (ctypes.util.find_library("fdcred"), SONAME):
        if not name or name in tried:
            continue
        tried.append(name)
        try:
            return ctypes.CDLL(name, use_errno=True)
        except OSError:
            pass
    raise ImportError(
        "libfdcred not found (tried %s): install it, or set FDCRED_LIBRARY to the path of "
        "libfdcred.so (after `cargo build --release`: target/release/libfdcred.so)" % ", ".join(tried or [SONAME])
    )


_lib = _load()

Cred = collections.namedtuple("Cred", "pid uid gid")
Cred.__doc__ = """A process identity as the kernel reported it; None marks a field it did not vouch for."""


class _CCred(ctypes.Structure):
    """struct fdcred_cred (64 bytes)."""

    _fields_ = [
        ("known", ctypes.c_uint32),
        ("pid", ctypes.c_int32),
        ("uid", ctypes.c_uint32),
        ("gid", ctypes.c_uint32),
        ("ruid", ctypes.c_uint32),
        ("rgid", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32 * 10),
    ]


assert ctypes.sizeof(_CCred) == 64

_c_int = ctypes.c_int
_c_size_t = ctypes.c_size_t
_c_ssize_t = ctypes.c_ssize_t
_c_void_p = ctypes.c_void_p
_int_p = ctypes.POINTER(ctypes.c_int)
_size_p = ctypes.POINTER(ctypes.c_size_t)
_cred_p = ctypes.POINTER(_CCred)


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_sendfd = _fn("fdcred_sendfd", _c_int, _c_int, _c_int)
_recvfd = _fn("fdcred_recvfd", _c_int, _c_int)
_send_cred = _fn("fdcred_send_cred", _c_ssize_t, _c_int, _cred_p, _c_void_p, _c_size_t)
_recv_cred = _fn("fdcred_recv_cred", _c_ssize_t, _c_int, _cred_p, _c_void_p, _c_size_t)
_allow_recv_cred = _fn("fdcred_allow_recv_cred", _c_int, _c_int)
_peer_cred = _fn("fdcred_peer_cred", _c_int, _c_int, _cred_p)
_version = _fn("fdcred_version", ctypes.c_char_p)

# The hot paths (send_fds, recv_fds) call the same functions without
# argtypes: ctypes' per-argument conversion (from_param) cost more than the
# system calls themselves, and made the module slower than CPython's own
# socket.send_fds/recv_fds. Those calls pass exactly typed arguments instead:
# a Python int only for an `int` parameter, c_size_t objects for every size_t,
# bytes, ctypes arrays, byref() or None for pointers.
def _bare(name, restype):
    f = _lib[name]
    f.restype = restype
    return f


_send_fds_bare = _bare("fdcred_send_fds", _c_ssize_t)
_recv_fds_bare = _bare("fdcred_recv_fds", _c_ssize_t)
# Never mutated: shared read-only by every thread.
_SIZES = tuple(_c_size_t(i) for i in range(MAX_FDS + 1))

_get_errno = ctypes.get_errno
_byref = ctypes.byref
_IntArrays = [ctypes.c_int * n for n in range(MAX_FDS + 1)]
# fds to send, packed as C ints into immutable bytes (the library only reads
# them): cheaper than building a ctypes array on every call.
_FdPackers = [struct.Struct("%di" % n) for n in range(MAX_FDS + 1)]
_pack_one = _FdPackers[1].pack


def _error():
    e = _get_errno()
    return OSError(e, os.strerror(e))


_socket = socket.socket  # its fileno() always returns an int


def _fileno(obj):
    if type(obj) is int:
        return obj
    if isinstance(obj, int):
        return int(obj)
    fileno = getattr(obj, "fileno", None)
    if fileno is None:
        return operator.index(obj)  # an integer of another type (numpy's); else TypeError
    # A plain int whatever fileno() returned: the hot paths pass it to C
    # without argtypes, where anything else would not be taken as an int.
    return operator.index(fileno())


def _cred(c):
    k = c.known
    return Cred(
        c.pid if k & _CRED_PID else None,
        c.uid if k & _CRED_UID else None,
        c.gid if k & _CRED_GID else None,
    )


# Receive buffers are reused per thread (never shared between threads, never
# returned to the caller: the data is copied out).
_local = threading.local()


def _buffers(bufsize, maxfds):
    """This thread's (data buffer, fd array, size_t, cred, pointer to the
    size_t, data capacity, fd capacity), grown to hold the sizes asked for."""
    b = getattr(_local, "b", None)
    if b is None or b[5] < bufsize or b[6] < maxfds:
        size = max(bufsize, 4096, b[5] if b else 0)
        # Never above MAX_FDS: recv_fds's fast path passes any maxfds up to
        # this capacity to the library unclamped.
        count = min(max(maxfds, 16, b[6] if b else 0), MAX_FDS)
        nfds = _c_size_t()
        # the pointer is made once: byref() on every call costs
        b = (ctypes.create_string_buffer(size), _IntArrays[count](), nfds, _CCred(), ctypes.pointer(nfds), size, count)
        _local.b = b
    return b


def sendfd(sock, fd):
    """Send one descriptor with exactly one data byte (the classic protocol)."""
    if _sendfd(_fileno(sock), _fileno(fd)) != 0:
        raise _error()


def recvfd(sock):
    """Receive one descriptor sent with one byte; returns it (caller closes it).

    ENOMSG if the message had no descriptor, ECONNRESET (ConnectionResetError)
    at end of file.
    """
    fd = _recvfd(_fileno(sock))
    if fd < 0:
        raise _error()
    return fd


def _pack_fds(fds, n):
    """`fds` (n of them, n > 0) as C ints packed into bytes: integers (or
    anything with __index__) directly, then objects with fileno(); EINVAL for
    more than MAX_FDS, EBADF for a number outside a C int (no open
    descriptor has it)."""
    if n > MAX_FDS:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL) + ": more than MAX_FDS descriptors")
    packer = _FdPackers[n]
    try:
        return packer.pack(*fds)  # the common case: ints
    except struct.error:
        pass
    try:
        return packer.pack(*[_fileno(f) for f in fds])
    except struct.error:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF)) from None


# send_fds and recv_fds are the module's hot paths: the benchmark holds them
# to CPython's socket.send_fds/recv_fds, which do their work in C. Their
# common case (ints or socket objects, sizes that fit the cached buffers) runs
# as few Python steps as it can; everything else takes a slower branch.


def send_fds(sock, data, fds):
    """Send `data` with the descriptors in `fds` (at most MAX_FDS) in one message.

    Returns the number of bytes sent.
    """
    n = len(fds)
    if n == 1:
        try:
            arr = _pack_one(fds[0])
        except struct.error:
            arr = _pack_fds(fds, n)
    elif n:
        arr = _pack_fds(fds, n)
    else:
        arr = None
    if type(data) is not bytes:
        data = bytes(data)
    k = len(data)
    r = _send_fds_bare(
        sock if type(sock) is int else sock.fileno() if type(sock) is _socket else _fileno(sock),
        data,
        _SIZES[k] if k <= MAX_FDS else _c_size_t(k),
        arr,
        _SIZES[n],
    )
    if r < 0:
        raise _error()
    return r


def recv_fds(sock, bufsize, maxfds):
    """Receive up to `bufsize` bytes and up to `maxfds` descriptors.

    Returns (data, fds). A message with more than `maxfds` descriptors raises
    EMSGSIZE; one the kernel truncated raises EBADMSG; in both cases all of
    its descriptors have been closed. (b"", []) is end of file on a stream.
    """
    try:
        buf, fds, nfds, _, nfds_p, size_cap, fds_cap = _local.b
    except AttributeError:
        size_cap = fds_cap = -1
    if not (0 <= bufsize <= size_cap and 0 <= maxfds <= fds_cap):
        if maxfds < 0 or bufsize < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        maxfds = min(maxfds, MAX_FDS)  # no message can carry more
        buf, fds, nfds, _, nfds_p, _, _ = _buffers(bufsize, maxfds)
    nfds.value = maxfds
    r = _recv_fds_bare(
        sock if type(sock) is int else sock.fileno() if type(sock) is _socket else _fileno(sock),
        buf,
        _SIZES[bufsize] if bufsize <= MAX_FDS else _c_size_t(bufsize),
        fds,
        nfds_p,
    )
    if r < 0:
        raise _error()
    n = nfds.value
    return buf[:r], [fds[0]] if n == 1 else fds[:n]


def sendcred(sock, data=b"\0", cred=None):
    """Send `data` with credentials: my own pid and real ids when `cred` is None,
    else `cred` (a Cred; None fields are my own). The kernel checks the claim:
    EPERM (PermissionError) for ids this process may not claim.

    Returns the number of bytes sent.
    """
    c = None
    if cred is not None:
        c = _CCred()
        pid, uid, gid = cred
        if pid is not None:
            c.pid = pid
            c.known |= _CRED_PID
        if uid is not None:
            c.uid = uid
            c.known |= _CRED_UID
        if gid is not None:
            c.gid = gid
            c.known |= _CRED_GID
        c = _byref(c)
    if type(data) is not bytes:
        data = bytes(data)
    r = _send_cred(_fileno(sock), c, data, len(data))
    if r < 0:
        raise _error()
    return r


def recvcred(sock, bufsize):
    """Receive up to `bufsize` bytes and the sender's credentials.

    Needs allow_recv_cred() on the receiving socket before the peer sends.
    ENOMSG when the message carries no credentials (the data is consumed);
    a message with descriptors raises EMSGSIZE after closing them.
    """
    if bufsize < 0:
        raise OSError(22, os.strerror(22))
    buf, _, _, c, _, _, _ = _buffers(bufsize, 0)
    r = _recv_cred(_fileno(sock), _byref(c), buf, bufsize)
    if r < 0:
        raise _error()
    return buf[:r], _cred(c)


def allow_recv_cred(sock):
    """Ask the kernel to attach credentials to every message `sock` receives
    from now on (SO_PASSCRED). Call it before the peer sends: on a listening
    socket before accept, on the receiving end of a socketpair before handing
    out the other end."""
    if _allow_recv_cred(_fileno(sock)) != 0:
        raise _error()


def peer_cred(sock):
    """The pid/uid/gid of the process at the other end of a connected Unix
    socket, as the kernel recorded them when it connected."""
    c = _CCred()
    if _peer_cred(_fileno(sock), _byref(c)) != 0:
        raise _error()
    return _cred(c)


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _version().decode()
