//! Property test of the control-message parser (`fdcred::cmsg::parse`), the
//! pure function every receive runs over what the kernel wrote. Inputs are
//! built with known contents, then cut short, given oversized, misaligned,
//! undersized (overlapping) lengths, shifted to odd addresses, or replaced by
//! random bytes. For each input:
//!
//! * no panic;
//! * no read outside the input: it is parsed twice, once ending exactly at a
//!   `PROT_NONE` guard page and once starting right after one, so a read past
//!   either end faults;
//! * every descriptor present in the input is reported, in order, so the
//!   caller can close it: for built inputs the expected list is known by
//!   construction; for mutated ones it comes from an independent model of the
//!   framing (`CMSG_NXTHDR` stepping, lengths clamped to the bytes present).
//!
//! Own PRNG, no crates. `FDCRED_PROPTEST_CASES` sets the number of cases
//! (default 50,000; `scripts/stress` runs 500,000); a failure prints the
//! case number and seed to reproduce it.
// The model builds Linux's control messages (SCM_CREDENTIALS, SCM_PIDFD):
// it runs here, on Linux; the other OSes' parsers are type-checked only.
#![cfg(any(target_os = "linux", target_os = "android"))]
use fdcred::cmsg::{parse, Item};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const HDR: usize = core::mem::size_of::<libc::cmsghdr>();

fn header_len() -> usize {
    // SAFETY: CMSG_LEN is arithmetic only.
    unsafe { libc::CMSG_LEN(0) as usize }
}
fn align() -> usize {
    // SAFETY: CMSG_SPACE is arithmetic only.
    unsafe { (libc::CMSG_SPACE(1) - libc::CMSG_SPACE(0)) as usize }
}
fn round_up(n: u128, a: u128) -> u128 {
    n.div_ceil(a) * a
}

fn put_header(out: &mut [u8], at: usize, len: usize, level: i32, kind: i32) {
    // SAFETY: a zeroed cmsghdr is valid; we copy its bytes out.
    let mut h: libc::cmsghdr = unsafe { core::mem::zeroed() };
    h.cmsg_len = len as _;
    h.cmsg_level = level;
    h.cmsg_type = kind;
    // SAFETY: `h` is plain data of HDR bytes.
    let bytes = unsafe { core::slice::from_raw_parts((&h as *const libc::cmsghdr).cast::<u8>(), HDR) };
    out[at..at + HDR].copy_from_slice(bytes);
}

/// What the parser must report that owns a resource: descriptors and pidfds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owned {
    Fd(i32),
    PidFd(i32),
}

const SCM_PIDFD: i32 = 0x04;

/// A well-formed control buffer and the descriptors in it, with the byte
/// offset of each (so a cut can say which are still present).
fn build(rng: &mut Rng) -> (Vec<u8>, Vec<(usize, Owned)>) {
    let mut out = vec![0u8; 0];
    let mut owned = Vec::new();
    for _ in 0..rng.below(5) + 1 {
        let at = out.len();
        let (level, kind, payload): (i32, i32, Vec<u8>) = match rng.below(5) {
            0 | 1 => {
                let n = match rng.below(4) {
                    0 => 253,
                    _ => rng.below(9) as usize,
                };
                let mut p = Vec::new();
                for i in 0..n {
                    let fd = if rng.below(20) == 0 { -(rng.below(5) as i32) - 1 } else { rng.below(1 << 20) as i32 };
                    if fd >= 0 {
                        owned.push((at + header_len() + 4 * i, Owned::Fd(fd)));
                    }
                    p.extend_from_slice(&fd.to_ne_bytes());
                }
                (libc::SOL_SOCKET, libc::SCM_RIGHTS, p)
            }
            2 => {
                let uc = libc::ucred { pid: rng.below(100_000) as i32, uid: rng.next() as u32, gid: rng.next() as u32 };
                // SAFETY: ucred is plain data.
                let b = unsafe {
                    core::slice::from_raw_parts((&uc as *const libc::ucred).cast::<u8>(), core::mem::size_of_val(&uc))
                };
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS, b.to_vec())
            }
            3 => {
                let fd = rng.below(1 << 20) as i32;
                owned.push((at + header_len(), Owned::PidFd(fd)));
                (libc::SOL_SOCKET, SCM_PIDFD, fd.to_ne_bytes().to_vec())
            }
            _ => {
                let len = rng.below(40) as usize;
                let level = if rng.below(2) == 0 { libc::IPPROTO_IP } else { libc::SOL_SOCKET };
                (level, 1000 + rng.below(10) as i32, (0..len).map(|_| rng.next() as u8).collect())
            }
        };
        let space = round_up((header_len() + payload.len()) as u128, align() as u128) as usize;
        out.resize(at + space, 0);
        put_header(&mut out, at, header_len() + payload.len(), level, kind);
        out[at + header_len()..at + header_len() + payload.len()].copy_from_slice(&payload);
    }
    (out, owned)
}

