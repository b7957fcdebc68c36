//! Each man page's ERRORS list names exactly the errno values the header's
//! doc comment lists for that function, and the reverse: the two are written
//! by hand in two places, so this is what keeps them from drifting.
//!
//! Header side: the doc comment of each `fdcred_*` declaration in the
//! generated `fdcred.h`, from "with `errno`" on (up to "# Safety"), every
//! `` `Exxx` `` in it; "those of `fdcred_other`" adds that function's list.
//!
//! Man side: the ERRORS section of the page that documents the function
//! (its own file or the `.so` target). A paragraph starting
//! `.BR fdcred_x ():` holds the errors of that function alone; without such
//! paragraphs the section is shared by every function the NAME line names.
//! An error is the tag line after `.TP` (every `Exxx` on it); a description
//! starting "(fdcred_a() and fdcred_b() only)" limits it to those; "those of
//! fdcred_other" adds that function's list, as on the header side.
mod support;
use std::collections::{BTreeMap, BTreeSet};
use support::{manifest_dir, profile_dir};

type Errnos = BTreeSet<String>;

/// Every `E[A-Z0-9]+` word in `text` (optionally only inside backquotes).
fn errno_names(text: &str, backquoted: bool) -> Errnos {
    let mut found = Errnos::new();
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let start_ok = i == 0 || !is_word(bytes[i - 1]);
        if start_ok && bytes[i] == b'E' {
            let end = (i + 1..bytes.len()).find(|&j| !is_word(bytes[j])).unwrap_or(bytes.len());
            let word = &text[i..end];
            let shaped = word.len() >= 4 && word[1..].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            let quoted = !backquoted || (i > 0 && bytes[i - 1] == b'`' && bytes.get(end) == Some(&b'`'));
            if shaped && quoted {
                found.insert(word.to_owned());
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

/// The `fdcred_*` function a "those of" phrase in `text` points to.
fn inherited_from(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("those of")?;
    let rest = &text[at + "those of".len()..];
    let start = rest.find("fdcred_")?;
    let name: String = rest[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    Some(name)
}

/// Function name -> (its own errno list, the function it inherits from).
type Lists = BTreeMap<String, (Errnos, Option<String>)>;

/// Resolve "those of" (transitively) into full lists.
fn resolve(lists: &Lists) -> BTreeMap<String, Errnos> {
    fn full(name: &str, lists: &Lists, depth: usize) -> Errnos {
        let Some((own, parent)) = lists.get(name) else { return Errnos::new() };
        let mut all = own.clone();
        if let Some(p) = parent.as_deref().filter(|p| *p != name && depth < 8) {
            all.extend(full(p, lists, depth + 1));
        }
        all
    }
    lists.keys().map(|n| (n.clone(), full(n, lists, 0))).collect()
}

/// The header's list per function.
fn header_lists(header: &str) -> Lists {
    let mut lists = Lists::new();
    let mut comment: Vec<&str> = Vec::new();
    let mut in_comment = false;
    for line in header.lines() {
        let t = line.trim();
        if t.starts_with("/**") {
            in_comment = true;
            comment.clear();
            continue;
        }
        if in_comment {
            if t.starts_with("*/") {
                in_comment = false;
            } else {
                comment.push(t.trim_start_matches('*').trim());
            }
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // A declaration: `ret fdcred_name(args` right after its comment.
        let name =
            t.find('(').and_then(|open| t[..open].rsplit([' ', '*']).next()).filter(|n| n.starts_with("fdcred_"));
        if let Some(name) = name {
            let text = comment.join(" ");
            let errors = match text.find("with `errno`") {
                Some(at) => {
                    let part = &text[at..];
                    let part = &part[..part.find("# Safety").unwrap_or(part.len())];
                    let part = part.replace("`EINTR` is retried", "");
                    (errno_names(&part, true), inherited_from(&part))
                }
                None => (Errnos::new(), None),
            };
            lists.insert(name.to_owned(), errors);
        }
        comment.clear();
    }
    lists
}

/// Plain text of roff lines: macro names and quotes dropped, escapes undone.
fn roff_text(lines: &[&str]) -> String {
    let words: Vec<String> = lines
        .iter()
        .map(|l| {
            let l = if l.starts_with('.') { l.split_once(' ').map_or("", |(_, rest)| rest) } else { l };
            l.replace('"', "").replace("\\-", "-")
        })
        .collect();
    words.join(" ")
}

/// The functions a page documents: the names before `\-` on its NAME line.
fn page_functions(page: &str) -> Vec<String> {
    let mut lines = page.lines().skip_while(|l| !l.starts_with(".SH NAME")).skip(1);
    let name_line = lines.next().unwrap_or_default();
    let names = name_line.split("\\-").next().unwrap_or_default();
    names.split(',').map(str::trim).filter(|n| n.starts_with("fdcred_")).map(str::to_owned).collect()
}

/// The man pages' lists per function.
fn man_lists() -> Lists {
    let mut lists = Lists::new();
    let dir = manifest_dir().join("man/man3");
    let mut pages: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    for path in pages {
        let page = std::fs::read_to_string(&path).unwrap();
        if page.starts_with(".so ") {
            continue; // the target page carries the text
        }
        let functions = page_functions(&page);
        let Some(section) = page.split("\n.SH ERRORS\n").nth(1) else { continue };
        let section: Vec<&str> = section.lines().take_while(|l| !l.starts_with(".SH ")).collect();
        // Paragraphs per function (`.BR fdcred_x ():`), or one shared by all.
        let mut blocks: Vec<(Vec<String>, Vec<&str>)> = vec![(functions.clone(), Vec::new())];
        for line in &section {
            let marker = line
                .strip_prefix(".BR ")
                .and_then(|l| l.strip_suffix(" ():"))
                .filter(|n| n.starts_with("fdcred_") && !n.contains(' '));
            match marker {
                Some(name) => blocks.push((vec![name.to_owned()], Vec::new())),
                None => blocks.last_mut().unwrap().1.push(line),
            }
        }
        for (owners, lines) in blocks {
            if lines.iter().all(|l| l.trim().is_empty() || *l == ".PP") && owners == functions {
                continue; // the empty lead-in before the first per-function paragraph
            }
            for owner in &owners {
                lists.entry(owner.clone()).or_default();
            }
            // Split at .TP: the first chunk is the paragraph's lead-in.
            let mut chunks: Vec<Vec<&str>> = vec![Vec::new()];
            for line in lines {
                if line == ".TP" {
                    chunks.push(Vec::new());
                } else {
                    chunks.last_mut().unwrap().push(line);
                }
            }
            let lead_in = roff_text(&chunks[0]);
            if let Some(parent) = inherited_from(&lead_in) {
                for owner in &owners {
                    lists.get_mut(owner).unwrap().1 = Some(parent.clone());
                }
            }
            for chunk in &chunks[1..] {
                let Some((tag, description)) = chunk.split_first() else { continue };
                let names = errno_names(tag, false);
                let description = roff_text(description);
                let only: Vec<String> = match description.trim_start().strip_prefix('(') {
                    Some(q) if q.contains("only)") => {
                        let q = &q[..q.find("only)").unwrap()];
                        owners.iter().filter(|o| q.contains(o.as_str())).cloned().collect()
                    }
                    _ => owners.clone(),
                };
                for owner in only {
                    lists.get_mut(&owner).unwrap().0.extend(names.iter().cloned());
                }
            }
        }
    }
    lists
}

#[test]
fn the_parsers_read_both_forms_of_each_side() {
    let header = "/**\n * Does things.\n *\n * Returns 0, or -1 with\n * `errno`: `EBADF`, `ENOTSOCK`;\n \
                  * - `EINVAL`: bad.\n * `EINTR` is retried.\n *\n * # Safety\n * `EFAULT` is not listed.\n */\n\
                  int fdcred_a(int sock);\n\n/**\n * Returns -1 with `errno`: those of `fdcred_a`, and `EPERM`.\n */\n\
                  ssize_t fdcred_b(int sock,\n                 int x);\n";
    let h = resolve(&header_lists(header));
    assert_eq!(h["fdcred_a"], ["EBADF", "EINVAL", "ENOTSOCK"].map(String::from).into());
    assert_eq!(h["fdcred_b"], ["EBADF", "EINVAL", "ENOTSOCK", "EPERM"].map(String::from).into());
    assert_eq!(errno_names(".BR EPIPE \", \" ECONNRESET", false), ["ECONNRESET", "EPIPE"].map(String::from).into());
    assert_eq!(page_functions(".SH NAME\nfdcred_a, fdcred_b \\- x\n"), ["fdcred_a", "fdcred_b"]);
}

#[test]
fn every_man_page_errors_list_matches_the_header_errno_list_of_each_function() {
    let header = std::fs::read_to_string(profile_dir().join("include/fdcred.h")).unwrap();
    let header = resolve(&header_lists(&header));
    let man = resolve(&man_lists());
    assert!(header.len() >= 20 && man.len() >= 15, "parsed too little: header {header:?}, man {man:?}");
    let mut problems = Vec::new();
    for (function, want) in &header {
        let Some(have) = man.get(function) else {
            if !want.is_empty() {
                problems.push(format!("{function}: the header lists {want:?}; no man page ERRORS section names it"));
            }
            continue;
        };
        let only_header: Vec<_> = want.difference(have).collect();
        let only_man: Vec<_> = have.difference(want).collect();
        if !only_header.is_empty() || !only_man.is_empty() {
            problems
                .push(format!("{function}: only in the header: {only_header:?}; only in the man page: {only_man:?}"));
        }
    }
    for function in man.keys().filter(|f| !header.contains_key(*f)) {
        problems.push(format!("{function}: a man page lists errors for a function the header lacks"));
    }
    assert!(problems.is_empty(), "man page ERRORS vs header errno lists:\n{}", problems.join("\n"));
}
