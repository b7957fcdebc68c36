//! Shared by the Rust socket-API tests: a peer that uses plain
//! `libc::sendmsg`/`recvmsg` (no library code), fd counting, and a lock
//! that keeps fd-counting tests from seeing each other's descriptors.
#![allow(dead_code)]

pub mod alloc;

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

/// Held by every test of a binary that counts open descriptors. The first
/// call also makes the process fit for these tests on other OSes
/// ([`portable_setup`]).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    static SETUP: std::sync::Once = std::sync::Once::new();
    SETUP.call_once(portable_setup);
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the tests assume of their process, made true where it is not by
/// default (scripts/test-netbsd runs them in a NetBSD unikernel):
/// * room for a few hundred descriptors (253 to send, as many to receive):
///   a soft `RLIMIT_NOFILE` under 4096 is raised towards the hard limit
///   (NetBSD's soft limit is 128);
/// * stable inode numbers for sockets: right after boot, NetBSD 7.99 gives
///   the first socket `fstat`ed inode 0 and renumbers it on the next call,
///   which [`same_file`] would take for two files; a throwaway socket takes
///   that first number.
fn portable_setup() {
    // SAFETY: getrlimit/setrlimit with a rlimit struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max.min(4096) {
            lim.rlim_cur = lim.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
        for _ in 0..2 {
            // SAFETY: fstat writes a stat struct we own; `sock` is open.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            unsafe { libc::fstat(sock.as_raw_fd(), &mut st) };
        }
    }
}

/// Open descriptors of this process: `/proc/self/fd` on Linux; elsewhere
/// (no `/proc`) every descriptor below the soft limit that `fcntl` knows.
pub fn open_fds() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count();
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        // SAFETY: getrlimit writes a rlimit struct we own.
        let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        let limit = lim.rlim_cur.min(65536) as RawFd;
        // SAFETY: F_GETFD on any number only asks whether it is open.
        (0..limit).filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1).count()
    }
}

/// `sendmsg` with one `SCM_RIGHTS` holding `fds`, written with libc alone.
/// Returns the bytes sent or the errno.
pub fn raw_send(sock: RawFd, data: &[u8], fds: &[RawFd]) -> Result<usize, i32> {
    let mut control = vec![0u64; 1 + (fds.len() * 4 + 64) / 8];
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() };
    // SAFETY: zeroed msghdr is valid; the pointers below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let bytes = std::mem::size_of_val(fds) as u32;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is a pure computation.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(bytes) } as _;
        // SAFETY: the control buffer is at least CMSG_SPACE(bytes) long and aligned.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(bytes) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast::<RawFd>(), fds.len());
        }
    }
    #[cfg(not(target_vendor = "apple"))]
    let nosignal = libc::MSG_NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    let nosignal = 0;
    // SAFETY: `msg` describes live buffers.
    #[cfg(not(target_env = "musl"))]
    let n = unsafe { libc::sendmsg(sock, &msg, nosignal) };
    // musl's sendmsg refuses control data over its stack copy (ENOMEM past
    // about 250 fds), as src/sys/linux.rs explains: the plain syscall.
    // SAFETY: as above; SYS_sendmsg takes (fd, msg, flags).
    #[cfg(target_env = "musl")]
    let n = unsafe { libc::syscall(libc::SYS_sendmsg, sock, &msg, nosignal) } as isize;
    if n < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap())
    } else {
        Ok(n as usize)
    }
}

/// What [`raw_recv`] got: data length, the fds (owned by the caller now:
/// close them) and `msg_flags`.
pub struct RawReceived {
    pub bytes: usize,
    pub fds: Vec<RawFd>,
    pub flags: i32,
}

/// `recvmsg` with room for 253 fds, parsed with libc's CMSG macros.
pub fn raw_recv(sock: RawFd, buf: &mut [u8], flags: i32) -> Result<RawReceived, i32> {
    let mut control = vec![0u64; 160];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: zeroed msghdr is valid; the pointers below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = (control.len() * 8) as _;
    // macOS has no MSG_CMSG_CLOEXEC (these tests run on Linux; the others
    // only type-check them).
    #[cfg(not(target_vendor = "apple"))]
    let cloexec = libc::MSG_CMSG_CLOEXEC;
    #[cfg(target_vendor = "apple")]
    let cloexec = 0;
    // SAFETY: `msg` describes live buffers.
    let n = unsafe { libc::recvmsg(sock, &mut msg, cloexec | flags) };
    if n < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap());
    }
    let mut fds = Vec::new();
    // SAFETY: walking the control data the kernel wrote, with libc's macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..count {
                    fds.push(data.add(i).read_unaligned());
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(RawReceived { bytes: n as usize, fds, flags: msg.msg_flags })
}

/// Close raw descriptors a raw peer received.
pub fn close_all(fds: &[RawFd]) {
    for &fd in fds {
        // SAFETY: the caller owns each fd and passes it here once.
        unsafe { libc::close(fd) };
    }
}

/// Whether `a` and `b` name the same open file (same device and inode).
pub fn same_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> bool {
    let stat = |fd: BorrowedFd<'_>| {
        // SAFETY: fstat writes a stat struct we own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above, `fd` is open.
        assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, 0);
        (st.st_dev, st.st_ino)
    };
    stat(a) == stat(b)
}

/// A tiny deterministic-per-seed generator (no rand dependency).
pub struct Rng(pub u64);

impl Rng {
    pub fn seeded() -> Rng {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        println!("rng seed {seed}");
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
