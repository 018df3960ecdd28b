//! GitHub Actions' file and log interfaces: the job summary (`$GITHUB_STEP_SUMMARY`),
//! step outputs (`$GITHUB_OUTPUT`) and workflow commands (`::group::`, `::error::`,
//! `::warning::`) printed to stdout.
//!
//! Formatting is pure and tested here; the two `append_*` functions are the only I/O.
//! Escaping follows the Actions runner (`ActionCommand.cs`): data escapes `%`, CR and
//! LF; properties also escape `:` and `,`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// Appends `markdown` to the job summary file. Each step has its own file, which the
/// runner appends to the job's summary page when the step ends.
pub fn append_step_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append(path, &text)
}

/// Appends `key=value` step outputs to the `$GITHUB_OUTPUT` file.
pub fn append_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    append(path, &format_outputs(outputs))
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// The `$GITHUB_OUTPUT` text for `outputs`: `key=value` lines, or the heredoc form
/// `key<<DELIMITER` … `DELIMITER` for a value with a line break.
pub fn format_outputs(outputs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (key, value) in outputs {
        if value.contains('\n') || value.contains('\r') {
            let mut delimiter = String::from("LLM_BENCH_EOF");
            while value.contains(&delimiter) {
                delimiter.push('_');
            }
            out.push_str(&format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"));
        } else {
            out.push_str(&format!("{key}={value}\n"));
        }
    }
    out
}

/// Severity of an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// `::error title=TITLE::MESSAGE` (or warning, notice): an annotation on the run.
pub fn annotation(level: Level, title: &str, message: &str) -> String {
    if title.is_empty() {
        format!("::{}::{}", level.command(), escape_data(message))
    } else {
        format!(
            "::{} title={}::{}",
            level.command(),
            escape_property(title),
            escape_data(message)
        )
    }
}

pub fn group_start(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub fn group_end() -> &'static str {
    "::endgroup::"
}

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_single_and_multiline() {
        let text = format_outputs(&[
            ("verdict", "regression".into()),
            ("regressions", "2".into()),
            ("notes", "one\ntwo".into()),
            ("tricky", "a\nLLM_BENCH_EOF\nb".into()),
        ]);
        assert_eq!(
            text,
            "verdict=regression\nregressions=2\nnotes<<LLM_BENCH_EOF\none\ntwo\nLLM_BENCH_EOF\n\
             tricky<<LLM_BENCH_EOF_\na\nLLM_BENCH_EOF\nb\nLLM_BENCH_EOF_\n"
        );
    }

    #[test]
    fn workflow_commands_are_escaped() {
        for (level, title, message, expected) in [
            (
                Level::Error,
                "llm-bench: regression",
                "ttft p50 +12%\nsee report",
                "::error title=llm-bench%3A regression::ttft p50 +12%25%0Asee report",
            ),
            (
                Level::Warning,
                "",
                "not comparable: a, b",
                "::warning::not comparable: a, b",
            ),
            (Level::Notice, "x,y", "done", "::notice title=x%2Cy::done"),
        ] {
            assert_eq!(annotation(level, title, message), expected);
        }
        assert_eq!(
            group_start("llm-bench run: 50%"),
            "::group::llm-bench run: 50%25"
        );
    }

    #[test]
    fn files_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        append_step_summary(&path, "# one").unwrap();
        append_step_summary(&path, "# two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# one\n# two\n");
        let out = dir.path().join("output");
        append_outputs(&out, &[("a", "1".into())]).unwrap();
        append_outputs(&out, &[("b", "2".into())]).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a=1\nb=2\n");
    }
}
