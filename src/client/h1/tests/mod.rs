//! The lean client against scripted loopback servers: framings real servers use,
//! connection reuse and its races, and broken responses.

mod broken;
mod framing;
mod reuse;
mod timing;

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
