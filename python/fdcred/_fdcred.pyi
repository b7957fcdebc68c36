"""Type stubs of the compiled core of the fdcred package (see fdcred's docstring)."""

from typing import Iterable, List, NamedTuple, Optional, Protocol, Tuple, Union


class _HasFileno(Protocol):
    def fileno(self) -> int: ...

class _SupportsIndex(Protocol):
    def __index__(self) -> int: ...

# A socket object, anything with fileno(), or a descriptor number.
FileDescriptorLike = Union[int, _HasFileno, _SupportsIndex]
# bytes, or anything bytes() accepts (bytearray, memoryview, array, ...).
BytesLike = Union[bytes, bytearray, memoryview]
# A filesystem path (str or bytes), or an abstract name: a leading NUL (as the
# socket module writes it) or "@name" (as the C library does; a file named
# "@x" is then written "./@x").
UnixAddress = Union[str, bytes]

MAX_FDS: int
"""The most descriptors one message may carry on this OS (253 on Linux)."""
CLOEXEC_IS_ATOMIC: bool
"""Whether received descriptors get close-on-exec atomically (MSG_CMSG_CLOEXEC)."""
CRED_HANDSHAKE_BYTE: int
"""The one byte cred_handshake_receiver sends as its "go on" (0x06)."""

class Cred(NamedTuple):
    """A process identity as the kernel reported it; None marks a field it did not vouch for."""

    pid: Optional[int]
    uid: Optional[int]
    gid: Optional[int]

class Message(NamedTuple):
    """What recv_msg received."""

    data: bytes
    fds: List[int]
    """The descriptors, complete and in order; the caller's, close-on-exec."""
    cred: Optional[Cred]
    """The sender's credentials when the kernel attached them (allow_recv_cred)."""
    pidfd: Optional[int]
    """The sender's pidfd (recv_msg(pidfd=True) after allow_recv_pidfd); the caller's."""
    address: Optional[UnixAddress]
    """The source address of a datagram: a str path, bytes for an abstract name, or None."""
    truncated: bool
    """The datagram was longer than bufsize; the rest is lost (the descriptors are complete)."""

def sendfd(sock: FileDescriptorLike, fd: FileDescriptorLike) -> None:
    """Send one descriptor with exactly one data byte (the classic protocol).

    A signal handler that raises while the call waits (a full socket buffer)
    ends it with that exception, nothing sent; one that returns lets it wait
    again, as socket.send does.
    """

def recvfd(sock: FileDescriptorLike) -> int:
    """Receive one descriptor sent with one byte; returns it (the caller's).

    ENOMSG if the message had no descriptor, ECONNRESET at end of file,
    EMSGSIZE (all closed) for more than one descriptor or more than one byte
    in a datagram, EBADMSG when the kernel truncated them.
    On a socket that is not a Unix one the bytes are read, and lost, before
    EOPNOTSUPP is raised.
    A signal handler that raises while the call waits ends it with that
    exception, nothing taken: the message stays queued. One that returns lets
    it wait again, as socket.recv does.
    """

def send_fds(sock: FileDescriptorLike, data: BytesLike, fds: Iterable[FileDescriptorLike]) -> int:
    """Send `data` with the descriptors `fds` (at most MAX_FDS) in one message.

    Returns the bytes sent (on a stream possibly fewer than len(data); the
    descriptors went with the first byte). `data` is a bytes-like object,
    `fds` an iterable of descriptors (TypeError otherwise). EINVAL for more
    than MAX_FDS, or descriptors with no data on a stream; EOPNOTSUPP on a
    socket that is not a Unix one (TCP would drop them silently).
    A signal handler that raises while the call waits (a full socket buffer)
    ends it with that exception, nothing sent; one that returns lets it wait
    again, as socket.send does.
    """

def sendto_fds(
    sock: FileDescriptorLike, data: BytesLike, fds: Iterable[FileDescriptorLike], address: UnixAddress
) -> int:
    """send_fds to `address` on an unconnected SOCK_DGRAM socket.

    `address` is a path, or an abstract name ("\\0name" or "@name"). EINVAL
    for an empty name or a NUL inside, ENAMETOOLONG beyond sun_path (108
    bytes on Linux).
    A signal handler that raises while the call waits (a full socket buffer)
    ends it with that exception, nothing sent; one that returns lets it wait
    again, as socket.send does.
    """

def recv_fds(sock: FileDescriptorLike, bufsize: int, maxfds: int) -> Tuple[bytes, List[int]]:
    """Receive up to `bufsize` bytes and up to `maxfds` descriptors.

    Returns (data, fds). Raises, after closing every descriptor of the
    message: EMSGSIZE for more than `maxfds` descriptors or a datagram longer
    than `bufsize`, EBADMSG when the kernel truncated them. (b"", []) is end
    of file on a stream. MemoryError when no buffer of `bufsize` bytes can be
    reserved.
    On a socket that is not a Unix one the bytes are read, and lost, before
    EOPNOTSUPP is raised.
    A signal handler that raises while the call waits ends it with that
    exception, nothing taken: the message stays queued. One that returns lets
    it wait again, as socket.recv does.
    """

