//! c-tests/userns.c: credentials seen from a receiver in a new user (and
//! pid) namespace, against plain clients from the parent namespace; also
//! under AddressSanitizer + UBSan and under valgrind.
mod support;
use support::{run_c, Link};

const SOURCES: &[&str] = &["userns.c"];

#[test]
fn userns_dynamic() {
    run_c("userns-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn userns_under_asan_and_ubsan() {
    support::run_c_under_sanitizers("userns-asan", SOURCES, &[]);
}

#[test]
fn userns_under_valgrind() {
    support::run_c_under_valgrind("userns-vg", SOURCES, &[]);
}
