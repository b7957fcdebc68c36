//! c-tests/interop_cred.c: credentials against plain peers that switch to
//! other identities, forgeries, the "enabled too late" trap, pidfds; also
//! under AddressSanitizer + UBSan.
mod support;
use support::{run_c, Link};

const SOURCES: &[&str] = &["interop_cred.c"];

#[test]
fn interop_cred_dynamic() {
    run_c("interop-cred-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn interop_cred_under_asan_and_ubsan() {
    support::run_c_under_sanitizers("interop-cred-asan", SOURCES, &[]);
}
