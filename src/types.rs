//! The bottom layer: the types every other layer shares (the C type
//! `fdcred_cred` and its `FDCRED_CRED_*` bits, and `CredSource`). It uses no
//! other module of the crate, so the backends can build credentials without
//! reaching up into the core.

/// `fdcred_cred.pid` is valid.
pub const FDCRED_CRED_PID: u32 = 1 << 0;
/// `fdcred_cred.uid` is valid.
pub const FDCRED_CRED_UID: u32 = 1 << 1;
/// `fdcred_cred.gid` is valid.
pub const FDCRED_CRED_GID: u32 = 1 << 2;
/// `fdcred_cred.ruid` is valid.
pub const FDCRED_CRED_RUID: u32 = 1 << 3;
/// `fdcred_cred.rgid` is valid.
pub const FDCRED_CRED_RGID: u32 = 1 << 4;
/// Every bit above: a claim whose `known` has any other is refused
/// (`EINVAL`), so that a bit a later version defines can never be sent to an
/// older library and silently mean nothing.
pub(crate) const FDCRED_CRED_DEFINED: u32 =
    FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID | FDCRED_CRED_RUID | FDCRED_CRED_RGID;

/// The identity of a process, as the kernel reported it.
///
/// Each field is meaningful only when its `FDCRED_CRED_*` bit is set in
/// `known`; an unknown field holds -1 (`(pid_t)-1`, `(uid_t)-1`,
/// `(gid_t)-1`), a value no process can have, so a check such as
/// `cred.uid == 0` can never pass on an unknown field.
///
/// * `uid`/`gid`: the identity the kernel vouches for. From a peer query
///   (`fdcred_peer_cred`) they are the effective ids the peer had when it
///   connected (or called `socketpair`). From a message (`fdcred_recv_cred`)
///   on Linux they are the ids the sender asserted, which the kernel checked
///   to be one of its real, effective or saved ids (any ids for a sender with
///   `CAP_SETUID`/`CAP_SETGID`); by default they are the sender's real ids.
/// * `ruid`/`rgid`: the real ids, on OSes that report them apart from the
///   effective ones (never on Linux).
/// * `pid`: unknown when the peer is in a pid namespace the receiver cannot
///   see, and on OSes that do not report it. A pid can be reused once the
///   process exits: use `fdcred_peer_pidfd` to name a process without that race.
/// * user namespaces (Linux): an id the receiver's user namespace does not
///   map arrives as the overflow id (65534; host root seen from a rootless
///   container). It is unknown wherever the namespace leaves any id
///   unmapped, even if it maps 65534 to a real user (the kernel's report
///   cannot tell the two apart); known only where every id is mapped.
///
/// ABI: the struct is 64 bytes and stays so for the whole major version. New
/// fields take the place of `reserved` words and come with a new `known`
/// bit; the library writes zeros to `reserved` and ignores it on input.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct fdcred_cred {
    /// `FDCRED_CRED_*` bits naming the valid fields. In a claim (sent with
    /// `fdcred_send_cred` or `fdcred_sendmsg`): 0 states `pid`, `uid` and
    /// `gid` exactly as written; with bits, the unmarked fields are the
    /// sender's own; any other bit is refused (`EINVAL`).
    pub known: u32,
    /// Process id, or -1.
    pub pid: libc::pid_t,
    /// The user id the kernel vouches for (see above), or `(uid_t)-1`.
    pub uid: libc::uid_t,
    /// The group id the kernel vouches for, or `(gid_t)-1`.
    pub gid: libc::gid_t,
    /// The real user id where the OS reports it separately, or `(uid_t)-1`.
    pub ruid: libc::uid_t,
    /// The real group id where the OS reports it separately, or `(gid_t)-1`.
    pub rgid: libc::gid_t,
    /// Zero; room for fields added in later minor versions.
    pub reserved: [u32; 10],
}

const _: () = assert!(core::mem::size_of::<fdcred_cred>() == 64);

impl fdcred_cred {
    /// A credential with nothing known.
    pub const fn unknown() -> Self {
        fdcred_cred {
            known: 0,
            pid: -1,
            uid: libc::uid_t::MAX,
            gid: libc::gid_t::MAX,
            ruid: libc::uid_t::MAX,
            rgid: libc::gid_t::MAX,
            reserved: [0; 10],
        }
    }

    /// A credential claiming the given pid, uid and gid (for sending).
    pub const fn claim(pid: libc::pid_t, uid: libc::uid_t, gid: libc::gid_t) -> Self {
        let mut c = Self::unknown();
        c.pid = pid;
        c.uid = uid;
        c.gid = gid;
        c.known = FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID;
        c
    }

    fn field<T: Copy>(&self, bit: u32, value: T) -> Option<T> {
        (self.known & bit != 0).then_some(value)
    }

    /// The process id, when known.
    pub fn pid(&self) -> Option<libc::pid_t> {
        self.field(FDCRED_CRED_PID, self.pid)
    }

    /// The user id the kernel vouches for, when known.
    pub fn uid(&self) -> Option<libc::uid_t> {
        self.field(FDCRED_CRED_UID, self.uid)
    }

    /// The group id the kernel vouches for, when known.
    pub fn gid(&self) -> Option<libc::gid_t> {
        self.field(FDCRED_CRED_GID, self.gid)
    }

    /// The real user id, when the OS reports it separately.
    pub fn ruid(&self) -> Option<libc::uid_t> {
        self.field(FDCRED_CRED_RUID, self.ruid)
    }

    /// The real group id, when the OS reports it separately.
    pub fn rgid(&self) -> Option<libc::gid_t> {
        self.field(FDCRED_CRED_RGID, self.rgid)
    }
}

impl Default for fdcred_cred {
    fn default() -> Self {
        Self::unknown()
    }
}

/// Which identity a sent message claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredSource {
    /// The sender's own pid, real uid and real gid.
    Own,
    /// An identity stated by the sender (Linux only; `EOPNOTSUPP` elsewhere).
    ///
    /// With `known` 0, exactly the credential's `pid`, `uid` and `gid` as
    /// they are written: nothing is replaced by the sender's own, so a
    /// zero-filled credential claims pid 0 and root, and the kernel refuses
    /// it (`EPERM`, or `ESRCH` for a privileged sender: pid 0 names no
    /// process). With bits in `known`, the marked fields, and the sender's own
    /// for the others (`FDCRED_CRED_RUID`/`RGID` are accepted and change
    /// nothing: Linux carries one uid and one gid). A bit no
    /// `FDCRED_CRED_*` constant defines is refused (`EINVAL`). The kernel
    /// refuses (`EPERM`) ids the sender may not claim.
    Claim(fdcred_cred),
}
