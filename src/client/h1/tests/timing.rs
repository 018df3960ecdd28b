//! When reads arrive and how long their bytes waited: the kernel's receive
//! stamps up to the first token, and no delayed-ACK stalls.

use super::*;

/// Reads ask the kernel how long their bytes waited only until told to stop
/// (the first token is timed); a pooled connection's next request is timed again.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn reads_are_timed_until_the_first_token_and_again_for_the_next_request() {
    super::super::rx_time::until_stamping_is_on().await;
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
