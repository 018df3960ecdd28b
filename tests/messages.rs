//! Messages that send users the right way, as tried against real servers: a dead
//! server is "connection refused", a refused key is "check the key", an unknown
//! model is not a wrong URL, a wrong key is not a rejected field, and a key
//! variable that is not set is said before anything is sent.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::*;
use llm_bench::sim::SimConfig;

/// A port nothing listens on.
fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

/// A loopback server that answers every request with `status` and `body`.
fn answering(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head and a small JSON body arrive together on loopback.
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}

#[test]
fn a_dead_server_is_connection_refused_not_pass_model() {
    let tmp = tempfile::tempdir().unwrap();
    let url = dead_url();
    let o = bin()
        .args(["run", "--url", &url, "-n", "2", "--out"])
        .arg(out_dir(&tmp))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("connection refused: is the server running?"),
        "{text}"
    );
    assert!(!text.contains("pass --model"), "{text}");

    // With --model the requests themselves fail; the run says why.
    let o = run_against(&url, &tmp.path().join("with-model"), &["-n", "2"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "connection refused: is the server running at {url}?"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_refused_key_at_models_says_check_the_key() {
    let server = Sim::start(SimConfig {
        api_key: Some("sk-the-right-key-1234".into()),
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["run", "--url", &server.url(), "-n", "2", "--out"])
        .arg(out_dir(&tmp))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("answered HTTP 401: check the API key"),
        "{text}"
    );
    assert!(
        text.contains("no key was sent: `OPENAI_API_KEY` is not set"),
        "{text}"
    );
    assert!(!text.contains("pass --model"), "{text}");

    let o = bin()
        .env("WRONG_KEY", "sk-a-wrong-key-5678")
        .args(["run", "--url", &server.url(), "--api-key-env", "WRONG_KEY"])
        .args(["-n", "2", "--out"])
        .arg(tmp.path().join("wrong"))
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("the key sent comes from `WRONG_KEY` (--api-key-env)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unset_api_key_variable_is_an_error_before_sending() {
    let server = Sim::start(SimConfig::default());
    let tmp = tempfile::tempdir().unwrap();
    let o = run_command(&server.url(), &out_dir(&tmp))
        .args(["--api-key-env", "LLM_BENCH_NO_SUCH_KEY", "-n", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the environment variable `LLM_BENCH_NO_SUCH_KEY` is not set"),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.stats().requests_total, 0);
}

/// vLLM answers an unknown model with 404; LiteLLM a wrong key with 400. Neither
/// is a wrong URL or a rejected field.
#[test]
fn hints_follow_the_body_not_just_the_status() {
    let cases = [
        (
            answering(
                "404 Not Found",
                r#"{"object":"error","message":"The model `llama-9` does not exist.","type":"NotFoundError","param":null,"code":404}"#,
            ),
            "does not serve this model",
            "ends in /v1",
        ),
        (
            answering(
                "400 Bad Request",
                r#"{"error":{"message":"Authentication Error, Invalid proxy server token passed.","type":"auth_error","param":"None","code":"400"}}"#,
            ),
            "check the API key",
            "ignore_eos",
        ),
    ];
    for (url, expected, wrong) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = out_dir(&tmp);
        let o = run_against(&url, &out, &["-n", "2", "--no-telemetry"]);
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        let error = rows(&out)[0].error.clone().unwrap();
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains(wrong), "{error}");
    }
}

/// Several trials: the console's percentiles are of all requests pooled, which a
/// comparison (geometric mean of per-trial values) does not show; the table says so.
#[test]
fn pooled_percentiles_are_labelled() {
    let server = Sim::start(SimConfig {
        ttft_ms: 2.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = run_ok(&server.url(), &out_dir(&tmp), &["-n", "4", "--trials", "2"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("percentiles of all trials' requests pooled"),
        "{stdout}"
    );
}

/// No message cites a `docs/…` path: a user's repository has none. Pages are
/// linked through `llm_bench::docs_url`.
#[test]
fn messages_do_not_cite_docs_paths() {
    fn visit(dir: &std::path::Path, hits: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, hits);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                // Comments may name files of this repository; strings may not
                // (a message's string often spans lines, so any code line counts).
                if code.starts_with("//") || code.contains("blob/main/docs/") {
                    continue;
                }
                if code.contains("docs/") {
                    hits.push(format!("{}:{}: {code}", path.display(), n + 1));
                }
            }
        }
    }
    let mut hits = Vec::new();
    visit(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut hits,
    );
    assert!(hits.is_empty(), "{hits:#?}");
    assert!(llm_bench::docs_url("x.md").starts_with("https://"));
}
