//! Every flag and result bit of the C ABI, and which flags each call
//! accepts: one place, so that a new flag is added (and refused where it
//! means nothing) here.

use core::ffi::c_uint;
use std::io;

/// Flag: fail with `EAGAIN` instead of blocking, for this call only.
pub const FDCRED_NONBLOCK: c_uint = 0x1;
/// Flag (receive): leave received descriptors without close-on-exec.
pub const FDCRED_NO_CLOEXEC: c_uint = 0x2;
/// Flag (send): attach credentials (`msg->cred`, or the caller's own when NULL).
pub const FDCRED_SEND_CRED: c_uint = 0x4;
/// Flag (receive): keep the sender's pidfd in `msg->pidfd` when the kernel
/// attached one (after `fdcred_allow_recv_pidfd`); otherwise it is closed.
pub const FDCRED_KEEP_PIDFD: c_uint = 0x8;
/// Flag (`fdcred_sendmsg`, `fdcred_peer_cred_flags`): the caller vouches
/// for `sock`, so the library skips the `getsockopt` that checks it. On a
/// send: that it is a Unix-domain socket (connected, or a datagram socket
/// given `msg->addr`); a TCP or UDP socket would then drop the descriptors
/// and credentials silently, as plain `sendmsg` does. On a peer query: that
/// it is not listening (a connected socket from `accept`, `connect` or
/// `socketpair`); a listening socket would then report whoever called
/// `listen`. One syscall less per call: on Linux 10-15% of a one-descriptor
/// message and half a peer query (the BSDs, macOS and illumos keep their
/// family check on the peer query: it decides which option is read).
pub const FDCRED_NO_SOCKET_CHECK: c_uint = 0x10;

/// Result bit: the datagram was longer than the buffers; the rest is lost.
pub const FDCRED_MSG_DATA_TRUNC: c_uint = 0x1;
/// Result bit: the kernel truncated the control data (the receiver hit
/// `RLIMIT_NOFILE`, an LSM refused a descriptor, or other ancillary data did
/// not fit). Every descriptor the message carried has been closed and
/// `nfds` is 0: the message's descriptors are lost.
pub const FDCRED_MSG_CTRUNC: c_uint = 0x2;
/// Result bit: the message carried more descriptors than the capacity in
/// `nfds`. Every one has been closed and `nfds` is 0.
pub const FDCRED_MSG_FDS_OVERFLOW: c_uint = 0x4;
/// Result bit: the kernel attached credentials; `*msg->cred` holds them
/// (check its `known` bits).
pub const FDCRED_MSG_CRED: c_uint = 0x8;
/// Result bit: `msg->pidfd` holds the sender's pidfd.
pub const FDCRED_MSG_PIDFD: c_uint = 0x10;

/// The flags `fdcred_sendmsg` accepts.
pub(crate) const SEND_FLAGS: c_uint = FDCRED_NONBLOCK | FDCRED_SEND_CRED | FDCRED_NO_SOCKET_CHECK;
/// The flags `fdcred_recvmsg` accepts.
pub(crate) const RECV_FLAGS: c_uint = FDCRED_NONBLOCK | FDCRED_NO_CLOEXEC | FDCRED_KEEP_PIDFD;
/// The flags `fdcred_peer_cred_flags` accepts.
pub(crate) const PEER_CRED_FLAGS: c_uint = FDCRED_NO_SOCKET_CHECK;

/// `EINVAL` when `flags` has a bit outside `accepted`.
pub(crate) fn check(flags: c_uint, accepted: c_uint) -> io::Result<()> {
    if flags & !accepted != 0 {
        return Err(super::err(libc::EINVAL));
    }
    Ok(())
}
