//! The only place raw pointers from C become references and slices. Each
//! conversion returns `EINVAL` on NULL (where a count says something should
//! be there) and on lengths no object can have.

use core::ffi::c_void;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{BorrowedFd, RawFd};

use super::err;
use super::fds::FDCRED_MAX_FDS as MAX_FDS;

/// A socket or descriptor argument: negative values are `EBADF`.
pub(crate) fn fd<'a>(raw: libc::c_int) -> io::Result<BorrowedFd<'a>> {
    if raw < 0 {
        return Err(err(libc::EBADF));
    }
    // SAFETY: `raw` is not -1. The caller keeps it open for the call; a
    // closed one only makes the syscall fail with EBADF.
    Ok(unsafe { BorrowedFd::borrow_raw(raw) })
}

fn check_len<T>(len: usize) -> io::Result<()> {
    if len > isize::MAX as usize / core::mem::size_of::<T>().max(1) {
        return Err(err(libc::EINVAL));
    }
    Ok(())
}

/// `len` elements at `ptr`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// When non-NULL, `ptr` must be valid for reading `len` elements for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> io::Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(err(libc::EINVAL));
    }
    check_len::<T>(len)?;
    // SAFETY: non-NULL, length within isize, validity promised by the caller.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Mutable counterpart of [`slice`].
///
/// # Safety
/// When non-NULL, `ptr` must be valid for writing `len` elements for `'a`,
/// with no other reference to them.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> io::Result<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(err(libc::EINVAL));
    }
    check_len::<T>(len)?;
    // SAFETY: non-NULL, length within isize, validity promised by the caller.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// `len` bytes at `ptr` (a C `const void *` buffer), as for [`slice`].
///
/// # Safety
/// As for [`slice`].
pub(crate) unsafe fn bytes<'a>(ptr: *const c_void, len: usize) -> io::Result<&'a [u8]> {
    // SAFETY: forwarded from the caller.
    unsafe { slice(ptr.cast::<u8>(), len) }
}

/// `len` writable bytes at `ptr` (a C `void *` buffer), as for [`slice_mut`].
///
/// # Safety
/// As for [`slice_mut`].
pub(crate) unsafe fn bytes_mut<'a>(ptr: *mut c_void, len: usize) -> io::Result<&'a mut [u8]> {
    // SAFETY: forwarded from the caller.
    unsafe { slice_mut(ptr.cast::<u8>(), len) }
}

/// `len` writable bytes at `ptr` (a C `char *` buffer), as for [`slice_mut`].
///
/// # Safety
/// As for [`slice_mut`].
pub(crate) unsafe fn chars_mut<'a>(ptr: *mut libc::c_char, len: usize) -> io::Result<&'a mut [u8]> {
    // SAFETY: forwarded from the caller.
    unsafe { slice_mut(ptr.cast::<u8>(), len) }
}

/// An address argument (`struct sockaddr *` and its length): `None` for
/// NULL with length 0, otherwise as for [`slice`].
///
/// # Safety
/// As for [`slice`].
pub(crate) unsafe fn addr<'a>(ptr: *const libc::sockaddr, len: libc::socklen_t) -> io::Result<Option<&'a [u8]>> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { slice(ptr.cast::<u8>(), len as usize) }.map(Some)
}

/// A writable address buffer and its capacity: `None` for NULL with
/// capacity 0, otherwise as for [`slice_mut`].
///
/// # Safety
/// As for [`slice_mut`].
pub(crate) unsafe fn addr_mut<'a>(ptr: *mut libc::sockaddr, len: libc::socklen_t) -> io::Result<Option<&'a mut [u8]>> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { slice_mut(ptr.cast::<u8>(), len as usize) }.map(Some)
}

/// An optional input object: NULL is `None`.
///
/// # Safety
/// When non-NULL, `ptr` must point to a valid `T` for `'a`.
pub(crate) unsafe fn optional<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: validity promised by the caller; NULL becomes None.
    unsafe { ptr.as_ref() }
}

/// An optional output object: NULL is `None`.
///
/// # Safety
/// When non-NULL, `ptr` must point to a writable `T` for `'a`, not aliased.
pub(crate) unsafe fn optional_mut<'a, T>(ptr: *mut T) -> Option<&'a mut T> {
    // SAFETY: validity promised by the caller; NULL becomes None.
    unsafe { ptr.as_mut() }
}

