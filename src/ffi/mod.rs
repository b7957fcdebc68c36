//! The C ABI: every `fdcred_*` function and type that `include/fdcred.h`
//! declares. This layer checks arguments, converts pointers (only in
//! `ptr.rs`), sets `errno`, and stops panics; the work is done by the safe core.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::sys;

pub mod cred;
pub mod fds;
pub mod flags;
mod ptr;
pub mod version;

/// The value a C function returns on failure.
pub(crate) trait Sentinel {
    const FAILURE: Self;
}

impl Sentinel for libc::c_int {
    const FAILURE: Self = -1;
}

impl Sentinel for libc::ssize_t {
    const FAILURE: Self = -1;
}

/// Run a C entry point's body: `Ok` is returned as is; `Err` sets `errno`
/// and returns the sentinel; a panic (a bug in this library) is stopped here
/// and reported as `EIO`, never unwound into C.
#[inline(always)]
pub(crate) fn boundary<T: Sentinel>(body: impl FnOnce() -> io::Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            sys::set_errno(err.raw_os_error().unwrap_or(libc::EIO));
            T::FAILURE
        }
        Err(_panic) => {
            sys::set_errno(libc::EIO);
            T::FAILURE
        }
    }
}

pub(crate) fn err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}
