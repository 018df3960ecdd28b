//! Caps that bound the whole run: a long stream keeps its first gaps and folds
//! the rest, a line over the run's cap, pages that are only probed.

use super::*;

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