/// An independent model of the framing: step from header to header by the
/// aligned claimed length (in 128-bit arithmetic, so nothing overflows), stop
/// at a header that does not fit or claims less than itself, and take the
/// descriptors whose four bytes are inside both the claim and the input.
fn model(bytes: &[u8]) -> Vec<Owned> {
    let mut out = Vec::new();
    let len = bytes.len() as u128;
    let mut off: u128 = 0;
    while off + HDR as u128 <= len {
        let o = off as usize;
        let claimed = usize::from_ne_bytes(bytes[o..o + 8].try_into().unwrap()) as u128;
        let level = i32::from_ne_bytes(bytes[o + 8..o + 12].try_into().unwrap());
        let kind = i32::from_ne_bytes(bytes[o + 12..o + 16].try_into().unwrap());
        if claimed < header_len() as u128 {
            break;
        }
        let end = (off + claimed).min(len);
        let start = off + header_len() as u128;
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            let mut p = start;
            while p + 4 <= end {
                let v = i32::from_ne_bytes(bytes[p as usize..p as usize + 4].try_into().unwrap());
                if v >= 0 {
                    out.push(Owned::Fd(v));
                }
                p += 4;
            }
        } else if level == libc::SOL_SOCKET && kind == SCM_PIDFD && start + 4 <= end {
            let v = i32::from_ne_bytes(bytes[start as usize..start as usize + 4].try_into().unwrap());
            if v >= 0 {
                out.push(Owned::PidFd(v));
            }
        }
        off += round_up(claimed, align() as u128);
    }
    out
}

/// Three pages, the outer two PROT_NONE: an input placed against either
/// guard faults on any read past its ends.
struct Guarded {
    base: *mut u8,
    page: usize,
}
impl Guarded {
    fn new() -> Self {
        // SAFETY: sysconf has no memory effects.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: an anonymous private mapping of 3 pages; checked below.
        let base = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                3 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();
        // SAFETY: both ranges lie inside the mapping just made.
        unsafe {
            assert_eq!(libc::mprotect(base.cast(), page, libc::PROT_NONE), 0);
            assert_eq!(libc::mprotect(base.add(2 * page).cast(), page, libc::PROT_NONE), 0);
        }
        Guarded { base, page }
    }
    /// Parse `input` placed at the end of the middle page, then at its start.
    fn parse_both(&self, input: &[u8]) -> (Vec<Item>, Vec<Item>) {
        assert!(input.len() <= self.page);
        let mut results = [Vec::new(), Vec::new()];
        for (i, at) in [self.page + self.page - input.len(), self.page].into_iter().enumerate() {
            // SAFETY: [at, at + len) lies in the writable middle page; the
            // slice lives only for this parse.
            let slice = unsafe {
                let p = self.base.add(at);
                core::ptr::copy_nonoverlapping(input.as_ptr(), p, input.len());
                core::slice::from_raw_parts(p, input.len())
            };
            parse(slice, |item| results[i].push(item));
        }
        let [a, b] = results;
        (a, b)
    }
}

fn owned_of(items: &[Item]) -> Vec<Owned> {
    items
        .iter()
        .filter_map(|i| match *i {
            Item::Fd(fd) => Some(Owned::Fd(fd)),
            Item::PidFd(fd) => Some(Owned::PidFd(fd)),
            _ => None,
        })
        .collect()
}

