//! OS backends: the layer just above `types` (see the order in src/lib.rs).
//! A backend uses only `types` and libc: it never calls up into the control
//! message builder or the message paths; what it wants attached to a send it
//! returns as an [`Attachment`] (level, type, payload), which `msg` frames.
//! Each module exposes the same `pub(crate)` interface:
//!
//! | item | meaning |
//! |---|---|
//! | `MAX_FDS`, `CLOEXEC_IS_ATOMIC`, `MSG_CRED`, `RECV_CONTROL_LEN`, `SEND_CONTROL_LEN` | limits and facts |
//! | `set_errno` | write the thread's `errno` |
//! | `sendmsg`, `recvmsg` | the syscalls with `EINTR` retried (`common::retry_eintr_unless`, the one loop) unless the caller asked for it back (`interruptible`), `SIGPIPE` suppressed, close-on-exec requested |
//! | `set_cloexec_after_recv` | the non-atomic fallback where `MSG_CMSG_CLOEXEC` is missing |
//! | `close_unwanted` | close a received descriptor the caller did not take, never waiting on the sender's `SO_LINGER` |
//! | `classify_cmsg`, `decode_cred`, `cred_attachment` | this OS's control-message kinds and credential layouts (`decode_cred` gets the cmsg type: FreeBSD has two layouts); what a send with credentials attaches (`None`: the kernel attaches them itself) |
//! | `socket_domain`, `socket_type`, `is_listening` | socket facts used for argument checks |
//! | `peer_cred`, `peer_groups`, `peer_pidfd`, `peer_security` | per-connection identity (`peer_cred` takes a [`ListenerCheck`]) |
//! | `allow_recv_cred`, `allow_recv_pidfd`, `refuse_fds` | per-socket opt-ins |
//! | `CMSG_ALIGN` | the alignment `CMSG_NXTHDR` steps by (checked against libc's `CMSG_SPACE` at compile time in src/cmsg.rs) |
//!
//! A mechanism an OS lacks returns an error (`EOPNOTSUPP`, `ENOPROTOOPT`),
//! never a made-up value.
//!
//! Code that is the same on several OSes, Linux included, lives once in
//! `common.rs`; a backend re-exports what it uses by name at the top of its
//! file (`pub(crate) use super::common::...`), so each file still shows its
//! OS's whole interface.

/// The most payload bytes an [`Attachment`] holds: the largest credentials
/// message a backend sends (FreeBSD's `struct cmsgcred`, 84 bytes).
pub(crate) const ATTACHMENT_MAX: usize = 96;

/// One control message a backend wants sent: its level, type and payload,
/// by value on the stack (the send path does not allocate). The message
/// layer frames it into the control buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attachment {
    pub(crate) level: libc::c_int,
    pub(crate) kind: libc::c_int,
    len: usize,
    payload: [u8; ATTACHMENT_MAX],
}

impl Attachment {
    /// An attachment whose payload is `payload`; a payload longer than
    /// [`ATTACHMENT_MAX`] fails the build.
    #[inline(always)]
    // NetBSD and illumos (the kernel attaches credentials itself), OpenBSD
    // and macOS (no per-message credentials) never build one.
    #[cfg_attr(not(any(linux_like, freebsdlike)), allow(dead_code))]
    pub(crate) fn new<const N: usize>(level: libc::c_int, kind: libc::c_int, payload: [u8; N]) -> Self {
        const { assert!(N <= ATTACHMENT_MAX, "an attachment payload fits in ATTACHMENT_MAX") };
        let mut bytes = [0u8; ATTACHMENT_MAX];
        bytes[..N].copy_from_slice(&payload);
        Attachment { level, kind, len: N, payload: bytes }
    }

    /// The payload bytes.
    #[inline(always)]
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload[..self.len]
    }
}

/// Whether a peer query first refuses a listening socket, which reports as
/// its "peer" whoever called `listen` (one more `getsockopt`). `Skip` is for
/// a caller that vouched the socket is connected (`FDCRED_NO_SOCKET_CHECK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListenerCheck {
    Refuse,
    Skip,
}

/// What a control message carries, as far as the library cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmsgKind {
    /// `SCM_RIGHTS`: descriptors.
    Rights,
    /// Per-message credentials in this OS's layout (none on OpenBSD, macOS).
    #[cfg_attr(any(target_os = "openbsd", apple), allow(dead_code))]
    Cred,
    /// A pidfd of the sender (Linux only).
    #[cfg_attr(not(linux_like), allow(dead_code))]
    PidFd,
    /// Anything else.
    Other,
}

// The one place a backend is chosen; the cfg names come from build.rs.
#[cfg(linux_like)]
mod linux;
#[cfg(linux_like)]
pub(crate) use linux::*;

// Helpers shared by the backends, and the interface items whose code is the
// same on several of them (each backend re-exports those by name, so its file
// still lists what its OS has and lacks). Mostly for the BSD, macOS and illumos
// backends; Linux's uses the ones that are the same there (the EINTR loop, the
// receive flags, socket facts). Linux's unit tests run all of it here: the only
// part of those backends that can run.
mod common;

#[cfg(freebsdlike)]
mod freebsd;
#[cfg(freebsdlike)]
pub(crate) use freebsd::*;

#[cfg(target_os = "netbsd")]
mod netbsd;
#[cfg(target_os = "netbsd")]
pub(crate) use netbsd::*;

#[cfg(target_os = "openbsd")]
mod openbsd;
#[cfg(target_os = "openbsd")]
pub(crate) use openbsd::*;

#[cfg(apple)]
mod apple;
#[cfg(apple)]
pub(crate) use apple::*;

#[cfg(solarish)]
mod solarish;
#[cfg(solarish)]
pub(crate) use solarish::*;

#[cfg(not(any(linux_like, bsd, solarish)))]
compile_error!("libfdcred has no backend for this OS yet");
