"""The 2004 fdcred module's five calls, with its signatures and return
conventions, over the same core as the modern API. A program written for it
runs by changing only its import line:

    import fdcred.classic as fdcred

    sendfd(sock, fd) -> 0 on success, non-zero on failure
    recvfd(sock) -> (succ, fd)             succ 1 and the fd, or (0, -1)
    sendcred(sock, pid, uid, gid) -> 0 on success, non-zero on failure
    allowrecvcred(sock) -> succ            1, or 0
    recvcred(sock) -> (succ, pid, uid, gid)  (1, ...), or (0, -1, -1, -1)

These calls never raise for a system error: they report it the 2004 way,
and the reason is in `last_errno` (per thread). A wrong argument type still
raises TypeError, and an exception raised by Python code the call ran goes
through unchanged: KeyboardInterrupt, or whatever a signal handler raises
while the call waits (an alarm's TimeoutError is not the call failing; the
call then sent or took nothing, see fdcred). Each message carries one data byte, as the 2004 module's
did. sendcred claims exactly the pid, uid and gid given; the kernel refuses
an identity the sender may not claim, and then nothing is sent (non-zero).
A received fd is the caller's, close-on-exec.
"""

import threading

from . import _fdcred

__all__ = ["allowrecvcred", "recvcred", "recvfd", "sendcred", "sendfd"]

_state = threading.local()


def _failed(e):
    """Record `e`, the OSError being handled, as the call's failure; but
    re-raise it when Python code the call ran raised it (a signal handler, a
    fileno() method): its traceback then goes on past this module's frame,
    while the call's own OSError starts and ends there."""
    if e.__traceback__ is not None and e.__traceback__.tb_next is not None:
        raise
    _state.errno = e.errno


def __getattr__(name):
    if name == "last_errno":
        return getattr(_state, "errno", 0)
    raise AttributeError(name)


def sendfd(sock, fd):
    """Send `fd` with one data byte. Returns 0, or -1 on failure."""
    try:
        _fdcred.sendfd(sock, fd)
    except OSError as e:
        _failed(e)
        return -1
    return 0


def recvfd(sock):
    """Receive one fd sent with one byte. Returns (1, fd), or (0, -1)."""
    try:
        return 1, _fdcred.recvfd(sock)
    except OSError as e:
        _failed(e)
        return 0, -1


def sendcred(sock, pid, uid, gid):
    """Send one byte carrying the credentials pid, uid, gid. Returns 0, or -1
    when the send fails (a forged identity: the kernel's EPERM, nothing sent)."""
    try:
        _fdcred.sendcred(sock, b"\0", _fdcred.Cred(pid, uid, gid))
    except OSError as e:
        _failed(e)
        return -1
    return 0


def allowrecvcred(sock):
    """Let `sock` receive the sender's credentials. Returns 1, or 0."""
    try:
        _fdcred.allow_recv_cred(sock)
    except OSError as e:
        _failed(e)
        return 0
    return 1


def recvcred(sock):
    """Receive one byte with the sender's credentials.
    Returns (1, pid, uid, gid), or (0, -1, -1, -1); a field the kernel did
    not vouch for is -1."""
    try:
        _, cred = _fdcred.recvcred(sock, 1)
    except OSError as e:
        _failed(e)
        return 0, -1, -1, -1
    return (1,) + tuple(-1 if v is None else v for v in cred)
