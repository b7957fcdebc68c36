//! The bottom layer: the types every other layer shares (the C type
//! `fdcred_cred` and its `FDCRED_CRED_*` bits, the Rust API's view of it,
//! `Credentials`, and `CredSource`). It uses no
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

/// The identity of a process, as the kernel reported it: what
/// [`peer_cred`](crate::peer_cred) returns and what a message may carry
/// ([`Received::cred`](crate::Received::cred)).
///
/// Each accessor returns `None` for an id the kernel did not vouch for, and
/// `Debug` shows only the known ones (`Credentials { pid: 42, uid: 1000, gid:
/// 1000 }`). What a known value means:
///
/// * [`uid`](Self::uid)/[`gid`](Self::gid): the identity the kernel vouches
///   for. From a peer query they are the effective ids the peer had when it
///   connected (or called `socketpair`). From a message on Linux they are the
///   ids the sender asserted, which the kernel checked to be one of its real,
///   effective or saved ids (any ids for a sender with
///   `CAP_SETUID`/`CAP_SETGID`); by default they are the sender's real ids.
/// * [`real_uid`](Self::real_uid)/[`real_gid`](Self::real_gid): the real ids,
///   on OSes that report them apart from the effective ones (never on Linux).
/// * [`pid`](Self::pid): unknown when the peer is in a pid namespace the
///   receiver cannot see, and on OSes that do not report it. A pid can be
///   reused once the process exits: [`peer_pidfd`](crate::peer_pidfd) names a
///   process without that race.
/// * user namespaces (Linux): an id the receiver's user namespace does not
///   map arrives as the overflow id (65534; host root seen from a rootless
///   container). It is unknown wherever the namespace leaves any id
///   unmapped, even if it maps 65534 to a real user (the kernel's report
///   cannot tell the two apart); known only where every id is mapped.
///
/// As a claim ([`CredSource::Claim`]) the known fields are sent and the
/// sender's own ids fill in the others ([`Credentials::claim`],
/// [`with_uid`](Self::with_uid), ...).
///
/// ```
/// use fdcred::Credentials;
///
/// let claim = Credentials::unknown().with_uid(1000);
/// assert_eq!((claim.uid(), claim.pid()), (Some(1000), None));
/// assert_eq!(format!("{claim:?}"), "Credentials { uid: 1000 }");
/// ```
///
/// It is a copy of the C API's `struct fdcred_cred` under another name
/// (`repr(transparent)`), so the receive path fills it in place and nothing
/// is converted between the kernel's report and the caller.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Credentials(pub(crate) fdcred_cred);

// The Rust type is the C struct: converting at the C boundary moves 64
// bytes and changes nothing (docs/benchmark.md measured it).
const _: () = assert!(
    core::mem::size_of::<Credentials>() == core::mem::size_of::<fdcred_cred>()
        && core::mem::align_of::<Credentials>() == core::mem::align_of::<fdcred_cred>()
);

impl Credentials {
    /// Credentials with nothing known.
    pub const fn unknown() -> Self {
        Credentials(fdcred_cred::unknown())
    }

    /// A claim of the given pid, uid and gid, all three known (for
    /// [`CredSource::Claim`]).
    pub const fn claim(pid: libc::pid_t, uid: libc::uid_t, gid: libc::gid_t) -> Self {
        Credentials(fdcred_cred::claim(pid, uid, gid))
    }

    /// These credentials with `pid` known.
    #[must_use]
    pub const fn with_pid(mut self, pid: libc::pid_t) -> Self {
        self.0.pid = pid;
        self.0.known |= FDCRED_CRED_PID;
        self
    }

    /// These credentials with `uid` known.
    #[must_use]
    pub const fn with_uid(mut self, uid: libc::uid_t) -> Self {
        self.0.uid = uid;
        self.0.known |= FDCRED_CRED_UID;
        self
    }

    /// These credentials with `gid` known.
    #[must_use]
    pub const fn with_gid(mut self, gid: libc::gid_t) -> Self {
        self.0.gid = gid;
        self.0.known |= FDCRED_CRED_GID;
        self
    }

    /// The process id, when known.
    #[inline]
    pub fn pid(&self) -> Option<libc::pid_t> {
        self.0.pid()
    }

    /// The user id the kernel vouches for (effective, or asserted; see
    /// above), when known.
    #[inline]
    pub fn uid(&self) -> Option<libc::uid_t> {
        self.0.uid()
    }

    /// The group id the kernel vouches for, when known.
    #[inline]
    pub fn gid(&self) -> Option<libc::gid_t> {
        self.0.gid()
    }

