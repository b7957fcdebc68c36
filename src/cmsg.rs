//! Control-message (ancillary data) layout: a builder for the send path and a
//! pure parser for the receive path.
//!
//! The parser takes the control bytes the kernel wrote and the length it
//! reported, and hands every item to a sink *as it is found*, so the caller
//! owns each descriptor the moment it is seen. It never trusts `cmsg_len`:
//! lengths are clamped to the bytes actually present (macOS and illumos leave
//! the last header's length unadjusted on truncation), arithmetic is checked,
//! and headers are read unaligned, so arbitrary bytes cannot make it read out
//! of bounds or panic. It is public so that the fuzz target and property
//! tests can drive it directly.

use core::mem::size_of;
use std::os::fd::RawFd;

use crate::sys;
use crate::types::fdcred_cred;

/// One item found in control data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A descriptor from an `SCM_RIGHTS` message. The sink owns it.
    Fd(RawFd),
    /// Credentials the kernel attached (`SCM_CREDENTIALS`, `SCM_CREDS`, ...),
    /// already decoded; fields the kernel synthesized are marked unknown.
    Cred(fdcred_cred),
    /// A pidfd naming the sender (`SCM_PIDFD`). The sink owns it.
    PidFd(RawFd),
    /// A control message of another kind (timestamps, security labels): no
    /// resource is attached to it.
    Other,
    /// A credentials message whose payload is too short or of an unknown
    /// version; nothing in it is believed.
    Malformed,
}

/// Where a control message's payload starts (`CMSG_LEN(0)`), and the
/// alignment `CMSG_NXTHDR`/`CMSG_SPACE` round lengths to, both read from
/// libc's own macros at compile time so the parser and builder agree with the
/// kernel on every target.
///
/// The alignment is the size of the steps `CMSG_SPACE(n)` takes as `n` grows:
/// 8 on LP64 Linux and the BSDs, 4 on Darwin (`__DARWIN_ALIGN32`), 8 on
/// 64-bit illumos, whose payload is aligned to 4 only (`_CMSG_DATA_ALIGN`),
/// so that `CMSG_SPACE(1) - CMSG_SPACE(0)` there is 0, not the alignment.
/// The backend states the alignment it expects (`sys::CMSG_ALIGN`) and the
/// build fails if libc disagrees.
#[derive(Clone, Copy)]
struct Layout {
    /// `CMSG_LEN(0)`: where the payload starts.
    header: usize,
    /// The alignment `CMSG_NXTHDR` steps by and `CMSG_SPACE` rounds to.
    align: usize,
}

const fn cmsg_space(len: usize) -> usize {
    // SAFETY: CMSG_SPACE only does arithmetic on its argument.
    unsafe { libc::CMSG_SPACE(len as libc::c_uint) as usize }
}

const LAYOUT: Layout = {
    // SAFETY: CMSG_LEN only does arithmetic on its argument.
    let header = unsafe { libc::CMSG_LEN(0) as usize };
    // The first jump of CMSG_SPACE is one alignment unit.
    let base = cmsg_space(0);
    let mut n = 1;
    while cmsg_space(n) == base && n < 64 {
        n += 1;
    }
    let align = cmsg_space(n) - base;
    assert!(align.is_power_of_two(), "CMSG_SPACE steps by a power of two");
    // The alignment each backend expects is what libc computes for the
    // target. Checked here, in a constant the parser uses, rather than in a
    // `const _`: rustc 1.96's dead-code lint no longer counts a use there,
    // and reported every backend's CMSG_ALIGN unused but Linux's.
    assert!(align == sys::CMSG_ALIGN, "CMSG alignment of this target differs from the backend's");
    Layout { header, align }
};

const fn layout() -> Layout {
    LAYOUT
}

/// `CMSG_SPACE(len)` as a plain function, for sizing buffers.
pub fn space(len: usize) -> usize {
    let l = layout();
    align_up(len_of(len), l.align)
}

/// `CMSG_LEN(len)`.
fn len_of(len: usize) -> usize {
    layout().header + len
}

fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// Walk `control` (the first `msg_controllen` bytes of the buffer passed to
/// `recvmsg`) and give every item to `sink`, in order.
///
/// Every descriptor in every `SCM_RIGHTS` message is reported, including
/// those of a message whose length runs past the end of the buffer (the part
/// that is present), so the caller can close them. Negative values are never
/// reported as descriptors.
pub fn parse(control: &[u8], mut sink: impl FnMut(Item)) {
    let l = layout();
    let hdr_size = size_of::<libc::cmsghdr>();
    let mut offset = 0usize;
    while let Some(rest) = control.get(offset..) {
        if rest.len() < hdr_size {
            break;
        }
        // SAFETY: `rest` holds at least size_of::<cmsghdr>() bytes, and
        // read_unaligned places no alignment demand on the source.
        let hdr: libc::cmsghdr = unsafe { core::ptr::read_unaligned(rest.as_ptr().cast()) };
        let claimed = kernel_cmsg_len(rest, &hdr);
        if claimed < l.header {
            break; // A length shorter than its own header: nothing past here is framed.
        }
        // Clamp to the bytes really present: a truncating kernel may leave
        // the header claiming more than it copied.
        let len = claimed.min(rest.len());
        let payload = &rest[l.header.min(len)..len];
        dispatch(hdr.cmsg_level, hdr.cmsg_type, payload, &mut sink);
        // CMSG_NXTHDR: the next header starts at the aligned end of this one.
        match align_up_checked(claimed, l.align).and_then(|step| offset.checked_add(step)) {
            Some(next) if next > offset => offset = next,
            _ => break,
        }
    }
}

/// The length the kernel wrote into the header at the start of `rest`.
///
/// Linux's header starts with a `size_t`. musl on 64-bit targets declares
/// it as a 32-bit `cmsg_len` beside 32 bits of padding, so reading the libc
/// field would drop the upper half of what the kernel wrote; read the whole
/// word. Elsewhere the libc field is the kernel's own.
#[cfg(all(linux_like, target_env = "musl", target_pointer_width = "64"))]
fn kernel_cmsg_len(rest: &[u8], _hdr: &libc::cmsghdr) -> usize {
    const WORD: usize = size_of::<usize>();
    const _: () = assert!(size_of::<libc::cmsghdr>() >= WORD);
    // The caller checked that `rest` holds a whole cmsghdr, which starts with this word.
    usize::from_ne_bytes(rest[..WORD].try_into().expect("a whole header is present"))
}

#[cfg(not(all(linux_like, target_env = "musl", target_pointer_width = "64")))]
#[allow(clippy::unnecessary_cast)] // size_t on glibc, socklen_t on the BSDs and illumos
fn kernel_cmsg_len(_rest: &[u8], hdr: &libc::cmsghdr) -> usize {
    hdr.cmsg_len as usize
}

fn align_up_checked(n: usize, align: usize) -> Option<usize> {
    Some(n.checked_add(align - 1)? & !(align - 1))
}

fn dispatch(level: libc::c_int, kind: libc::c_int, payload: &[u8], sink: &mut impl FnMut(Item)) {
    match sys::classify_cmsg(level, kind) {
        sys::CmsgKind::Rights => {
            for chunk in payload.chunks_exact(size_of::<RawFd>()) {
                let fd = RawFd::from_ne_bytes(chunk.try_into().expect("chunk of fd size"));
                if fd >= 0 {
                    sink(Item::Fd(fd));
                }
            }
        }
        sys::CmsgKind::PidFd => match payload.get(..size_of::<RawFd>()) {
            Some(bytes) => {
                let fd = RawFd::from_ne_bytes(bytes.try_into().expect("slice of fd size"));
                if fd >= 0 {
                    sink(Item::PidFd(fd));
                }
            }
            None => sink(Item::Malformed),
        },
        sys::CmsgKind::Cred => match sys::decode_cred(kind, payload) {
            Some(cred) => sink(Item::Cred(cred)),
            None => sink(Item::Malformed),
        },
        sys::CmsgKind::Other => sink(Item::Other),
    }
}

