//! `fdcred.h` stands on its own: it compiles first in a translation unit as
//! strict C99 and as C++11 with every warning an error, its functions have C
//! linkage from C++, it includes only standard headers, each for a type it
//! uses, and every type it uses comes from one of them or is its own.
mod support;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use support::{profile_dir, run_ok, scratch};

/// The standard headers the header may include, and the types each provides
/// that it uses.
const STANDARD: &[(&str, &[&str])] = &[
    ("stddef.h", &["size_t"]),
    ("stdint.h", &["uint32_t"]),
    ("sys/types.h", &["ssize_t", "pid_t", "uid_t", "gid_t"]),
    ("sys/socket.h", &["socklen_t", "struct sockaddr"]),
    ("sys/uio.h", &["struct iovec"]),
];

fn header() -> PathBuf {
    profile_dir().join("include/fdcred.h")
}

/// The header with comments and preprocessor lines removed.
fn declarations() -> String {
    let text = std::fs::read_to_string(header()).unwrap();
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = &rest[start + rest[start..].find("*/").expect("closed comment") + 2..];
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap())
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn compile(compiler: &str, flags: &[&str], source: &str, file: &str, link: bool) -> PathBuf {
    let dir = scratch("header-hygiene");
    let src = dir.join(file);
    std::fs::write(&src, source).unwrap();
    let exe = dir.join(format!("{file}.out"));
    let mut cmd = Command::new(compiler);
    cmd.args(flags).arg("-I").arg(profile_dir().join("include")).arg(&src).arg("-o").arg(&exe);
    if link {
        cmd.arg(format!("-L{}", profile_dir().display()));
        cmd.arg(format!("-Wl,-rpath,{}", profile_dir().display()));
        cmd.arg("-lfdcred");
    } else {
        cmd.arg("-c");
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("starting {compiler} (scripts/setup installs it): {e}"));
    assert!(
        out.status.success(),
        "fdcred.h does not compile on its own with {compiler} {flags:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Include the header first (nothing before it), twice (the guard), and use
/// every type it declares.
const USER: &str = r#"#include <fdcred.h>
#include <fdcred.h>
int main(void) {
    struct fdcred_cred cred = {0};
    struct fdcred_msg msg = {0};
    msg.cred = &cred;
    return fdcred_version() == 0 || msg.cred->known != 0 || FDCRED_MAX_FDS < 1;
}
"#;

#[test]
fn header_compiles_alone_as_strict_c99() {
    let flags = [
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-pedantic",
        "-Werror",
        "-Wstrict-prototypes",
        "-Wmissing-prototypes",
        "-Wundef",
        "-Wshadow",
    ];
    compile("cc", &flags, USER, "alone.c", false);
}

#[test]
fn header_compiles_alone_as_cxx11_with_c_linkage() {
    let flags = ["-std=c++11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-Wundef", "-Wshadow", "-Wold-style-cast"];
    let source = USER.replace("{0}", "{}");
    if cfg!(target_env = "musl") {
        // The host g++ links against glibc, not the musl build of the library.
        println!("note: musl build: compiling only; the glibc run links and runs it");
        compile("g++", &flags, &source, "alone.cc", false);
        return;
    }
    // Linking proves the extern "C" guards: without them the C++ names are mangled.
    let exe = compile("g++", &flags, &source, "alone.cc", true);
    run_ok(Command::new(exe));
}

#[test]
fn header_includes_only_standard_headers_it_needs_and_uses_no_other_types() {
    let text = std::fs::read_to_string(header()).unwrap();
    let includes: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#include "))
        .map(|i| i.trim().trim_matches(|c| c == '<' || c == '>' || c == '"'))
        .collect();
    let decls = declarations();
    let words: BTreeSet<&str> = decls.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').collect();
    let uses = |ty: &str| match ty.strip_prefix("struct ") {
        Some(tag) => decls.contains(&format!("struct {tag} ")) || decls.contains(&format!("struct {tag}*")),
        None => words.contains(ty),
    };
    for inc in &includes {
        let Some((_, types)) = STANDARD.iter().find(|(h, _)| h == inc) else {
            panic!("fdcred.h includes <{inc}>, which is not among the standard headers it needs: {STANDARD:?}");
        };
        assert!(types.iter().any(|t| uses(t)), "fdcred.h includes <{inc}> but uses none of {types:?} from it");
    }
    // Every type name is C's own, one of the header's structs, or comes from
    // a standard header it includes.
    let own: BTreeSet<String> = decls
        .lines()
        .filter_map(|l| l.strip_prefix("struct "))
        .filter_map(|l| l.strip_suffix(" {"))
        .map(|tag| format!("struct {tag}"))
        .collect();
    let mut missing = Vec::new();
    let mut tokens = decls.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|w| !w.is_empty()).peekable();
    while let Some(word) = tokens.next() {
        let ty = if word == "struct" {
            match tokens.peek() {
                Some(tag) => format!("struct {tag}"),
                None => continue,
            }
        } else if word.ends_with("_t") {
            word.to_owned()
        } else {
            continue;
        };
        let from_standard = STANDARD.iter().find(|(_, types)| types.contains(&ty.as_str())).map(|(h, _)| *h);
        let ok = own.contains(&ty) || from_standard.is_some_and(|h| includes.contains(&h));
        if !ok && !missing.contains(&ty) {
            missing.push(ty);
        }
    }
    assert!(missing.is_empty(), "fdcred.h uses types no included standard header provides: {missing:?}");
}
