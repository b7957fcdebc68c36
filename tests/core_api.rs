//! The safe Rust core (`send_msg`, `recv_msg`, the credentials handshake)
//! against peers that use plain `sendmsg`/`recvmsg` with libc's `CMSG_*`
//! macros, beside the C suites that check the same through the C ABI.
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

use fdcred::{
    allow_recv_cred, cred_handshake_receiver, cred_handshake_sender, cred_handshake_sender_interruptible, recv_msg,
    send_msg, CredSource, RecvOptions, SendOptions, FDCRED_CRED_HANDSHAKE_BYTE, MAX_FDS,
};

fn pair(kind: libc::c_int) -> (OwnedFd, OwnedFd) {
    let mut sv = [-1; 2];
    // SAFETY: `sv` has room for the two descriptors socketpair writes.
    let rc = unsafe { libc::socketpair(libc::AF_UNIX, kind | libc::SOCK_CLOEXEC, 0, sv.as_mut_ptr()) };
    assert_eq!(rc, 0, "socketpair({kind}): {}", io::Error::last_os_error());
    // SAFETY: both were just created and are owned here alone.
    unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) }
}

const KINDS: [(libc::c_int, &str); 3] =
    [(libc::SOCK_STREAM, "SOCK_STREAM"), (libc::SOCK_SEQPACKET, "SOCK_SEQPACKET"), (libc::SOCK_DGRAM, "SOCK_DGRAM")];

fn errno_of<T: std::fmt::Debug>(r: io::Result<T>) -> Option<i32> {
    r.expect_err("the call should fail").raw_os_error()
}

/// Every test takes this lock: two of them count the open descriptors,
/// which a test running beside them in another thread would change.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn same_file(a: BorrowedFd<'_>, b: &File) -> bool {
    let a = File::from(a.try_clone_to_owned().unwrap());
    let (ma, mb) = (a.metadata().unwrap(), b.metadata().unwrap());
    (ma.dev(), ma.ino()) == (mb.dev(), mb.ino())
}

fn is_cloexec(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFD on an open descriptor only reads its flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(flags >= 0, "F_GETFD: {}", io::Error::last_os_error());
    flags & libc::FD_CLOEXEC != 0
}

/// A plain peer's send: `data` with an `SCM_RIGHTS` of `fds` and an
/// `SCM_CREDENTIALS` of `cred`, framed with libc's CMSG macros.
fn plain_send(sock: BorrowedFd<'_>, data: &[u8], fds: &[RawFd], cred: Option<libc::ucred>) -> io::Result<usize> {
    let mut control = vec![0u8; 4096];
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    let fd_bytes = std::mem::size_of_val(fds) as u32;
    let cred_bytes = std::mem::size_of::<libc::ucred>() as u32;
    // SAFETY: CMSG_SPACE only does arithmetic.
    let space = unsafe {
        (if fds.is_empty() { 0 } else { libc::CMSG_SPACE(fd_bytes) })
            + (if cred.is_some() { libc::CMSG_SPACE(cred_bytes) } else { 0 })
    } as usize;
    if space > 0 {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer holds `space` bytes, the room the CMSG
        // macros need for the messages written below, and stays alive.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            if !fds.is_empty() {
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(fd_bytes) as _;
                std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(c), fd_bytes as usize);
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            if let Some(uc) = cred {
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_CREDENTIALS;
                (*c).cmsg_len = libc::CMSG_LEN(cred_bytes) as _;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::ucred>(), uc);
            }
        }
    }
    // SAFETY: every pointer in `msg` refers to a live buffer of the stated length.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// What a plain peer's `recvmsg` found.
struct PlainReceived {
    bytes: usize,
    flags: libc::c_int,
    fds: Vec<OwnedFd>,
    cred: Option<libc::ucred>,
}

/// A plain peer's receive into `buf`, walking the control data with libc's
/// CMSG macros and owning every descriptor it finds.
fn plain_recv(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<PlainReceived> {
    #[repr(C, align(8))]
    struct Control([u8; 4096]);
    let mut control = Control([0; 4096]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = control.0.len() as _;
    // SAFETY: every pointer in `msg` refers to a live writable buffer.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut got = PlainReceived { bytes: n as usize, flags: msg.msg_flags, fds: Vec::new(), cred: None };
    // SAFETY: the kernel wrote msg_controllen bytes of well-formed control
    // messages; the CMSG macros stay inside them.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let payload = (*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                    for i in 0..payload / 4 {
                        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<RawFd>().add(i));
                        got.fds.push(OwnedFd::from_raw_fd(fd));
                    }
                }
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => {
                    got.cred = Some(std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::ucred>()));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(got)
}

fn own_ucred() -> libc::ucred {
    // SAFETY: these calls cannot fail and touch no memory of ours.
    unsafe { libc::ucred { pid: libc::getpid(), uid: libc::getuid(), gid: libc::getgid() } }
}

