//! The client against a server that misbehaves on purpose (`script`: raw TCP on
//! loopback, byte-exact responses): every request still gets a row that says what
//! happened, memory stays bounded, nothing is replayed behind the user's back, and
//! token counts that do not fit what arrived are flagged.

mod common;
#[path = "hostile_server/script.rs"]
mod script;

use std::time::{Duration, Instant};

use llm_bench::client::{Api, Client, ClientOptions};
use llm_bench::record::{ErrorKind, RequestRow, RowContext, RowFlag, ITL_EXACT_CAP};
use script::{chunk, response, sse_response, token_event, Server, Step, SSE_HEAD};

const STALL: Duration = Duration::from_millis(300);

fn client(server: &Server, max_connections: usize) -> Client {
    Client::new(ClientOptions {
        base_url: server.url(),
        api: Api::Chat,
        api_key: None,
        headers: Vec::new(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        stall_timeout: STALL,
        max_connections,
        ca_cert: None,
    })
    .unwrap()
}

/// Sends one request and returns its row, as the runner would write it, with
/// `max_tokens` 16.
async fn send(client: &Client, stream: bool) -> RequestRow {
    let start = Instant::now();
    let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":16}"#;
    let outcome = client.send(body.to_vec(), None, start, stream).await;
    let ctx = RowContext {
        scenario: "s",
        trial: 0,
        index: 0,
        request_id: None,
        warmup: false,
        trial_start: start,
        in_flight: 1,
        max_tokens: Some(16),
        requested_output_tokens: None,
        tokenizer_output_tokens: None,
    };
    let row = RequestRow::new(ctx, &outcome);
    // What the run writes reads back as the same row.
    let line = serde_json::to_string(&row).unwrap();
    assert_eq!(serde_json::from_str::<RequestRow>(&line).unwrap(), row);
    row
}

fn kind_and_message(row: &RequestRow) -> (ErrorKind, &str) {
    let kind = row
        .error_kind
        .unwrap_or_else(|| panic!("expected a failure: {row:?}"));
    (kind, row.error.as_deref().unwrap_or_default())
}

// ---- 1. a long stream keeps bounded gaps ----

#[tokio::test]
async fn a_stream_longer_than_the_cap_keeps_its_first_gaps_and_folds_the_rest() {
    let tokens = ITL_EXACT_CAP + 3_000;
    let mut steps = vec![Step::Write(SSE_HEAD.to_vec())];
    steps.push(Step::Tokens {
        count: tokens,
        per_write: 4,
    });
    let server = Server::start(vec![steps]).await;
    let row = send(&client(&server, 1), true).await;
    assert!(row.ok, "{row:?}");
    assert_eq!(row.chunks, tokens as u64);
    assert_eq!(row.itl_ms.len(), ITL_EXACT_CAP);
    let rest = row.itl_rest.as_ref().expect("folded gaps");
    assert_eq!(rest.count, (tokens - 1 - ITL_EXACT_CAP) as u64);
    assert_eq!(
        rest.histogram.iter().map(|(_, n)| n).sum::<u64>(),
        rest.count
    );
    assert!(rest.min_ms <= rest.mean_ms && rest.mean_ms <= rest.max_ms);
    // No usage was sent: one token per chunk, more than max_tokens allowed.
    assert_eq!(row.flags, [RowFlag::OverMaxTokens, RowFlag::ItlFolded]);
}

// ---- 3. the stall timeout covers the wait for the head ----

#[tokio::test]
async fn a_server_that_accepts_and_says_nothing_costs_the_stall_timeout() {
    for (what, steps) in [
        ("silence", vec![Step::Sleep(Duration::from_secs(5))]),
        (
            "100 Continue, then silence",
            vec![
                Step::Write(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()),
                Step::Sleep(Duration::from_secs(5)),
            ],
        ),
        (
            "half a head",
            vec![
                Step::Write(b"HTTP/1.1 200 OK\r\nContent-Ty".to_vec()),
                Step::Sleep(Duration::from_secs(5)),
            ],
        ),
    ] {
        let server = Server::start(vec![steps]).await;
        let started = Instant::now();
        let row = send(&client(&server, 1), true).await;
        let (kind, message) = kind_and_message(&row);
        assert_eq!(kind, ErrorKind::Timeout, "{what}: {message}");
        assert!(message.contains("stall timeout"), "{what}: {message}");
        // The stall timeout (300 ms), not the request timeout (10 s).
        assert!(started.elapsed() < Duration::from_secs(3), "{what}");
    }
}

#[tokio::test]
async fn switching_protocols_then_silence_fails_at_once() {
    let server = Server::start(vec![vec![
        Step::Write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n".to_vec()),
        Step::Sleep(Duration::from_secs(5)),
    ]])
    .await;
    let started = Instant::now();
    let row = send(&client(&server, 1), true).await;
    let (kind, message) = kind_and_message(&row);
    assert_eq!((kind, row.status), (ErrorKind::UnexpectedStatus, Some(101)));
    assert!(message.contains("Switching Protocols"), "{message}");
    assert!(started.elapsed() < STALL, "{:?}", started.elapsed());
}

// ---- 5. caps that bound the whole run ----

#[tokio::test]
async fn a_line_over_the_runs_cap_is_too_large_and_says_how_to_raise_it() {
    // 4,096 streams share the budget: 64 KiB each. The server sends a 1 MiB line.
    let mut body = SSE_HEAD.to_vec();
    body.extend(chunk(&format!("data: {}", "x".repeat(1 << 20))));
    let server = Server::start(vec![vec![
        Step::Write(body),
        Step::Sleep(Duration::from_secs(1)),
    ]])
    .await;
    let c = client(&server, 4096);
    assert_eq!(c.limits().per_buffer, 64 * 1024);
    let row = send(&c, true).await;
    let (kind, message) = kind_and_message(&row);
    assert_eq!(kind, ErrorKind::TooLarge);
    assert!(
        message.contains("longer than 65536 bytes")
            && message.contains("64 KiB per request: 512 MiB shared by 4096 concurrent streams")
            && message.contains("lower the concurrency"),
        "{message}"
    );
    // A non-streamed body is held to the same cap.
    let big = format!(
        r#"{{"choices":[{{"message":{{"content":"{}"}}}}]}}"#,
        "y".repeat(100_000)
    );
    let server = Server::start(vec![vec![Step::Write(response(
        "200 OK",
        "Content-Type: application/json\r\n",
        &big,
    ))]])
    .await;
    let row = send(&client(&server, 4096), false).await;
    assert_eq!(kind_and_message(&row).0, ErrorKind::TooLarge, "{row:?}");
    // And a response head has its own cap.
    let head = format!("HTTP/1.1 200 OK\r\nX-Pad: {}\r\n", "p".repeat(100_000));
    let server = Server::start(vec![vec![
        Step::Write(head.into_bytes()),
        Step::Sleep(Duration::from_secs(1)),
    ]])
    .await;
    let row = send(&client(&server, 1), true).await;
    let (kind, message) = kind_and_message(&row);
    assert_eq!(kind, ErrorKind::TooLarge);
    assert!(message.contains("head is longer than 64 KiB"), "{message}");
}

// ---- 7. no silent replays; connections are recorded ----

#[tokio::test]
async fn a_request_the_server_read_is_not_sent_again() {
    // Keep-alive answer, then the server reads the second request on the same
    // connection and closes it without a word (as the issue's proxy did).
    let ok = sse_response(&[token_event("a")]);
    let server = Server::start(vec![ok.clone(), vec![Step::Close], ok]).await;
    let c = client(&server, 1);
    let first = send(&c, true).await;
    assert!(first.ok, "{first:?}");
    assert_eq!(first.new_connection, Some(true));
    assert!(first.connect_ms.is_some());
    let second = send(&c, true).await;
    let (kind, message) = kind_and_message(&second);
    assert_eq!(kind, ErrorKind::StreamReset);
    assert!(message.contains("not sent again"), "{message}");
    assert_eq!((second.attempts, second.new_connection), (1, Some(false)));
    // One POST per row: nothing was replayed.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.requests().len(), 2);
    // The next request opens a new connection and says so.
    let third = send(&c, true).await;
    assert!(third.ok, "{third:?}");
    assert_eq!((third.attempts, third.new_connection), (1, Some(true)));
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_server_that_closes_after_every_stream_costs_a_connect_each_time_and_no_failure() {
    // llama.cpp's server: chunked, no `Connection: close`, then it closes.
    let mut closing = sse_response(&[token_event("a"), token_event("b")]);
    closing.push(Step::Close);
    let server = Server::start(vec![closing.clone(), closing.clone(), closing]).await;
    let c = client(&server, 1);
    c.warm_up(1).await;
    for i in 0..3 {
        let row = send(&c, true).await;
        assert!(row.ok, "request {i}: {row:?}");
        assert_eq!(row.attempts, 1);
        assert!(row.first_attempt_error.is_none());
        // The first uses the warm-up connection; the others find theirs closed
        // before sending and open a new one.
        assert_eq!(row.new_connection, Some(i > 0), "request {i}");
        assert_eq!(row.connect_ms.is_some(), i > 0, "request {i}");
        assert!(row.connect_ms.unwrap_or(0.0) <= row.ttft_ms.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn once_a_close_after_a_response_is_seen_connections_are_not_pooled() {
    // As above, but back to back, as a closed loop sends: the next request may
    // take the connection before the server's close arrives, and that request can
    // be neither answered nor sent again. The first close seen (here, the second
    // request finds its pooled connection closed) stops pooling, so no later
    // request can race a close.
    let mut closing = sse_response(&[token_event("a"), token_event("b")]);
    closing.push(Step::Close);
    let server = Server::start(vec![closing; 8]).await;
    let c = client(&server, 1);
    c.warm_up(1).await;
    let first = send(&c, true).await;
    assert!(first.ok, "{first:?}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = send(&c, true).await;
    assert!(second.ok, "{second:?}");
    assert_eq!(second.new_connection, Some(true));
    for i in 2..8 {
        let row = send(&c, true).await;
        assert!(row.ok, "request {i}: {row:?}");
        assert_eq!(row.new_connection, Some(true), "request {i}");
        assert_eq!(row.attempts, 1, "request {i}");
    }
    assert_eq!(server.requests().len(), 8);
}

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

// ---- the whole run: kinds and flags reach summary.json ----

#[test]
fn flags_and_new_kinds_are_counted_in_the_summary() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut long = vec![Step::Write(SSE_HEAD.to_vec())];
    long.push(Step::Tokens {
        count: ITL_EXACT_CAP + 100,
        per_write: 8,
    });
    let mut script = vec![long];
    script.push(vec![Step::Write(response(
        "308 Permanent Redirect",
        "Location: http://elsewhere/v1\r\n",
        "",
    ))]);
    let server = runtime.block_on(Server::start(script));
    let tmp = tempfile::tempdir().unwrap();
    let out = common::out_dir(&tmp);
    let o = common::run_against(
        &server.url(),
        &out,
        &[
            "--requests",
            "2",
            "--concurrency",
            "1",
            "--max-tokens",
            "16",
        ],
    );
    assert!(out.join("summary.json").exists(), "{}", common::stderr(&o));
    let summary = common::validated_summary(&out);
    let m = &summary["scenarios"][0]["metrics"];
    let outcomes: Vec<_> = common::rows(&out)
        .iter()
        .map(|r| (r.index, r.error_kind, r.error.clone(), r.chunks))
        .collect();
    assert_eq!(m["errors"]["redirect"], 1, "{outcomes:?}");
    assert_eq!(m["flags"]["itl_folded"], 1, "{m:#}");
    assert_eq!(m["flags"]["over_max_tokens"], 1, "{m:#}");
    // Every gap reaches the summary, the folded ones included.
    assert_eq!(m["itl_ms"]["count"], (ITL_EXACT_CAP + 99) as u64, "{m:#}");
    let rows = common::rows(&out);
    assert_eq!(
        rows.iter().map(|r| r.itl_ms.len()).max(),
        Some(ITL_EXACT_CAP)
    );
}

// ---- 5. pages that are only probed are capped too ----

#[tokio::test]
async fn an_endless_answer_to_a_probe_is_cut_at_its_cap() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let piece = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
        // Bounded: 256 MiB, far past the cap, then the test is long over.
        for _ in 0..4096 {
            if stream.write_all(piece.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let response = reqwest::get(format!("http://127.0.0.1:{port}/v1/models"))
        .await
        .unwrap();
    let err = llm_bench::client::limits::read_capped(response, 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(err, "the answer is larger than 1024 KiB");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// `--url` without `--model` asks `/models` for a model: an endless answer there is
/// cut at its cap too, and the run says so instead of holding it all.
#[test]
fn an_endless_model_list_is_cut_at_its_cap() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.read(&mut [0u8; 4096]);
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let piece = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
        // Bounded: 256 MiB, far past the 4 MiB cap.
        for _ in 0..4096 {
            if stream.write_all(piece.as_bytes()).is_err() {
                return;
            }
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = common::bin()
        .args(["run", "--url", &url, "-n", "2", "--out"])
        .arg(common::out_dir(&tmp))
        .output()
        .unwrap();
    let text = common::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("sent no usable model list (the answer is larger than 4096 KiB)"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(8), "{text}");
}
