//! Shortens a Markdown report to fit GitHub's size limits: 65,536 characters for an
//! issue or pull-request comment, 1 MiB for a step's job summary.
//!
//! What goes first is what a reviewer misses least: the per-scenario `<details>`
//! sections, last scenario first, so the headline, the verdict and the overview table
//! stay. Only when the text without any of them is still too long is it cut at a line
//! boundary (closing an open code fence). Either way a note at the end says what was
//! left out and where the full report is. Pure: no I/O.

/// GitHub's limit on the body of an issue or pull-request comment, in characters.
pub const COMMENT_LIMIT_CHARS: usize = 65_536;

/// GitHub's limit on one step's job summary (`$GITHUB_STEP_SUMMARY`), in bytes.
pub const STEP_SUMMARY_LIMIT_BYTES: usize = 1024 * 1024;

/// How a limit is counted: GitHub counts a comment in characters, a job summary in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Chars,
    Bytes,
}

impl Unit {
    pub fn len(self, text: &str) -> usize {
        match self {
            Unit::Chars => text.chars().count(),
            Unit::Bytes => text.len(),
        }
    }

    /// The byte index at which `text` reaches `n` units (or its end).
    fn byte_index(self, text: &str, n: usize) -> usize {
        match self {
            Unit::Chars => text.char_indices().nth(n).map_or(text.len(), |(i, _)| i),
            Unit::Bytes => {
                let mut i = n.min(text.len());
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                i
            }
        }
    }
}

/// The text to publish and what was left out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortened {
    pub text: String,
    /// Names (the `<summary>` text) of the detail sections left out, in document order.
    pub dropped_details: Vec<String>,
    /// Whether the text itself had to be cut after the detail sections were gone.
    pub cut: bool,
}

impl Shortened {
    pub fn is_shortened(&self) -> bool {
        self.cut || !self.dropped_details.is_empty()
    }
}

/// Fits `markdown` into `limit` units. `full_report` says where the whole report is
/// (Markdown, e.g. `` `comparison.md` in the [results artifact](https://…) ``); it ends the note.
pub fn shorten(markdown: &str, limit: usize, unit: Unit, full_report: &str) -> Shortened {
    if unit.len(markdown) <= limit {
        return Shortened {
            text: markdown.to_string(),
            dropped_details: Vec::new(),
            cut: false,
        };
    }
    let blocks = details_blocks(markdown);
    // Drop detail sections from the last one back until the text and its note fit.
    for k in 1..=blocks.len() {
        let dropped = &blocks[blocks.len() - k..];
        let mut text = without(markdown, dropped);
        let names: Vec<String> = dropped.iter().map(|b| b.name.clone()).collect();
        text.push_str(&note(limit, unit, &names, false, full_report));
        if unit.len(&text) <= limit {
            return Shortened {
                text,
                dropped_details: names,
                cut: false,
            };
        }
    }
    // Still too long without any detail section: cut the rest at a line boundary.
    let names: Vec<String> = blocks.iter().map(|b| b.name.clone()).collect();
    let rest = without(markdown, &blocks);
    let tail = note(limit, unit, &names, true, full_report);
    // Room for the note and for a code fence that may need closing.
    let fence = "```\n";
    let budget = limit.saturating_sub(unit.len(&tail) + unit.len(fence) + 1);
    let mut text = cut_at_line(&rest, unit.byte_index(&rest, budget)).to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if open_fence(&text) {
        text.push_str(fence);
    }
    text.push_str(&tail);
    if unit.len(&text) > limit {
        // Only a limit smaller than the note itself gets here (tests, or a broken caller).
        text.truncate(unit.byte_index(&text, limit));
    }
    Shortened {
        text,
        dropped_details: names,
        cut: true,
    }
}

/// A top-level `<details>…</details>` section: its byte range (with the blank lines
/// that follow it) and its `<summary>` text.
#[derive(Debug, Clone)]
struct Block {
    start: usize,
    end: usize,
    name: String,
}

fn details_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut start = 0usize;
    let mut i = 0usize;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("<details") {
            if depth == 0 {
                start = i;
            }
            depth += 1;
            i += "<details".len();
        } else if rest.starts_with("</details>") {
            i += "</details>".len();
            if depth == 0 {
                continue; // a stray closing tag: leave it alone
            }
            depth -= 1;
            if depth == 0 {
                let mut end = i;
                while text[end..].starts_with('\n') {
                    end += 1;
                }
                blocks.push(Block {
                    start,
                    end,
                    name: section_name(&text[..start], &text[start..end]),
                });
                i = end;
            }
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    blocks
}

/// What a details section belongs to: the scenario heading (`### ❌ `name``) it sits
/// under, as `comparison.md` writes them, else its own `<summary>` (as `report.md`).
fn section_name(before: &str, block: &str) -> String {
    let heading = before.lines().rev().find(|l| l.starts_with('#'));
    match heading {
        Some(h) if h.starts_with("###") => {
            let text = h.trim_start_matches('#').trim();
            match text.split('`').nth(1) {
                Some(code) if !code.is_empty() => code.to_string(),
                _ => text
                    .trim_start_matches(|c: char| !c.is_alphanumeric())
                    .to_string(),
            }
        }
        _ => summary_name(block),
    }
}

/// The `<summary>` of a details section as plain text (tags and emphasis removed).
fn summary_name(block: &str) -> String {
    let Some(open) = block.find("<summary>") else {
        return "details".into();
    };
    let inner = &block[open + "<summary>".len()..];
    let inner = inner
        .find("</summary>")
        .map_or(inner, |close| &inner[..close]);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '*' | '`' => {}
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    // "name: closed loop, 3 trial(s)" → "name"
    plain.split(':').next().unwrap_or("").trim().to_string()
}

fn without(text: &str, blocks: &[Block]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for b in blocks {
        out.push_str(&text[pos..b.start]);
        pos = b.end;
    }
    out.push_str(&text[pos..]);
    out
}

fn cut_at_line(text: &str, at: usize) -> &str {
    let head = &text[..at];
    match head.rfind('\n') {
        Some(nl) => &head[..=nl],
        None => head,
    }
}

fn open_fence(text: &str) -> bool {
    text.lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count()
        % 2
        == 1
}

fn note(limit: usize, unit: Unit, dropped: &[String], cut: bool, full_report: &str) -> String {
    let what = match unit {
        Unit::Chars => format!("{} characters", thousands(limit)),
        Unit::Bytes => format!("{} bytes", thousands(limit)),
    };
    let mut parts = Vec::new();
    if !dropped.is_empty() {
        const SHOWN: usize = 10;
        let mut names: Vec<String> = dropped
            .iter()
            .take(SHOWN)
            .map(|n| format!("`{}`", n.replace('`', "")))
            .collect();
        if dropped.len() > SHOWN {
            names.push(format!("and {} more", dropped.len() - SHOWN));
        }
        parts.push(format!(
            "the per-scenario details of {} scenario(s) ({}) were left out",
            dropped.len(),
            names.join(", ")
        ));
    }
    if cut {
        parts.push("the rest of the report was cut at this point".to_string());
    }
    format!(
        "\n> [!NOTE]\n> Shortened to fit GitHub's limit of {what}: {}. The full report is {full_report}.\n",
        parts.join("; ")
    )
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
