//! Descriptor passing on tokio's Unix sockets (feature `tokio`):
//! [`AsyncUnixSocketExt`] for `tokio::net::{UnixStream, UnixDatagram}` and
//! this module's [`UnixSeqpacket`].
//!
//! Every method waits on tokio's readiness and makes its one `sendmsg` or
//! `recvmsg` inside `async_io`, so a `WouldBlock` clears the readiness tokio
//! cached and the task sleeps until the kernel has room or data (the
//! library's call returns `EAGAIN` before it takes anything: no descriptor
//! is lost to a retry, unlike sendfd#9 and tokio-unix-ipc#26).
//!
//! # Cancellation safety
//!
//! In tokio's sense, per method:
//!
//! * [`send_with_fds`](AsyncUnixSocketExt::send_with_fds),
//!   [`send_with`](AsyncUnixSocketExt::send_with): cancel safe. The future
//!   finishes in the same poll as the `sendmsg` that sent the data, so a
//!   dropped future sent nothing (and the caller still owns every descriptor).
//! * [`recv_with_fds`](AsyncUnixSocketExt::recv_with_fds),
//!   [`recv_with`](AsyncUnixSocketExt::recv_with): cancel safe. The message
//!   is taken and its descriptors owned in one poll, so a dropped future took
//!   nothing: the message stays queued for the next receive, whole.
//! * [`send_all_with_fds`](AsyncUnixSocketExt::send_all_with_fds): not
//!   cancel safe, like `write_all`: dropped after a short write, a prefix of
//!   the data (with every descriptor) has gone and the rest has not. It never
//!   sends a descriptor twice and never leaks one.
//!
//! # Streams
//!
//! Descriptors travel with the first byte of a send (see the
//! [crate-level notes on streams](crate::UnixSocketExt)); concurrent
//! `send_all_with_fds` calls on one stream may interleave their bytes after a
//! short write, as concurrent `write_all`s do.

use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;

use super::{peer_methods, recv_into_vec, typed_send_options, RecvInfo};
use crate::msg::{recv_msg, send_msg, Received, RecvOptions, SendOptions};

/// Descriptor and credential passing on tokio's Unix sockets. Each future
/// is `Send`; errors are those of the [`UnixSocketExt`](crate::UnixSocketExt)
/// method of the same name, except that `WouldBlock` never comes back (the
/// future waits instead).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::os::fd::AsFd;
/// use fdcred::tokio::AsyncUnixSocketExt;
/// use tokio::net::UnixStream;
///
/// let (a, b) = UnixStream::pair()?;
/// let file = std::fs::File::open("/dev/null")?;
/// a.send_with_fds(b"x", &[file.as_fd()]).await?;
///
/// let mut buf = [0u8; 16];
/// let mut fds = Vec::new();
/// let info = b.recv_with_fds(&mut buf, &mut fds).await?;
/// assert_eq!((info.bytes, fds.len()), (1, 1));
/// # Ok(())
/// # }
/// ```
pub trait AsyncUnixSocketExt: AsFd + Sync + sealed::Readiness {
    /// Send `data` with `fds` in one `sendmsg` once the socket is writable;
    /// returns the bytes sent (on a stream possibly fewer than `data.len()`;
    /// the descriptors went with the first byte). Cancel safe.
    fn send_with_fds<'a>(
        &'a self,
        data: &'a [u8],
        fds: &'a [BorrowedFd<'a>],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        let opts = typed_send_options(fds, true);
        self.ready_io(Interest::WRITABLE, move || send_msg(self.as_fd(), &[IoSlice::new(data)], &opts))
    }

    /// Send all of `data`: `fds` with the first byte, the rest after a short
    /// write without them. Not cancel safe (see the module notes): a dropped
    /// future may have sent a prefix.
    fn send_all_with_fds<'a>(
        &'a self,
        data: &'a [u8],
        fds: &'a [BorrowedFd<'a>],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        async move {
            let mut sent = self.send_with_fds(data, fds).await?;
            while sent < data.len() {
                match self.send_with_fds(&data[sent..], &[]).await? {
                    0 => return Err(io::ErrorKind::WriteZero.into()),
                    n => sent += n,
                }
            }
            Ok(())
        }
    }

    /// [`send_msg`] once the socket is writable: several buffers,
    /// credentials, a destination address. `opts.nonblocking` is forced on.
    /// Cancel safe.
    fn send_with<'a>(
        &'a self,
        data: &'a [IoSlice<'a>],
        opts: &'a SendOptions<'a>,
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        let opts = SendOptions { nonblocking: true, ..*opts };
        self.ready_io(Interest::WRITABLE, move || send_msg(self.as_fd(), data, &opts))
    }

    /// Receive one message into `buf` once the socket is readable, appending
    /// its descriptors to `fds`; a message whose descriptors did not all
    /// arrive adds none ([`RecvInfo::fds_truncated`]). Cancel safe.
    fn recv_with_fds<'a>(
        &'a self,
        buf: &'a mut [u8],
        fds: &'a mut Vec<OwnedFd>,
    ) -> impl Future<Output = io::Result<RecvInfo>> + Send + 'a {
        let opts = RecvOptions { nonblocking: true, ..RecvOptions::default() };
        self.ready_io(Interest::READABLE, move || recv_into_vec(self.as_fd(), buf, fds, &opts))
    }

    /// [`recv_msg`] once the socket is readable: no heap allocation, a
    /// descriptor limit, the sender's pidfd. `opts.nonblocking` is forced on.
    /// Cancel safe.
    fn recv_with<'a, 'b: 'a>(
        &'a self,
        bufs: &'a mut [IoSliceMut<'b>],
        opts: &'a RecvOptions,
    ) -> impl Future<Output = io::Result<Received>> + Send + 'a {
        let opts = RecvOptions { nonblocking: true, ..*opts };
        self.ready_io(Interest::READABLE, move || recv_msg(self.as_fd(), bufs, None, &opts))
    }

    peer_methods!();
}

