//! Compiles and runs c-tests/smoke.c, linked dynamically and statically.
mod support;
use support::{run_c, Link};

#[test]
fn c_smoke_dynamic() {
    run_c("smoke-dyn", &["smoke.c"], Link::Dynamic, &[]);
}

#[test]
fn c_smoke_static() {
    run_c("smoke-static", &["smoke.c"], Link::Static, &[]);
}
