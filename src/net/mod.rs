//! Descriptor passing as methods of the socket types: an extension trait for
//! `std::os::unix::net::{UnixStream, UnixDatagram}` and a `SOCK_SEQPACKET`
//! type (std has none), all thin over [`send_msg`] and [`recv_msg`]; the
//! same for tokio's sockets in [`tokio`] (feature `tokio`).
//!
//! # Streams
//!
//! A stream has no message boundaries, so descriptors ride on bytes: they
//! travel with the *first byte* a send writes, and the receive that reads that
//! byte gets them. A short write has already delivered every descriptor, so
//! [`UnixSocketExt::send_all_with_fds`] sends the rest of the data without
//! any, never twice (libuv#2086 re-sent them). On Linux a receive that got
//! descriptors stops at the end of the bytes they came with, so one receive
//! never merges the descriptors of two sends (it may begin with earlier bytes
//! that carried none).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};

use crate::msg::{recv_msg, recv_msg_into, send_msg, Received, RecvOptions, SendOptions};
use crate::types::Credentials;

mod seqpacket;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use seqpacket::{UnixSeqpacket, UnixSeqpacketListener};

/// What one receive delivered besides the descriptors, from
/// [`UnixSocketExt::recv_with_fds`].
#[must_use = "a truncated message looks complete unless the flags are checked"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvInfo {
    /// Data bytes written into the buffer; 0 on a stream is end of file.
    pub bytes: usize,
    /// The datagram or seqpacket record was longer than the buffer
    /// (`MSG_TRUNC`): the rest of it is lost.
    pub data_truncated: bool,
    /// The message's descriptors did not all arrive (the kernel truncated the
    /// control data, or more came than the caller accepts): every one of
    /// them has been closed and none was added.
    pub fds_truncated: bool,
    /// Credentials the kernel attached to this message (after
    /// [`UnixSocketExt::allow_recv_cred`]), when at least one field is known.
    pub cred: Option<Credentials>,
}

impl RecvInfo {
    /// Neither data nor descriptors were cut off.
    pub fn is_complete(&self) -> bool {
        !self.data_truncated && !self.fds_truncated
    }
}

