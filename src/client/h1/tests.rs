//! The lean client against scripted loopback servers: framings real servers use,
//! connection reuse and its races, and broken responses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::framing::Framing;
use super::*;

/// What the scripted server does with one request.
#[derive(Clone)]
enum Reply {
    /// Writes these pieces with a short pause between them, keeps the connection.
    Pieces(Vec<&'static [u8]>),
    /// Writes the bytes, then closes the connection.
    ThenClose(&'static [u8]),
    /// Writes the bytes, then goes silent with the connection open.
    ThenHang(&'static [u8]),
}

struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

/// Serves `replies` in order, one per request, over however many connections.
async fn server(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let replies = Arc::new(replies);
    let (c, r) = (connections.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let (replies, next, r) = (replies.clone(), next.clone(), r.clone());
            tokio::spawn(serve_connection(stream, replies, next, r));
        }
    });
    Server {
        port,
        connections,
        requests,
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    replies: Arc<Vec<Reply>>,
    next: Arc<AtomicUsize>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
) {
    loop {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        requests.lock().unwrap().push(request);
        let i = next.fetch_add(1, Ordering::SeqCst);
        match replies.get(i).cloned() {
            Some(Reply::Pieces(pieces)) => {
                for piece in pieces {
                    stream.write_all(piece).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            Some(Reply::ThenClose(bytes)) => {
                stream.write_all(bytes).await.unwrap();
                return;
            }
            Some(Reply::ThenHang(bytes)) => {
                stream.write_all(bytes).await.unwrap();
                tokio::time::sleep(Duration::from_secs(5)).await;
                return;
            }
            None => return,
        }
    }
}

/// Reads one request (head and Content-Length body); `None` at EOF.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(head + &String::from_utf8(body).unwrap())
}

fn endpoint(port: u16) -> Endpoint {
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("authorization".to_string(), "Bearer sk-secret".to_string()),
    ];
    Endpoint::new(
        "127.0.0.1",
        port,
        "/v1/chat/completions",
        &headers,
        8,
        Duration::from_secs(2),
    )
}

const STALL: Duration = Duration::from_secs(2);

/// Sends one request and reads the whole body; returns (status, payload, body).
async fn fetch(ep: &Endpoint) -> (u16, Result<Vec<u8>, String>, Body) {
    let (head, mut body) = ep
        .send(
            Some("run1-chat-0-7"),
            b"{\"x\":1}",
            STALL,
            &mut Attempts::default(),
        )
        .await
        .unwrap();
    let mut payload = Vec::new();
    let result = loop {
        match body.next(STALL, |b, _| payload.extend_from_slice(b)).await {
            Ok(Some(_)) => {}
            Ok(None) => break Ok(payload),
            Err(e) => break Err(e.to_string()),
        }
    };
    (head.status, result, body)
}

/// Reads ask the kernel how long their bytes waited only until told to stop
/// (the first token is timed); a pooled connection's next request is timed again.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn reads_are_timed_until_the_first_token_and_again_for_the_next_request() {
    super::rx_time::until_stamping_is_on().await;
    // Empty pieces stretch the pause after "ab" to ~40 ms, so "cd" comes in a
    // read of its own.
    let mut pieces: Vec<&'static [u8]> =
        vec![b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", b"ab"];
    pieces.extend([&b""[..]; 20]);
    pieces.push(b"cd");
    let reply = Reply::Pieces(pieces);
    let s = server(vec![reply.clone(), reply]).await;
    let ep = endpoint(s.port);
    for _ in 0..2 {
        let (_, mut body) = ep
            .send(None, b"{}", STALL, &mut Attempts::default())
            .await
            .unwrap();
        body.next(STALL, |b, _| assert_eq!(b, b"ab")).await.unwrap();
        assert!(body.read_wait().is_some(), "timed until told to stop");
        body.stop_timing_reads();
        assert_eq!(body.read_wait(), None);
        body.next(STALL, |b, _| assert_eq!(b, b"cd")).await.unwrap();
        assert_eq!(body.read_wait(), None, "a plain read says nothing");
        assert!(body.is_complete());
        ep.put_back(body.into_reusable().expect("reusable"));
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
}

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
async fn a_pooled_connection_closed_by_the_server_is_replaced() {
    // The first response keeps the connection alive, then the server closes it (as a
    // keep-alive timeout does); the second request must succeed on a new one.
    let s = server(vec![
        Reply::ThenClose(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        Reply::Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]),
    ])
    .await;
    let ep = endpoint(s.port);
    let (_, payload, body) = fetch(&ep).await;
    assert_eq!(payload.unwrap(), b"a");
    ep.put_back(body.into_reusable().expect("keep-alive"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, payload, _) = fetch(&ep).await;
    assert_eq!(payload.unwrap(), b"b");
    assert_eq!(s.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_pooled_connection_closed_while_idle_is_skipped_before_sending() {
    let s = server(vec![
        Reply::ThenClose(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        Reply::Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]),
    ])
    .await;
    let ep = endpoint(s.port);
    let mut attempts = Attempts::default();
    let (_, mut body) = ep.send(None, b"{}", STALL, &mut attempts).await.unwrap();
    assert_eq!(attempts.count, 1);
    assert!(
        attempts.opened_in.is_some(),
        "the first request opens a connection"
    );
    while body.next(STALL, |_, _| {}).await.unwrap().is_some() {}
    ep.put_back(body.into_reusable().expect("keep-alive"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut attempts = Attempts::default();
    let (_, _) = ep.send(None, b"{}", STALL, &mut attempts).await.unwrap();
    // The closed connection was found closed before anything was written on it.
    assert_eq!((attempts.count, attempts.first_error), (1, None));
    assert!(attempts.opened_in.is_some());
    assert_eq!(s.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_request_the_server_read_is_never_sent_again() {
    // The server answers the first request on a keep-alive connection, reads the
    // second on the same connection and closes it without a word.
    let s = server(vec![
        Reply::Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"]),
        Reply::ThenClose(b""),
        Reply::Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"]),
    ])
    .await;
    let ep = endpoint(s.port);
    let (_, _, body) = fetch(&ep).await;
    ep.put_back(body.into_reusable().expect("keep-alive"));
    let mut attempts = Attempts::default();
    let err = ep
        .send(None, b"{}", STALL, &mut attempts)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::Closed {
                reused: true,
                head_bytes: 0
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("not sent again"), "{err}");
    assert_eq!((attempts.count, attempts.opened_in), (1, None));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.requests.lock().unwrap().len(), 2, "one POST per request");
}

#[tokio::test]
async fn a_pooled_connection_that_takes_no_byte_is_replaced_and_recorded() {
    // The first reply leaves the server asleep on an open connection. The client's
    // own write half is then shut: the connection still looks open to the check
    // before sending, and the first write fails before the kernel takes a byte,
    // which is the one case where the request goes out again.
    let s = server(vec![
        Reply::ThenHang(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        Reply::Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]),
    ])
    .await;
    let ep = endpoint(s.port);
    let (_, _, body) = fetch(&ep).await;
    let mut conn = body.into_reusable().expect("keep-alive");
    tokio::io::AsyncWriteExt::shutdown(&mut conn.stream)
        .await
        .unwrap();
    ep.put_back(conn);
    let before = std::time::Instant::now();
    let mut attempts = Attempts::default();
    let (head, mut body) = ep.send(None, b"{}", STALL, &mut attempts).await.unwrap();
    let mut payload = Vec::new();
    while body
        .next(STALL, |b, _| payload.extend_from_slice(b))
        .await
        .unwrap()
        .is_some()
    {}
    assert_eq!((head.status, payload.as_slice()), (200, &b"b"[..]));
    assert_eq!(attempts.count, 2);
    let first = attempts.first_error.expect("the first attempt's error");
    assert!(first.contains("(0 of "), "{first}");
    assert!(
        attempts.opened_in.is_some(),
        "the second attempt opened a connection"
    );
    assert!(attempts.last_start.unwrap() > before);
    assert_eq!(
        s.requests.lock().unwrap().len(),
        2,
        "the server saw each request once"
    );
}

#[tokio::test]
async fn a_server_that_accepts_and_says_nothing_costs_the_stall_limit() {
    let s = server(vec![Reply::ThenHang(b"")]).await;
    let stall = Duration::from_millis(150);
    let started = std::time::Instant::now();
    let err = endpoint(s.port)
        .send(None, b"{}", stall, &mut Attempts::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Stalled { limit, .. } if limit == stall),
        "{err}"
    );
    assert!(err.to_string().contains("waiting for a response"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A head that starts and stops is a stall too.
    let s = server(vec![Reply::ThenHang(b"HTTP/1.1 200 OK\r\nContent-")]).await;
    let err = endpoint(s.port)
        .send(None, b"{}", stall, &mut Attempts::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the rest of the response head"),
        "{err}"
    );
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

#[tokio::test]
async fn a_stream_cut_mid_body_is_an_error() {
    let s = server(vec![Reply::ThenClose(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    )])
    .await;
    let (_, payload, _) = fetch(&endpoint(s.port)).await;
    assert!(payload
        .unwrap_err()
        .contains("closed the connection mid-response"));
}

#[tokio::test]
async fn a_silent_server_is_a_stall() {
    let s = server(vec![Reply::ThenHang(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    )])
    .await;
    let ep = endpoint(s.port);
    let (_, mut body) = ep
        .send(None, b"{}", STALL, &mut Attempts::default())
        .await
        .unwrap();
    let stall = Duration::from_millis(100);
    let err = body.next(stall, |_, _| {}).await.unwrap_err();
    assert!(matches!(err, BodyError::Stalled(d) if d == stall), "{err}");
}

#[tokio::test]
async fn not_http_and_refused_connections_are_errors() {
    let s = server(vec![Reply::ThenClose(b"SSH-2.0-OpenSSH\r\n\r\n")]).await;
    let err = endpoint(s.port)
        .send(None, b"{}", STALL, &mut Attempts::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Protocol(_)), "{err}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = endpoint(port)
        .send(None, b"{}", STALL, &mut Attempts::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Connect(_)), "{err}");
    assert!(err.to_string().starts_with("connect: "), "{err}");
}

#[tokio::test]
async fn warm_up_opens_connections_that_requests_then_use() {
    let reply = Reply::Pieces(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"]);
    let s = server(vec![reply.clone(), reply.clone(), reply]).await;
    let ep = endpoint(s.port);
    ep.warm_up(3).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.connections.load(Ordering::SeqCst), 3);
    let requests = (0..3).map(|_| fetch(&ep));
    for (_, payload, _) in futures_util::future::join_all(requests).await {
        assert_eq!(payload.unwrap(), b"a");
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 3);
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

/// A server that leaves Nagle's algorithm on holds each small write until the
/// previous one is acknowledged. A client that delays its ACKs (as `TCP_QUICKACK`
/// 0 would, to save CPU) then stalls every other token by the kernel's delayed-ACK
/// timeout, ~40 ms, and merges tokens: the ITLs measured would be the client's.
/// Tokens written 5 ms apart must arrive one per read, 5 ms apart.
#[tokio::test]
async fn a_server_with_nagle_on_is_not_stalled_by_delayed_acks() {
    const TOKENS: usize = 40;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(false).unwrap();
        read_request(&mut stream).await.unwrap();
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let event = format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
            "x".repeat(40)
        );
        for _ in 0..TOKENS {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let chunk = format!("{:x}\r\n{event}\r\n", event.len());
            stream.write_all(chunk.as_bytes()).await.unwrap();
        }
        stream.write_all(b"0\r\n\r\n").await.unwrap();
    });
    let ep = endpoint(port);
    let (_, mut body) = ep
        .send(None, b"{}", STALL, &mut Attempts::default())
        .await
        .unwrap();
    let mut reads = Vec::new();
    while let Some(at) = body.next(STALL, |_, _| {}).await.unwrap() {
        reads.push(at);
    }
    let gaps: Vec<Duration> = reads.windows(2).map(|w| w[1] - w[0]).collect();
    let stalls = gaps
        .iter()
        .filter(|g| **g > Duration::from_millis(30))
        .count();
    // One read per token (plus the end); a busy machine may merge some. With
    // delayed ACKs, 13 reads carried the 40 tokens.
    assert!(
        reads.len() >= TOKENS - 10,
        "{} reads for {TOKENS} tokens",
        reads.len()
    );
    // Delayed ACKs would stall about half of the gaps by ~40 ms.
    assert!(
        stalls <= 5,
        "{stalls} of {} gaps over 30 ms: {gaps:?}",
        gaps.len()
    );
}