fn set_passcred(sock: BorrowedFd<'_>) {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a readable int for the length passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_PASSCRED: {}", io::Error::last_os_error());
}

#[test]
fn send_msg_fds_arrive_at_a_plain_recvmsg_peer_on_every_socket_type() {
    let _serial = serial();
    let files: Vec<File> = (0..3).map(|_| File::open("/dev/null").unwrap()).collect();
    let borrowed: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    for (kind, name) in KINDS {
        let (a, b) = pair(kind);
        let opts = SendOptions { fds: &borrowed, ..Default::default() };
        let sent = send_msg(a.as_fd(), &[IoSlice::new(b"hello")], &opts).unwrap();
        assert_eq!(sent, 5, "{name}: bytes sent");
        let mut buf = [0u8; 16];
        let got = plain_recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..got.bytes], b"hello", "{name}: data");
        assert_eq!(got.fds.len(), 3, "{name}: descriptors received by the plain peer");
        for (i, (fd, file)) in got.fds.iter().zip(&files).enumerate() {
            assert!(same_file(fd.as_fd(), file), "{name}: fd {i} names the file sent");
        }
        assert_eq!(got.flags & (libc::MSG_CTRUNC | libc::MSG_TRUNC), 0, "{name}: nothing truncated");
    }
}

#[test]
fn recv_msg_takes_fds_from_a_plain_sendmsg_peer_with_close_on_exec() {
    let _serial = serial();
    let file = File::open("/dev/null").unwrap();
    for (kind, name) in KINDS {
        let (a, b) = pair(kind);
        plain_send(a.as_fd(), b"xy", &[file.as_raw_fd(), file.as_raw_fd()], None).unwrap();
        let mut buf = [0u8; 8];
        let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &RecvOptions::default()).unwrap();
        assert_eq!((got.bytes, &buf[..2]), (2, &b"xy"[..]), "{name}: data");
        assert!(!got.data_truncated && !got.control_truncated && !got.fds_overflowed, "{name}: flags {got:?}");
        assert_eq!(got.fds.len(), 2, "{name}: descriptors");
        for fd in got.fds.as_slice() {
            assert!(same_file(fd.as_fd(), &file), "{name}: fd {} names /dev/null", fd.as_raw_fd());
            assert!(is_cloexec(fd.as_fd()), "{name}: fd {} is close-on-exec", fd.as_raw_fd());
        }
        assert!(got.cred.is_none(), "{name}: no credentials without the opt-in");
    }
}

#[test]
fn recv_msg_without_cloexec_leaves_the_flag_off() {
    let _serial = serial();
    let file = File::open("/dev/null").unwrap();
    let (a, b) = pair(libc::SOCK_DGRAM);
    plain_send(a.as_fd(), b"z", &[file.as_raw_fd()], None).unwrap();
    let mut buf = [0u8; 1];
    let opts = RecvOptions { cloexec: false, ..Default::default() };
    let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &opts).unwrap();
    assert_eq!(got.fds.len(), 1);
    assert!(!is_cloexec(got.fds.as_slice()[0].as_fd()), "cloexec: false must leave FD_CLOEXEC off");
}

#[test]
fn recv_msg_closes_every_fd_of_a_message_with_more_than_max_fds() {
    let _serial = serial();
    let file = File::open("/dev/null").unwrap();
    let (a, b) = pair(libc::SOCK_SEQPACKET);
    plain_send(a.as_fd(), b"m", &[file.as_raw_fd(); 4], None).unwrap();
    let before = open_fds();
    let mut buf = [0u8; 1];
    let opts = RecvOptions { max_fds: 3, ..Default::default() };
    let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &opts).unwrap();
    assert!(got.fds_overflowed, "four fds for a capacity of three: {got:?}");
    assert!(got.fds.is_empty(), "an incomplete set is never handed out");
    assert_eq!(got.bytes, 1, "the data still arrives");
    drop(got);
    assert_eq!(open_fds(), before, "every descriptor of the message was closed");
}

#[test]
fn recv_msg_reports_a_datagram_cut_by_a_short_buffer() {
    let _serial = serial();
    let (a, b) = pair(libc::SOCK_DGRAM);
    plain_send(a.as_fd(), &[7u8; 100], &[], None).unwrap();
    let mut buf = [0u8; 10];
    let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &RecvOptions::default()).unwrap();
    assert_eq!(got.bytes, 10);
    assert!(got.data_truncated, "90 bytes lost must be reported: {got:?}");
}

