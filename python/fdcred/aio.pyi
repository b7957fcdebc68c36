from typing import Iterable, List, Optional, Tuple, Union

from ._fdcred import BytesLike, Cred, FileDescriptorLike, Message, UnixAddress

async def send_msg(
    sock: FileDescriptorLike,
    data: BytesLike,
    fds: Optional[Iterable[FileDescriptorLike]] = None,
    *,
    cred: Union[Cred, bool, None] = None,
    address: Optional[UnixAddress] = None,
) -> int:
    """Send `data` with `fds` and `cred` (see fdcred.send_msg) in one
    message; on a stream, all of `data` (the descriptors and credentials go
    with the first byte). Returns len(data). `fds` may be any iterable; it
    is read once, before the first attempt.
    """
async def recv_msg(
    sock: FileDescriptorLike, bufsize: int, maxfds: int = 0, *, pidfd: bool = False, cloexec: bool = True
) -> Message:
    """Receive one message (see fdcred.recv_msg)."""
async def send_fds(sock: FileDescriptorLike, data: BytesLike, fds: Iterable[FileDescriptorLike]) -> int:
    """fdcred.send_fds, awaitable."""
async def recv_fds(sock: FileDescriptorLike, bufsize: int, maxfds: int) -> Tuple[bytes, List[int]]:
    """fdcred.recv_fds, awaitable."""
async def sendfd(sock: FileDescriptorLike, fd: FileDescriptorLike) -> None:
    """fdcred.sendfd, awaitable."""
async def recvfd(sock: FileDescriptorLike) -> int:
    """fdcred.recvfd, awaitable."""
async def sendcred(sock: FileDescriptorLike, data: BytesLike = b"\0", cred: Optional[Cred] = None) -> int:
    """fdcred.sendcred, awaitable."""
async def recvcred(sock: FileDescriptorLike, bufsize: int) -> Tuple[bytes, Cred]:
    """fdcred.recvcred, awaitable."""
