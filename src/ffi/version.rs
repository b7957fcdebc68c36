//! Version of the library, in the header and at run time.

use core::ffi::c_char;

/// Major version: changes when the ABI breaks (the soname is
/// `libfdcred.so.FDCRED_VERSION_MAJOR`).
pub const FDCRED_VERSION_MAJOR: u32 = 0;
/// Minor version: adds functions, constants or `known` bits, never removes.
pub const FDCRED_VERSION_MINOR: u32 = 1;
/// Patch version: fixes only.
pub const FDCRED_VERSION_PATCH: u32 = 0;

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the library in use, as "MAJOR.MINOR.PATCH".
///
/// Compare it with the `FDCRED_VERSION_*` macros to find the library that a
/// program runs against differs from the header it was built with.
///
/// Returns a static NUL-terminated string; never NULL, never fails, never
/// touches `errno`. Thread-safe.
#[no_mangle]
pub extern "C" fn fdcred_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_macros_match_cargo_toml() {
        assert_eq!(FDCRED_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(FDCRED_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(FDCRED_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
        // SAFETY: fdcred_version returns a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(fdcred_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
