//! Finds where a key path such as `scenarios.high-load.rate` sits in YAML text.
//!
//! serde_yaml reports positions only for the errors it raises itself; the semantic
//! checks that run after parsing (`rate` must be > 0, a prompt must exist, ...) need
//! a line and column too. This is a deliberately small scanner, not a YAML parser:
//! it follows block mappings by indentation and single-line flow mappings
//! (`{ a: 1, b: { c: 2 } }`) by brackets. Anything fancier (multi-line flow
//! mappings, sequences, complex keys) makes it stop at the deepest key it could
//! follow, so callers always get the nearest known position rather than none.
//!
//! This file follows a path through the lines; `scan` reads one line's keys.

mod scan;
#[cfg(test)]
mod tests;

use scan::{block_key, flow_entries, significant_lines, KeyHit, Line};

/// A 1-based line and column, counted in characters like serde_yaml does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where one key and (when it is on the same line) its value start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Located {
    pub key: Position,
    pub value: Option<Position>,
}

/// The outcome of following a key path as far as the text allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lookup {
    /// How many leading segments of the path were found.
    pub depth: usize,
    /// Where the deepest found key is; `None` when not even the first was found.
    pub found: Option<Located>,
}

impl Lookup {
    /// The key's position when the whole path was found, else the deepest ancestor's.
    pub fn key_or_ancestor(&self) -> Option<Position> {
        self.found.map(|l| l.key)
    }

    /// The value's position when the whole path was found and the value shares the
    /// key's line; otherwise the same as [`Lookup::key_or_ancestor`].
    pub fn value_or_key(&self, path_len: usize) -> Option<Position> {
        match self.found {
            Some(l) if self.depth == path_len => Some(l.value.unwrap_or(l.key)),
            other => other.map(|l| l.key),
        }
    }
}

/// Follows `path` through `text` (see the module docs for what is understood).
pub(crate) fn lookup(text: &str, path: &[&str]) -> Lookup {
    let lines = significant_lines(text);
    let mut range = 0..lines.len();
    let mut parent_indent: Option<usize> = None;
    let mut result = Lookup {
        depth: 0,
        found: None,
    };
    for (depth, segment) in path.iter().enumerate() {
        let Some((index, hit)) = find_child(&lines, range.clone(), parent_indent, segment) else {
            return result;
        };
        let line = &lines[index];
        result = Lookup {
            depth: depth + 1,
            found: Some(hit.located(line.number)),
        };
        if let Some(value_col) = hit.value_col {
            if line.chars.get(value_col) == Some(&'{') {
                let rest = &path[depth + 1..];
                return lookup_flow(line, value_col, rest, result);
            }
        }
        let indent = line.indent;
        let end = (index + 1..range.end)
            .find(|&j| lines[j].indent <= indent)
            .unwrap_or(range.end);
        range = index + 1..end;
        parent_indent = Some(indent);
    }
    result
}

/// Finds the second occurrence of the last key of `path` among its siblings (used to
/// point at a duplicated key, where serde_yaml reports the mapping's start).
pub(crate) fn second_occurrence(text: &str, path: &[&str]) -> Option<Position> {
    let (last, parent) = path.split_last()?;
    let lines = significant_lines(text);
    let (range, parent_indent) = block_children(&lines, text, parent)?;
    let child_indent = child_indent(&lines, range.clone(), parent_indent)?;
    range
        .filter(|&i| lines[i].indent == child_indent)
        .filter_map(|i| block_key(&lines[i]).map(|hit| (i, hit)))
        .filter(|(_, hit)| hit.key == *last)
        .nth(1)
        .map(|(i, hit)| hit.located(lines[i].number).key)
}

/// The 0-based line ranges of the entries of the block mapping at `path`, one per
/// child key, each running up to the next child (comments included). Empty when
/// `path` is not a block mapping in the text.
pub(crate) fn entry_spans(text: &str, path: &[&str]) -> Vec<std::ops::Range<usize>> {
    let lines = significant_lines(text);
    let Some((range, parent_indent)) = block_children(&lines, text, path) else {
        return Vec::new();
    };
    let Some(indent) = child_indent(&lines, range.clone(), parent_indent) else {
        return Vec::new();
    };
    let block_end = lines
        .get(range.end)
        .map_or_else(|| text.lines().count(), |l| l.number - 1);
    let starts: Vec<usize> = range
        .filter(|&i| lines[i].indent == indent && block_key(&lines[i]).is_some())
        .map(|i| lines[i].number - 1)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| start..starts.get(k + 1).copied().unwrap_or(block_end))
        .collect()
}

/// The range of `lines` nested under the key at `path` (the whole file for an empty
/// path), and that key's indentation.
fn block_children(
    lines: &[Line],
    text: &str,
    path: &[&str],
) -> Option<(std::ops::Range<usize>, Option<usize>)> {
    if path.is_empty() {
        return Some((0..lines.len(), None));
    }
    let found = lookup(text, path);
    if found.depth != path.len() {
        return None;
    }
    let key_line = found.found?.key.line;
    let index = lines.iter().position(|l| l.number == key_line)?;
    let indent = lines[index].indent;
    let end = (index + 1..lines.len())
        .find(|&j| lines[j].indent <= indent)
        .unwrap_or(lines.len());
    Some((index + 1..end, Some(indent)))
}

/// The indentation of the children in `range`, which must be deeper than the parent's.
fn child_indent(
    lines: &[Line],
    range: std::ops::Range<usize>,
    parent_indent: Option<usize>,
) -> Option<usize> {
    let first = lines.get(range.start).filter(|_| !range.is_empty())?;
    match parent_indent {
        Some(p) if first.indent <= p => None,
        _ => Some(first.indent),
    }
}

fn find_child(
    lines: &[Line],
    range: std::ops::Range<usize>,
    parent_indent: Option<usize>,
    segment: &str,
) -> Option<(usize, KeyHit)> {
    let indent = child_indent(lines, range.clone(), parent_indent)?;
    range.filter(|&i| lines[i].indent == indent).find_map(|i| {
        block_key(&lines[i])
            .filter(|hit| hit.key == segment)
            .map(|hit| (i, hit))
    })
}

/// Continues a lookup inside the flow mapping that opens at `open` on `line`.
fn lookup_flow(line: &Line, open: usize, path: &[&str], mut result: Lookup) -> Lookup {
    let mut open = open;
    for segment in path {
        let Some(hit) = flow_entries(&line.chars, open)
            .into_iter()
            .find(|hit| hit.key == *segment)
        else {
            return result;
        };
        result = Lookup {
            depth: result.depth + 1,
            found: Some(hit.located(line.number)),
        };
        match hit.value_col {
            Some(v) if line.chars[v] == '{' => open = v,
            _ => {
                // A scalar value: nothing deeper can be followed.
                return result;
            }
        }
    }
    result
}
