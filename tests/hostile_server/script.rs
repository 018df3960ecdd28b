//! A misbehaving HTTP server for tests: raw TCP on loopback that answers each
//! request with a byte-exact script (heads, bodies, pauses, resets, silence), so a
//! test can state exactly what a hostile or broken server does and check what the
//! client records. Bounded: every pause and every stream has a fixed length, and the
//! server dies with the test's runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One thing the server does after reading a request.
#[derive(Clone, Debug)]
pub enum Step {
    /// Writes these bytes exactly.
    Write(Vec<u8>),
    /// Waits (bounded by the test).
    Sleep(Duration),
    /// `count` SSE events with one content token each, `bytes_per_write` at a time
    /// (chunked framing), then `[DONE]` and the final chunk.
    Tokens { count: usize, per_write: usize },
    /// Closes the connection with a reset (RST), not a FIN.
    Reset,
    /// Closes the connection.
    Close,
}

/// What the server answers to the n-th request it reads (over all connections).
pub type Script = Vec<Vec<Step>>;

pub struct Server {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Serves `script` on an ephemeral loopback port: request n gets `script[n]`;
    /// requests past the script get their connection closed.
    pub async fn start(script: Script) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let (c, r) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (script, next, r) = (script.clone(), next.clone(), r.clone());
                tokio::spawn(serve(stream, script, next, r));
            }
        });
        Server {
            port,
            connections,
            requests,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// POSTs read so far (head and body, as text).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    script: Arc<Script>,
    next: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
) {
    loop {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        // Only the completions are scripted: `GET /metrics` or `/models` from a
        // run's telemetry get a plain 404.
        if !request.starts_with("POST ") {
            let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
            if stream.write_all(not_found).await.is_err() {
                return;
            }
            continue;
        }
        requests.lock().unwrap().push(request);
        let Some(steps) = script.get(next.fetch_add(1, Ordering::SeqCst)) else {
            return;
        };
        for step in steps {
            let written = match step {
                Step::Write(bytes) => stream.write_all(bytes).await,
                Step::Sleep(d) => {
                    tokio::time::sleep(*d).await;
                    Ok(())
                }
                Step::Tokens { count, per_write } => tokens(&mut stream, *count, *per_write).await,
                Step::Reset => {
                    // A zero linger time closes with a reset at once; the blocking on
                    // drop that deprecated `set_linger` warns of needs a positive one.
                    #[expect(deprecated, reason = "SO_LINGER 0 is how a test sends an RST")]
                    let _ = stream.set_linger(Some(Duration::ZERO));
                    return;
                }
                Step::Close => return,
            };
            if written.is_err() {
                return;
            }
        }
    }
}

/// A chat chunk carrying one token, framed as one SSE event.
pub fn token_event(text: &str) -> String {
    format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
}

async fn tokens(stream: &mut TcpStream, count: usize, per_write: usize) -> std::io::Result<()> {
    let event = token_event("tok");
    let mut sent = 0;
    while sent < count {
        let n = per_write.min(count - sent);
        let payload = event.repeat(n);
        let chunk = format!("{:x}\r\n{payload}\r\n", payload.len());
        stream.write_all(chunk.as_bytes()).await?;
        sent += n;
    }
    let done = "data: [DONE]\n\n";
    let tail = format!("{:x}\r\n{done}\r\n0\r\n\r\n", done.len());
    stream.write_all(tail.as_bytes()).await
}

/// Reads one request (head and Content-Length body); `None` at EOF.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    stream.read_exact(&mut body).await.ok()?;
    Some(head + &String::from_utf8_lossy(&body))
}

/// A `200` event-stream head with chunked framing.
pub const SSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
    Transfer-Encoding: chunked\r\n\r\n";

/// `text` as one chunk of a chunked body.
pub fn chunk(text: &str) -> Vec<u8> {
    format!("{:x}\r\n{text}\r\n", text.len()).into_bytes()
}

/// The end of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// A whole streamed response: the head, these events, `[DONE]`, the last chunk.
pub fn sse_response(events: &[String]) -> Vec<Step> {
    let mut body = SSE_HEAD.to_vec();
    for e in events {
        body.extend(chunk(e));
    }
    body.extend(chunk("data: [DONE]\n\n"));
    body.extend_from_slice(LAST_CHUNK);
    vec![Step::Write(body)]
}

/// A response with a `Content-Length` body.
pub fn response(status_line: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status_line}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
