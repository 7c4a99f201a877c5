//! The layers import downwards only: network → commands → engine → base.
//!
//! Every `.rs` file under `src/engine` may name, of the crate's root, only the engine, the
//! base and their re-exports (`crate::storage`, `crate::util` ...); every file under
//! `src/base` only the base. The check reads the sources: `crate::x` paths,
//! `use crate::{x, ...}` groups (over several lines, nested), macros the command layer
//! exports (`crate::container!` or bare `container!`), and `super::` chains that climb out of
//! the layer's folder. A failure names the file, the line and what it reaches for.

use std::fs;
use std::path::{Path, PathBuf};

/// Root items an engine file may name: the engine, the base, and `lib.rs`'s re-exports of them.
const ENGINE_MAY_NAME: &[&str] =
    &["engine", "base", "storage", "tenants", "tags", "keyclass", "util", "glob", "logging"];
/// Root items a base file may name.
const BASE_MAY_NAME: &[&str] = &["base", "util", "glob", "logging"];

/// One upward reference found in a source file.
#[derive(Debug, PartialEq)]
struct Violation {
    line: usize,
    what: String,
}

/// Replaces comments, string and character literals by spaces, keeping line breaks, so that
/// only code is scanned and line numbers stay right.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if b[i] == b'r'
            && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#"))
            && raw_string_may_start(b, i)
        {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if j < b.len() && b[j] == b'"' {
                let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                let end = find(b, j + 1, &close).map_or(b.len(), |e| e + close.len());
                for &c in &b[i..end] {
                    blank(&mut out, c);
                }
                i = end;
            } else {
                out.push(b[i]);
                i += 1;
            }
        } else if b[i] == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                blank(&mut out, b[i]);
                i += 1;
            }
            if i < b.len() {
                out.push(b' ');
                i += 1;
            }
        } else if b[i] == b'\'' && char_literal_len(&b[i..]).is_some() {
            let n = char_literal_len(&b[i..]).unwrap();
            out.extend(std::iter::repeat_n(b' ', n));
            i += n;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

/// Whether an `r` at `i` can open a raw string: it starts a token, or follows a lone `b`.
fn raw_string_may_start(b: &[u8], i: usize) -> bool {
    !ident_byte(prev(b, i)) || (prev(b, i) == b'b' && !ident_byte(prev(b, i - 1)))
}

fn prev(b: &[u8], i: usize) -> u8 {
    if i == 0 {
        b' '
    } else {
        b[i - 1]
    }
}

fn ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    (from..b.len()).find(|&k| b[k..].starts_with(needle))
}

/// Length of a character literal (`'a'`, `'\n'`, `'\''`, `'\u{1F600}'`) at the start of `b`;
/// `None` for a lifetime (`'a`).
fn char_literal_len(b: &[u8]) -> Option<usize> {
    if b.len() >= 4 && b[1] == b'\\' {
        let close = find(b, 3, b"'")?;
        return (close <= 12).then_some(close + 1);
    }
    let ch = std::str::from_utf8(&b[1..b.len().min(6)]).ok().or_else(|| {
        // Cut in the middle of a multi-byte character: take the longest valid prefix.
        (2..b.len().min(6)).rev().find_map(|e| std::str::from_utf8(&b[1..e]).ok())
    })?;
    let c = ch.chars().next()?;
    let n = 1 + c.len_utf8();
    (b.get(n) == Some(&b'\'')).then_some(n + 1)
}

fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].bytes().filter(|&c| c == b'\n').count() + 1
}

/// The identifier that starts at `pos` (after whitespace), and where it ends.
fn ident_at(b: &[u8], mut pos: usize) -> (String, usize) {
    while pos < b.len() && b[pos].is_ascii_whitespace() {
        pos += 1;
    }
    let start = pos;
    while pos < b.len() && ident_byte(b[pos]) {
        pos += 1;
    }
    (String::from_utf8_lossy(&b[start..pos]).into_owned(), pos)
}

