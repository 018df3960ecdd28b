//! `run --pushgateway`: the real binary against the built-in simulator, pushing to a
//! fake Pushgateway on loopback (wiremock). One push after each trial and one at
//! the end, each the whole registry in the text format 0.0.4, to the run's own
//! group; the pushed counters equal summary.json's. A Pushgateway that refuses or
//! is down costs a warning and bounded retries, never the run, and its URL's
//! credentials are used but never printed.

mod common;
#[path = "common/live.rs"]
mod live;

use std::path::Path;
use std::process::Output;

use common::*;
use live::*;
use llm_bench::metrics::Summary;
use llm_bench::telemetry::record::PromSample;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const GROUP: &str = r"^/metrics/job/llm-bench/run_id/[0-9]{8}-[0-9]{6}-sim$";

async fn pushgateway(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path_regex(GROUP))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// Runs the `chat` scenario (`trials` trials, 15% of requests failing) pushing to
/// `url`; blocks this worker thread while the fake answers on the others.
fn run_pushing(dir: &Path, url: &str, trials: u32) -> Output {
    let config = dir.join("configs");
    write_config(&config, 0.15, trials);
    bin()
        .args(["run", "--no-telemetry", "--config-dir"])
        .arg(&config)
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--pushgateway", url])
        .output()
        .unwrap()
}

fn pushed(request: &Request) -> Vec<PromSample> {
    let body = String::from_utf8(request.body.clone()).unwrap();
    llm_bench::telemetry::prometheus::parse(&body).unwrap()
}

/// The pushed counters of one trial equal the summary's.
fn assert_trial_equals(samples: &[PromSample], summary: &Summary, trial: usize) {
    let m = &summary.scenarios[0].trials[trial];
    let t = trial.to_string();
    let at = [("scenario", "chat"), ("trial", t.as_str())];
    let v = |name: &str| value(samples, name, &at);
    assert_eq!(
        v("llm_bench_requests_completed_total"),
        m.requests.succeeded as f64
    );
    assert_eq!(
        v("llm_bench_requests_failed_total"),
        m.requests.failed as f64
    );
    assert_eq!(
        v("llm_bench_output_tokens_total"),
        m.output_tokens_total as f64
    );
    assert_eq!(
        v("llm_bench_ttft_seconds_count"),
        m.ttft_ms.unwrap().count as f64
    );
    assert_eq!(
        v("llm_bench_itl_seconds_count"),
        m.itl_ms.unwrap().count as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_after_each_trial_and_at_the_end() {
    let server = pushgateway(ResponseTemplate::new(200)).await;
    let tmp = tempfile::tempdir().unwrap();
    let o = run_pushing(tmp.path(), &server.uri(), 2);
    assert_success(&o);
    assert!(
        !stderr(&o).contains("warning: could not push"),
        "{}",
        stderr(&o)
    );
    let s = summary(&tmp.path().join("out"));
    let pushes = server.received_requests().await.unwrap();
    assert_eq!(pushes.len(), 3, "after trial 1, after trial 2, at the end");
    for p in &pushes {
        assert_eq!(
            p.url.path(),
            format!("/metrics/job/llm-bench/run_id/{}", s.run.id)
        );
        assert_eq!(
            p.headers.get("content-type").unwrap(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
    // After trial 1 its series are complete, whatever trial 2 had sent by then.
    assert_trial_equals(&pushed(&pushes[0]), &s, 0);
    let last = pushed(&pushes[2]);
    assert_trial_equals(&last, &s, 0);
    assert_trial_equals(&last, &s, 1);
    // The end of the run adds the summary's key figures.
    let m = &s.scenarios[0].metrics;
    assert!(value(&pushed(&pushes[1]), "llm_bench_result_success_ratio", &[]) == 0.0);
    assert_eq!(
        value(
            &last,
            "llm_bench_result_success_ratio",
            &[("scenario", "chat")]
        ),
        m.success_rate.unwrap()
    );
    assert_eq!(
        value(
            &last,
            "llm_bench_result_e2e_seconds",
            &[("scenario", "chat"), ("stat", "p90")]
        ),
        m.e2e_ms.unwrap().p90 / 1000.0
    );
}

/// 503: retried (3 attempts per push), then a warning; the run and its results are
/// whole. The URL's password authenticates the push and appears nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_pushgateway_is_retried_then_a_warning() {
    let server = pushgateway(ResponseTemplate::new(503).set_body_string("busy\n")).await;
    let tmp = tempfile::tempdir().unwrap();
    let url = server.uri().replace("http://", "http://ci:s3cret-pw@");
    let o = run_pushing(tmp.path(), &url, 1);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(tmp.path().join("out/summary.json").exists());
    let shown = server.uri();
    assert!(
        err.contains(&format!(
            "warning: could not push the live metrics after trial 1 of `chat` to the Pushgateway at {shown}: HTTP 503: busy (3 attempts); the run goes on"
        )),
        "{err}"
    );
    assert!(
        err.contains("warning: could not push the live metrics at the end of the run"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    let attempts = server.received_requests().await.unwrap();
    assert_eq!(attempts.len(), 6, "two pushes, three attempts each");
    // Basic auth from the URL: ci:s3cret-pw.
    assert_eq!(
        attempts[0].headers.get("authorization").unwrap(),
        "Basic Y2k6czNjcmV0LXB3"
    );
}

/// 400 (the Pushgateway refused the content): not retried; its reason is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_push_is_not_retried() {
    let reason = "pushed metrics are invalid or inconsistent with existing metrics";
    let server = pushgateway(ResponseTemplate::new(400).set_body_string(reason)).await;
    let tmp = tempfile::tempdir().unwrap();
    let o = run_pushing(tmp.path(), &server.uri(), 1);
    assert_success(&o);
    assert!(
        stderr(&o).contains(&format!("HTTP 400: {reason}; the run goes on")),
        "{}",
        stderr(&o)
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// Nothing listening: connection refused, retried, a warning, exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushgateway_that_is_down_is_a_warning() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let tmp = tempfile::tempdir().unwrap();
    let o = run_pushing(tmp.path(), &url, 1);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "to the Pushgateway at {url}: error sending request"
        )) && err.contains("(3 attempts)"),
        "{err}"
    );
}
