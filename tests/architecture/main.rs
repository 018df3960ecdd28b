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
//!
//! Layout: this file holds the checks and reads ARCHITECTURE.md's rules; [`graph`]
//! builds the module graph and finds its cycles, [`reader`] reads the module
//! paths a source file names.

mod graph;
mod reader;

use std::collections::BTreeSet;
use std::path::Path;

use graph::{cycles, describe, folders, level_edges, module_graph};

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
