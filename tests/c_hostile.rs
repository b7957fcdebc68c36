//! c-tests/hostile.c: hostile plain peers (fd floods, kernel truncation,
//! surplus fds, forged credentials, peers dying at every point) against the
//! library's receive calls; plain, and under AddressSanitizer + UBSan.
//!
//! Runs the short form (FDCRED_STRESS_SCALE=10, percent of the full sizes)
//! unless FDCRED_STRESS_SCALE is set; `scripts/stress` runs the full sizes.
mod support;
use support::{compile_c, run_ok, Link};

const SOURCES: &[&str] = &["hostile.c"];

fn scale() -> String {
    std::env::var("FDCRED_STRESS_SCALE").unwrap_or_else(|_| "10".into())
}

#[test]
fn hostile_peers_never_leak_crash_hang_or_fake_an_identity() {
    let exe = compile_c("hostile-dyn", SOURCES, Link::Dynamic, &[]);
    let mut cmd = support::c_test_command(exe);
    cmd.env("FDCRED_STRESS_SCALE", scale());
    run_ok(cmd);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn hostile_peers_under_asan_and_ubsan() {
    // The sanitized run is about memory errors, not volume: 1% of the sizes.
    support::run_c_under_sanitizers("hostile-asan", SOURCES, &[("FDCRED_STRESS_SCALE", "1")]);
}
