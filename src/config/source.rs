//! One config file's text, and the errors that point into it.
//!
//! Every check that finds a problem goes through [`Source::at_key`] or
//! [`Source::at_value`], so each error gets the same `file:line:column: path:` form
//! whether serde_yaml or a semantic check found it.

use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::error::ConfigError;
use super::limits;
use super::locate::{entry_spans, lookup, Position};
use super::yaml_error::{from_yaml_error, is_syntax_error};

/// The text of a config file and the name it is reported under.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub file: PathBuf,
    pub text: String,
}

/// Bytes of YAML parsed at most while looking for the shape errors of each entry.
const ENTRY_PARSE_BUDGET: usize = 16 << 20;

/// The file's bytes, or its size when it is over [`limits::MAX_FILE_BYTES`] (read no
/// further than one byte past the limit).
fn read_bounded(file: &Path) -> std::io::Result<Result<Vec<u8>, u64>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)?
        .take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        let size = std::fs::metadata(file).map_or(bytes.len() as u64, |m| m.len());
        return Ok(Err(size));
    }
    Ok(Ok(bytes))
}

impl Source {
    /// Reads `dir/name`; a missing file gets an error that says how to point elsewhere.
    pub fn read(dir: &Path, name: &str) -> Result<Source, ConfigError> {
        let file = dir.join(name);
        let fail = |message: String| Err(ConfigError::new(&file, None, "", message));
        match read_bounded(&file) {
            Ok(Err(bytes)) => fail(limits::too_large(bytes)),
            Ok(Ok(bytes)) => match String::from_utf8(bytes) {
                Ok(text) => {
                    let source = Source::new(file.clone(), text);
                    match limits::check_depth(&source.text) {
                        Ok(()) => Ok(source),
                        Err(at) => Err(ConfigError::new(
                            &file,
                            Some(Position {
                                line: at.line,
                                column: at.column,
                            }),
                            "",
                            limits::too_deep_message(),
                        )),
                    }
                }
                Err(e) => fail(format!(
                    "not UTF-8 text (invalid byte at offset {}); save the file as UTF-8",
                    e.utf8_error().valid_up_to()
                )),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => fail(
                "file not found; every config folder needs targets.yaml, models.yaml and \
                 workloads.yaml (copy them from the repository's `configs/`), or point at \
                 another folder with `--config-dir DIR` and check it with \
                 `llm-bench validate --config-dir DIR`"
                    .to_string(),
            ),
            Err(e) => fail(format!("cannot read the file: {e}")),
        }
    }

    /// The folder the file is in: where relative paths in it start.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    pub fn new(file: PathBuf, text: String) -> Source {
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        Source { file, text }
    }

