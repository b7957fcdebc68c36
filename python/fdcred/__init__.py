"""Pass open file descriptors and kernel-vouched credentials over Unix sockets.

The calls run the libfdcred core (Rust, compiled into this package): no
libfdcred.so, no FDCRED_LIBRARY, no LD_LIBRARY_PATH.

Every `sock` and `fd` argument may be a socket object (anything with
fileno()) or an integer. Errors raise OSError with the errno, as the subclass
Python has for it (ConnectionResetError, PermissionError, BlockingIOError,
...). Every descriptor returned is owned by the caller and close-on-exec; the
descriptors passed to a send stay open and stay the caller's.

    sendfd(sock, fd) -> None                      one fd, one data byte
    recvfd(sock) -> int
    send_fds(sock, data, fds) -> int              bytes sent
    sendto_fds(sock, data, fds, address) -> int   unconnected SOCK_DGRAM
    recv_fds(sock, bufsize, maxfds) -> (bytes, [int])
    sendcred(sock, data=b"\\0", cred=None) -> int  cred None: my own ids
    recvcred(sock, bufsize) -> (bytes, Cred)
    send_msg(sock, data, fds=None, *, cred=None, address=None, nonblocking=False) -> int
    recv_msg(sock, bufsize, maxfds=0, *, pidfd=False, nonblocking=False, cloexec=True) -> Message
    allow_recv_cred(sock), allow_recv_pidfd(sock), refuse_fds(sock)
    cred_handshake_receiver(sock), cred_handshake_sender(sock)
    peer_cred(sock) -> Cred       peer_groups(sock) -> [int]
    peer_pidfd(sock) -> int       peer_security(sock) -> bytes
    Cred(pid, uid, gid)                           None where unknown

A receive never hands out part of a message's descriptors: a message with
more than `maxfds` descriptors raises EMSGSIZE, one whose descriptors the
kernel truncated (MSG_CTRUNC: RLIMIT_NOFILE, an LSM) raises EBADMSG, and the
simple receives (recvfd, recv_fds, recvcred) raise EMSGSIZE for a datagram
longer than `bufsize`; each time after every descriptor of the message has
been closed. recv_msg reports a data truncation in Message.truncated instead.

The calls block as the system calls they wrap do, with the GIL released
while they wait. A Python socket with a timeout is non-blocking underneath:
the calls then raise BlockingIOError. A signal that interrupts a wait runs
Python's handlers, as the socket module's calls do: a handler that raises
(KeyboardInterrupt on Ctrl-C, an alarm's exception) ends the call with that
exception having taken no message (it stays queued, no descriptor leaks)
or sent nothing; one that returns lets the call wait again.

`data` is a bytes-like object (bytes, bytearray, memoryview, array, ...)
and `fds` an iterable of descriptors; anything else is a TypeError naming
the argument. A receive on a socket that is not a Unix one reads the bytes,
which are lost, and then raises EOPNOTSUPP. A `bufsize` no buffer can be
reserved for raises MemoryError.

Sends refuse a socket that is not a Unix one (EOPNOTSUPP: TCP would drop the
descriptors silently). For an int the library asks the kernel on every send;
a socket object's own family is trusted instead (Python read it from the
kernel, unless the caller stated it, e.g. to socket.fromfd). For asyncio use fdcred.aio; for the 2004 module's calls and
return conventions, fdcred.classic.
"""

from ._fdcred import (
    CLOEXEC_IS_ATOMIC,
    CRED_HANDSHAKE_BYTE,
    MAX_FDS,
    Cred,
    Message,
    allow_recv_cred,
    allow_recv_pidfd,
    cred_handshake_receiver,
    cred_handshake_sender,
    peer_cred,
    peer_groups,
    peer_pidfd,
    peer_security,
    recv_fds,
    recv_msg,
    recvcred,
    recvfd,
    refuse_fds,
    send_fds,
    send_msg,
    sendcred,
    sendfd,
    sendto_fds,
    version,
)

__all__ = [
    "CLOEXEC_IS_ATOMIC",
    "CRED_HANDSHAKE_BYTE",
    "Cred",
    "MAX_FDS",
    "Message",
    "allow_recv_cred",
    "allow_recv_pidfd",
    "cred_handshake_receiver",
    "cred_handshake_sender",
    "peer_cred",
    "peer_groups",
    "peer_pidfd",
    "peer_security",
    "recv_fds",
    "recv_msg",
    "recvcred",
    "recvfd",
    "refuse_fds",
    "send_fds",
    "send_msg",
    "sendcred",
    "sendfd",
    "sendto_fds",
    "version",
]

__version__ = version()
