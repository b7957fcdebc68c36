//! c-tests/interop_fds.c: descriptor passing against plain sendmsg/recvmsg
//! peers, linked dynamically and statically, and once under
//! AddressSanitizer + UBSan and once under valgrind memcheck.
mod support;
use support::{run_c, Link};

const SOURCES: &[&str] = &["interop_fds.c"];

#[test]
fn interop_fds_dynamic() {
    run_c("interop-fds-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
fn interop_fds_static() {
    run_c("interop-fds-static", SOURCES, Link::Static, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn interop_fds_under_asan_and_ubsan() {
    support::run_c_under_sanitizers("interop-fds-asan", SOURCES, &[]);
}

#[test]
fn interop_fds_under_valgrind() {
    support::run_c_under_valgrind("interop-fds-vg", SOURCES, &[]);
}
