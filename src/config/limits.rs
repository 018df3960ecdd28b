//! Bounds on a config file checked before it is parsed, so a hostile or broken file
//! costs milliseconds: a YAML parser's time grows with nesting depth (100,000
//! levels of `[[[…]]]` in 200 KB took a minute) and re-parsing entry by entry to
//! report every mistake grows with size times entries.
//!
//! The scan is deliberately simple and conservative: it counts flow brackets
//! outside quotes, comments and block scalars, plus block levels (indentation and
//! `- ` entries on one line). Real config files are a handful of levels deep.

/// Largest config file read, in bytes. The shipped configs are a few KB; a prompt
/// template can be long, but one of a megabyte belongs in a file of its own.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Deepest nesting of collections accepted. Config files need under 10.
pub const MAX_DEPTH: usize = 64;

/// Why a file was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    /// 1-based line where the limit was crossed.
    pub line: usize,
    pub column: usize,
}

/// The message for a file over [`MAX_FILE_BYTES`].
pub fn too_large(bytes: u64) -> String {
    format!(
        "the file is {bytes} bytes; config files are at most {MAX_FILE_BYTES} bytes (1 MiB) \
         (is this the right file? long prompts belong in their own files)"
    )
}

/// The message for a file over [`MAX_DEPTH`].
pub fn too_deep_message() -> String {
    format!(
        "nested more than {MAX_DEPTH} levels deep; config files need only a few levels \
         (is this the right file?)"
    )
}

/// Checks that no collection in `text` is nested deeper than [`MAX_DEPTH`].
pub fn check_depth(text: &str) -> Result<(), TooDeep> {
    let mut flow = 0usize;
    // Indentation of each open block level.
    let mut indents: Vec<usize> = Vec::new();
    // Indentation of a block scalar's header line while inside its content.
    let mut block_scalar: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line[indent..].trim_end();
        if let Some(header) = block_scalar {
            if content.is_empty() || indent > header {
                continue;
            }
            block_scalar = None;
        }
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut depth_here = 0;
        if flow == 0 {
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - - x` opens one sequence per dash.
            let mut rest = content;
            while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
                depth_here += 1;
                rest = r.trim_start_matches(' ');
            }
        }
        let block_depth = indents.len() + depth_here;
        let fail = |column: usize| TooDeep {
            line: n + 1,
            column: column + 1,
        };
        if block_depth > MAX_DEPTH {
            return Err(fail(indent));
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        let mut chars = content.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' if previous == ' ' || "[{,:".contains(previous) => quote = Some(c),
                    '#' if previous == ' ' => break,
                    '[' | '{' => {
                        flow += 1;
                        if block_depth + flow > MAX_DEPTH {
                            return Err(fail(indent + i));
                        }
                    }
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            previous = c;
        }
        if flow == 0 && quote.is_none() && opens_block_scalar(content) {
            block_scalar = Some(indent);
        }
    }
    Ok(())
}

/// Whether a line ends with a block scalar header (`|`, `>`, `|-`, `>+2`, …).
fn opens_block_scalar(content: &str) -> bool {
    let content = content.split(" #").next().unwrap_or(content).trim_end();
    let (before, header) = match content.rfind(' ') {
        Some(i) => (content[..i].trim_end(), &content[i + 1..]),
        None => ("", content),
    };
    let is_header = header.starts_with(['|', '>'])
        && header[1..]
            .chars()
            .all(|c| matches!(c, '-' | '+' | '0'..='9'));
    is_header && (before.is_empty() || before.ends_with(':') || before.ends_with('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_files_pass() {
        for text in [
            include_str!("../../configs/targets.yaml"),
            include_str!("../../configs/models.yaml"),
            include_str!("../../configs/workloads.yaml"),
        ] {
            assert_eq!(check_depth(text), Ok(()));
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_where_it_crosses_the_limit() {
        let text = format!(
            "scenarios: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(
            check_depth(&text),
            Err(TooDeep {
                line: 1,
                column: 75
            })
        );
        let ok = format!("a: {}{}\n", "[".repeat(60), "]".repeat(60));
        assert_eq!(check_depth(&ok), Ok(()));
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        let dashes = format!("{}x\n", "- ".repeat(100));
        assert!(check_depth(&dashes).is_err());
        let mut indented = String::new();
        for i in 0..100 {
            indented.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        assert_eq!(check_depth(&indented).unwrap_err().line, MAX_DEPTH + 1);
    }

    #[test]
    fn brackets_in_text_do_not_count() {
        let text = format!(
            "a: \"{}\"\nb: '{}'\nc: 1 # {}\nprompt: |\n  {}\n    {}\nd: [x]\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100),
        );
        assert_eq!(check_depth(&text), Ok(()));
    }
}