#[test]
fn send_msg_own_credentials_reach_a_plain_so_passcred_peer() {
    let _serial = serial();
    for (kind, name) in KINDS {
        let (a, b) = pair(kind);
        set_passcred(b.as_fd());
        let opts = SendOptions { cred: Some(CredSource::Own), ..Default::default() };
        assert_eq!(send_msg(a.as_fd(), &[IoSlice::new(b"c")], &opts).unwrap(), 1, "{name}");
        let mut buf = [0u8; 4];
        let got = plain_recv(b.as_fd(), &mut buf).unwrap();
        let uc = got.cred.unwrap_or_else(|| panic!("{name}: no SCM_CREDENTIALS arrived"));
        let own = own_ucred();
        assert_eq!((uc.pid, uc.uid, uc.gid), (own.pid, own.uid, own.gid), "{name}: the sender's own ids");
    }
}

#[test]
fn recv_msg_reads_credentials_a_plain_peer_attached() {
    let _serial = serial();
    for (kind, name) in KINDS {
        let (a, b) = pair(kind);
        allow_recv_cred(b.as_fd()).unwrap();
        plain_send(a.as_fd(), b"q", &[], Some(own_ucred())).unwrap();
        let mut buf = [0u8; 4];
        let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &RecvOptions::default()).unwrap();
        let cred = got.cred.unwrap_or_else(|| panic!("{name}: no credentials"));
        let own = own_ucred();
        assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(own.pid), Some(own.uid), Some(own.gid)), "{name}");
        assert_eq!((cred.real_uid(), cred.real_gid()), (None, None), "{name}: Linux reports no separate real ids");
        let shown = format!("Credentials {{ pid: {}, uid: {}, gid: {} }}", own.pid, own.uid, own.gid);
        assert_eq!(format!("{cred:?}"), shown, "{name}: Debug shows the known fields only");
    }
}

#[test]
fn send_msg_refuses_what_cannot_be_sent_before_any_syscall_sends_it() {
    let _serial = serial();
    let file = File::open("/dev/null").unwrap();
    let (a, b) = pair(libc::SOCK_STREAM);
    let many = vec![file.as_fd(); MAX_FDS + 1];
    let opts = SendOptions { fds: &many, ..Default::default() };
    assert_eq!(errno_of(send_msg(a.as_fd(), &[IoSlice::new(b"x")], &opts)), Some(libc::EINVAL), "MAX_FDS + 1 fds");
    let one = [file.as_fd()];
    let opts = SendOptions { fds: &one, ..Default::default() };
    assert_eq!(errno_of(send_msg(a.as_fd(), &[], &opts)), Some(libc::EINVAL), "fds with no byte on a stream");
    // SAFETY: plain socket creation.
    let tcp = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(tcp >= 0);
    // SAFETY: just created, owned here alone.
    let tcp = unsafe { OwnedFd::from_raw_fd(tcp) };
    assert_eq!(errno_of(send_msg(tcp.as_fd(), &[IoSlice::new(b"x")], &opts)), Some(libc::EOPNOTSUPP), "TCP");
    // SAFETY: `b` is open; a non-blocking peek only looks.
    let queued = unsafe { libc::recv(b.as_raw_fd(), [0u8; 1].as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
    assert_eq!(queued, -1, "nothing reached the peer");
}

#[test]
fn handshake_receiver_opts_in_and_sends_the_go_on_byte_to_a_plain_peer() {
    let _serial = serial();
    for (kind, name) in KINDS {
        let (receiver, plain) = pair(kind);
        cred_handshake_receiver(receiver.as_fd()).unwrap();
        let mut byte = [0u8; 4];
        let got = plain_recv(plain.as_fd(), &mut byte).unwrap();
        assert_eq!(&byte[..got.bytes], &[FDCRED_CRED_HANDSHAKE_BYTE], "{name}: exactly the go-on byte");
        // The plain peer attaches nothing: the kernel adds its credentials,
        // because the receiver opted in before the byte was sent.
        plain_send(plain.as_fd(), b"after", &[], None).unwrap();
        let mut buf = [0u8; 8];
        let got = recv_msg(receiver.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &RecvOptions::default()).unwrap();
        let cred = got.cred.unwrap_or_else(|| panic!("{name}: the message after the handshake has no credentials"));
        assert_eq!(cred.pid(), Some(own_ucred().pid), "{name}");
    }
}

#[test]
fn handshake_sender_accepts_only_the_go_on_byte() {
    let _serial = serial();
    for (kind, name) in KINDS {
        let (sender, plain) = pair(kind);
        plain_send(plain.as_fd(), &[FDCRED_CRED_HANDSHAKE_BYTE], &[], None).unwrap();
        cred_handshake_sender(sender.as_fd()).unwrap_or_else(|e| panic!("{name}: go-on byte refused: {e}"));
        plain_send(plain.as_fd(), b"?", &[], None).unwrap();
        assert_eq!(errno_of(cred_handshake_sender(sender.as_fd())), Some(libc::EPROTO), "{name}: another byte");
    }
}

#[test]
fn handshake_sender_closes_fds_sent_with_the_byte_and_reports_eproto() {
    let _serial = serial();
    let file = File::open("/dev/null").unwrap();
    let (sender, plain) = pair(libc::SOCK_SEQPACKET);
    plain_send(plain.as_fd(), &[FDCRED_CRED_HANDSHAKE_BYTE], &[file.as_raw_fd()], None).unwrap();
    let before = open_fds();
    assert_eq!(errno_of(cred_handshake_sender(sender.as_fd())), Some(libc::EPROTO));
    assert_eq!(open_fds(), before, "the descriptor sent with the byte was closed");
}

#[test]
fn handshake_sender_reports_end_of_file_as_econnreset_and_an_empty_datagram_as_eproto() {
    let _serial = serial();
    let (sender, plain) = pair(libc::SOCK_STREAM);
    drop(plain);
    assert_eq!(errno_of(cred_handshake_sender(sender.as_fd())), Some(libc::ECONNRESET), "stream closed");
    let (sender, plain) = pair(libc::SOCK_DGRAM);
    plain_send(plain.as_fd(), &[], &[], None).unwrap();
    assert_eq!(errno_of(cred_handshake_sender(sender.as_fd())), Some(libc::EPROTO), "empty datagram");
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Send SIGUSR1 to the calling thread every 20 ms, from another thread,
/// until the returned guard is dropped. The handler does nothing and is
/// installed without `SA_RESTART`, as Python installs its own: a blocking
/// `sendmsg`/`recvmsg` in this thread then fails with `EINTR` in the kernel.
fn interrupt_this_thread() -> impl Drop {
    // SAFETY: sigaction is plain data; all-zero is an empty mask and no flags.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `action` is a valid handler description; the old one is not wanted.
    assert_eq!(unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) }, 0);
    // SAFETY: pthread_self has no preconditions. Carried as an integer: on
    // musl a pthread_t is a pointer, which is not Send.
    let target = unsafe { libc::pthread_self() } as usize;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let thread_stop = stop.clone();
    let thread = std::thread::spawn(move || {
        while !thread_stop.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(20));
            // SAFETY: `target` runs until the guard below has joined this thread.
            unsafe { libc::pthread_kill(target as libc::pthread_t, libc::SIGUSR1) };
        }
    });
    struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>, Option<std::thread::JoinHandle<()>>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            self.1.take().unwrap().join().unwrap();
        }
    }
    Stop(stop, Some(thread))
}

