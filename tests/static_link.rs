//! `cc -static` with `pkg-config --static` against the release library (what
//! `make install` installs) links without a single warning: the library does
//! not drag in Rust std code that needs glibc's shared NSS/DNS modules at
//! run time (getpwuid_r from std::env::home_dir, getaddrinfo from std::net),
//! which glibc's static libc warns about. scripts/build-c builds the release
//! staticlib with LTO for that; this test keeps it so.
mod support;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{manifest_dir, profile_dir, run_ok, scratch};

/// target/release, built and staged by scripts/build-c --release.
fn release_dir() -> PathBuf {
    let target_dir = profile_dir().parent().unwrap().to_path_buf();
    let mut cmd = Command::new(manifest_dir().join("scripts/build-c"));
    cmd.args(["--release", "--quiet"]).env("CARGO_TARGET_DIR", &target_dir);
    let status = cmd.status().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(status.success(), "step build the release library: {cmd:?}");
    target_dir.join("release")
}

fn pkg_config(release: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("fdcred")
        .env("PKG_CONFIG_PATH", release.join("pkgconfig"))
        .output()
        .expect("pkg-config is installed (scripts/setup)");
    assert!(out.status.success(), "step pkg-config {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split_whitespace().map(str::to_owned).collect()
}

#[test]
fn static_link_with_pkg_config_is_warning_free_and_runs() {
    if cfg!(target_env = "musl") {
        println!(
            "SKIP: glibc's static-link warnings are a glibc matter; the musl run links statically in build_outputs"
        );
        return;
    }
    let release = release_dir();
    let exe = scratch("static-link").join("pc-static-release");
    // The library is one LTO object: any fdcred_* reference pulls all of it
    // in, so one function is as good a probe as every function.
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-static"]);
    cmd.arg(manifest_dir().join("c-tests/pkgconfig_user.c")).arg("-o").arg(&exe);
    cmd.args(pkg_config(&release, &["--static", "--cflags", "--libs"]));
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "step static link: {cmd:?}\n{stderr}");
    assert!(stderr.trim().is_empty(), "the static link printed warnings:\n{stderr}");
    let out = run_ok(Command::new(&exe));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("ok {}", env!("CARGO_PKG_VERSION")));
}