def sendcred(sock: FileDescriptorLike, data: BytesLike = b"\0", cred: Optional[Cred] = None) -> int:
    """Send `data` with credentials.

    They are my own pid and real ids when `cred` is None, else `cred` (its
    None fields are my own). EPERM (PermissionError) for ids this process may
    not claim; nothing is sent then.
    A signal handler that raises while the call waits (a full socket buffer)
    ends it with that exception, nothing sent; one that returns lets it wait
    again, as socket.send does.
    """

def recvcred(sock: FileDescriptorLike, bufsize: int) -> Tuple[bytes, Cred]:
    """Receive up to `bufsize` bytes and the sender's credentials.

    Needs allow_recv_cred() on the receiving socket before the peer sends.
    ENOMSG when the message carries no credentials (the data is consumed);
    EMSGSIZE (all closed) when it carried descriptors. MemoryError when no
    buffer of `bufsize` bytes can be reserved.
    On a socket that is not a Unix one the bytes are read, and lost, before
    EOPNOTSUPP is raised.
    A signal handler that raises while the call waits ends it with that
    exception, nothing taken: the message stays queued. One that returns lets
    it wait again, as socket.recv does.
    """

def send_msg(
    sock: FileDescriptorLike,
    data: BytesLike,
    fds: Optional[Iterable[FileDescriptorLike]] = None,
    *,
    cred: Union[Cred, bool, None] = None,
    address: Optional[UnixAddress] = None,
    nonblocking: bool = False,
) -> int:
    """Send one message: `data`, the descriptors `fds`, credentials.

    `cred` True sends my own, a Cred that claim. The message goes to
    `address` if given; with `nonblocking`, BlockingIOError instead of
    waiting. Returns bytes sent.
    A signal handler that raises while the call waits (a full socket buffer)
    ends it with that exception, nothing sent; one that returns lets it wait
    again, as socket.send does.
    """

def recv_msg(
    sock: FileDescriptorLike,
    bufsize: int,
    maxfds: int = 0,
    *,
    pidfd: bool = False,
    nonblocking: bool = False,
    cloexec: bool = True,
) -> Message:
    """Receive one message with its descriptors, credentials and address.

    At most `maxfds` descriptors, else EMSGSIZE with all closed; EBADMSG
    when the kernel truncated them. The credentials and pidfd are those the
    kernel attached. MemoryError when no buffer of `bufsize` bytes can be
    reserved.
    On a socket that is not a Unix one the bytes are read, and lost, before
    EOPNOTSUPP is raised.
    A signal handler that raises while the call waits ends it with that
    exception, nothing taken: the message stays queued. One that returns lets
    it wait again, as socket.recv does.
    """

def allow_recv_cred(sock: FileDescriptorLike) -> None:
    """Have the kernel attach the sender's credentials to every message.

    Applies to what `sock` receives from now on. Call it before the peer
    sends: on a listening socket before accept, or use the handshake pair.
    """

def allow_recv_pidfd(sock: FileDescriptorLike) -> None:
    """Have the kernel attach a pidfd of the sender to every message.

    SO_PASSPIDFD, Linux 6.5+; ENOPROTOOPT before.
    """

def refuse_fds(sock: FileDescriptorLike) -> None:
    """Have the kernel refuse descriptors sent to `sock` (Linux 6.16+; ENOPROTOOPT before)."""

def cred_handshake_receiver(sock: FileDescriptorLike) -> None:
    """Receiver's half: allow_recv_cred, then send the one-byte "go on".

    A signal handler that raises while the call waits (a full socket buffer)
    ends it with that exception, nothing sent; one that returns lets it wait
    again, as socket.send does.
    """

def cred_handshake_sender(sock: FileDescriptorLike) -> None:
    """Sender's half: wait for the "go on"; messages sent after it carry credentials.

    On a socket that is not a Unix one the bytes are read, and lost, before
    EOPNOTSUPP is raised.
    A signal handler that raises while the call waits ends it with that
    exception, nothing taken: the message stays queued. One that returns lets
    it wait again, as socket.recv does.
    """

def peer_cred(sock: FileDescriptorLike) -> Cred:
    """The pid/uid/gid of the peer of a connected Unix socket, recorded at connect."""

def peer_groups(sock: FileDescriptorLike) -> List[int]:
    """The peer's supplementary group ids."""

def peer_pidfd(sock: FileDescriptorLike) -> int:
    """A pidfd naming the peer process (the caller's, close-on-exec); ENOPROTOOPT before Linux 6.5."""

def peer_security(sock: FileDescriptorLike) -> bytes:
    """The peer's security label (LSM context); ENOPROTOOPT when no LSM labels sockets."""

def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
