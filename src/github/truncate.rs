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
mod tests {
    use super::*;

    const WHERE: &str = "`comparison.md` in the results artifact";

    fn report(scenarios: usize, detail_len: usize) -> String {
        let mut md =
            String::from("## llm-bench\n\n✅ all good\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n");
        for i in 0..scenarios {
            md.push_str(&format!(
                "<details><summary><b>scenario-{i}</b>: closed loop, 1 trial(s)</summary>\n\n{}\n\n</details>\n\n",
                "x".repeat(detail_len)
            ));
        }
        md.push_str("<sub>footer</sub>\n");
        md
    }

    #[test]
    fn short_text_is_unchanged() {
        let md = report(3, 10);
        let s = shorten(&md, COMMENT_LIMIT_CHARS, Unit::Chars, WHERE);
        assert_eq!(s.text, md);
        assert!(!s.is_shortened());
    }

    #[test]
    fn exactly_at_the_limit_is_unchanged() {
        let md = "a".repeat(100);
        let s = shorten(&md, 100, Unit::Chars, WHERE);
        assert_eq!(s.text, md);
        let s = shorten(&"a".repeat(101), 100, Unit::Chars, WHERE);
        assert!(s.cut);
        assert!(Unit::Chars.len(&s.text) <= 100);
    }

    #[test]
    fn details_go_first_last_scenario_first() {
        let md = report(10, 10_000);
        let s = shorten(&md, COMMENT_LIMIT_CHARS, Unit::Chars, WHERE);
        assert!(s.text.chars().count() <= COMMENT_LIMIT_CHARS);
        assert!(!s.cut);
        // ~101k characters of detail: the last five sections (at least) go.
        assert!(s.dropped_details.len() >= 4, "{:?}", s.dropped_details);
        assert_eq!(s.dropped_details.last().unwrap(), "scenario-9");
        assert!(s.text.contains("scenario-0"));
        assert!(!s.text.contains("scenario-9</b>"));
        assert!(s.text.contains("✅ all good"));
        assert!(s.text.contains("<sub>footer</sub>"));
        assert!(s.text.contains("65,536 characters"));
        assert!(s.text.contains("`scenario-9`"));
        assert!(s.text.contains(WHERE));
        // Every kept section is whole.
        assert_eq!(
            s.text.matches("<details>").count(),
            s.text.matches("</details>").count()
        );
    }

    #[test]
    fn text_is_cut_at_a_line_when_details_are_not_enough() {
        let mut md = String::from("```\n");
        for i in 0..20_000 {
            md.push_str(&format!("line {i}\n"));
        }
        md.push_str("```\n");
        md.push_str(&report(2, 100));
        let s = shorten(&md, COMMENT_LIMIT_CHARS, Unit::Chars, WHERE);
        assert!(s.cut);
        assert!(s.text.chars().count() <= COMMENT_LIMIT_CHARS);
        assert_eq!(s.dropped_details.len(), 2);
        assert!(!open_fence(&s.text), "the code fence is closed");
        let before_note = s.text.split("\n> [!NOTE]").next().unwrap();
        for line in before_note.lines().filter(|l| l.starts_with("line ")) {
            assert!(
                line["line ".len()..].parse::<u32>().is_ok(),
                "cut mid-line: {line:?}"
            );
        }
        assert!(s.text.contains("cut at this point"));
    }

    #[test]
    fn multibyte_text_counts_characters_for_comments_and_bytes_for_summaries() {
        let md = "é".repeat(70_000);
        let comment = shorten(&md, COMMENT_LIMIT_CHARS, Unit::Chars, WHERE);
        assert!(comment.text.chars().count() <= COMMENT_LIMIT_CHARS);
        assert!(comment.text.chars().count() > 60_000);
        let summary = shorten(&md, 100_000, Unit::Bytes, WHERE);
        assert!(summary.text.len() <= 100_000);
        assert!(summary.text.contains("100,000 bytes"));
    }

    #[test]
    fn sections_are_named_by_their_scenario_heading() {
        let md = "## comparison\n\n### ❌ `high-load`\n\n| t |\n\n<details><summary>Informational metrics</summary>\n\nx\n\n</details>\n\n";
        let blocks = details_blocks(md);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].name, "high-load");
        let md = "## report\n\n<details><summary><b>low-load</b>: closed loop</summary>\n\nx\n</details>\n";
        assert_eq!(details_blocks(md)[0].name, "low-load");
    }

    #[test]
    fn nested_details_are_one_section() {
        let md = "a\n<details><summary>outer</summary>\n<details><summary>inner</summary>\nx\n</details>\n</details>\n\nb\n";
        let blocks = details_blocks(md);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].name, "outer");
        assert_eq!(without(md, &blocks), "a\nb\n");
    }

    #[test]
    fn many_dropped_sections_are_listed_briefly() {
        let md = report(40, 3_000);
        let s = shorten(&md, 20_000, Unit::Chars, WHERE);
        assert!(s.text.chars().count() <= 20_000);
        assert!(
            s.text.contains("more)"),
            "{}",
            &s.text[s.text.len() - 400..]
        );
    }

    #[test]
    fn a_limit_smaller_than_the_note_is_still_honoured() {
        let s = shorten(&"z".repeat(1000), 50, Unit::Chars, WHERE);
        assert!(s.text.chars().count() <= 50);
    }

    #[test]
    fn thousands_separators() {
        for (n, s) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (65_536, "65,536"),
            (1_048_576, "1,048,576"),
        ] {
            assert_eq!(thousands(n), s);
        }
    }
}
