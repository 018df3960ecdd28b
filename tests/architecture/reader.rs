//! The module paths a source file names: `use` trees, `crate::…`, `super::…` and
//! `self::…` paths, with comments, strings and test blocks left out.

use std::collections::BTreeSet;

use crate::ModPath;

#[test]
fn the_reader_sees_grouped_and_relative_paths() {
    let text = "use crate::{report::{fmt_ms, series::RunSeries}, results};\n\
                use super::verdict::Verdict;\n\
                fn f() { crate::metrics::percentile::sort(x); let s = \"crate::sim\"; }\n\
                // crate::github in a comment\n\
                #[cfg(test)]\nmod tests { use crate::sim::SimServer; }\n";
    let here: ModPath = vec!["compare".into(), "render".into()];
    let found = references(text, &here);
    let want: BTreeSet<ModPath> = [
        vec!["report", "fmt_ms"],
        vec!["report", "series", "RunSeries"],
        vec!["results"],
        vec!["compare", "verdict", "Verdict"],
        vec!["metrics", "percentile", "sort"],
    ]
    .into_iter()
    .map(|p| p.into_iter().map(String::from).collect())
    .collect();
    assert_eq!(found, want);
}

/// The absolute module paths a file names, test blocks, comments and strings aside.
pub(crate) fn references(text: &str, here: &ModPath) -> BTreeSet<ModPath> {
    let code = strip_test_blocks(&strip_comments_and_strings(text));
    let bytes = code.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !is_ident(bytes[i - 1]) && bytes[i - 1] != b':';
        if at_word_start && is_ident(bytes[i]) {
            let (word, end) = ident(bytes, i);
            let base = match word {
                "crate" => Some(Vec::new()),
                "super" | "self" => Some(resolve_relative(here, bytes, i)),
                _ => None,
            };
            if let (Some(base), true) = (base, code[end..].starts_with("::")) {
                // `super::super::x` and `self::x` were folded into `base` above.
                let mut j = end;
                while code[j..].starts_with("::")
                    && matches!(ident(bytes, j + 2).0, "super" | "self")
                {
                    j = ident(bytes, j + 2).1;
                }
                let mut paths = Vec::new();
                if code[j..].starts_with("::") {
                    use_tree(&code, j + 2, base, &mut paths);
                }
                out.extend(paths.into_iter().filter(|p| !p.is_empty()));
                i = end;
                continue;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The module that a run of `super::super::…` or `self::…` starting at `i` names.
fn resolve_relative(here: &ModPath, bytes: &[u8], mut i: usize) -> ModPath {
    let mut base = here.clone();
    loop {
        let (word, end) = ident(bytes, i);
        match word {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => return base,
        }
        if bytes.get(end..end + 2) != Some(b"::") {
            return base;
        }
        i = end + 2;
    }
}

/// Collects the paths of a use tree at `i` (`a::b`, `a::{b, c::d}`, `*`).
fn use_tree(code: &str, mut i: usize, prefix: ModPath, out: &mut Vec<ModPath>) -> usize {
    let bytes = code.as_bytes();
    i = skip_space(bytes, i);
    if bytes.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_space(bytes, i);
            match bytes.get(i) {
                Some(b'}') => return i + 1,
                Some(b',') => i += 1,
                None => return i,
                _ => i = use_tree(code, i, prefix.clone(), out),
            }
        }
    }
    let (word, end) = ident(bytes, i);
    if word.is_empty() || word == "self" {
        out.push(prefix);
        return end.max(i + usize::from(word.is_empty()));
    }
    let mut path = prefix;
    path.push(word.to_string());
    if code[end..].starts_with("::") {
        use_tree(code, end + 2, path, out)
    } else {
        out.push(path);
        end
    }
}

fn ident(bytes: &[u8], i: usize) -> (&str, usize) {
    let mut end = i;
    while end < bytes.len() && is_ident(bytes[end]) {
        end += 1;
    }
    (std::str::from_utf8(&bytes[i..end]).unwrap_or(""), end)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Blanks out comments, string and char literals (keeping line structure).
fn strip_comments_and_strings(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !is_ident(b[i - 1]))
        {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && is_char_literal(b, i) {
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            let ch = text[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `'a'`, `'\n'`, `'"'` are char literals; `'a` in `&'a str` is a lifetime.
fn is_char_literal(b: &[u8], i: usize) -> bool {
    match b.get(i + 1) {
        Some(b'\\') => true,
        Some(_) => {
            let len = std::str::from_utf8(&b[i + 1..])
                .ok()
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            b.get(i + 1 + len) == Some(&b'\'')
        }
        None => false,
    }
}

/// Removes `#[cfg(test)]` items (a `mod … { … }` block or a single item).
fn strip_test_blocks(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item ends at its matching closing brace, or at `;` if none opens first.
        let b = after.as_bytes();
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, &c) in b.iter().enumerate() {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
