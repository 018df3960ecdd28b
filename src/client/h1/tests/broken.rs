//! Broken responses: silence, a stream cut mid-body, not HTTP, no server.

use super::*;

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
