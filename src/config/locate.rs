//! Finds where a key path such as `scenarios.high-load.rate` sits in YAML text.
//!
//! serde_yaml reports positions only for the errors it raises itself; the semantic
//! checks that run after parsing (`rate` must be > 0, a prompt must exist, ...) need
//! a line and column too. This is a deliberately small scanner, not a YAML parser:
//! it follows block mappings by indentation and single-line flow mappings
//! (`{ a: 1, b: { c: 2 } }`) by brackets. Anything fancier (multi-line flow
//! mappings, sequences, complex keys) makes it stop at the deepest key it could
//! follow, so callers always get the nearest known position rather than none.

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

/// One non-blank, non-comment line.
struct Line {
    number: usize,
    indent: usize,
    chars: Vec<char>,
}

fn significant_lines(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let chars: Vec<char> = raw.chars().collect();
            let indent = chars.iter().take_while(|c| **c == ' ').count();
            let rest: String = chars[indent..].iter().collect();
            let rest = rest.trim_end();
            let skip = rest.is_empty()
                || rest.starts_with('#')
                || (indent == 0 && (rest.starts_with("---") || rest.starts_with("...")))
                || (indent == 0 && rest.starts_with('%'));
            (!skip).then_some(Line {
                number: i + 1,
                indent,
                chars,
            })
        })
        .collect()
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

/// A key found on a line: its text and 0-based character columns.
#[derive(Debug)]
struct KeyHit {
    key: String,
    key_col: usize,
    value_col: Option<usize>,
}

impl KeyHit {
    fn located(&self, line: usize) -> Located {
        Located {
            key: Position {
                line,
                column: self.key_col + 1,
            },
            value: self.value_col.map(|c| Position {
                line,
                column: c + 1,
            }),
        }
    }
}

/// Reads `key:` at the start of a block-mapping line.
fn block_key(line: &Line) -> Option<KeyHit> {
    let chars = &line.chars;
    let start = line.indent;
    let (key, after) = read_key(chars, start, false)?;
    let value_col = skip_spaces(chars, after).filter(|&i| chars[i] != '#');
    Some(KeyHit {
        key,
        key_col: start,
        value_col,
    })
}

/// Reads a (quoted or plain) key starting at `start` and the `:` after it; returns
/// the key and the index just past the colon. `flow` adds the flow indicators that
/// end a plain key.
fn read_key(chars: &[char], start: usize, flow: bool) -> Option<(String, usize)> {
    let first = *chars.get(start)?;
    let (key, mut i) = match first {
        '"' => read_double_quoted(chars, start + 1)?,
        '\'' => read_single_quoted(chars, start + 1)?,
        '-' | '?' if chars.get(start + 1).is_none_or(|c| *c == ' ') => return None,
        '{' | '[' | '#' | '&' | '*' | '!' | '|' | '>' => return None,
        _ => {
            let mut i = start;
            loop {
                match chars.get(i) {
                    None => return None,
                    Some(':') if chars.get(i + 1).is_none_or(|c| is_key_end(*c, flow)) => break,
                    Some(',' | '{' | '}' | '[' | ']') if flow => return None,
                    Some('#') if i > start && chars[i - 1] == ' ' => return None,
                    Some(_) => i += 1,
                }
            }
            let key: String = chars[start..i].iter().collect();
            (key.trim_end().to_string(), i)
        }
    };
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    if chars.get(i) != Some(&':') {
        return None;
    }
    i += 1;
    Some((key, i))
}

fn is_key_end(c: char, flow: bool) -> bool {
    c == ' ' || c == '\t' || (flow && matches!(c, ',' | '}' | ']'))
}

