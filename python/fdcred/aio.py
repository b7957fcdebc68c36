"""asyncio: awaitable sends and receives of descriptors and credentials.

    await aio.sendfd(sock, fd)                   await aio.recvfd(sock) -> int
    await aio.send_fds(sock, data, fds) -> int   await aio.recv_fds(sock, bufsize, maxfds)
    await aio.sendcred(sock, data, cred=None)    await aio.recvcred(sock, bufsize)
    await aio.send_msg(sock, data, fds, ...)     await aio.recv_msg(sock, bufsize, maxfds, ...)

Arguments, results and errors are those of the same calls in `fdcred`. The
socket need not be non-blocking: every attempt is one non-blocking system
call (MSG_DONTWAIT), and between attempts the task waits for readiness
through the running loop's add_reader/add_writer (any loop with them: the
default selector loop, uvloop). Several tasks may wait on one socket; each
message goes to exactly one of them.

Cancellation: a task cancelled while it waits has taken nothing: the message
stays queued for the next receiver, and no descriptor was installed. A
message is taken only by the system call that also returns it to the task,
with no await in between, so a receive that took a message completes with
it; its descriptors are the caller's from then on. A send is one system call
too: either nothing was sent, or the descriptors went with the first byte.
On a stream the rest of a partial write is sent after further waits; a task
cancelled then has sent the descriptors and part of the data (the stream is
out of step, as after any cancelled partial write), and it raises
CancelledError.
"""

import asyncio
import errno
import os
import socket

from . import _fdcred

__all__ = ["recv_fds", "recv_msg", "recvcred", "recvfd", "send_fds", "send_msg", "sendcred", "sendfd"]

_send_msg = _fdcred.send_msg
_recv_msg = _fdcred.recv_msg


def _fileno(sock):
    fileno = getattr(sock, "fileno", None)
    return fileno() if fileno is not None else int(sock)


class _Waiters:
    """The tasks of one loop waiting for one fd to become readable (or
    writable). One callback per fd is registered with the loop, because a
    second add_reader for the same fd would replace the first; when the fd is
    ready every waiter is woken and retries its non-blocking call, and those
    that find nothing wait again."""

    def __init__(self, key, loop, fd, add, remove):
        self.key, self.loop, self.fd, self.add, self.remove = key, loop, fd, add, remove
        self.futures = []

    def wait(self):
        fut = self.loop.create_future()
        if not self.futures:
            self.add(self.fd, self._ready)
        self.futures.append(fut)
        fut.add_done_callback(self._forget)
        return fut

    def _forget(self, fut):
        # Runs when a waiter is woken or cancelled: a cancelled last waiter
        # unregisters the callback, so a closed fd is not watched.
        try:
            self.futures.remove(fut)
        except ValueError:
            return
        if not self.futures:
            self._unregister()

    def _unregister(self):
        self.remove(self.fd)
        if _tables.get(self.key) is self:
            del _tables[self.key]

    def _ready(self):
        futures, self.futures = self.futures, []
        self._unregister()
        for fut in futures:
            if not fut.done():
                fut.set_result(None)


_tables = {}  # (loop, "r"/"w", fd) -> _Waiters


async def _wait(kind, fd):
    loop = asyncio.get_running_loop()
    key = (id(loop), kind, fd)
    w = _tables.get(key)
    if w is None or w.loop is not loop:
        if kind == "r":
            w = _Waiters(key, loop, fd, loop.add_reader, loop.remove_reader)
        else:
            w = _Waiters(key, loop, fd, loop.add_writer, loop.remove_writer)
        _tables[key] = w
    await w.wait()


async def _attempt(kind, fd, call, *args, **kwargs):
    """call(*args, nonblocking=True, **kwargs) until it does not raise
    BlockingIOError, waiting for readiness in between."""
    while True:
        try:
            return call(*args, nonblocking=True, **kwargs)
        except BlockingIOError:
            pass
        await _wait(kind, fd)


def _data_bytes(data):
    """`data` as bytes, copied once: a bytes-like object only (bytes(3)
    would be three NUL bytes, bytes([3]) a list of descriptors as data)."""
    if type(data) is bytes:
        return data
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError("send_msg() argument 'data' must be a bytes-like object, not %r" % type(data).__name__) from None
    with view:
        return view.tobytes()


def _fds_once(fds):
    """`fds` taken once, so that every attempt sends the same descriptors (an
    iterator would be empty on the second). Bytes and str are left for
    send_msg to refuse, not read as descriptor numbers."""
    if fds is None or isinstance(fds, (bytes, bytearray, memoryview, str)):
        return fds
    return tuple(fds)


async def send_msg(sock, data, fds=None, *, cred=None, address=None):
    """Send `data` with `fds` and `cred` (see fdcred.send_msg) in one
    message; on a stream, all of `data` (the descriptors and credentials go
    with the first byte). Returns len(data). `fds` may be any iterable; it
    is read once, before the first attempt."""
    fd = _fileno(sock)
    data = _data_bytes(data)
    fds = _fds_once(fds)
    sent = await _attempt("w", fd, _send_msg, fd, data, fds, cred=cred, address=address)
    while sent < len(data):  # only on a stream: the rest, with nothing attached
        sent += await _attempt("w", fd, _send_msg, fd, data[sent:])
    return sent


async def recv_msg(sock, bufsize, maxfds=0, *, pidfd=False, cloexec=True):
    """Receive one message (see fdcred.recv_msg)."""
    fd = _fileno(sock)
    return await _attempt("r", fd, _recv_msg, fd, bufsize, maxfds, pidfd=pidfd, cloexec=cloexec)


async def send_fds(sock, data, fds):
    """fdcred.send_fds, awaitable."""
    return await send_msg(sock, data, fds)


async def sendfd(sock, fd):
    """fdcred.sendfd, awaitable."""
    await send_msg(sock, b"\0", [fd])


async def sendcred(sock, data=b"\0", cred=None):
    """fdcred.sendcred, awaitable."""
    return await send_msg(sock, data, cred=True if cred is None else cred)


def _complete(sock, m):
    """The simple receives' policy on a recv_msg result (fds closed on failure)."""
    if m.truncated:
        for fd in m.fds:
            os.close(fd)
        raise OSError(errno.EMSGSIZE, os.strerror(errno.EMSGSIZE) + ": message longer than bufsize; its descriptors were closed")
    return m


def _missing(sock, m):
    if m.data or _socket_type(sock) == socket.SOCK_DGRAM:
        return OSError(errno.ENOMSG, os.strerror(errno.ENOMSG))
    return OSError(errno.ECONNRESET, os.strerror(errno.ECONNRESET))


def _socket_type(fd):
    s = socket.socket(fileno=os.dup(fd))
    try:
        return s.type
    finally:
        s.close()


async def recv_fds(sock, bufsize, maxfds):
    """fdcred.recv_fds, awaitable."""
    m = _complete(sock, await recv_msg(sock, bufsize, maxfds))
    return m.data, m.fds


async def recvfd(sock):
    """fdcred.recvfd, awaitable."""
    m = _complete(sock, await recv_msg(sock, 1, 1))
    if not m.fds:
        raise _missing(_fileno(sock), m)
    return m.fds[0]


async def recvcred(sock, bufsize):
    """fdcred.recvcred, awaitable."""
    m = _complete(sock, await recv_msg(sock, bufsize, 0))
    if m.cred is None:
        raise _missing(_fileno(sock), m)
    return m.data, m.cred