/// The options the typed sockets send with: the socket type already says it
/// is a Unix one, so the `getsockopt` that refuses other sockets is skipped.
/// `MSG_DONTWAIT` is left to the socket's own mode.
pub(crate) fn typed_send_options<'a>(fds: &'a [BorrowedFd<'a>], nonblocking: bool) -> SendOptions<'a> {
    SendOptions { fds, nonblocking, no_socket_check: true, ..SendOptions::default() }
}

/// Receive one message into `buf`, its descriptors appended to `fds`.
/// `Received` holds a whole descriptor array (about 1 KiB): it is filled in
/// place and drained here, so only the small [`RecvInfo`] is returned (and
/// moved through the async state machines of the tokio methods).
pub(crate) fn recv_into_vec(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    opts: &RecvOptions,
) -> io::Result<RecvInfo> {
    let mut received = Received::new();
    recv_msg_into(sock, &mut [IoSliceMut::new(buf)], None, opts, &mut received)?;
    fds.extend(received.fds.drain());
    Ok(RecvInfo {
        bytes: received.bytes,
        data_truncated: received.data_truncated,
        fds_truncated: received.control_truncated || received.fds_overflowed,
        cred: received.cred,
    })
}

/// Send `data` (not empty on a stream once descriptors ride along) with
/// `fds`, then the rest of `data` without them after a short write; `send`
/// is one non-fd-re-sending step: it gets the data still to go and whether
/// the descriptors still have to go with it.
pub(crate) fn send_all_steps(data: &[u8], mut send: impl FnMut(&[u8], bool) -> io::Result<usize>) -> io::Result<()> {
    let mut sent = 0;
    let mut first = true;
    while first || sent < data.len() {
        let n = send(&data[sent..], first)?;
        if n == 0 && !data.is_empty() {
            return Err(io::ErrorKind::WriteZero.into());
        }
        sent += n;
        first = false;
    }
    Ok(())
}

/// The per-connection and per-socket credential methods both extension
/// traits carry (the socket types' own `peer_cred`, where they have one,
/// returns another type, hence `peer_credentials`).
macro_rules! peer_methods {
    () => {
        /// The peer's identity, recorded at `connect`/`accept`/`pair`: see
        /// [`peer_cred`](crate::peer_cred) (`ENOTCONN` for an unconnected
        /// datagram socket).
        fn peer_credentials(&self) -> std::io::Result<crate::types::Credentials> {
            crate::peer::peer_cred(self.as_fd())
        }

        /// The peer's supplementary groups: see [`peer_groups`](crate::peer_groups).
        fn peer_groups(&self, groups: &mut [libc::gid_t]) -> std::io::Result<usize> {
            crate::peer::peer_groups(self.as_fd(), groups)
        }

        /// A pidfd of the peer process: see [`peer_pidfd`](crate::peer_pidfd).
        fn peer_pidfd(&self) -> std::io::Result<std::os::fd::OwnedFd> {
            crate::peer::peer_pidfd(self.as_fd())
        }

        /// Have the kernel attach the sender's credentials to every message
        /// received from now on ([`RecvInfo::cred`](crate::RecvInfo::cred), [`Received::cred`](crate::Received::cred)); see
        /// [`allow_recv_cred`](crate::allow_recv_cred) and its race.
        fn allow_recv_cred(&self) -> std::io::Result<()> {
            crate::peer::allow_recv_cred(self.as_fd())
        }

        /// Have the kernel attach the sender's pidfd to every message (Linux
        /// 6.5+): see [`allow_recv_pidfd`](crate::allow_recv_pidfd).
        fn allow_recv_pidfd(&self) -> std::io::Result<()> {
            crate::peer::allow_recv_pidfd(self.as_fd())
        }
    };
}
#[cfg(feature = "tokio")]
pub(crate) use peer_methods;

/// Descriptor and credential passing on std's Unix sockets and on
/// [`UnixSeqpacket`]. Errors are those of [`send_msg`] and [`recv_msg`] as
/// `io::Error`s; each method names its own. Received descriptors are
/// close-on-exec (atomically where [`CLOEXEC_IS_ATOMIC`](crate::CLOEXEC_IS_ATOMIC)).
///
/// ```
/// use std::io::IoSliceMut;
/// use std::os::fd::AsFd;
/// use std::os::unix::net::UnixStream;
/// use fdcred::{RecvOptions, UnixSocketExt};
///
/// let (a, b) = UnixStream::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// a.send_with_fds(b"x", &[file.as_fd()])?;
///
/// let mut buf = [0u8; 16];
/// let mut fds = Vec::new(); // OwnedFds: closed when dropped
/// let info = b.recv_with_fds(&mut buf, &mut fds)?;
/// assert_eq!((info.bytes, fds.len()), (1, 1));
/// assert!(info.is_complete());
///
/// // The same without touching the heap: the fds come in a fixed array.
/// a.send_with_fds(b"y", &[file.as_fd(), file.as_fd()])?;
/// let got = b.recv_with(&mut [IoSliceMut::new(&mut buf)], &RecvOptions::default())?;
/// assert_eq!(got.fds.len(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait UnixSocketExt: AsFd + sealed::Sealed {
    /// Send `data` with `fds` attached, in one `sendmsg`; returns the bytes
    /// sent, which on a stream may be fewer than `data.len()` (the
    /// descriptors went with the first byte all the same). Errors: `EINVAL`
    /// (more than [`MAX_FDS`](crate::MAX_FDS) descriptors, or descriptors
    /// with empty data on a stream), `EAGAIN`/`WouldBlock` (non-blocking
    /// socket, buffer full: nothing was sent), `EPIPE` (never a `SIGPIPE`),
    /// `ETOOMANYREFS`, and the rest of `sendmsg`'s.
    fn send_with_fds(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
        send_msg(self.as_fd(), &[IoSlice::new(data)], &typed_send_options(fds, false))
    }

    /// Send all of `data`, with `fds` on the first byte and the rest, after
    /// a short write, without them. Errors: those of
    /// [`send_with_fds`](Self::send_with_fds) (an error after a short write
    /// leaves the prefix sent; the descriptors went with it) and `WriteZero`.
    /// On a datagram or seqpacket socket one message is sent whole or not
    /// at all, so this is `send_with_fds`.
    fn send_all_with_fds(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        send_all_steps(data, |rest, with_fds| self.send_with_fds(rest, if with_fds { fds } else { &[] }))
    }

    /// [`send_msg`] on this socket: several buffers, credentials
    /// ([`SendOptions::cred`]), a destination address, `MSG_DONTWAIT`.
    fn send_with(&self, data: &[IoSlice<'_>], opts: &SendOptions<'_>) -> io::Result<usize> {
        send_msg(self.as_fd(), data, opts)
    }

    /// Receive one message into `buf`, appending its descriptors to `fds`
    /// (the only allocation: growing `fds`; [`recv_with`](Self::recv_with)
    /// allocates nothing). A message whose descriptors did not all arrive
    /// adds none and says so in [`RecvInfo::fds_truncated`]. Errors:
    /// `EAGAIN`/`WouldBlock` (non-blocking, nothing queued), `ENOTCONN`,
    /// and the rest of `recvmsg`'s; `EINTR` is retried.
    fn recv_with_fds(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<RecvInfo> {
        recv_into_vec(self.as_fd(), buf, fds, &RecvOptions::default())
    }

    /// [`recv_msg`] on this socket: no heap allocation (the descriptors come
    /// in a fixed array, [`ReceivedFds`](crate::ReceivedFds)), a descriptor
    /// limit, the sender's pidfd, close-on-exec off.
    fn recv_with(&self, bufs: &mut [IoSliceMut<'_>], opts: &RecvOptions) -> io::Result<Received> {
        recv_msg(self.as_fd(), bufs, None, opts)
    }

    peer_methods!();
}

impl UnixSocketExt for UnixStream {}
impl UnixSocketExt for UnixDatagram {}
impl UnixSocketExt for UnixSeqpacket {}

mod sealed {
    /// The traits are implemented for the Unix socket types only: the
    /// methods vouch that the socket is a Unix one.
    pub trait Sealed {}
    impl Sealed for std::os::unix::net::UnixStream {}
    impl Sealed for std::os::unix::net::UnixDatagram {}
    impl Sealed for super::UnixSeqpacket {}
    #[cfg(feature = "tokio")]
    impl Sealed for ::tokio::net::UnixStream {}
    #[cfg(feature = "tokio")]
    impl Sealed for ::tokio::net::UnixDatagram {}
    #[cfg(feature = "tokio")]
    impl Sealed for super::tokio::UnixSeqpacket {}
}
