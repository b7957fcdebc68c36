//! `CredSource::Claim` in the core follows the C rule: with `known` 0
//! the claim is its pid, uid and gid exactly as written (never the sender's
//! own in their place), and a `known` bit no `FDCRED_CRED_*` constant
//! defines is `EINVAL` before anything is sent. The C struct reaches the core
//! through `Credentials::from_c`, as the C boundary passes it. A claim built
//! with the Rust API's `Credentials` sends its known fields and the sender's
//! own for the others; one with nothing known is refused.
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use fdcred::{
    allow_recv_cred, fdcred_cred, recv_msg, send_msg, CredSource, Credentials, RecvOptions, SendOptions,
    FDCRED_CRED_UID,
};

fn dgram_pair() -> (OwnedFd, OwnedFd) {
    let mut sv = [-1; 2];
    // SAFETY: `sv` has room for the two descriptors socketpair writes.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) };
    assert_eq!(rc, 0, "socketpair: {}", io::Error::last_os_error());
    // SAFETY: both were just created and are owned here alone.
    unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) }
}

fn claim(known: u32, pid: libc::pid_t, uid: libc::uid_t, gid: libc::gid_t) -> CredSource {
    CredSource::Claim(Credentials::from_c(fdcred_cred { known, pid, uid, gid, ..fdcred_cred::unknown() }))
}

fn send_claim(sock: &OwnedFd, source: CredSource) -> io::Result<usize> {
    send_msg(sock.as_fd(), &[IoSlice::new(b"c")], &SendOptions { cred: Some(source), ..Default::default() })
}

#[test]
fn undefined_known_bits_are_einval_and_nothing_is_sent() {
    let (a, b) = dgram_pair();
    // SAFETY: these calls cannot fail.
    let (pid, uid, gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
    for known in [1 << 20, 1 << 5, FDCRED_CRED_UID | 1 << 31] {
        let e = send_claim(&a, claim(known, pid, uid, gid)).expect_err("an undefined bit");
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "known {known:#x}");
    }
    let mut byte = [0u8; 1];
    let opts = RecvOptions { nonblocking: true, ..Default::default() };
    let e = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut byte)], None, &opts).expect_err("nothing queued");
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
}

#[test]
fn a_claim_with_known_0_is_sent_as_written() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("skip: needs root to claim uid 65534 (and to see a zero fill refused with ESRCH)");
        return;
    }
    let (a, b) = dgram_pair();
    allow_recv_cred(b.as_fd()).unwrap();
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    assert_eq!(send_claim(&a, claim(0, pid, 65534, 65534)).unwrap(), 1);
    let mut byte = [0u8; 1];
    let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut byte)], None, &RecvOptions::default()).unwrap();
    let cred = got.cred.expect("credentials");
    assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(pid), Some(65534), Some(65534)), "root, known 0");
    let zero = claim(0, 0, 0, 0);
    let e = send_claim(&a, zero).expect_err("pid 0 names no process");
    assert_eq!(e.raw_os_error(), Some(libc::ESRCH), "a zero-filled claim from root");
}

#[test]
fn a_rust_claim_sends_its_known_fields_and_the_senders_own_for_the_rest() {
    let (a, b) = dgram_pair();
    allow_recv_cred(b.as_fd()).unwrap();
    // SAFETY: these calls cannot fail.
    let (pid, uid, gid, euid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid(), libc::geteuid()) };
    // Any process may claim its own real uid; root may claim another.
    let claimed_uid = if euid == 0 { 65534 } else { uid };
    let source = CredSource::Claim(Credentials::unknown().with_uid(claimed_uid));
    assert_eq!(send_claim(&a, source).unwrap(), 1);
    let mut byte = [0u8; 1];
    let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut byte)], None, &RecvOptions::default()).unwrap();
    let cred = got.cred.expect("credentials");
    assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(pid), Some(claimed_uid), Some(gid)), "{cred:?}");
    assert_eq!(Credentials::claim(pid, uid, gid), Credentials::unknown().with_pid(pid).with_uid(uid).with_gid(gid));
    let e = send_claim(&a, CredSource::Claim(Credentials::unknown())).expect_err("a claim of nothing");
    assert!(e.raw_os_error().is_some(), "refused by the kernel: {e}");
    let opts = RecvOptions { nonblocking: true, ..Default::default() };
    let e = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut byte)], None, &opts).expect_err("nothing queued");
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "the refused claim sent nothing");
}
