//! Pass open file descriptors and kernel-vouched process credentials across
//! Unix-domain sockets.
//!
//! The crate has three layers, each in its own place:
//!
//! * [`ffi`]: the C ABI (`fdcred_*` functions and types, emitted into
//!   `include/fdcred.h` by cbindgen). Argument checks (raw pointers become
//!   references only in `ffi/ptr.rs`), flags (all in `ffi/flags.rs`), errno
//!   and the panic boundary live there and nothing else: no socket is asked
//!   anything there.
//! * the safe core ([`send_msg`], [`recv_msg`], [`peer_cred`], ...), usable
//!   directly as a Rust crate over `BorrowedFd`/`OwnedFd`.
//! * `sys`: one backend module per OS family, each exposing the same
//!   `pub(crate)` interface, selected in `src/sys/mod.rs`.
//!
//! # Module order
//!
//! The modules form a stack: each uses only the modules listed *before* it
//! (bottom first), never one after it, so the dependency graph has no
//! circle. `tests/layers.rs` reads every `crate::` path in `src/` and fails
//! on one that points up the stack (or at an item of this file, the top).
//!
//! 1. `types`: the shared types: [`fdcred_cred`], the `FDCRED_CRED_*` bits,
//!    [`CredSource`]. Uses nothing else of the crate.
//! 2. `sys`: the OS backends. Return what they want attached to a send
//!    (level, type, payload); never frame control messages themselves.
//! 3. [`cmsg`]: control-message framing: the builder and the parser.
//! 4. `msg`: [`send_msg`] and [`recv_msg`], over `cmsg` and `sys`.
//! 5. `addr`: Unix-domain addresses from a name ([`UnixAddr`]: paths,
//!    Linux abstract `@name`) and [`send_to`], over `msg`.
//! 6. `peer`: the peer queries ([`peer_cred`], ...) and per-socket opt-ins.
//! 7. `handshake`: the credentials handshake, over `msg` and `peer`.
//! 8. `simple`: the simple receives' policy (complete or failed), over `msg`.
//! 9. [`ffi`]: the C ABI, over the core (and `sys` only to write `errno`
//!    and to check `FDCRED_MAX_FDS` against the backend's limit).
//! 10. `net`: the socket types and their extension traits (std; tokio with
//!     the `tokio` feature), over `msg` and `peer`.
//!
//! The send and receive paths never allocate on the heap: control buffers
//! live on the stack and received descriptors are held in a fixed array
//! ([`ReceivedFds`]), so the calls stay usable between `fork` and `exec`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// Declared in the order above, bottom first (cbindgen emits the header in
// this order too).
mod types;

mod sys;

pub mod cmsg;

mod msg;

mod addr;

mod peer;

mod handshake;

mod simple;

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
pub use net::tokio;
pub use net::{RecvInfo, UnixSeqpacket, UnixSeqpacketListener, UnixSocketExt};
pub use peer::{
    allow_recv_cred, allow_recv_pidfd, peer_cred, peer_cred_no_socket_check, peer_groups, peer_pidfd, peer_security,
    refuse_fds,
};
pub use types::{
    fdcred_cred, CredSource, FDCRED_CRED_GID, FDCRED_CRED_PID, FDCRED_CRED_RGID, FDCRED_CRED_RUID, FDCRED_CRED_UID,
};

/// The largest number of descriptors one message may carry on this OS
/// (`SCM_MAX_FD` on Linux; 127 on OpenBSD, 253 elsewhere).
pub const MAX_FDS: usize = sys::MAX_FDS;

/// Whether received descriptors get close-on-exec atomically (through
/// `MSG_CMSG_CLOEXEC`) on this OS. Where it is `false` the flag is set with
/// `fcntl` right after the receive, and a concurrent `fork`+`exec` in another
/// thread may inherit the descriptor in between.
pub const CLOEXEC_IS_ATOMIC: bool = sys::CLOEXEC_IS_ATOMIC;
