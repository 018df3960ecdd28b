//! The scanner on hand-written YAML: block and flow keys, quoting, fallbacks, and
//! input it must survive.

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
    let text = "a: 1\nitems:\n  x:\n    k: 1\n\n  # about y\n  y: { k: 2 }\n  z:\n    k: 3\nb: 2\n";
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