/// The first path segment of each item of a `{...}` group whose `{` is at `open`
/// (`{a::b, c::{d, e}, f}` gives a, c, f), with the position of each.
fn group_heads(b: &[u8], open: usize) -> Vec<(String, usize)> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
                i += 1;
            }
            b'}' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            b',' => {
                if depth == 1 {
                    expect_head = true;
                }
                i += 1;
            }
            c if depth == 1 && expect_head && ident_byte(c) => {
                let (name, end) = ident_at(b, i);
                heads.push((name, i));
                expect_head = false;
                i = end;
            }
            _ => i += 1,
        }
    }
    heads
}

/// Every reference in `src` to a crate-root item outside `may_name`, to a macro of
/// `forbidden_macros`, or through a `super::` chain that climbs above the layer's folder.
/// `depth` is how far the file's own module sits below the layer's folder module
/// (`engine/storage/mod.rs` → 1, `engine/storage/entry.rs` → 2, `engine/mod.rs` → 0).
fn upward_references(src: &str, depth: usize, may_name: &[&str], forbidden_macros: &[String]) -> Vec<Violation> {
    let code = code_only(src);
    let b = code.as_bytes();
    let mut found = Vec::new();
    let allowed = |name: &str| {
        may_name.contains(&name)
            || name.is_empty()
            || name == "self"
            || name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
    };
    let mut flag = |pos: usize, what: String| found.push(Violation { line: line_of(&code, pos), what });

    // `crate::x` and `crate::{x, ...}`.
    let mut from = 0;
    while let Some(at) = code[from..].find("crate").map(|p| p + from) {
        from = at + 5;
        if ident_byte(prev(b, at)) || b.get(at + 5).is_some_and(|&c| ident_byte(c)) {
            continue;
        }
        let mut j = at + 5;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if !b[j..].starts_with(b"::") {
            continue;
        }
        j += 2;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b.get(j) == Some(&b'{') {
            for (name, pos) in group_heads(b, j) {
                if !allowed(&name) || forbidden_macros.contains(&name) {
                    flag(pos, format!("`use crate::{{{name}, ...}}` names `{name}`"));
                }
            }
        } else {
            let (name, end) = ident_at(b, j);
            let is_macro = b.get(end) == Some(&b'!');
            if !allowed(&name) || (is_macro && forbidden_macros.contains(&name)) {
                flag(at, format!("`crate::{name}`"));
            }
        }
    }

    // Bare uses of the command layer's exported macros (`container!(...)`).
    for name in forbidden_macros {
        let mut from = 0;
        while let Some(at) = code[from..].find(name.as_str()).map(|p| p + from) {
            from = at + name.len();
            let after = code[from..].trim_start();
            if !ident_byte(prev(b, at)) && prev(b, at) != b':' && after.starts_with('!') && !after.starts_with("!=") {
                flag(at, format!("macro `{name}!` of the command layer"));
            }
        }
    }

    // `super::super::...` out of the folder, counting inline modules (`mod tests { ... }`).
    let mut inline_mods: Vec<usize> = Vec::new(); // brace depth at which each inline module opened
    let mut braces = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                braces += 1;
                i += 1;
            }
            b'}' => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
                i += 1;
            }
            b'm' if b[i..].starts_with(b"mod")
                && !ident_byte(prev(b, i))
                && b.get(i + 3).is_some_and(|c| c.is_ascii_whitespace()) =>
            {
                let (_, end) = ident_at(b, i + 3);
                let mut k = end;
                while k < b.len() && b[k].is_ascii_whitespace() {
                    k += 1;
                }
                if b.get(k) == Some(&b'{') {
                    inline_mods.push(braces + 1);
                }
                i = end;
            }
            b's' if b[i..].starts_with(b"super") && !ident_byte(prev(b, i)) && prev(b, i) != b':' => {
                let mut k = i;
                let mut climbs = 0;
                loop {
                    let (word, end) = ident_at(b, k);
                    if word != "super" {
                        break;
                    }
                    climbs += 1;
                    let rest = &code[end..];
                    let trimmed = rest.trim_start();
                    if !trimmed.starts_with("::") {
                        k = end;
                        break;
                    }
                    k = end + (rest.len() - trimmed.len()) + 2;
                }
                if climbs > depth + inline_mods.len() {
                    flag(i, format!("`{}` climbs out of the layer's folder", "super::".repeat(climbs)));
                }
                i = k.max(i + 5);
            }
            _ => i += 1,
        }
    }
    found.sort_by_key(|v| v.line);
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// How far below `layer`'s own module the module of `file` sits.
fn module_depth(layer: &Path, file: &Path) -> usize {
    let rel = file.strip_prefix(layer).unwrap();
    let dirs = rel.components().count() - 1;
    let stem = rel.file_stem().unwrap();
    if stem == "mod" {
        dirs
    } else {
        dirs + 1
    }
}