impl AsyncUnixSocketExt for ::tokio::net::UnixStream {}
impl AsyncUnixSocketExt for ::tokio::net::UnixDatagram {}
impl AsyncUnixSocketExt for UnixSeqpacket {}

pub(crate) mod sealed {
    use super::*;

    /// How a socket type waits: run `f` when tokio says the socket is ready
    /// for `interest`; on `WouldBlock` clear that readiness and wait again.
    pub trait Readiness: super::super::sealed::Sealed {
        fn ready_io<R: Send>(
            &self,
            interest: Interest,
            f: impl FnMut() -> io::Result<R> + Send,
        ) -> impl Future<Output = io::Result<R>> + Send;
    }

    /// tokio's own socket types wait through their `async_io`.
    macro_rules! tokio_readiness {
        ($($ty:ty),*) => {$(
            impl Readiness for $ty {
                fn ready_io<R: Send>(
                    &self,
                    interest: Interest,
                    f: impl FnMut() -> io::Result<R> + Send,
                ) -> impl Future<Output = io::Result<R>> + Send {
                    self.async_io(interest, f)
                }
            }
        )*};
    }
    tokio_readiness!(::tokio::net::UnixStream, ::tokio::net::UnixDatagram);

    impl Readiness for UnixSeqpacket {
        fn ready_io<R: Send>(
            &self,
            interest: Interest,
            mut f: impl FnMut() -> io::Result<R> + Send,
        ) -> impl Future<Output = io::Result<R>> + Send {
            self.0.async_io(interest, move |_| f())
        }
    }
}

/// A connected `SOCK_SEQPACKET` Unix socket on tokio: the async form of
/// [`crate::UnixSeqpacket`], used through [`AsyncUnixSocketExt`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use fdcred::tokio::{AsyncUnixSocketExt, UnixSeqpacket};
///
/// let (a, b) = UnixSeqpacket::pair()?;
/// a.send_with_fds(b"one record", &[]).await?;
/// let mut buf = [0u8; 64];
/// let info = b.recv_with_fds(&mut buf, &mut Vec::new()).await?;
/// assert_eq!(&buf[..info.bytes], b"one record");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UnixSeqpacket(AsyncFd<super::UnixSeqpacket>);

/// A listening `SOCK_SEQPACKET` Unix socket on tokio.
#[derive(Debug)]
pub struct UnixSeqpacketListener(AsyncFd<super::UnixSeqpacketListener>);

impl UnixSeqpacket {
    /// Register a std socket with the current runtime (it is made
    /// non-blocking). Panics outside a runtime, as tokio's `from_std` does.
    pub fn from_std(sock: super::UnixSeqpacket) -> io::Result<UnixSeqpacket> {
        sock.set_nonblocking(true)?;
        // SAFETY: the socket owns its descriptor, keeps it open until it is
        // dropped, and `as_raw_fd` always returns that one.
        Ok(UnixSeqpacket(unsafe { AsyncFd::register(sock) }?))
    }

    /// Deregister and return the std socket (still non-blocking).
    pub fn into_std(self) -> super::UnixSeqpacket {
        self.0.into_inner()
    }

    /// A connected pair, registered with the current runtime.
    pub fn pair() -> io::Result<(UnixSeqpacket, UnixSeqpacket)> {
        let (a, b) = super::UnixSeqpacket::pair()?;
        Ok((Self::from_std(a)?, Self::from_std(b)?))
    }

    /// Connect to the listener at `path`. The `connect` itself is the
    /// blocking call (a Unix connect waits only while the listener's backlog
    /// is full); everything after it waits on tokio.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixSeqpacket> {
        Self::from_std(super::UnixSeqpacket::connect(path)?)
    }
}

impl UnixSeqpacketListener {
    /// Bind to `path` and listen, registered with the current runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixSeqpacketListener> {
        Self::from_std(super::UnixSeqpacketListener::bind(path)?)
    }

    /// Register a std listener with the current runtime (made non-blocking).
    pub fn from_std(listener: super::UnixSeqpacketListener) -> io::Result<UnixSeqpacketListener> {
        listener.set_nonblocking(true)?;
        // SAFETY: as in `UnixSeqpacket::from_std`: an owned descriptor that
        // stays the same and open for the listener's life.
        Ok(UnixSeqpacketListener(unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE) }?))
    }

    /// Wait for and accept one connection. Cancel safe: a dropped future
    /// accepted nothing.
    pub async fn accept(&self) -> io::Result<UnixSeqpacket> {
        let sock = self.0.async_io(Interest::READABLE, |l| l.accept()).await?;
        UnixSeqpacket::from_std(sock)
    }
}

impl AsFd for UnixSeqpacket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.get_ref().as_fd()
    }
}

impl AsRawFd for UnixSeqpacket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for UnixSeqpacketListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.get_ref().as_fd()
    }
}

impl AsRawFd for UnixSeqpacketListener {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
