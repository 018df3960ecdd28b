//! The stall timeout covers the wait for the head; a request the server may have
//! read is never sent again; closes after each response are learnt.

use super::*;

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

// ---- 7. no silent replays; connections are recorded ----

#[tokio::test]
async fn a_request_the_server_read_is_not_sent_again() {
    // Keep-alive answer, then the server reads the second request on the same
    // connection and closes it without a word (as the proxy did).
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
