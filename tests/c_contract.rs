//! c-tests/contract.c: the documented contract against plain peers
//! (sendto addresses, kernel errnos, concurrent senders); also under
//! AddressSanitizer + UBSan and under valgrind.
mod support;
use support::{run_c, Link};

const SOURCES: &[&str] = &["contract.c"];

#[test]
fn contract_dynamic() {
    run_c("contract-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn contract_under_asan_and_ubsan() {
    support::run_c_under_sanitizers("contract-asan", SOURCES, &[]);
}

#[test]
fn contract_under_valgrind() {
    support::run_c_under_valgrind("contract-vg", SOURCES, &[]);
}