#[test]
fn interruptible_calls_return_eintr_having_taken_or_sent_nothing() {
    let _serial = serial();
    let file = File::open("/dev/null").unwrap();
    let (a, b) = pair(libc::SOCK_DGRAM);
    let interrupts = interrupt_this_thread();
    let before = open_fds();
    let mut buf = [0u8; 8];
    let ropts = RecvOptions { interruptible: true, ..Default::default() };
    let r = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &ropts);
    assert_eq!(errno_of(r), Some(libc::EINTR), "recv_msg waiting on an empty socket");
    assert_eq!(errno_of(cred_handshake_sender_interruptible(b.as_fd())), Some(libc::EINTR), "handshake sender");
    // Fill the peer's queue, then a blocking send with a descriptor waits.
    let mut queued = 0;
    // SAFETY: a non-blocking send of one byte from a live buffer.
    while unsafe { libc::send(a.as_raw_fd(), b"f".as_ptr().cast(), 1, libc::MSG_DONTWAIT) } == 1 {
        queued += 1;
    }
    let fds = [file.as_fd()];
    let sopts = SendOptions { fds: &fds, interruptible: true, ..Default::default() };
    assert_eq!(errno_of(send_msg(a.as_fd(), &[IoSlice::new(b"x")], &sopts)), Some(libc::EINTR), "send on a full queue");
    drop(interrupts);
    for i in 0..queued {
        let got = plain_recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!((got.bytes, got.fds.len(), buf[0]), (1, 0, b'f'), "message {i}: only the filler");
    }
    // SAFETY: `b` is open; a non-blocking receive into a live byte.
    let more = unsafe { libc::recv(b.as_raw_fd(), buf.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
    assert_eq!(more, -1, "the interrupted send queued nothing");
    assert_eq!(open_fds(), before, "no descriptor arrived or leaked");
    // The default keeps retrying: the same receive waits through the signals
    // for a message sent later.
    let interrupts = interrupt_this_thread();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        plain_send(a.as_fd(), b"late", &[], None).unwrap();
        a
    });
    let got = recv_msg(b.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &RecvOptions::default()).unwrap();
    assert_eq!(&buf[..got.bytes], b"late");
    drop(interrupts);
    drop(sender.join().unwrap());
}