/// A required input object.
///
/// # Safety
/// When non-NULL, `ptr` must point to a valid `T` for `'a`.
pub(crate) unsafe fn input<'a, T>(ptr: *const T) -> io::Result<&'a T> {
    // SAFETY: validity promised by the caller; NULL becomes None.
    unsafe { ptr.as_ref() }.ok_or_else(|| err(libc::EINVAL))
}

/// A required in/out object.
///
/// # Safety
/// When non-NULL, `ptr` must point to a valid `T` for `'a`, not aliased.
pub(crate) unsafe fn inout<'a, T>(ptr: *mut T) -> io::Result<&'a mut T> {
    // SAFETY: validity promised by the caller; NULL becomes None.
    unsafe { ptr.as_mut() }.ok_or_else(|| err(libc::EINVAL))
}

/// An array of descriptors to send: at most `MAX_FDS` (`EINVAL`), none
/// negative (`EBADF`).
///
/// # Safety
/// As for [`slice`].
pub(crate) unsafe fn fds<'a>(ptr: *const RawFd, len: usize) -> io::Result<&'a [BorrowedFd<'a>]> {
    if len > MAX_FDS {
        return Err(err(libc::EINVAL));
    }
    // SAFETY: forwarded from the caller.
    let raw = unsafe { slice(ptr, len) }?;
    if raw.iter().any(|&fd| fd < 0) {
        return Err(err(libc::EBADF));
    }
    // SAFETY: BorrowedFd is repr(transparent) over RawFd and none is -1;
    // the caller keeps them open for the call (a closed one gives EBADF).
    Ok(unsafe { core::slice::from_raw_parts(raw.as_ptr().cast(), raw.len()) })
}

/// A C string.
///
/// # Safety
/// When non-NULL, `ptr` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const libc::c_char) -> io::Result<&'a core::ffi::CStr> {
    if ptr.is_null() {
        return Err(err(libc::EINVAL));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller promises.
    Ok(unsafe { core::ffi::CStr::from_ptr(ptr) })
}

/// Check an iovec array: NULL only with `len == 0` (as for [`slice`]), no
/// entry with a NULL base and a non-zero length, and lengths that add up to
/// at most `SSIZE_MAX` (what the kernel accepts); each fails with `EINVAL`.
/// Returns the entries, each now a valid description of a byte slice.
///
/// # Safety
/// As for [`slice`]; and each entry with a non-NULL base must describe memory
/// valid for its length for `'a`.
unsafe fn iovecs<'a>(ptr: *const libc::iovec, len: usize) -> io::Result<&'a [libc::iovec]> {
    // SAFETY: forwarded from the caller.
    let iov = unsafe { slice(ptr, len) }?;
    let mut total = 0usize;
    for v in iov {
        if v.iov_base.is_null() && v.iov_len != 0 {
            return Err(err(libc::EINVAL));
        }
        total = total.checked_add(v.iov_len).filter(|&t| t <= isize::MAX as usize).ok_or_else(|| err(libc::EINVAL))?;
    }
    Ok(iov)
}

/// The data buffers of a send: [`iovecs`], viewed as `IoSlice`s.
///
/// # Safety
/// As for [`iovecs`], for reading.
pub(crate) unsafe fn io_slices<'a>(ptr: *const libc::iovec, len: usize) -> io::Result<&'a [IoSlice<'a>]> {
    // SAFETY: forwarded from the caller.
    let iov = unsafe { iovecs(ptr, len) }?;
    // SAFETY: IoSlice is ABI-compatible with iovec on Unix, and every entry
    // was checked above to describe a valid slice.
    Ok(unsafe { core::slice::from_raw_parts(iov.as_ptr().cast::<IoSlice<'a>>(), iov.len()) })
}

/// The data buffers of a receive: [`iovecs`], viewed as `IoSliceMut`s.
///
/// # Safety
/// As for [`iovecs`], for writing, with no other reference to the array or
/// the buffers.
pub(crate) unsafe fn io_slices_mut<'a>(ptr: *mut libc::iovec, len: usize) -> io::Result<&'a mut [IoSliceMut<'a>]> {
    // SAFETY: forwarded from the caller.
    let iov = unsafe { iovecs(ptr, len) }?;
    // SAFETY: IoSliceMut is ABI-compatible with iovec on Unix; every entry
    // was checked above; the caller gives us the array exclusively.
    Ok(unsafe { core::slice::from_raw_parts_mut(iov.as_ptr().cast_mut().cast::<IoSliceMut<'a>>(), iov.len()) })
}