/// A control buffer on the stack, aligned for `cmsghdr`. It is left
/// uninitialised: the builder writes every byte it hands to the kernel, and
/// the kernel writes every byte the parser reads.
#[repr(C, align(8))]
pub(crate) struct Buf<const N: usize> {
    bytes: core::mem::MaybeUninit<[u8; N]>,
}

impl<const N: usize> Buf<N> {
    pub(crate) const fn new() -> Self {
        Buf { bytes: core::mem::MaybeUninit::uninit() }
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.bytes.as_mut_ptr().cast()
    }

    pub(crate) const fn capacity(&self) -> usize {
        N
    }

    /// The first `len` bytes, which the kernel (or the builder) has written.
    ///
    /// # Safety
    /// Those bytes must have been initialised, and `len <= N`.
    pub(crate) unsafe fn initialised(&self, len: usize) -> &[u8] {
        debug_assert!(len <= N);
        // SAFETY: in bounds and initialised, as the caller promises.
        unsafe { core::slice::from_raw_parts(self.bytes.as_ptr().cast(), len) }
    }
}

/// Appends control messages into a [`Buf`], with the OS's own framing.
pub(crate) struct Builder<'a, const N: usize> {
    buf: &'a mut Buf<N>,
    used: usize,
}

impl<'a, const N: usize> Builder<'a, N> {
    pub(crate) fn new(buf: &'a mut Buf<N>) -> Self {
        Builder { buf, used: 0 }
    }

    /// Append one control message carrying `payload`. Returns `None` when it
    /// does not fit.
    pub(crate) fn push(&mut self, level: libc::c_int, kind: libc::c_int, payload: &[u8]) -> Option<()> {
        let l = layout();
        let total = space(payload.len());
        let end = self.used.checked_add(total)?;
        if end > N {
            return None;
        }
        // SAFETY: zeroed is a valid cmsghdr (plain integers, padding on musl).
        let mut hdr: libc::cmsghdr = unsafe { core::mem::zeroed() };
        hdr.cmsg_len = len_of(payload.len()) as _;
        hdr.cmsg_level = level;
        hdr.cmsg_type = kind;
        // SAFETY: [used, end) lies inside the N-byte buffer (checked above),
        // and it has room for the header, the payload and the padding, which
        // are written without any alignment demand.
        unsafe {
            let base = self.buf.as_mut_ptr().add(self.used);
            core::ptr::write_bytes(base, 0, total);
            core::ptr::write_unaligned(base.cast::<libc::cmsghdr>(), hdr);
            core::ptr::copy_nonoverlapping(payload.as_ptr(), base.add(l.header), payload.len());
        }
        self.used = end;
        Some(())
    }

    /// Append an `SCM_RIGHTS` message carrying `fds`.
    pub(crate) fn push_fds(&mut self, fds: &[RawFd]) -> Option<()> {
        // SAFETY: a RawFd slice is plain initialised memory; viewing it as
        // bytes of the same total length is always valid.
        let bytes = unsafe { core::slice::from_raw_parts(fds.as_ptr().cast::<u8>(), core::mem::size_of_val(fds)) };
        self.push(libc::SOL_SOCKET, libc::SCM_RIGHTS, bytes)
    }

    /// Bytes written so far: the `msg_controllen` to pass.
    pub(crate) fn len(&self) -> usize {
        self.used
    }

