//! Line endings (CR LF, lone CR, mixed, split across chunks) and the byte order
//! mark.

use super::*;

#[test]
fn crlf_line_endings() {
    let (events, end) =
        split_invariant(b"data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n: x\r\ndata: [DONE]\r\n\r\n");
    assert_eq!(events, [data("a"), data("b\nc"), Ev::Done]);
    assert_eq!(end, Ok(()));
}

#[test]
fn lone_cr_line_endings() {
    let (events, end) = split_invariant(b"data: a\r\rdata: b\rdata: c\r\r");
    assert_eq!(events, [data("a"), data("b\nc")]);
    assert_eq!(end, Ok(()));
}

#[test]
fn mixed_line_endings() {
    let (events, _) = split_invariant(b"data: a\r\ndata: b\ndata: c\r\rdata: d\n\r\n");
    assert_eq!(events, [data("a\nb\nc"), data("d")]);
}

#[test]
fn cr_and_lf_in_different_chunks_are_one_line_ending() {
    // Were the LF a blank line, `a` would be dispatched alone.
    let (events, end) = run(&[b"data: a\r", b"\ndata: b\r\n\r\n"]);
    assert_eq!(events, [data("a\nb")]);
    assert_eq!(end, Ok(()));
    // The CR is remembered across an empty chunk.
    let (events, _) = run(&[b"data: a\r", b"", b"\ndata: b\r", b"\n", b"\r", b"\n"]);
    assert_eq!(events, [data("a\nb")]);
    // A CR, then CR LF: one line ending, then a blank line.
    let (events, _) = run(&[b"data: a\r", b"\r", b"\n"]);
    assert_eq!(events, [data("a")]);
}

#[test]
fn byte_order_mark_at_start_is_skipped() {
    let (events, end) = split_invariant(b"\xEF\xBB\xBFdata: a\n\n");
    assert_eq!(events, [data("a")]);
    assert_eq!(end, Ok(()));
    // A BOM alone on the first line leaves a blank line.
    let (events, _) = split_invariant(b"\xEF\xBB\xBF\ndata: a\n\n");
    assert_eq!(events, [data("a")]);
}

#[test]
fn byte_order_mark_elsewhere_is_content() {
    // Only one, and only at the start: later it makes the field name unknown.
    let (events, _) = split_invariant(
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\ndata: \xEF\xBB\xBFc\n\n",
    );
    assert_eq!(events, [data("\u{feff}c")]);
}
