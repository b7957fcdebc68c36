//! Pass open file descriptors and kernel-vouched process credentials across
//! Unix-domain sockets.
//!
//! A privileged process opens a resource (a port below 1024, a device, a
//! file) and hands the open descriptor to an unprivileged one
//! (`SCM_RIGHTS`); a server learns which user and process is talking to it
//! from the kernel, not from the client's word (`SO_PEERCRED` and its
//! equivalents per connection, `SCM_CREDENTIALS`/`SCM_CREDS` per message).
//! Linux, Android, FreeBSD, DragonFly, NetBSD, OpenBSD, macOS and illumos;
//! what each OS can report is in [`Credentials`] and docs/portability.md.
//!
//! Received descriptors are owned ([`OwnedFd`](std::os::fd::OwnedFd)) and
//! close-on-exec (atomically where the OS can: [`CLOEXEC_IS_ATOMIC`]); every
//! descriptor of a truncated message is closed and the truncation is
//! reported; no call raises `SIGPIPE`; [`send_msg`], [`recv_msg`] and the
//! `recv_with` methods do not allocate. By default the crate depends on
//! `libc` alone.
//!
//! # With std sockets
//!
//! [`UnixSocketExt`] adds the methods to `std::os::unix::net::{UnixStream,
//! UnixDatagram}` and to [`UnixSeqpacket`] (std has no `SOCK_SEQPACKET`):
//!
//! ```
//! use std::io::{Read, Seek, Write};
//! use std::os::fd::AsFd;
//! use std::os::unix::net::UnixStream;
//!
//! use fdcred::UnixSocketExt;
//!
//! # fn main() -> std::io::Result<()> {
//! let (a, b) = UnixStream::pair()?;
//!
//! // Send an open file with one byte of data.
//! let path = std::env::temp_dir().join(format!("fdcred-doc-{}", std::process::id()));
//! let mut options = std::fs::File::options();
//! let mut file = options.read(true).write(true).create(true).truncate(true).open(&path)?;
//! file.write_all(b"hello")?;
//! a.send_with_fds(b"F", &[file.as_fd()])?;
//!
//! // Receive it: the descriptors arrive as `OwnedFd`s.
//! let mut buf = [0u8; 16];
//! let mut fds = Vec::new();
//! let info = b.recv_with_fds(&mut buf, &mut fds)?;
//! assert!(info.is_complete(), "nothing was cut off");
//! let mut received = std::fs::File::from(fds.pop().expect("one descriptor"));
//! let mut text = String::new();
//! received.rewind()?;
//! received.read_to_string(&mut text)?;
//! assert_eq!(text, "hello");
//! # std::fs::remove_file(&path)?;
//!
//! // Who is at the other end, as the kernel recorded it.
//! let peer = b.peer_credentials()?;
//! println!("peer: {peer:?}"); // Credentials { pid: .., uid: .., gid: .. }
//! # #[cfg(any(target_os = "linux", target_os = "android"))]
//! assert_eq!(peer.pid(), Some(std::process::id() as i32));
//! # Ok(())
//! # }
//! ```
//!
//! # With tokio
//!
//! With the `tokio` feature (`fdcred = { version = "0.1", features =
//! ["tokio"] }`), [`tokio::AsyncUnixSocketExt`] gives the same methods, async
//! and cancel safe, on `tokio::net::{UnixStream, UnixDatagram}` and
//! [`tokio::UnixSeqpacket`]:
//!
#![cfg_attr(feature = "tokio", doc = "```")]
#![cfg_attr(not(feature = "tokio"), doc = "```ignore")]
//! use std::os::fd::AsFd;
//!
//! use fdcred::tokio::AsyncUnixSocketExt;
//! use tokio::net::UnixDatagram;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (a, b) = UnixDatagram::pair()?;
//! // Per-message credentials: the kernel attaches the sender's to each
//! // message from now on (Linux, FreeBSD, NetBSD, illumos).
//! # #[cfg(any(target_os = "linux", target_os = "android"))]
//! b.allow_recv_cred()?;
//!
//! let file = std::fs::File::open("/dev/null")?;
//! a.send_with_fds(b"F", &[file.as_fd()]).await?;
//!
//! let mut buf = [0u8; 16];
//! let mut fds = Vec::new();
//! let info = b.recv_with_fds(&mut buf, &mut fds).await?;
//! assert_eq!((&buf[..info.bytes], fds.len()), (&b"F"[..], 1));
//! # #[cfg(any(target_os = "linux", target_os = "android"))]
//! # {
//! let sender = info.cred.expect("the kernel attached credentials");
//! println!("sent by {sender:?}"); // Credentials { pid: .., uid: .., gid: .. }
//! assert!(sender.uid().is_some());
//! # }
//! # Ok(())
//! # }
//! ```
//!
//! # Where to read more
//!
//! * [`UnixSocketExt`] and [`tokio::AsyncUnixSocketExt`]: every method, what
//!   a stream does with descriptors on a short write, cancel safety.
//! * [`send_msg`] and [`recv_msg`]: the core under the methods, over any
//!   `BorrowedFd`, with every option ([`SendOptions`], [`RecvOptions`]) and
//!   a receive that does not allocate ([`Received`]).
//! * [`Credentials`], [`peer_cred`], [`peer_groups`], [`peer_pidfd`],
//!   [`allow_recv_cred`] and the handshake ([`cred_handshake_receiver`]) for
//!   identities, and what each field means per OS.
//! * In the repository: `docs/rust.md` (the Rust API in short), the
//!   examples (`examples/tokio_handoff.rs`, `examples/tokio_seqpacket_server.rs`),
//!   `docs/portability.md` and `docs/guarantees.md`. The same library has a
//!   stable C ABI (`include/fdcred.h`) and a Python package; neither is part
//!   of this crate's Rust API.
//! * Contributors: `docs/architecture.md` (the layers and the module order
//!   `tests/layers.rs` checks) and `docs/tree.md`.
//!
#![cfg_attr(feature = "tokio", doc = "[`tokio::AsyncUnixSocketExt`]: crate::tokio::AsyncUnixSocketExt")]
#![cfg_attr(feature = "tokio", doc = "[`tokio::UnixSeqpacket`]: crate::tokio::UnixSeqpacket")]
// Without the feature the module is not there: point at the section above.
#![cfg_attr(not(feature = "tokio"), doc = "[`tokio::AsyncUnixSocketExt`]: #with-tokio")]
#![cfg_attr(not(feature = "tokio"), doc = "[`tokio::UnixSeqpacket`]: #with-tokio")]
#![deny(unsafe_op_in_unsafe_fn)]
// docs.rs (package.metadata.docs.rs) passes `--cfg docsrs` on a nightly
// rustdoc: mark what needs the tokio feature. Stable builds never see it.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

