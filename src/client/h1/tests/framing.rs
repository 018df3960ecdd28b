//! Framings real servers use: content length, chunked with extensions and
//! trailers, a body delimited by close, informational and final heads.

use super::*;

#[tokio::test]
async fn content_length_bodies_reuse_one_connection() {
    let reply = Reply::Pieces(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello",
        b" world",
    ]);
    let s = server(vec![reply.clone(), reply]).await;
    let ep = endpoint(s.port);
    for _ in 0..2 {
        let (status, payload, body) = fetch(&ep).await;
        assert_eq!((status, payload.unwrap()), (200, b"hello world".to_vec()));
        ep.put_back(body.into_reusable().expect("reusable"));
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
    let request = s.requests.lock().unwrap()[0].clone();
    assert!(request.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"));
    for line in [
        "Host: 127.0.0.1:",
        "Content-Length: 7\r\n",
        "X-Request-Id: run1-chat-0-7\r\n",
        "authorization: Bearer sk-secret\r\n",
        "User-Agent: llm-bench/",
    ] {
        assert!(request.contains(line), "{line} missing in {request}");
    }
    assert!(request.ends_with("\r\n\r\n{\"x\":1}"));
}

#[tokio::test]
async fn chunked_sse_with_extensions_trailers_and_tiny_writes() {
    let s = server(vec![Reply::Pieces(vec![
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"0",
        b"f;name=val\r\ndata: {\"a\":1}\n\n\r",
        b"\n",
        b"e\r\ndata: [DONE]\n\n\r\n0\r\nX-T: 1\r\n",
        b"\r\n",
    ])])
    .await;
    let ep = endpoint(s.port);
    let (_, payload, body) = fetch(&ep).await;
    assert_eq!(
        String::from_utf8(payload.unwrap()).unwrap(),
        "data: {\"a\":1}\n\ndata: [DONE]\n\n"
    );
    assert!(body.into_reusable().is_some());
}

#[tokio::test]
async fn a_body_delimited_by_close_ends_cleanly_and_is_not_reused() {
    let s = server(vec![Reply::ThenClose(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: [DONE]\n\n",
    )])
    .await;
    let (status, payload, body) = fetch(&endpoint(s.port)).await;
    assert_eq!(status, 200);
    assert_eq!(payload.unwrap(), b"data: [DONE]\n\n");
    assert!(body.into_reusable().is_none());
}

#[tokio::test]
async fn informational_heads_are_skipped() {
    let s = server(vec![Reply::Pieces(vec![
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    ])])
    .await;
    let (status, payload, _) = fetch(&endpoint(s.port)).await;
    assert_eq!((status, payload.unwrap()), (201, b"ok".to_vec()));
}

#[tokio::test]
async fn switching_protocols_is_a_final_head_that_ends_the_connection() {
    let s = server(vec![Reply::ThenHang(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    )])
    .await;
    let started = std::time::Instant::now();
    let (head, body) = endpoint(s.port)
        .send(None, b"{}", STALL, &mut Attempts::default())
        .await
        .unwrap();
    assert_eq!(head.status, 101);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(body.into_reusable().is_none());
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let s = server(vec![Reply::Pieces(vec![
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
    ])])
    .await;
    let (_, payload, body) = fetch(&endpoint(s.port)).await;
    assert_eq!(payload.unwrap(), b"a");
    assert!(body.into_reusable().is_none());
}

#[test]
fn heads_and_their_framing() {
    let parse = |h: &str| parse_head(h.as_bytes()).unwrap().unwrap().0;
    let h = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
    let h = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::Length(5), false));
    let h = parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n");
    assert!(h.keep_alive);
    let h = parse("HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(h.framing, Framing::Empty);
    let h = parse("HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
    assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le")
        .unwrap()
        .is_none());
    assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n").is_err());
    let h = parse(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: https://x.example/v1\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n",
    );
    assert_eq!(h.location.as_deref(), Some("https://x.example/v1"));
    assert_eq!(h.content_type.as_deref(), Some("text/html; charset=utf-8"));
    let long = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\n\r\n",
        "x".repeat(5000)
    );
    assert_eq!(parse(&long).content_type.unwrap().chars().count(), 201);
    // Escaped control characters count as written (found by fuzzing).
    let tabs = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: a{}\r\n\r\n",
        "\tx".repeat(500)
    );
    let quoted = parse(&tabs).content_type.unwrap();
    assert!(quoted.starts_with("a\\tx\\tx"), "{quoted}");
    assert_eq!(quoted.chars().count(), 200);
    assert!(
        parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").is_err()
    );
}

#[test]
fn the_request_head_is_never_printed() {
    let ep = endpoint(1);
    assert!(!format!("{ep:?}").contains("sk-secret"));
}