    /// Parses the whole file into a raw (unvalidated) type. `expected` describes what
    /// the file should hold, for the empty-file message.
    ///
    /// serde stops at the first problem, so when the file does not fit the expected
    /// shape, each entry of the `sections` mappings (e.g. `scenarios`) is parsed
    /// again on its own, to report the shape errors of every entry at once.
    pub fn parse<T: DeserializeOwned>(
        &self,
        expected: &str,
        sections: &[&[&str]],
    ) -> Result<T, Vec<ConfigError>> {
        let has_content = self.text.lines().any(|l| {
            let l = l.trim();
            !(l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
        });
        if !has_content {
            let message = format!("the file is empty; it should hold {expected}");
            return Err(vec![self.whole_file(message)]);
        }
        let error = match serde_yaml::from_str(&self.text) {
            Ok(raw) => return Ok(raw),
            Err(e) => e,
        };
        let first = from_yaml_error(self, &error, expected);
        if is_syntax_error(&error) {
            return Err(vec![first]);
        }
        let mut errors = self.entry_errors::<T>(expected, sections);
        if !errors.contains(&first) {
            errors.insert(0, first);
        }
        Err(errors)
    }

    /// Shape errors found by parsing the file once with every entry of `sections`
    /// blanked out, then once per entry with all but that entry blanked out. Blanking
    /// keeps line numbers, so positions stay exact. serde stops at the first unknown
    /// key, so each unknown key found is blanked too and the text parsed again: every
    /// unknown key is reported, and the problems behind them as well.
    fn entry_errors<T: DeserializeOwned>(
        &self,
        expected: &str,
        sections: &[&[&str]],
    ) -> Vec<ConfigError> {
        let spans: Vec<Range<usize>> = sections
            .iter()
            .flat_map(|path| entry_spans(&self.text, path))
            .collect();
        let lines: Vec<&str> = self.text.lines().collect();
        // The entry each line belongs to, if any: blanking is then one pass per parse.
        let mut owner: Vec<Option<usize>> = vec![None; lines.len()];
        for (k, span) in spans.iter().enumerate() {
            for slot in owner.iter_mut().take(span.end).skip(span.start) {
                *slot = Some(k);
            }
        }
        let keeping = |keep: Option<usize>| -> String {
            let kept: Vec<&str> = lines
                .iter()
                .zip(&owner)
                .map(|(line, k)| match k {
                    Some(k) if Some(*k) != keep => "",
                    _ => line,
                })
                .collect();
            kept.join("\n")
        };
        // Each parse reads the whole file: a large file with many entries gets its
        // first errors, not one parse per entry (quadratic in its size).
        let parses = (ENTRY_PARSE_BUDGET / self.text.len().max(1)).max(1);
        let mut errors: Vec<ConfigError> = Vec::new();
        let mut budget = parses;
        for keep in std::iter::once(None).chain((0..spans.len()).map(Some)) {
            if budget == 0 {
                break;
            }
            let mut text = keeping(keep);
            for _ in 0..MAX_UNKNOWN_KEYS {
                if budget == 0 {
                    break;
                }
                budget -= 1;
                let Err(e) = serde_yaml::from_str::<T>(&text) else {
                    break;
                };
                // An alias into a blanked entry is an artefact of blanking, not a problem.
                if is_syntax_error(&e) || e.to_string().contains("unknown anchor") {
                    break;
                }
                let error = from_yaml_error(self, &e, expected);
                let next = unknown_key_lines(&text, &error).map(|lines| blank_lines(&text, lines));
                if !errors.contains(&error) {
                    errors.push(error);
                }
                match next {
                    Some(blanked) => text = blanked,
                    None => break,
                }
            }
        }
        errors
    }

    /// An error about the whole file.
    pub fn whole_file(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.file, None, "", message)
    }

    /// Whether the whole key path can be found in the text.
    pub fn has(&self, path: &[&str]) -> bool {
        lookup(&self.text, path).depth == path.len()
    }

    /// An error pointing at a key (or its nearest ancestor that exists in the text).
    pub fn at_key(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        let position = lookup(&self.text, path).key_or_ancestor();
        self.at(position, path, message)
    }

    /// An error about a key's value: points at the value when it shares the key's line.
    pub fn at_value(&self, path: &[&str], message: impl Into<String>) -> ConfigError {
        let position = lookup(&self.text, path).value_or_key(path.len());
        self.at(position, path, message)
    }

    pub fn at(
        &self,
        position: Option<Position>,
        path: &[&str],
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::new(&self.file, position, path.join("."), message)
    }
}

/// How many unknown keys one pass of [`Source::entry_errors`] reports before it stops
/// (a bound on re-parsing a file that is mostly unknown keys).
const MAX_UNKNOWN_KEYS: usize = 100;

/// The 0-based lines of the unknown key `error` reports (the key and what is nested
/// under it), or `None` when `error` is about something else or the key cannot be
/// found on a line of its own.
fn unknown_key_lines(text: &str, error: &ConfigError) -> Option<Range<usize>> {
    if !error.message.starts_with("unknown key `") {
        return None;
    }
    let path: Vec<&str> = error.path.split('.').collect();
    let (_, parent) = path.split_last()?;
    let found = lookup(text, &path);
    if found.depth != path.len() {
        return None;
    }
    let line = found.found?.key.line.checked_sub(1)?;
    entry_spans(text, parent)
        .into_iter()
        .find(|span| span.start == line)
}

/// `text` with `lines` (0-based) emptied; line numbers stay as they were.
fn blank_lines(text: &str, lines: Range<usize>) -> String {
    text.lines()
        .enumerate()
        .map(|(i, line)| if lines.contains(&i) { "" } else { line })
        .collect::<Vec<_>>()
        .join("\n")
}