// Declared in the order docs/architecture.md gives ("Module order"), bottom
// first (cbindgen emits the header in this order too); tests/layers.rs checks
// it.
mod types;

mod sys;

pub mod cmsg;

mod msg;

mod addr;

mod peer;

mod handshake;

mod simple;

// The C ABI: public for the C build (scripts/build-c) and cbindgen, but not
// part of the Rust API.
#[doc(hidden)]
pub mod ffi;

mod net;

pub use addr::{send_to, UnixAddr};
pub use handshake::{
    cred_handshake_receiver, cred_handshake_receiver_interruptible, cred_handshake_sender,
    cred_handshake_sender_interruptible, FDCRED_CRED_HANDSHAKE_BYTE,
};
pub use msg::{recv_msg, send_msg, Drain, Received, ReceivedFds, RecvOptions, SendOptions};
// Socket types and extension traits over the core (src/net/).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use net::tokio;
pub use net::{RecvInfo, UnixSeqpacket, UnixSeqpacketListener, UnixSocketExt};
pub use peer::{
    allow_recv_cred, allow_recv_pidfd, peer_cred, peer_cred_no_socket_check, peer_groups, peer_pidfd, peer_security,
    refuse_fds,
};
pub use types::{CredSource, Credentials};
// The C API's credentials struct and its bits, for the C boundary and the
// Python package; Rust code uses `Credentials`.
#[doc(hidden)]
pub use types::{fdcred_cred, FDCRED_CRED_GID, FDCRED_CRED_PID, FDCRED_CRED_RGID, FDCRED_CRED_RUID, FDCRED_CRED_UID};

/// The largest number of descriptors one message may carry on this OS
/// (`SCM_MAX_FD` on Linux; 127 on OpenBSD, 253 elsewhere).
pub const MAX_FDS: usize = sys::MAX_FDS;

/// Whether received descriptors get close-on-exec atomically (through
/// `MSG_CMSG_CLOEXEC`) on this OS. Where it is `false` the flag is set with
/// `fcntl` right after the receive, and a concurrent `fork`+`exec` in another
/// thread may inherit the descriptor in between.
pub const CLOEXEC_IS_ATOMIC: bool = sys::CLOEXEC_IS_ATOMIC;
