//! A canary API key planted in every place a server can echo it (error bodies, an
//! SSE error event, streamed content, headers quoted back, the model list, the
//! version and metrics endpoints) appears in no output: not in any result file,
//! not on stdout or stderr of `run`, `report` or `bless`, and not in the job
//! summary or comment that `llm-bench comment` produces.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

const CANARY: &str = "sk-canary-7f3e19c4b2d8a65e";

/// A hostile OpenAI-compatible server on loopback: every answer quotes the key it
/// was sent. One thread per connection; each response closes its connection.
struct EchoServer {
    url: String,
    completions: Arc<AtomicUsize>,
}

impl EchoServer {
    fn start() -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let completions = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&completions);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let count = Arc::clone(&count);
                std::thread::spawn(move || serve(stream, &count));
            }
        });
        EchoServer { url, completions }
    }
}

/// Reads one request: (request line, headers as received, body).
fn read_request(stream: &mut TcpStream) -> Option<(String, String, String)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&data[head_end..]).into_owned();
    let (line, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    Some((line.to_string(), headers.trim_end().to_string(), body))
}

/// The key the request carried, as the server saw it.
fn key_of(headers: &str) -> String {
    headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("authorization: Bearer ")
                .or_else(|| l.strip_prefix("Authorization: Bearer "))
        })
        .unwrap_or("(no key)")
        .to_string()
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn sse(stream: &mut TcpStream, events: &[String]) {
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    for e in events {
        let _ = write!(stream, "data: {e}\n\n");
        let _ = stream.flush();
    }
}

fn chunk(text: &str) -> String {
    serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]}).to_string()
}

fn serve(mut stream: TcpStream, count: &AtomicUsize) {
    let Some((line, headers, _body)) = read_request(&mut stream) else {
        return;
    };
    let key = key_of(&headers);
    let json = "application/json";
    if line.starts_with("GET /v1/models") {
        let body = serde_json::json!({"data": [{"id": format!("model-{key}"), "owned_by": key}]});
        return respond(&mut stream, "200 OK", json, &body.to_string());
    }
    if line.starts_with("GET /version") {
        let body = serde_json::json!({"version": format!("1.0+{key}")});
        return respond(&mut stream, "200 OK", json, &body.to_string());
    }
    if line.starts_with("GET /metrics") {
        let body = format!(
            "# HELP vllm:num_requests_running running ({key})\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{model_name=\"{key}\"}} 1\n"
        );
        return respond(&mut stream, "200 OK", "text/plain", &body);
    }
    if !line.starts_with("POST /v1/chat/completions") {
        return respond(&mut stream, "404 Not Found", json, "{}");
    }
    match count.fetch_add(1, Ordering::Relaxed) % 6 {
        0 => {
            let body = serde_json::json!({"error": {"message": format!("Incorrect API key provided: {key}")}});
            respond(&mut stream, "401 Unauthorized", json, &body.to_string());
        }
        1 => {
            let body = format!("bad request; your headers were:\n{headers}");
            respond(&mut stream, "400 Bad Request", "text/plain", &body);
        }
        2 => sse(
            &mut stream,
            &[
                chunk("Hello"),
                serde_json::json!({"error": {"message": format!("key {key} revoked mid-stream")}})
                    .to_string(),
            ],
        ),
        3 => {
            // A long body: the error excerpt cuts it inside the key.
            let body = format!("{}{key}{}", "x".repeat(290), "y".repeat(100));
            respond(
                &mut stream,
                "500 Internal Server Error",
                "text/plain",
                &body,
            );
        }
        4 => sse(
            &mut stream,
            &[
                chunk(&format!("your key is {key}")),
                chunk(" and more"),
                "[DONE]".to_string(),
            ],
        ),
        _ => sse(
            &mut stream,
            &[chunk("fine"), chunk(" thanks"), "[DONE]".to_string()],
        ),
    }
}

/// Every file under `dir`, as text.
fn all_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path.display().to_string(), text));
        }
    }
}

fn assert_no_canary(what: &str, text: &str) {
    // Any 12 characters of it would be a leak; its start ("sk-canary-") is not secret.
    for window in CANARY.as_bytes().windows(12).skip(4) {
        let piece = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(piece),
            "{what} holds `{piece}` of the key:\n{text}"
        );
    }
}

fn outputs(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_key_echoed_by_the_server_appears_in_no_output() {
    let server = EchoServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let baselines = tmp.path().join("baselines");
    let run = bin()
        .env("CANARY_KEY", CANARY)
        .args(["run", "--url", &server.url, "--api-key-env", "CANARY_KEY"])
        .args([
            "-c",
            "1",
            "-n",
            "6",
            "--trials",
            "3",
            "--max-error-rate",
            "1",
        ])
        .args(["--bless", "--reason", "canary", "--scrape-interval", "50ms"])
        .arg("--baseline-dir")
        .arg(&baselines)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let text = outputs(&run);
    assert!(server.completions.load(Ordering::Relaxed) >= 18, "{text}");
    // The run saw every kind of answer.
    let rows = rows(&out);
    assert_eq!(rows.len(), 18, "{text}");
    assert!(rows.iter().any(|r| r.ok), "{text}");
    assert!(rows.iter().filter(|r| !r.ok).count() >= 9, "{text}");
    assert!(
        text.contains("model-***"),
        "the model id is masked:\n{text}"
    );
    // Each echo reached the rows, masked: the 401 body, the quoted headers, the SSE
    // error event and the excerpt cut inside the key.
    let errors: Vec<&str> = rows.iter().filter_map(|r| r.error.as_deref()).collect();
    for echoed in [
        "Incorrect API key provided: ***",
        "Bearer ***",
        "key *** revoked",
        "xxx***…",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(echoed)),
            "no row error shows `{echoed}`: {errors:#?}"
        );
    }
    assert_no_canary("run's stdout and stderr", &text);

    let report = bin().arg("report").arg(&out).output().unwrap();
    assert_eq!(report.status.code(), Some(0), "{}", outputs(&report));
    assert_no_canary("report's stdout and stderr", &outputs(&report));

    // The comment step may run with the key in its environment or without it.
    let summary = tmp.path().join("step-summary.md");
    for with_key in [false, true] {
        let mut cmd = bin();
        for (name, _) in std::env::vars() {
            if name.starts_with("GITHUB_") || name.starts_with("RUNNER_") {
                cmd.env_remove(name);
            }
        }
        if with_key {
            cmd.env("CANARY_KEY", CANARY);
        }
        let comment = cmd
            .arg("comment")
            .arg(&out)
            .arg("--dry-run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", tmp.path().join("step-output"))
            .output()
            .unwrap();
        assert_eq!(comment.status.code(), Some(0), "{}", outputs(&comment));
        assert_no_canary("comment's stdout and stderr", &outputs(&comment));
    }
    assert!(summary.is_file());

    let mut files = Vec::new();
    all_files(tmp.path(), &mut files);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "requests.jsonl",
        "summary.json",
        "report.md",
        "report.html",
        "run.json",
        "telemetry.jsonl",
        "step-summary.md",
        "adhoc.json",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(expected)),
            "{expected} not written: {names:?}"
        );
    }
    for (name, text) in &files {
        assert_no_canary(name, text);
    }
}
