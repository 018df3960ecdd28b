//! `llm-bench trend --track-issue` against a stateful fake of GitHub's issues API
//! (wiremock on loopback, no network): a worse step opens one tracking issue with
//! one comment, the next night with the same change point only updates it, and a
//! later step back closes it with a comment.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "ghs_TREND_TEST_TOKEN_5e1f";

#[derive(Default)]
struct State {
    issues: Vec<Value>,
    comments: Vec<(u64, String)>,
}

#[derive(Clone, Default)]
struct FakeIssues(Arc<Mutex<State>>);

impl Respond for FakeIssues {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        let auth = r.headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) && auth != Some(&format!("token {TOKEN}")) {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"}));
        }
        let mut s = self.0.lock().unwrap();
        let path = r
            .url
            .path()
            .trim_start_matches("/repos/acme/serving/issues")
            .to_string();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        match (r.method.as_str(), parts.as_slice()) {
            ("GET", []) => {
                let open: Vec<Value> = s
                    .issues
                    .iter()
                    .filter(|i| i["state"] == "open")
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(open)
            }
            ("POST", []) => {
                let number = 100 + s.issues.len() as u64;
                let issue = json!({"number": number, "title": body["title"], "body": body["body"],
                                   "labels": body["labels"], "state": "open"});
                s.issues.push(issue.clone());
                ResponseTemplate::new(201).set_body_json(issue)
            }
            ("PATCH", [n]) => {
                let n: u64 = n.parse().unwrap();
                let issue = s.issues.iter_mut().find(|i| i["number"] == n).unwrap();
                for key in ["body", "state", "state_reason"] {
                    if !body[key].is_null() {
                        issue[key] = body[key].clone();
                    }
                }
                ResponseTemplate::new(200).set_body_json(issue.clone())
            }
            ("GET", [n, "comments"]) => {
                let n: u64 = n.parse().unwrap();
                let page: usize = r
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "page")
                    .map_or(1, |(_, v)| v.parse().unwrap());
                let list: Vec<Value> = s
                    .comments
                    .iter()
                    .filter(|(i, _)| *i == n)
                    .skip((page - 1) * 100)
                    .take(100)
                    .map(|(_, b)| json!({"body": b}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("POST", [n, "comments"]) => {
                s.comments.push((
                    n.parse().unwrap(),
                    body["body"].as_str().unwrap().to_string(),
                ));
                ResponseTemplate::new(201).set_body_json(json!({"id": s.comments.len()}))
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        }
    }
}

/// One line of history: run `i`, TTFT p50 at `ttft`, everything else flat.
fn record(i: usize, ttft: f64, noise: f64) -> String {
    let trials: Vec<Value> = (0..3)
        .map(|t| {
            json!({"trial": t, "duration_s": 30.0, "succeeded": 64, "failed": 0,
                   "stats": {"ttft_ms.p50": ttft * noise, "tpot_ms.p50": 12.0 * noise}})
        })
        .collect();
    json!({"schema_version": "1.0", "target": "gpu", "scenario": "chat",
           "run_id": format!("night-{i:03}"),
           "created_at": format!("2026-{:02}-{:02}T03:00:00Z", 1 + i / 28, 1 + i % 28),
           "git_commit": format!("{i:04}cafe"), "tool_version": "0.1.0",
           "fingerprint": {"must_match": {"model": "m", "api": "chat", "workload_hash": "w",
                                          "percentile_method": "linear"},
                           "should_match": {"tool_version": "0.1.0"}},
           "trials": trials})
    .to_string()
}

/// Levels per night; a fixed ±1.5% pattern of noise.
fn write_history(dir: &Path, levels: &[f64]) {
    let noise = [1.0, 1.015, 0.99, 1.005, 0.985, 1.01, 0.995];
    let text: String = levels
        .iter()
        .enumerate()
        .map(|(i, l)| record(i, *l, noise[i * 3 % noise.len()]) + "\n")
        .collect();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("gpu.jsonl"), text).unwrap();
}

fn trend(store: &Path, api: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llm-bench"))
        .args([
            "trend",
            "--track-issue",
            "--baseline-dir",
            "none",
            "--store",
        ])
        .arg(store)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", "acme/serving")
        .env("GITHUB_API_URL", api)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains(TOKEN));
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worse_step_opens_one_issue_comments_once_and_closes_when_restored() {
    let server = MockServer::start().await;
    let fake = FakeIssues::default();
    Mock::given(any())
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("history");
    let api = server.uri();

    // Night 30 on, TTFT p50 is 10% slower.
    let mut levels: Vec<f64> = (0..40).map(|i| if i < 30 { 80.0 } else { 88.0 }).collect();
    write_history(&store, &levels);
    let log = tokio::task::block_in_place(|| trend(&store, &api));
    assert!(log.contains("1 open alarm(s); opened, commented"), "{log}");
    {
        let s = fake.0.lock().unwrap();
        assert_eq!(s.issues.len(), 1);
        let body = s.issues[0]["body"].as_str().unwrap();
        assert!(
            body.contains("TTFT p50") && body.contains("0029cafe..0030cafe"),
            "{body}"
        );
        assert!(body.contains("night-030"), "{body}");
        assert_eq!(s.issues[0]["labels"], json!(["llm-bench-trend"]));
        assert_eq!(s.comments.len(), 1);
        assert!(
            s.comments[0].1.contains("New change point"),
            "{}",
            s.comments[0].1
        );
    }

    // Next night, same change point: the body is updated, no second comment.
    levels.push(88.0);
    write_history(&store, &levels);
    let log = tokio::task::block_in_place(|| trend(&store, &api));
    assert!(log.contains("1 open alarm(s); updated"), "{log}");
    assert_eq!(fake.0.lock().unwrap().comments.len(), 1);
    assert_eq!(fake.0.lock().unwrap().issues.len(), 1);

    // From night 45 it is back: restored, so the issue is closed with a comment.
    levels.extend(std::iter::repeat_n(80.0, 14));
    write_history(&store, &levels);
    let log = tokio::task::block_in_place(|| trend(&store, &api));
    assert!(log.contains("0 open alarm(s); closed"), "{log}");
    let s = fake.0.lock().unwrap();
    assert_eq!(s.issues[0]["state"], "closed");
    assert_eq!(s.comments.len(), 2);
    assert!(s.comments[1].1.contains("closing"), "{}", s.comments[1].1);
}