#[test]
fn cmsg_parser_reports_every_fd_and_never_reads_out_of_bounds() {
    let cases: u64 = std::env::var("FDCRED_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let seed: u64 = std::env::var("FDCRED_PROPTEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_f00d);
    let guard = Guarded::new();
    let started = std::time::Instant::now();
    let mut kinds = [0u64; 7];
    let mut fds_checked = 0u64;
    for case in 0..cases {
        let mut rng = Rng(seed ^ (case.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
        let (mut bytes, mut owned) = build(&mut rng);
        bytes.truncate(guard.page);
        owned.retain(|&(at, _)| at + 4 <= bytes.len());
        let kind = rng.below(7) as usize;
        let mut subsequence = false;
        kinds[kind] += 1;
        // `truth`: what must be reported, known by construction, when it is.
        let truth: Option<Vec<Owned>> = match kind {
            0 => Some(owned.iter().map(|&(_, o)| o).collect()),
            1 => {
                // cut short anywhere, as a truncating kernel or a lying length would
                let cut = rng.below(bytes.len() as u64 + 1) as usize;
                bytes.truncate(cut);
                Some(owned.iter().filter(|&&(at, _)| at + 4 <= cut).map(|&(_, o)| o).collect())
            }
            2 => {
                // the last header claims far more than is there (macOS, illumos)
                let mut at = 0;
                let mut last = 0;
                while at + HDR <= bytes.len() {
                    last = at;
                    let claimed = usize::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
                    at += round_up(claimed as u128, align() as u128) as usize;
                }
                let huge = [usize::MAX, usize::MAX - 7, 1 << 40, bytes.len() + 1 + rng.below(4096) as usize]
                    [rng.below(4) as usize];
                bytes[last..last + 8].copy_from_slice(&huge.to_ne_bytes());
                // The claim now covers the padding after the last payload too,
                // which the parser must read as payload: what was built is
                // checked as a subsequence below, the rest by the model.
                subsequence = true;
                Some(owned.iter().map(|&(_, o)| o).collect())
            }
            3 | 4 => {
                // a header claims a misaligned or too-short length: the next
                // header is read from the middle of this one's payload
                let mut at = 0;
                let mut headers = Vec::new();
                while at + HDR <= bytes.len() {
                    headers.push(at);
                    let claimed = usize::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
                    at += round_up(claimed as u128, align() as u128) as usize;
                }
                let h = headers[rng.below(headers.len() as u64) as usize];
                let new_len = if kind == 3 {
                    usize::from_ne_bytes(bytes[h..h + 8].try_into().unwrap()) + 1 + rng.below(7) as usize
                } else {
                    rng.below(header_len() as u64 + 24) as usize
                };
                bytes[h..h + 8].copy_from_slice(&new_len.to_ne_bytes());
                None
            }
            5 => {
                for _ in 0..rng.below(8) + 1 {
                    let i = rng.below(bytes.len().max(1) as u64) as usize;
                    if i < bytes.len() {
                        bytes[i] = rng.next() as u8;
                    }
                }
                None
            }
            _ => {
                let len = rng.below(600) as usize;
                bytes = (0..len).map(|_| rng.next() as u8).collect();
                // sometimes plausible headers among the noise
                let mut at = 0;
                while at + HDR <= bytes.len() && rng.below(2) == 0 {
                    let claimed = rng.below((bytes.len() - at + 16) as u64) as usize;
                    put_header(&mut bytes, at, claimed, libc::SOL_SOCKET, libc::SCM_RIGHTS);
                    at += round_up(claimed.max(16) as u128, 8) as usize;
                }
                None
            }
        };
        let (at_end, at_start) = guard.parse_both(&bytes);
        assert_eq!(at_end, at_start, "case {case} (seed {seed}): the result depends on the buffer's address");
        let got = owned_of(&at_end);
        let want = model(&bytes);
        assert!(
            got == want,
            "case {case} (seed {seed}, mutation {kind}): parser and model disagree on {} bytes",
            bytes.len()
        );
        if let Some(truth) = truth {
            let reported = if subsequence {
                let mut it = got.iter();
                truth.iter().all(|t| it.any(|g| g == t))
            } else {
                got == truth
            };
            assert!(
                reported,
                "case {case} (seed {seed}, mutation {kind}): a descriptor present was not reported: built {} fds, \
                 reported {}",
                truth.len(),
                got.len()
            );
        }
        // misaligned start: the same bytes one to seven bytes into a buffer
        let shift = 1 + rng.below(7) as usize;
        let mut shifted = vec![0u8; shift + bytes.len()];
        shifted[shift..].copy_from_slice(&bytes);
        let mut items = Vec::new();
        parse(&shifted[shift..], |i| items.push(i));
        assert_eq!(items, at_end, "case {case} (seed {seed}): a misaligned buffer parses differently");
        fds_checked += got.len() as u64;
    }
    println!(
        "{cases} cases (well-formed {}, cut {}, oversized {}, misaligned length {}, overlapping {}, flipped bytes {}, \
         random {}), {fds_checked} fds reported as required, {:.1} s",
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3],
        kinds[4],
        kinds[5],
        kinds[6],
        started.elapsed().as_secs_f64()
    );
}
