//! include/fdcred.h is generated on Linux but carries the values that differ
//! per OS (`FDCRED_MAX_FDS`: 127 on OpenBSD) behind the compiler's own OS
//! macros. Preprocess it as each OS's compiler would see it.
use std::path::PathBuf;
use std::process::Command;

/// What `FDCRED_MAX_FDS` expands to with only `os_macro` predefined.
fn max_fds_as_seen_with(os_macro: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/fdcred.h")).expect("include/fdcred.h");
    // Without the system includes: only the header's own conditionals matter.
    let mut src: String = header.lines().filter(|l| !l.starts_with("#include")).flat_map(|l| [l, "\n"]).collect();
    src.push_str("MAX_FDS_IS FDCRED_MAX_FDS\n");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("header-per-os");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("seen-with{os_macro}.h"));
    std::fs::write(&file, src).unwrap();
    let out = Command::new("cc")
        .args(["-E", "-P", "-undef", "-x", "c", &format!("-D{os_macro}")])
        .arg(&file)
        .output()
        .expect("running cc -E");
    assert!(out.status.success(), "cc -E with -D{os_macro} failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("MAX_FDS_IS ")).expect("the probe line survives preprocessing");
    line["MAX_FDS_IS ".len()..].trim().to_owned()
}

#[test]
fn header_max_fds_is_127_for_openbsd_and_253_for_every_other_os() {
    assert_eq!(max_fds_as_seen_with("__OpenBSD__"), "127", "FDCRED_MAX_FDS as OpenBSD sees the header");
    for os in ["__linux__", "__FreeBSD__", "__NetBSD__", "__DragonFly__", "__APPLE__", "__illumos__", "__sun"] {
        assert_eq!(max_fds_as_seen_with(os), "253", "FDCRED_MAX_FDS as {os} sees the header");
    }
}

#[test]
fn header_max_fds_on_this_build_matches_the_library() {
    let os = if cfg!(target_os = "openbsd") { "__OpenBSD__" } else { "__linux__" };
    assert_eq!(max_fds_as_seen_with(os), fdcred::MAX_FDS.to_string());
}
