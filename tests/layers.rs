//! The module stack of docs/architecture.md ("Module order") holds: every
//! `crate::` path in `src/` names a module at or below the one it is written
//! in, never one above it, nor an item of `lib.rs` itself (the top); and
//! `src/lib.rs` declares exactly those modules, in that order.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module order as docs/architecture.md states it: the first backquoted
/// name of each numbered line (`1. `types`: ...`) of its "Module order"
/// section (up to the next heading).
fn declared_order(doc: &str) -> Vec<String> {
    let section =
        doc.split("\n## Module order\n").nth(1).expect("docs/architecture.md has a \"## Module order\" section");
    let mut order = Vec::new();
    for line in section.lines().take_while(|l| !l.starts_with('#')) {
        let text = line.trim_start();
        let Some((number, rest)) = text.split_once(". ") else { continue };
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let name = rest.split('`').nth(1).unwrap_or_else(|| panic!("no `module` on the order line {line:?}"));
        order.push(name.to_owned());
    }
    order
}

/// The modules `src/lib.rs` declares (`mod x;`, `pub mod x;`), in order.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// `source` with comments blanked out (newlines kept, so offsets keep their
/// line numbers). Good enough for this crate's sources: no `//` or `/*`
/// inside string literals.
fn code_only(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('\n').unwrap_or(after.len());
            out.push_str(&" ".repeat(end + 2));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("/*") {
            let end = after.find("*/").map_or(after.len(), |e| e + 2);
            out.extend(after[..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
            out.push_str("  ");
            rest = &after[end..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Every `crate::` path in `code`: (line number, first segment after
/// `crate::`), one per name in a `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    for (at, _) in code.match_indices("crate::") {
        if code[..at].chars().next_back().is_some_and(|c| is_ident(c) || c == '$') {
            continue; // `$crate::` or part of a longer identifier
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                        if !name.is_empty() {
                            found.push((line, name));
                        }
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            found.push((line, name));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The upward uses in one file of module `module`, as messages.
fn violations(order: &[String], module: &str, file: &str, source: &str) -> Vec<String> {
    let rank = |name: &str| order.iter().position(|m| m == name);
    let own = rank(module).unwrap_or_else(|| panic!("{file}: module {module} is not in the declared order"));
    let mut found = Vec::new();
    for (line, target) in crate_paths(&code_only(source)) {
        if target == "self" || target == "super" {
            continue;
        }
        match rank(&target) {
            Some(r) if r <= own => {}
            Some(_) => found.push(format!("{file}:{line}: {module} uses crate::{target}, which is above it")),
            None => found.push(format!(
                "{file}:{line}: {module} uses crate::{target}, an item of src/lib.rs (the top); \
                 use the module that defines it"
            )),
        }
    }
    found
}

#[test]
fn no_module_uses_one_above_it_in_the_order_docs_architecture_md_states() {
    let lib = fs::read_to_string(src_dir().join("lib.rs")).unwrap();
    let doc = fs::read_to_string(src_dir().join("../docs/architecture.md")).unwrap();
    let order = declared_order(&doc);
    let listed: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(listed.len(), order.len(), "a module is listed twice in the order: {order:?}");
    assert_eq!(
        declared_modules(&lib),
        order,
        "src/lib.rs must declare exactly the modules docs/architecture.md lists, in its order"
    );

    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in files {
        let rel = path.strip_prefix(src_dir()).unwrap();
        if rel == Path::new("lib.rs") {
            continue;
        }
        let first = rel.components().next().unwrap().as_os_str().to_str().unwrap();
        let module = first.strip_suffix(".rs").unwrap_or(first);
        let source = fs::read_to_string(&path).unwrap();
        problems.extend(violations(&order, module, &format!("src/{}", rel.display()), &source));
        checked += 1;
    }
    assert!(checked >= order.len(), "checked only {checked} files");
    assert!(problems.is_empty(), "upward dependencies:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_upward_uses_in_groups_paths_and_root_items_but_not_comments() {
    let order: Vec<String> = ["types", "sys", "msg", "ffi"].iter().map(|s| s.to_string()).collect();
    let source = "use crate::types::fdcred_cred;\n\
                  use crate::{\n    msg::send_msg,\n    types,\n};\n\
                  // use crate::ffi::x;\n\
                  /// [`x`](crate::ffi::x)\n\
                  fn f() { let _ = crate::MAX_FDS; let _ = crate::sys::y(); }\n";
    let found = violations(&order, "sys", "x.rs", source);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("x.rs:2: sys uses crate::msg"), "{found:#?}");
    assert!(found[1].starts_with("x.rs:8: sys uses crate::MAX_FDS"), "{found:#?}");
    assert!(violations(&order, "ffi", "x.rs", source).len() == 1, "ffi may use everything but lib.rs items");
}
