from typing import Tuple, Union

from ._fdcred import FileDescriptorLike

last_errno: int
"""The errno of this thread's last failed call."""

def sendfd(sock: FileDescriptorLike, fd: FileDescriptorLike) -> int:
    """Send `fd` with one data byte. Returns 0, or -1 on failure."""
def recvfd(sock: FileDescriptorLike) -> Tuple[int, int]:
    """Receive one fd sent with one byte. Returns (1, fd), or (0, -1)."""
def sendcred(sock: FileDescriptorLike, pid: int, uid: int, gid: int) -> int:
    """Send one byte carrying the credentials pid, uid, gid. Returns 0, or -1
    when the send fails (a forged identity: the kernel's EPERM, nothing sent).
    """
def allowrecvcred(sock: FileDescriptorLike) -> int:
    """Let `sock` receive the sender's credentials. Returns 1, or 0."""
def recvcred(sock: FileDescriptorLike) -> Tuple[int, int, int, int]:
    """Receive one byte with the sender's credentials.
    Returns (1, pid, uid, gid), or (0, -1, -1, -1); a field the kernel did
    not vouch for is -1.
    """