    /// The real user id, when the OS reports it apart from the effective one.
    #[doc(alias = "ruid")]
    #[inline]
    pub fn real_uid(&self) -> Option<libc::uid_t> {
        self.0.ruid()
    }

    /// The real group id, when the OS reports it apart from the effective one.
    #[doc(alias = "rgid")]
    #[inline]
    pub fn real_gid(&self) -> Option<libc::gid_t> {
        self.0.rgid()
    }

    /// Whether no field is known.
    #[inline]
    pub fn is_unknown(&self) -> bool {
        self.0.known == 0
    }

    /// The C API's view of the same credentials (for the C boundary and
    /// the Python package; not part of the Rust API).
    #[doc(hidden)]
    #[inline(always)]
    pub const fn to_c(self) -> fdcred_cred {
        self.0
    }

    /// Credentials from the C API's struct, as they are: bits and values,
    /// a claim's `known` 0 ("every field as written") included (for the C
    /// boundary; not part of the Rust API).
    #[doc(hidden)]
    #[inline(always)]
    pub const fn from_c(cred: fdcred_cred) -> Self {
        Credentials(cred)
    }
}

impl core::fmt::Debug for Credentials {
    /// Only the known fields: `Credentials { pid: 42, uid: 1000, gid: 1000 }`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut s = f.debug_struct("Credentials");
        if let Some(pid) = self.pid() {
            s.field("pid", &pid);
        }
        if let Some(uid) = self.uid() {
            s.field("uid", &uid);
        }
        if let Some(gid) = self.gid() {
            s.field("gid", &gid);
        }
        if let Some(uid) = self.real_uid() {
            s.field("real_uid", &uid);
        }
        if let Some(gid) = self.real_gid() {
            s.field("real_gid", &gid);
        }
        s.finish()
    }
}

/// Which identity a sent message claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredSource {
    /// The sender's own pid, real uid and real gid.
    Own,
    /// An identity stated by the sender (Linux only; `EOPNOTSUPP` elsewhere):
    /// the known pid, uid and gid, and the sender's own for the others
    /// ([`Credentials::claim`], [`Credentials::with_uid`], ...). A known
    /// real uid or gid changes nothing (Linux carries one uid and one gid).
    /// The kernel refuses (`EPERM`) ids the sender may not claim, and
    /// (`ESRCH`) a privileged sender's claim of a pid that names no process.
    ///
    /// The C API's claim has one more form, `known` 0, which states every
    /// field exactly as written; from Rust, [`Credentials::unknown`] is that
    /// form with the ids -1, which the kernel refuses. A bit no
    /// `FDCRED_CRED_*` constant defines (only possible through the C API) is
    /// refused (`EINVAL`).
    Claim(Credentials),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_show_and_return_only_the_fields_the_bits_mark() {
        let unknown = Credentials::unknown();
        assert!(unknown.is_unknown());
        assert_eq!(format!("{unknown:?}"), "Credentials");
        assert_eq!((unknown.pid(), unknown.uid(), unknown.gid()), (None, None, None));
        assert_eq!(Credentials::default(), unknown);

        // As a FreeBSD LOCAL_PEERCRED fills it: no pid, real ids apart.
        let mut c = fdcred_cred::unknown();
        (c.uid, c.gid, c.ruid, c.rgid) = (1001, 1002, 1003, 1004);
        c.known = FDCRED_CRED_UID | FDCRED_CRED_GID | FDCRED_CRED_RUID | FDCRED_CRED_RGID;
        let c = Credentials::from_c(c);
        assert_eq!(c.pid(), None);
        assert_eq!((c.uid(), c.gid(), c.real_uid(), c.real_gid()), (Some(1001), Some(1002), Some(1003), Some(1004)));
        assert_eq!(format!("{c:?}"), "Credentials { uid: 1001, gid: 1002, real_uid: 1003, real_gid: 1004 }");
        assert_eq!(c.to_c().reserved, [0; 10]);

        // A known 0 value is shown; an unknown field's -1 never is.
        let root = Credentials::unknown().with_uid(0);
        assert_eq!(format!("{root:?}"), "Credentials { uid: 0 }");
        assert_eq!(root.to_c().known, FDCRED_CRED_UID);
        assert_eq!(root.to_c().gid, libc::gid_t::MAX, "an unknown field stays -1 in the C struct");
        let claim = Credentials::claim(7, 8, 9);
        assert_eq!(format!("{claim:?}"), "Credentials { pid: 7, uid: 8, gid: 9 }");
    }
}
