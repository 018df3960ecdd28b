//! The module graph, read from the code's own `use crate::…`, `super::…` and
//! `crate::…` paths, has no cycle between top-level modules, and none between the
//! modules of one folder unless ARCHITECTURE.md names it with its reason.
//!
//! Why a test of our own: generic tools (cargo-modules) report item-level cycles
//! such as a type and its own `Default` impl, which do not answer "does data flow
//! one way between modules". This test looks only at which module names which.
//!
//! What counts: non-test code under `src/`. Test modules (`tests.rs`, `tests/`
//! folders and `#[cfg(test)] mod … { … }` blocks) may reach anywhere. A folder's
//! `mod.rs` is its front door, so edges between it and its own children are not
//! cycles (children use the types it defines, it re-exports theirs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path such as `["compare", "baseline", "file"]`.
type ModPath = Vec<String>;

#[test]
fn no_cycle_between_top_level_modules() {
    let graph = module_graph();
    let edges = level_edges(&graph, &[]);
    let cycles = cycles(&edges);
    assert!(
        cycles.is_empty(),
        "top-level modules import each other (data must flow one way; see ARCHITECTURE.md):\n{}",
        describe(&cycles, &graph, &[])
    );
}

#[test]
fn cycles_within_a_folder_are_named_in_architecture_md() {
    let graph = module_graph();
    let allowed = allowed_cycles();
    let mut unexplained = Vec::new();
    for folder in folders(&graph) {
        let edges = level_edges(&graph, &folder);
        for cycle in cycles(&edges) {
            let names: BTreeSet<String> = cycle
                .iter()
                .map(|m| format!("{}::{m}", folder.join("::")))
                .collect();
            if !allowed.contains(&names) {
                unexplained.push(describe(&[cycle], &graph, &folder));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "cycles inside a folder that ARCHITECTURE.md does not name \
         (add a line `cycle: a::x <-> a::y: reason` under \"Allowed cycles\", or break it):\n{}",
        unexplained.join("\n")
    );
}

#[test]
fn the_code_map_s_must_not_lists_hold() {
    let graph = module_graph();
    let edges = level_edges(&graph, &[]);
    let rules = must_not_rules();
    assert!(
        rules.len() >= 8,
        "expected ARCHITECTURE.md's code map to name what modules must not import, found {rules:?}"
    );
    let mut broken = Vec::new();
    for (module, forbidden) in &rules {
        for target in forbidden {
            if edges.get(module).is_some_and(|to| to.contains(target)) {
                let files: Vec<String> = graph
                    .files
                    .iter()
                    .filter(|(m, (_, refs))| {
                        m[0] == *module && refs.iter().any(|r| r[0] == *target)
                    })
                    .map(|(_, (path, _))| path.display().to_string())
                    .collect();
                broken.push(format!("{module} -> {target} (in {})", files.join(", ")));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "modules import what ARCHITECTURE.md's code map says they must not:\n{}",
        broken.join("\n")
    );
}

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

/// Every non-test source file's module path and the module paths it names.
struct Graph {
    files: BTreeMap<ModPath, (PathBuf, BTreeSet<ModPath>)>,
}

fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).expect("under src");
        let Some(module) = module_of(rel) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("readable source");
        let refs = references(&text, &module);
        files.insert(module, (rel.to_path_buf(), refs));
    }
    Graph { files }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// `compare/baseline/file.rs` → `compare::baseline::file`; `compare/mod.rs` →
/// `compare`; `None` for the crate roots and for test modules.
fn module_of(rel: &Path) -> Option<ModPath> {
    let mut parts: ModPath = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?.to_string();
    if parts.iter().any(|p| p == "tests") || stem == "tests" {
        return None;
    }
    if parts.is_empty() && (stem == "lib" || stem == "main") {
        return None;
    }
    if stem != "mod" {
        parts.push(stem);
    }
    Some(parts)
}

/// The absolute module paths a file names, test blocks, comments and strings aside.
fn references(text: &str, here: &ModPath) -> BTreeSet<ModPath> {
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

/// Folders (module paths with children) in which to look for cycles.
fn folders(graph: &Graph) -> Vec<ModPath> {
    let mut set = BTreeSet::new();
    for module in graph.files.keys() {
        for depth in 1..module.len() {
            set.insert(module[..depth].to_vec());
        }
    }
    set.into_iter().collect()
}

/// Edges between the children of `folder` (top level when `folder` is empty):
/// child → child when any file under the first names anything under the second.
fn level_edges(graph: &Graph, folder: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let depth = folder.len();
    let child_of = |m: &ModPath| -> Option<String> {
        (m.len() > depth && m[..depth] == *folder).then(|| m[depth].clone())
    };
    let children: BTreeSet<String> = graph.files.keys().filter_map(child_of).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, (_, refs)) in &graph.files {
        let Some(from) = child_of(module) else {
            continue;
        };
        for target in refs {
            if let Some(to) = child_of(target) {
                if to != from && children.contains(&to) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

/// Strongly connected components with more than one member (Tarjan's algorithm).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w.as_str()]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w.as_str()) {
                    let low = self.low[v].min(self.index[w.as_str()]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.out
}

/// Each cycle's members and, per edge inside it, the files that make that edge.
fn describe(cycles: &[Vec<String>], graph: &Graph, folder: &[String]) -> String {
    let depth = folder.len();
    let prefix = |m: &str| {
        if folder.is_empty() {
            m.to_string()
        } else {
            format!("{}::{m}", folder.join("::"))
        }
    };
    let mut text = String::new();
    for cycle in cycles {
        let members: BTreeSet<&str> = cycle.iter().map(String::as_str).collect();
        text += &format!(
            "cycle: {}\n",
            cycle
                .iter()
                .map(|m| prefix(m))
                .collect::<Vec<_>>()
                .join(" <-> ")
        );
        for (module, (file, refs)) in &graph.files {
            if module.len() <= depth || module[..depth] != *folder {
                continue;
            }
            let from = module[depth].as_str();
            if !members.contains(from) {
                continue;
            }
            for target in refs {
                let lands = target.len() > depth
                    && target[..depth] == *folder
                    && target[depth] != from
                    && members.contains(target[depth].as_str());
                if lands {
                    text += &format!("  src/{} uses {}\n", file.display(), target.join("::"));
                }
            }
        }
    }
    text
}

/// `cycle: a::x <-> a::y: reason` lines under ARCHITECTURE.md's "Allowed cycles".
fn allowed_cycles() -> Vec<BTreeSet<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            line.trim_start_matches(['-', '*', ' '])
                .strip_prefix("cycle:")
        })
        .map(|rest| {
            // The reason follows ": "; module paths contain "::" but never ": ".
            let members = rest.trim().split_once(": ").map_or(rest, |(m, _)| m);
            let members = members
                .split("<->")
                .map(|m| m.trim().trim_matches('`').to_string());
            members.collect()
        })
        .collect()
}

/// From each code-map bullet of ARCHITECTURE.md (``- `module` — … Must not: `a`,
/// `b` (…).``): the module and the top-level modules it must not import. A name
/// followed by `'s` (`` `results`'s readers ``) forbids only part of a module and
/// is left to review.
fn must_not_rules() -> Vec<(String, BTreeSet<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let Some(map) = text.split("## Code map").nth(1) else {
        return Vec::new();
    };
    let map = map.split("\n## ").next().unwrap_or_default();
    let mut bullets: Vec<String> = Vec::new();
    for line in map.lines() {
        if let Some(start) = line.strip_prefix("- ") {
            bullets.push(start.to_string());
        } else if let Some(last) = bullets.last_mut() {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    let names = |text: &str| -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut parts = text.split('`');
        parts.next();
        while let (Some(name), Some(after)) = (parts.next(), parts.next()) {
            out.push((
                name.trim_end_matches(".rs").to_string(),
                after.starts_with("'s"),
            ));
        }
        out
    };
    bullets
        .iter()
        .filter_map(|bullet| {
            let (head, rest) = bullet.split_once(" — ")?;
            let (_, forbidden) = rest.split_once("Must not:")?;
            let module = names(head).last()?.0.clone();
            let forbidden = names(forbidden)
                .into_iter()
                .filter(|(_, partial)| !partial)
                .map(|(name, _)| name)
                .collect();
            Some((module, forbidden))
        })
        .collect()
}