fn read_double_quoted(chars: &[char], mut i: usize) -> Option<(String, usize)> {
    let mut key = String::new();
    loop {
        match *chars.get(i)? {
            '"' => return Some((key, i + 1)),
            '\\' => {
                let escaped = *chars.get(i + 1)?;
                key.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            c => {
                key.push(c);
                i += 1;
            }
        }
    }
}

fn read_single_quoted(chars: &[char], mut i: usize) -> Option<(String, usize)> {
    let mut key = String::new();
    loop {
        match *chars.get(i)? {
            '\'' if chars.get(i + 1) == Some(&'\'') => {
                key.push('\'');
                i += 2;
            }
            '\'' => return Some((key, i + 1)),
            c => {
                key.push(c);
                i += 1;
            }
        }
    }
}

fn skip_spaces(chars: &[char], mut i: usize) -> Option<usize> {
    while matches!(chars.get(i), Some(' ' | '\t')) {
        i += 1;
    }
    (i < chars.len()).then_some(i)
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

/// The entries of the flow mapping whose `{` is at `open`, as far as this line goes.
fn flow_entries(chars: &[char], open: usize) -> Vec<KeyHit> {
    let mut entries = Vec::new();
    let mut i = open + 1;
    loop {
        let Some(start) = skip_spaces(chars, i) else {
            return entries;
        };
        if chars[start] == '}' {
            return entries;
        }
        let Some((key, after)) = read_key(chars, start, true) else {
            return entries;
        };
        let value_col = skip_spaces(chars, after).filter(|&v| !matches!(chars[v], ',' | '}'));
        entries.push(KeyHit {
            key,
            key_col: start,
            value_col,
        });
        // Skip the value up to the `,` or `}` that ends this entry.
        let Some(next) = skip_flow_value(chars, value_col.unwrap_or(after)) else {
            return entries;
        };
        if chars[next] == '}' {
            return entries;
        }
        i = next + 1;
    }
}

/// Returns the index of the `,` or `}` that ends the value starting at `i`.
fn skip_flow_value(chars: &[char], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    loop {
        match *chars.get(i)? {
            '"' => i = read_double_quoted(chars, i + 1)?.1,
            '\'' => i = read_single_quoted(chars, i + 1)?.1,
            '{' | '[' => {
                depth += 1;
                i += 1;
            }
            '}' | ']' if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            ',' | '}' if depth == 0 => return Some(i),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# leading comment
default: sim
targets:
  sim:
    builtin: sim   # trailing comment
    sim: { ttft_ms: 50, nested: { deep: 1 }, 'quoted key': x }

  \"meta-llama/Llama-3.1-8B\":
    api_key: ${KEY}
    headers:
      X-Org: abc
    text: |
      rate: not a key
  after: { a: \"x, }\", b: 2 }
";

    fn key(path: &[&str]) -> Option<(usize, usize)> {
        let found = lookup(TEXT, path);
        (found.depth == path.len()).then(|| {
            let p = found
                .found
                .map(|l| l.key)
                .unwrap_or(Position { line: 0, column: 0 });
            (p.line, p.column)
        })
    }

    fn value(path: &[&str]) -> Option<(usize, usize)> {
        let found = lookup(TEXT, path);
        found.value_or_key(path.len()).map(|p| (p.line, p.column))
    }

    #[test]
    fn finds_block_keys() {
        assert_eq!(key(&["default"]), Some((2, 1)));
        assert_eq!(key(&["targets", "sim", "builtin"]), Some((5, 5)));
        assert_eq!(value(&["targets", "sim", "builtin"]), Some((5, 14)));
        assert_eq!(
            key(&["targets", "meta-llama/Llama-3.1-8B", "api_key"]),
            Some((9, 5))
        );
        assert_eq!(
            value(&["targets", "meta-llama/Llama-3.1-8B", "api_key"]),
            Some((9, 14))
        );
        assert_eq!(
            key(&["targets", "meta-llama/Llama-3.1-8B", "headers", "X-Org"]),
            Some((11, 7))
        );
    }

    #[test]
    fn finds_keys_inside_flow_mappings() {
        assert_eq!(key(&["targets", "sim", "sim", "ttft_ms"]), Some((6, 12)));
        assert_eq!(value(&["targets", "sim", "sim", "ttft_ms"]), Some((6, 21)));
        assert_eq!(
            key(&["targets", "sim", "sim", "nested", "deep"]),
            Some((6, 35))
        );
        assert_eq!(key(&["targets", "sim", "sim", "quoted key"]), Some((6, 46)));
        assert_eq!(key(&["targets", "after", "b"]), Some((14, 23)));
    }

    #[test]
    fn block_scalar_content_is_not_a_key() {
        assert_eq!(key(&["targets", "meta-llama/Llama-3.1-8B", "rate"]), None);
    }

    #[test]
    fn falls_back_to_the_deepest_ancestor() {
        let found = lookup(TEXT, &["targets", "sim", "missing", "x"]);
        assert_eq!(found.depth, 2);
        assert_eq!(
            found.key_or_ancestor(),
            Some(Position { line: 4, column: 3 })
        );
        assert_eq!(found.value_or_key(4), Some(Position { line: 4, column: 3 }));
        assert_eq!(lookup(TEXT, &["nothing"]).found, None);
        assert_eq!(lookup("", &["a"]).found, None);
    }

    #[test]
    fn does_not_descend_into_siblings() {
        // `builtin` exists under `sim` only, not under the quoted target.
        assert_eq!(
            key(&["targets", "meta-llama/Llama-3.1-8B", "builtin"]),
            None
        );
    }

    #[test]
    fn finds_the_second_occurrence_of_a_duplicate() {
        let text = "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\na: 2\n";
        assert_eq!(
            second_occurrence(text, &["a"]),
            Some(Position { line: 6, column: 1 })
        );
        assert_eq!(
            second_occurrence(text, &["b", "x"]),
            Some(Position { line: 5, column: 3 })
        );
        assert_eq!(second_occurrence(text, &["b", "y"]), None);
    }

    #[test]
    fn spans_cover_each_entry_up_to_the_next() {
        let text =
            "a: 1\nitems:\n  x:\n    k: 1\n\n  # about y\n  y: { k: 2 }\n  z:\n    k: 3\nb: 2\n";
        assert_eq!(entry_spans(text, &["items"]), vec![2..6, 6..7, 7..9]);
        assert_eq!(entry_spans("items:\n  x: 1\n", &["items"]), vec![1..2]);
        assert_eq!(
            entry_spans("items: { x: 1 }\n", &["items"]),
            Vec::<std::ops::Range<usize>>::new()
        );
        assert_eq!(
            entry_spans(text, &["missing"]),
            Vec::<std::ops::Range<usize>>::new()
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for text in [
            "{",
            "a: {",
            "a: { b",
            "a: {b: \"x",
            "- a: 1",
            "? a\n: b",
            ":\n  :",
            "'a",
            "\"a\\",
        ] {
            let _ = lookup(text, &["a", "b", "c"]);
            let _ = second_occurrence(text, &["a", "b"]);
            let _ = entry_spans(text, &["a"]);
        }
    }
}
