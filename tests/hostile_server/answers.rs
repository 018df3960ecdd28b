//! What the server answered: statuses and content types with kinds of their own,
//! usage checked against what arrived, tokens without text, an error body cut.

use super::*;

// ---- 8. statuses and content types get kinds of their own ----

#[tokio::test]
async fn redirects_odd_statuses_and_wrong_content_types_are_named() {
    let cases: Vec<(Vec<u8>, bool, ErrorKind, &str)> = vec![
        (
            response(
                "307 Temporary Redirect",
                "Location: https://llm.example.com/v1/chat/completions\r\n",
                "",
            ),
            true,
            ErrorKind::Redirect,
            "redirect to https://llm.example.com/v1/chat/completions",
        ),
        (
            response("600 Whatever", "", ""),
            true,
            ErrorKind::UnexpectedStatus,
            "HTTP 600",
        ),
        (
            response(
                "200 OK",
                "Content-Type: text/html; charset=utf-8\r\n",
                "<html><body>Please log in</body></html>",
            ),
            true,
            ErrorKind::WrongContentType,
            "got an HTML page (text/html; charset=utf-8)",
        ),
        (
            response(
                "200 OK",
                "Content-Type: application/json\r\n",
                r#"{"choices":[{"message":{"content":"hi"}}]}"#,
            ),
            true,
            ErrorKind::WrongContentType,
            "got application/json: the server ignored `stream: true`",
        ),
        (
            response("503 Service Unavailable", "", "overloaded"),
            true,
            ErrorKind::Http5xx,
            "HTTP 503: overloaded",
        ),
    ];
    for (bytes, stream, expected, words) in cases {
        let server = Server::start(vec![vec![Step::Write(bytes)]]).await;
        let row = send(&client(&server, 1), stream).await;
        let (kind, message) = kind_and_message(&row);
        assert_eq!(kind, expected, "{message}");
        assert!(message.contains(words), "{message}");
    }
}

// ---- 9. usage checked against what arrived ----

#[tokio::test]
async fn usage_that_does_not_fit_what_arrived_is_flagged() {
    let usage = |n: u64| {
        format!("data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":{n}}}}}\n\n")
    };
    let events = |n| {
        vec![
            token_event("a"),
            token_event("b"),
            token_event("c"),
            usage(n),
        ]
    };
    let server = Server::start(vec![
        sse_response(&events(1_000_000)),
        sse_response(&events(1)),
        sse_response(&events(3)),
    ])
    .await;
    let c = client(&server, 1);
    let claimed = send(&c, true).await;
    assert!(claimed.ok);
    assert_eq!(
        claimed.output_tokens, 1_000_000,
        "the server's count is kept"
    );
    assert_eq!(
        claimed.flags,
        [RowFlag::UsageAboveReceived, RowFlag::OverMaxTokens]
    );
    assert_eq!(send(&c, true).await.flags, [RowFlag::UsageBelowChunks]);
    assert!(send(&c, true).await.flags.is_empty());
}

// ---- 10. tokens reported, no text ----

#[tokio::test]
async fn generated_tokens_without_text_are_a_success_with_no_ttft() {
    let finish = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    let usage = |n: u64| {
        format!("data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":{n}}}}}\n\n")
    };
    let role = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
    let server = Server::start(vec![
        sse_response(&[role.into(), finish.into(), usage(1)]),
        sse_response(&[role.into(), finish.into(), usage(0)]),
        sse_response(&[role.into(), finish.into()]),
    ])
    .await;
    let c = client(&server, 1);
    let row = send(&c, true).await;
    assert!(row.ok, "{row:?}");
    assert_eq!((row.output_tokens, row.chunks), (1, 0));
    assert_eq!(row.flags, [RowFlag::NoVisibleText]);
    assert_eq!((row.ttft_ms, row.tpot_ms), (None, None));
    assert!(row.itl_ms.is_empty());
    let zero = send(&c, true).await;
    let (kind, message) = kind_and_message(&zero);
    assert_eq!(kind, ErrorKind::EmptyResponse);
    assert!(message.contains("reported 0 generated tokens"), "{message}");
    let none = send(&c, true).await;
    let (kind, message) = kind_and_message(&none);
    assert_eq!(kind, ErrorKind::EmptyResponse);
    assert!(message.contains("no token usage"), "{message}");
}

// ---- 13. an error body cut by a reset ----

#[tokio::test]
async fn an_error_body_cut_by_a_reset_keeps_what_arrived_and_says_it_was_cut() {
    let head =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n";
    let server = Server::start(vec![vec![
        Step::Write(format!("{head}{{\"error\": \"bad req").into_bytes()),
        Step::Sleep(Duration::from_millis(50)),
        Step::Reset,
    ]])
    .await;
    let row = send(&client(&server, 1), true).await;
    let (kind, message) = kind_and_message(&row);
    assert_eq!(kind, ErrorKind::InvalidRequest);
    assert!(
        message.ends_with(
            ": {\"error\": \"bad req [cut short: the connection failed (Connection reset by peer \
             (os error 104)) after 18 bytes of the body]"
        ),
        "{message}"
    );
}
