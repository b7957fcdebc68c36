//! Pass open file descriptors and kernel-vouched process credentials across
//! Unix-domain sockets.
//!
//! The crate has three layers, each in its own place:
//!
//! * [`ffi`]: the C ABI (`fdcred_*` functions and types, emitted into
//!   `include/fdcred.h` by cbindgen). Argument checks, errno and the panic
//!   boundary live there and nothing else.
//! * the safe core ([`send_msg`], [`recv_msg`], [`peer_cred`], ...), usable
//!   directly as a Rust crate over `BorrowedFd`/`OwnedFd`.
//! * `sys`: one backend module per OS family, each exposing the same
//!   `pub(crate)` interface, selected in `src/sys/mod.rs`.
//!
//! The send and receive paths never allocate on the heap: control buffers
//! live on the stack and received descriptors are held in a fixed array
//! ([`ReceivedFds`]), so the calls stay usable between `fork` and `exec`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod addr;
pub mod cmsg;
mod cred;
pub mod ffi;
mod msg;
mod sys;

pub use cred::{
    allow_recv_cred, allow_recv_pidfd, cred_handshake_receiver, cred_handshake_sender, peer_cred,
    peer_cred_no_socket_check, peer_groups, peer_pidfd, peer_security, refuse_fds, CredSource,
};
pub use cred::{
    fdcred_cred, FDCRED_CRED_GID, FDCRED_CRED_HANDSHAKE_BYTE, FDCRED_CRED_PID, FDCRED_CRED_RGID, FDCRED_CRED_RUID,
    FDCRED_CRED_UID,
};
pub use addr::{send_to, UnixAddr};
pub use msg::{recv_msg, send_msg, Drain, Received, ReceivedFds, RecvOptions, SendOptions};

/// The largest number of descriptors one message may carry on this OS
/// (`SCM_MAX_FD` on Linux; 127 on OpenBSD, 253 elsewhere).
pub const MAX_FDS: usize = sys::MAX_FDS;

/// Whether received descriptors get close-on-exec atomically (through
/// `MSG_CMSG_CLOEXEC`) on this OS. Where it is `false` the flag is set with
/// `fcntl` right after the receive, and a concurrent `fork`+`exec` in another
/// thread may inherit the descriptor in between.
pub const CLOEXEC_IS_ATOMIC: bool = sys::CLOEXEC_IS_ATOMIC;