    /// The buffer start, for `msg_control` (NULL when nothing was written).
    pub(crate) fn control_ptr(&mut self) -> *mut libc::c_void {
        if self.used == 0 {
            core::ptr::null_mut()
        } else {
            self.buf.as_mut_ptr().cast()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(control: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        parse(control, |item| items.push(item));
        items
    }

    #[test]
    fn builder_output_parses_back_to_the_same_fds() {
        let mut buf = Buf::<256>::new();
        let mut b = Builder::new(&mut buf);
        b.push_fds(&[3, 4, 5]).unwrap();
        b.push_fds(&[7]).unwrap();
        let len = b.len();
        // SAFETY: the builder wrote the first `len` bytes.
        let items = collect(unsafe { buf.initialised(len) });
        assert_eq!(items, vec![Item::Fd(3), Item::Fd(4), Item::Fd(5), Item::Fd(7)]);
    }

    #[test]
    fn length_past_the_buffer_is_clamped_and_present_fds_still_reported() {
        let mut buf = Buf::<256>::new();
        let mut b = Builder::new(&mut buf);
        b.push_fds(&[10, 11, 12, 13]).unwrap();
        // Keep only the header and the first two fds, as a truncating kernel would.
        let cut = layout().header + 2 * 4;
        // SAFETY: the builder wrote more than `cut` bytes.
        let items = collect(unsafe { buf.initialised(cut) });
        assert_eq!(items, vec![Item::Fd(10), Item::Fd(11)]);
    }

    #[test]
    fn garbage_lengths_neither_panic_nor_loop() {
        for claimed in [0usize, 1, 15, usize::MAX, usize::MAX - 3, 1 << 40] {
            let mut bytes = [0u8; 64];
            // SAFETY: zeroed is a valid cmsghdr (plain integers, padding on musl).
            let mut hdr: libc::cmsghdr = unsafe { core::mem::zeroed() };
            hdr.cmsg_len = claimed as _;
            hdr.cmsg_level = libc::SOL_SOCKET;
            hdr.cmsg_type = libc::SCM_RIGHTS;
            // SAFETY: 64 bytes is room for one header; unaligned write is fine.
            unsafe { core::ptr::write_unaligned(bytes.as_mut_ptr().cast(), hdr) };
            let _ = collect(&bytes);
        }
    }

    #[test]
    fn space_and_len_match_libc_for_every_payload_size() {
        for n in 0..2048usize {
            // SAFETY: the CMSG_* helpers only do arithmetic.
            let (want_space, want_len) =
                unsafe { (libc::CMSG_SPACE(n as _) as usize, libc::CMSG_LEN(n as _) as usize) };
            assert_eq!(space(n), want_space, "CMSG_SPACE({n})");
            assert_eq!(len_of(n), want_len, "CMSG_LEN({n})");
        }
    }

    #[test]
    fn parser_steps_exactly_as_libc_cmsg_nxthdr() {
        let mut buf = Buf::<512>::new();
        let mut b = Builder::new(&mut buf);
        b.push_fds(&[1]).unwrap();
        b.push_fds(&[2, 3, 4]).unwrap();
        b.push(libc::SOL_SOCKET, 0x7777, &[9u8; 5]).unwrap();
        b.push_fds(&[5, 6]).unwrap();
        let len = b.len();
        let base = buf.as_mut_ptr();
        let mut offsets = Vec::new();
        // SAFETY: msghdr is plain data; the CMSG_* walk stays within the
        // `len` bytes the builder wrote, as libc's macros bound it.
        unsafe {
            let mut msg: libc::msghdr = core::mem::zeroed();
            msg.msg_control = base.cast();
            msg.msg_controllen = len as _;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                offsets.push(c as usize - base as usize);
                assert_eq!(libc::CMSG_DATA(c) as usize - c as usize, layout().header, "CMSG_DATA offset");
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let mut ours = Vec::new();
        let mut offset = 0;
        // SAFETY: the builder wrote the first `len` bytes.
        let bytes = unsafe { buf.initialised(len) };
        while offset + size_of::<libc::cmsghdr>() <= len {
            ours.push(offset);
            // SAFETY: in bounds (checked above); unaligned read.
            let hdr: libc::cmsghdr = unsafe { core::ptr::read_unaligned(bytes[offset..].as_ptr().cast()) };
            offset += align_up(hdr.cmsg_len as usize, layout().align);
        }
        assert_eq!(ours, offsets, "header offsets: ours vs CMSG_NXTHDR");
        assert_eq!(
            collect(bytes),
            vec![Item::Fd(1), Item::Fd(2), Item::Fd(3), Item::Fd(4), Item::Other, Item::Fd(5), Item::Fd(6)]
        );
    }

    #[test]
    fn buffer_too_small_for_a_message_is_refused() {
        let mut buf = Buf::<8>::new();
        let mut b = Builder::new(&mut buf);
        assert!(b.push_fds(&[1]).is_none());
        assert_eq!(b.len(), 0);
    }
}
