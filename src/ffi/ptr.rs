//! The only place raw pointers from C become references and slices. Each
//! conversion returns `EINVAL` on NULL (where a count says something should
//! be there) and on lengths no object can have.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

use super::err;
use crate::MAX_FDS;

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