/// Macros the command layer exports at the crate root (`#[macro_export] macro_rules! name`).
fn command_macros(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src.join("commands"), &mut files);
    let mut names = Vec::new();
    for f in files {
        let text = code_only(&fs::read_to_string(&f).unwrap());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("macro_rules!") {
            let (name, _) = ident_at(rest.as_bytes(), at + "macro_rules!".len());
            names.push(name);
            rest = &rest[at + 1..];
        }
    }
    names
}

fn check_layer(layer: &str, may_name: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let macros = command_macros(&src);
    let dir = src.join(layer);
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    assert!(!files.is_empty(), "no sources under {}", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        for v in upward_references(&text, module_depth(&dir, f), may_name, &macros) {
            let rel = f.strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
            failures.push(format!("{}:{}: {}", rel.display(), v.line, v.what));
        }
    }
    failures
}

#[test]
fn engine_imports_only_engine_and_base() {
    let failures = check_layer("engine", ENGINE_MAY_NAME);
    assert!(failures.is_empty(), "the engine reaches into upper layers:\n{}", failures.join("\n"));
}

#[test]
fn base_imports_only_base() {
    let failures = check_layer("base", BASE_MAY_NAME);
    assert!(failures.is_empty(), "the base reaches into upper layers:\n{}", failures.join("\n"));
}

#[test]
fn the_scanner_finds_every_form_of_upward_reference() {
    let macros = vec!["container".to_string(), "subcmd".to_string()];
    let src = r##"//! Doc mentioning crate::commands is fine.
use crate::util::Rng;
use crate::commands::Ctx;
use crate::{
    storage::Keyspace,
    server::Shared,
};
use crate :: { engine::{tags, tenants}, protocol::{ReplyBuf, Reply} };
fn f() {
    let s = "crate::config in a string";
    let r = r#"crate::metrics "quoted" in a raw string"#;
    let c = '{';
    crate::pubsub::publish();
    /* crate::cmdline in a block comment */
    let x = crate::VERSION;
    container!("a");
    crate::subcmd!("b");
    let _ = super::super::super::Up;
    let _ = super::Sibling;
}
mod tests {
    fn g() {
        let _ = super::super::Fine;
        let _ = super::super::super::Out;
    }
}
"##;
    let found = upward_references(src, 1, ENGINE_MAY_NAME, &macros);
    let got: Vec<(usize, &str)> = found.iter().map(|v| (v.line, v.what.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (3, "`crate::commands`"),
            (6, "`use crate::{server, ...}` names `server`"),
            (8, "`use crate::{protocol, ...}` names `protocol`"),
            (13, "`crate::pubsub`"),
            (16, "macro `container!` of the command layer"),
            (17, "`crate::subcmd`"),
            (18, "`super::super::super::` climbs out of the layer's folder"),
            (24, "`super::super::super::` climbs out of the layer's folder"),
        ]
    );
}
