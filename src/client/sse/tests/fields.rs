//! What each line means: comments, `data:` lines joined, a field's value, exact
//! field names, the `[DONE]` marker, `event: error`.

use super::*;

#[test]
fn comments_are_ignored() {
    let (events, end) = split_invariant(
        b": ping\n\n:\n: ping - 2024-01-01\ndata: x\n: in the middle\ndata: y\n\n:ping\n\n",
    );
    assert_eq!(events, [data("x\ny")]);
    assert_eq!(end, Ok(()));
}

#[test]
fn multi_line_data_is_joined_with_lf() {
    let (events, _) =
        split_invariant(b"data: {\"a\":\ndata: 1}\n\ndata: a\ndata:\ndata: b\n\ndata:\ndata:\n\n");
    assert_eq!(events, [data("{\"a\":\n1}"), data("a\n\nb"), data("\n")]);
}

#[test]
fn data_field_value_rules() {
    // No space, one space stripped, only one, trailing spaces kept, no colon.
    let (events, _) = split_invariant(
        b"data:x\n\ndata: x\n\ndata:  x\n\ndata: x \n\ndata\n\ndata:\n\ndata: a: b\n\n",
    );
    assert_eq!(
        events,
        [
            data("x"),
            data("x"),
            data(" x"),
            data("x "),
            data(""),
            data(""),
            data("a: b")
        ]
    );
}

#[test]
fn field_names_are_exact() {
    // Case-sensitive, no trimming: none of these is a data field.
    let (events, end) =
        run(&[b"Data: a\n\n data: b\n\ndata : c\n\nid: 1\nretry: 10\nfoo: bar\n\n"]);
    assert_eq!(events, []);
    assert_eq!(end, Ok(()));
}

#[test]
fn done_marker() {
    let (events, _) =
        split_invariant(b"data: [DONE]\n\ndata:[DONE]\n\ndata: [DONE] \n\ndata: [done]\n\n");
    assert_eq!(
        events,
        [Ev::Done, Ev::Done, data("[DONE] "), data("[done]")]
    );
}

#[test]
fn error_event_type() {
    let stream = b"event: error\ndata: {\"error\":\"boom\"}\n\n\
                   event:error\ndata: overloaded\n\n\
                   data: after\n\n\
                   event: error\n\n\
                   data: still data\n\n\
                   event: error\nevent: message\ndata: last type wins\n\n\
                   event: error\ndata: [DONE]\n\n\
                   event: ping\ndata: {}\n\n";
    let (events, end) = split_invariant(stream);
    assert_eq!(
        events,
        [
            Ev::Error("{\"error\":\"boom\"}".into()),
            Ev::Error("overloaded".into()),
            data("after"),
            // `event: error` without data: no event (spec), and the type resets.
            data("still data"),
            data("last type wins"),
            Ev::Error("[DONE]".into()),
            data("{}"),
        ]
    );
    assert_eq!(end, Ok(()));
}
