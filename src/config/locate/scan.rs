//! The line-level half of `locate`: which lines count, and the keys one line
//! holds, plain or quoted, in a block mapping or a one-line flow mapping.

use super::{Located, Position};

/// One non-blank, non-comment line.
pub(super) struct Line {
    pub number: usize,
    pub indent: usize,
    pub chars: Vec<char>,
}

pub(super) fn significant_lines(text: &str) -> Vec<Line> {
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

/// A key found on a line: its text and 0-based character columns.
#[derive(Debug)]
pub(super) struct KeyHit {
    pub key: String,
    pub key_col: usize,
    pub value_col: Option<usize>,
}

impl KeyHit {
    pub(super) fn located(&self, line: usize) -> Located {
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
pub(super) fn block_key(line: &Line) -> Option<KeyHit> {
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

/// The entries of the flow mapping whose `{` is at `open`, as far as this line goes.
pub(super) fn flow_entries(chars: &[char], open: usize) -> Vec<KeyHit> {
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
