//! c-tests/badinput.c: every exported function with every kind of bad
//! argument (wrong descriptors, NULL with zero and non-zero counts, counts
//! over the limit, SIZE_MAX), each row checked for its documented errno, no
//! crash and no fd opened or lost; plain, under AddressSanitizer + UBSan, and
//! under valgrind memcheck (zero errors, zero leaks).
mod support;
use support::{run_c, Link};

const SOURCES: &[&str] = &["badinput.c"];

#[test]
fn bad_input_gives_documented_errno_dynamic() {
    run_c("badinput-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn bad_input_gives_documented_errno_under_asan_and_ubsan() {
    support::run_c_under_sanitizers("badinput-asan", SOURCES, &[]);
}

#[test]
fn bad_input_gives_documented_errno_under_valgrind() {
    support::run_c_under_valgrind("badinput-vg", SOURCES, &[]);
}

/// A function added to the header without a row here would escape the bad
/// input table: fail, naming it.
#[test]
fn every_exported_function_has_a_bad_input_row() {
    let header = std::fs::read_to_string(support::manifest_dir().join("include/fdcred.h")).unwrap();
    let table = std::fs::read_to_string(support::manifest_dir().join("c-tests/badinput.c")).unwrap();
    let mut functions: Vec<&str> = header
        .match_indices("fdcred_")
        .filter_map(|(start, _)| {
            let name_len = header[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            let name = &header[start..start + name_len];
            header[start + name_len..].starts_with('(').then_some(name)
        })
        .collect();
    functions.sort_unstable();
    functions.dedup();
    assert!(functions.len() >= 19, "found only {functions:?} in include/fdcred.h");
    let missing: Vec<&&str> = functions.iter().filter(|f| !table.contains(&format!("{f}("))).collect();
    assert!(missing.is_empty(), "exported functions with no row in c-tests/badinput.c: {missing:?}");
}
