//! Build script: generates the C header with cbindgen, sets the ELF soname,
//! and leaves an uninstalled pkg-config file beside the built libraries, so
//! that `target/<profile>/` holds everything a C program needs:
//!
//! ```text
//! target/<profile>/libfdcred.so      (soname libfdcred.so.MAJOR)
//! target/<profile>/libfdcred.so.MAJOR -> libfdcred.so
//! target/<profile>/libfdcred.a
//! target/<profile>/include/fdcred.h
//! target/<profile>/pkgconfig/fdcred.pc
//! ```
//!
//! It never writes into `src/` or `include/`; `.ci/header-check` compares the
//! generated header with the committed one.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let major = env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap();

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=pkgconfig/fdcred.pc.in");
    println!("cargo:rerun-if-changed=build.rs");
    cfg_aliases(&target_os);

    // <target>/<profile>/build/fdcred-<hash>/out -> <target>/<profile>
    let profile_dir = out_dir.ancestors().nth(3).expect("OUT_DIR has the usual layout").to_path_buf();

    let header = generate_header(&manifest_dir);
    fs::write(out_dir.join("fdcred.h"), &header).unwrap();
    let include_dir = profile_dir.join("include");
    fs::create_dir_all(&include_dir).unwrap();
    write_if_changed(&include_dir.join("fdcred.h"), &header);

    let soname = format!("libfdcred.so.{major}");
    if matches!(
        target_os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos" | "solaris"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        // The loader looks for the soname; give it one in the build tree.
        let link = profile_dir.join(&soname);
        if fs::symlink_metadata(&link).is_err() {
            #[cfg(unix)]
            std::os::unix::fs::symlink("libfdcred.so", &link).unwrap();
        }
    }

    let template = fs::read_to_string(manifest_dir.join("pkgconfig/fdcred.pc.in")).unwrap();
    let pc = template
        .replace("@PREFIX@", &profile_dir.display().to_string())
        .replace("@LIBDIR@", "${prefix}")
        .replace("@INCLUDEDIR@", "${prefix}/include")
        .replace("@VERSION@", &version)
        .replace("@LIBS_PRIVATE@", native_static_libs(&target_os));
    let pc_dir = profile_dir.join("pkgconfig");
    fs::create_dir_all(&pc_dir).unwrap();
    write_if_changed(&pc_dir.join("fdcred.pc"), &pc);
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

fn generate_header(manifest_dir: &Path) -> String {
    let config = cbindgen::Config::from_file(manifest_dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(manifest_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut bytes = Vec::new();
    bindings.write(&mut bytes);
    String::from_utf8(bytes).unwrap()
}

/// What a static link of a Rust staticlib needs besides it (the output of
/// `rustc --print native-static-libs` for the target).
fn native_static_libs(target_os: &str) -> &'static str {
    match target_os {
        // Without -lgcc_s: gcc links the unwinder itself (libgcc_s as needed, or
        // libgcc_eh with -static), and naming it breaks a fully static link.
        "linux" => "-lutil -lrt -lpthread -lm -ldl -lc",
        "macos" | "ios" => "-lSystem -lc -lm",
        "freebsd" | "dragonfly" => "-lexecinfo -lpthread -lgcc_s -lc -lm -lrt -lutil",
        "netbsd" => "-lexecinfo -lpthread -lgcc_s -lc -lm -lrt -lutil",
        "openbsd" => "-lexecinfo -lpthread -lc++abi -lc -lm",
        "illumos" | "solaris" => "-lsocket -lposix4 -lpthread -lresolv -lgcc_s -lc -lm",
        _ => "",
    }
}

fn write_if_changed(path: &Path, contents: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(contents) {
        fs::write(path, contents).unwrap();
    }
}
