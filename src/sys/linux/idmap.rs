//! Which ids the kernel reports are stand-ins: the overflow uid and gid of a
//! user namespace that cannot name the real one.
//!
//! Linux reports every id to the receiver as seen from the receiver's user
//! namespace (`SO_PEERCRED`, `SCM_CREDENTIALS`, `SO_PEERGROUPS`). An id that
//! namespace does not map becomes `/proc/sys/kernel/overflowuid` (or
//! `overflowgid`, both 65534 by default): host root talking to a server in
//! a rootless container is reported as uid 65534. Such a value is nobody's
//! identity, and it must never be mistaken for the user whose id it is.
//!
//! The rule: a reported id equal to the overflow id is believed only when
//! the receiver's namespace maps every id (its `uid_map`/`gid_map` covers
//! all 4294967295 of them, as the initial namespace's `0 0 4294967295`
//! does), because only then can no id have been replaced. In any namespace
//! that leaves ids unmapped it is unknown, even where the namespace maps
//! the overflow id to a real user: the kernel reports that user and every
//! unmapped one with the same number, so the report cannot tell them apart,
//! and believing it would hand that user's rights to host root. Any other
//! reported value is an id the namespace maps, hence real.
//!
//! How often what is read, without the heap (the send and receive paths
//! stay usable between `fork` and `exec`):
//! * the overflow ids: once per process, then cached. They are global kernel
//!   settings, the same in every namespace, so a later `unshare`/`setns`
//!   cannot make the cached values wrong; only an administrator writing
//!   the sysctl while the process runs could (restart receivers after that).
//! * the namespace and its map: on every report of the overflow id, never
//!   cached, and only then (every other report costs nothing). First one
//!   `stat` of `/proc/self/ns/user`: the initial namespace, whose maps cover
//!   every id, has a fixed inode number, so a server whose clients really
//!   are uid 65534 pays one syscall; in any other namespace the map itself
//!   is read (open, read, close). A process that moves to another user
//!   namespace (`unshare(CLONE_NEWUSER)` or `setns`) after an earlier check
//!   is therefore judged by the namespace it is in when it receives, which
//!   is the one the kernel translated the ids into.
//!
//! When `/proc` cannot be read (not mounted, a sandbox), the map counts as
//! partial: a reported overflow id is then unknown, never believed; the
//! overflow ids themselves fall back to the kernel's default, 65534.

use core::sync::atomic::{AtomicU64, Ordering};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::super::common::retry_eintr_unless;

/// Which map an id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdKind {
    Uid,
    Gid,
}

/// Whether `id`, as the kernel reported it to this process, may stand for an
/// id this process's user namespace cannot name (see the module comment).
pub(crate) fn is_stand_in(id: u32, kind: IdKind) -> bool {
    let (overflow_uid, overflow_gid) = overflow_ids();
    let overflow = match kind {
        IdKind::Uid => overflow_uid,
        IdKind::Gid => overflow_gid,
    };
    id == overflow && !maps_every_id(kind)
}

/// `/proc/sys/kernel/overflow{uid,gid}`, read once and cached; 65534 (the
/// kernel's default) when /proc cannot be read.
pub(crate) fn overflow_ids() -> (u32, u32) {
    static CACHE: AtomicU64 = AtomicU64::new(u64::MAX);
    let cached = CACHE.load(Ordering::Relaxed);
    if cached != u64::MAX {
        return ((cached >> 32) as u32, cached as u32);
    }
    let uid = read_u32(c"/proc/sys/kernel/overflowuid").unwrap_or(65534);
    let gid = read_u32(c"/proc/sys/kernel/overflowgid").unwrap_or(65534);
    CACHE.store((u64::from(uid) << 32) | u64::from(gid), Ordering::Relaxed);
    (uid, gid)
}

/// The number of ids a complete map covers: every `u32` but -1, which is
/// never an id (`0 0 4294967295` in the initial namespace).
const ALL_IDS: u64 = u32::MAX as u64;

/// Whether this process's user namespace maps every id, read now from
/// `/proc/self/uid_map` (or `gid_map`). The kernel keeps a map's ranges
/// disjoint, and a child's ranges inside what its parent maps, so ranges
/// adding up to every id mean that no id, at any level, was left unmapped.
fn maps_every_id(kind: IdKind) -> bool {
    if in_initial_user_namespace() {
        return true;
    }
    let path = match kind {
        IdKind::Uid => c"/proc/self/uid_map",
        IdKind::Gid => c"/proc/self/gid_map",
    };
    let Some(fd) = open_read(path) else {
        return false;
    };
    let mut sum = MapSum::default();
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: `buf` is writable for its whole length; `fd` is open.
        let read = || unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match retry_eintr_unless(false, read) {
            Ok(n @ 1..) => sum.feed(&buf[..n]),
            _ => break,
        }
    }
    sum.finish() == Some(ALL_IDS)
}

