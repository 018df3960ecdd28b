//! Connection reuse and its races: pooled connections the server closed, a
//! request sent again only when the kernel took none of its bytes, warm-up.

use super::*;

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
