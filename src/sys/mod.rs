//! OS backends. Each module exposes the same `pub(crate)` interface:
//!
//! | item | meaning |
//! |---|---|
//! | `MAX_FDS`, `CLOEXEC_IS_ATOMIC`, `RECV_CONTROL_LEN`, `SEND_CONTROL_LEN` | limits and facts |
//! | `set_errno` | write the thread's `errno` |
//! | `sendmsg`, `recvmsg` | the syscalls with `EINTR` retried, `SIGPIPE` suppressed, close-on-exec requested |
//! | `set_cloexec_after_recv` | the non-atomic fallback where `MSG_CMSG_CLOEXEC` is missing |
//! | `classify_cmsg`, `decode_cred`, `push_cred` | this OS's control-message kinds and credential layout |
//! | `socket_domain`, `socket_type`, `is_listening` | socket facts used for argument checks |
//! | `peer_cred`, `peer_groups`, `peer_pidfd`, `peer_security` | per-connection identity |
//! | `allow_recv_cred`, `allow_recv_pidfd`, `refuse_fds` | per-socket opt-ins |
//!
//! A mechanism an OS lacks returns an error (`EOPNOTSUPP`, `ENOPROTOOPT`),
//! never a made-up value.

/// What a control message carries, as far as the library cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmsgKind {
    /// `SCM_RIGHTS`: descriptors.
    Rights,
    /// Per-message credentials in this OS's layout.
    Cred,
    /// A pidfd of the sender.
    PidFd,
    /// Anything else.
    Other,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use linux::*;

#[cfg(not(any(target_os = "linux", target_os = "android")))]
compile_error!("libfdcred has no backend for this OS yet");
