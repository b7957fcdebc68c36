//! Build script: defines the cfg aliases `src/sys/` selects its backend
//! with. It writes no files, not even into `OUT_DIR`.
//!
//! The C library (cdylib with its soname, staticlib) and the files a C
//! program needs besides it (the header, an uninstalled fdcred.pc, the
//! soname link) are built and staged into `target/<profile>/` by
//! `scripts/build-c`, not by every `cargo build`; the header is generated from the sources by `.ci/header-check`
//! (cbindgen, in the separate crate `tools/gen-header`), so neither a Rust
//! dependent nor a plain `cargo build` compiles cbindgen.

use std::env;

fn main() {
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap();
    println!("cargo:rerun-if-changed=build.rs");
    cfg_aliases(&target_os);
}

/// The cfg names `src/sys/` selects its backends with, defined here once:
///
/// | cfg | target_os |
/// |---|---|
/// | `linux_like` | linux, android |
/// | `freebsdlike` | freebsd, dragonfly |
/// | `apple` | macos, ios, tvos, watchos, visionos |
/// | `solarish` | illumos, solaris |
/// | `bsd` | freebsdlike, netbsd, openbsd, apple |
///
/// `fdcred_canary` (set when `FDCRED_CANARY=1` is in the environment) compiles
/// one deliberate type error into the selected backend; `scripts/cross-check`
/// uses it to prove that each target really compiles its own backend file.
fn cfg_aliases(target_os: &str) {
    println!("cargo:rustc-check-cfg=cfg(linux_like, freebsdlike, apple, solarish, bsd, fdcred_canary)");
    println!("cargo:rerun-if-env-changed=FDCRED_CANARY");
    let linux_like = matches!(target_os, "linux" | "android");
    let freebsdlike = matches!(target_os, "freebsd" | "dragonfly");
    let apple = matches!(target_os, "macos" | "ios" | "tvos" | "watchos" | "visionos");
    let solarish = matches!(target_os, "illumos" | "solaris");
    let bsd = freebsdlike || apple || matches!(target_os, "netbsd" | "openbsd");
    for (name, on) in [
        ("linux_like", linux_like),
        ("freebsdlike", freebsdlike),
        ("apple", apple),
        ("solarish", solarish),
        ("bsd", bsd),
    ] {
        if on {
            println!("cargo:rustc-cfg={name}");
        }
    }
    if env::var_os("FDCRED_CANARY").is_some_and(|v| v == "1") {
        println!("cargo:rustc-cfg=fdcred_canary");
    }
}
