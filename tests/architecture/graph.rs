//! The module graph of `src/`: which module names which, the edges between the
//! children of one folder, and the cycles among them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::reader::references;
use crate::ModPath;

/// Every non-test source file's module path and the module paths it names.
pub(crate) struct Graph {
    pub(crate) files: BTreeMap<ModPath, (PathBuf, BTreeSet<ModPath>)>,
}

pub(crate) fn module_graph() -> Graph {
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

/// Folders (module paths with children) in which to look for cycles.
pub(crate) fn folders(graph: &Graph) -> Vec<ModPath> {
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
pub(crate) fn level_edges(graph: &Graph, folder: &[String]) -> BTreeMap<String, BTreeSet<String>> {
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
pub(crate) fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
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
pub(crate) fn describe(cycles: &[Vec<String>], graph: &Graph, folder: &[String]) -> String {
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