/// The inode number of the initial user namespace's nsfs file
/// (`PROC_USER_INIT_INO` in include/linux/proc_ns.h, fixed since Linux 3.8;
/// reserved, so no other namespace has it).
const INITIAL_USER_NS_INODE: u32 = 0xEFFF_FFFD;

/// Whether this process is in the initial user namespace, whose maps are
/// `0 0 4294967295`. One `stat`; false when it fails (then the map is read).
fn in_initial_user_namespace() -> bool {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: the path is NUL-terminated; `st` is writable for one stat.
    let rc = unsafe { libc::stat(c"/proc/self/ns/user".as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: stat succeeded, so it wrote the whole struct.
    let st = unsafe { st.assume_init() };
    st.st_ino == libc::ino_t::from(INITIAL_USER_NS_INODE)
}

/// Adds up the third column (the range length) of an id map, fed in pieces
/// of any size: `<inside> <outside> <length>` per line, numbers padded with
/// spaces. `None` once anything else is seen.
#[derive(Default)]
struct MapSum {
    total: u64,
    field: u8,
    value: u64,
    in_number: bool,
    malformed: bool,
}

impl MapSum {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'0'..=b'9' => {
                    self.value = self.value.saturating_mul(10).saturating_add(u64::from(b - b'0'));
                    self.in_number = true;
                }
                b' ' | b'\t' | b'\n' => {
                    if self.in_number {
                        self.end_number();
                    }
                    if b == b'\n' {
                        self.end_line();
                    }
                }
                _ => self.malformed = true,
            }
        }
    }

    fn end_number(&mut self) {
        if self.field == 2 {
            self.total = self.total.saturating_add(self.value);
        }
        self.field = self.field.saturating_add(1);
        self.value = 0;
        self.in_number = false;
    }

    fn end_line(&mut self) {
        if self.field != 0 && self.field != 3 {
            self.malformed = true;
        }
        self.field = 0;
    }

    fn finish(mut self) -> Option<u64> {
        if self.in_number {
            self.end_number();
        }
        self.end_line();
        (!self.malformed).then_some(self.total)
    }
}

fn open_read(path: &core::ffi::CStr) -> Option<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; the flags ask for a plain read-only open.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just opened and is owned here alone.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn read_u32(path: &core::ffi::CStr) -> Option<u32> {
    let fd = open_read(path)?;
    let mut buf = [0u8; 32];
    // SAFETY: `buf` is writable for its whole length; `fd` is open.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return None;
    }
    core::str::from_utf8(&buf[..n as usize]).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(text: &str, piece: usize) -> Option<u64> {
        let mut sum = MapSum::default();
        for chunk in text.as_bytes().chunks(piece) {
            sum.feed(chunk);
        }
        sum.finish()
    }

    #[test]
    fn map_sum_adds_the_lengths_in_pieces_of_any_size() {
        let initial = "         0          0 4294967295\n";
        let rootless = "         0       1000          1\n         1     100000      65536\n";
        for piece in [1, 2, 7, 512] {
            assert_eq!(sum_of(initial, piece), Some(ALL_IDS), "piece {piece}");
            assert_eq!(sum_of(rootless, piece), Some(65537), "piece {piece}");
        }
        assert_eq!(sum_of("", 4), Some(0), "an unwritten map maps nothing");
        assert_eq!(sum_of("0 0 4294967295", 4), Some(ALL_IDS), "no final newline");
    }

    #[test]
    fn map_sum_refuses_what_is_not_a_map() {
        assert_eq!(sum_of("0 0\n", 3), None, "two columns");
        assert_eq!(sum_of("0 0 1 1\n", 3), None, "four columns");
        assert_eq!(sum_of("0 0 -1\n", 3), None, "a sign");
        assert_eq!(sum_of("0 0 99999999999999999999999999\n", 5), Some(u64::MAX), "saturates, never wraps");
    }

    #[test]
    fn this_process_and_the_overflow_ids_read_without_failing() {
        let (uid, gid) = overflow_ids();
        assert_eq!(overflow_ids(), (uid, gid), "cached");
        let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let initial = map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
        assert_eq!(in_initial_user_namespace(), initial);
        assert_eq!(maps_every_id(IdKind::Uid), initial);
        assert_eq!(is_stand_in(uid, IdKind::Uid), !initial);
        assert!(!is_stand_in(uid.wrapping_add(1), IdKind::Uid), "only the overflow id can stand in");
    }
}
