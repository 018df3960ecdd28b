//! Cutting a comment to GitHub's limits: details go first (last scenario first),
//! then text at a line; characters for comments, bytes for summaries.

use super::*;

const WHERE: &str = "`comparison.md` in the results artifact";

fn report(scenarios: usize, detail_len: usize) -> String {
    let mut md = String::from("## llm-bench\n\n✅ all good\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n");
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
    let md =
        "## report\n\n<details><summary><b>low-load</b>: closed loop</summary>\n\nx\n</details>\n";
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
