//! `run --metrics-listen`: the real binary against the built-in simulator, scraped
//! over loopback while it runs. The metrics move during the run; the last scrape
//! equals summary.json's counts exactly, trial by trial; the listener is bound only
//! on the address asked for, stops with the run, and a port already in use stops
//! the run before any request is sent.

mod common;
#[path = "common/live.rs"]
mod live;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::*;
use live::*;
use llm_bench::metrics::Stats;

fn count(stats: Option<Stats>) -> f64 {
    stats.map_or(0.0, |s| s.count as f64)
}

#[test]
fn scraped_during_the_run_and_at_its_end_equal_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("configs");
    write_config(&config, 0.15, 2);
    let out = out_dir(&tmp);
    let mut cmd = bin();
    cmd.args(["run", "--no-telemetry", "--config-dir"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args(["--metrics-listen", "127.0.0.1:0", "--metrics-linger", "60s"]);
    let mut run = Running::spawn(cmd);
    let addr = run.live_addr(Duration::from_secs(30));
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");

    // Scrape as Prometheus would until the process is gone; the linger ends at the
    // first scrape after the run, so the last answer holds the final values.
    let (mut during, mut last, mut scrapes) = (None, None, 0);
    let mut other_loopback_refused = None;
    loop {
        let Some(answer) = get(addr, "/metrics", PROMETHEUS_ACCEPT) else {
            if run.child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        scrapes += 1;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        let samples = openmetrics_samples(&answer.body);
        let in_flight = value(&samples, "llm_bench_requests_in_flight", &[]);
        if during.is_none() && in_flight > 0.0 && !out.join("summary.json").exists() {
            during = Some(samples.clone());
            // Bound on 127.0.0.1 only: the rest of the loopback range is not served.
            let other = SocketAddr::from(([127, 0, 0, 2], addr.port()));
            other_loopback_refused =
                Some(TcpStream::connect_timeout(&other, Duration::from_secs(1)).is_err());
        }
        last = Some(samples);
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = run.wait(Duration::from_secs(5));
    assert_eq!(code, Some(0), "{}", run.stderr());
    let during =
        during.unwrap_or_else(|| panic!("no scrape saw a request in flight in {scrapes} scrapes"));
    assert!(value(&during, "llm_bench_requests_sent_total", &[]) > 0.0);
    assert_eq!(other_loopback_refused, Some(true));
    // Stopped with the run: the port is free again.
    TcpListener::bind(addr).expect("the port is released when the run ends");

    let last = last.unwrap();
    let s = summary(&out);
    let scenario = &s.scenarios[0];
    assert_eq!(scenario.trials.len(), 2);
    for (trial, m) in scenario.trials.iter().enumerate() {
        let trial = trial.to_string();
        let at = [
            ("scenario", "chat"),
            ("trial", trial.as_str()),
            ("run_id", s.run.id.as_str()),
        ];
        let v = |name: &str| value(&last, name, &at);
        let c = &m.requests;
        assert_eq!(
            v("llm_bench_requests_sent_total"),
            (c.total - c.dropped) as f64
        );
        assert_eq!(v("llm_bench_requests_completed_total"), c.succeeded as f64);
        assert_eq!(v("llm_bench_requests_failed_total"), c.failed as f64);
        assert!(c.failed > 0, "the simulator's 500s are counted");
        let failed_500 = value(
            &last,
            "llm_bench_requests_failed_total",
            &[at[0], at[1], ("error_kind", "http_5xx")],
        );
        assert_eq!(failed_500, m.errors.values().sum::<u64>() as f64);
        assert_eq!(
            value(
                &last,
                "llm_bench_requests_excluded_total",
                &[at[0], at[1], ("reason", "warmup")]
            ),
            c.warmup as f64
        );
        assert_eq!(v("llm_bench_requests_in_flight"), 0.0);
        assert_eq!(
            v("llm_bench_output_tokens_total"),
            m.output_tokens_total as f64
        );
        assert_eq!(
            v("llm_bench_prompt_tokens_total"),
            m.prompt_tokens_total as f64
        );
        assert_eq!(v("llm_bench_ttft_seconds_count"), count(m.ttft_ms));
        assert_eq!(v("llm_bench_tpot_seconds_count"), count(m.tpot_ms));
        assert_eq!(v("llm_bench_itl_seconds_count"), count(m.itl_ms));
        assert_eq!(v("llm_bench_e2e_seconds_count"), count(m.e2e_ms));
        assert_eq!(
            v("llm_bench_send_lag_seconds_count"),
            count(m.schedule.send_lag_ms)
        );
        let health = m.client_health.as_ref().unwrap();
        assert_eq!(
            v("llm_bench_client_sched_lag_seconds_count"),
            health.sched_lag_samples as f64
        );
        assert_eq!(
            v("llm_bench_client_limited"),
            f64::from(u8::from(health.client_limited))
        );
        // Every successful response had 32 tokens, so 31 gaps.
        assert_eq!(count(m.itl_ms), c.succeeded as f64 * 31.0);
    }
    let m = &scenario.metrics;
    let stat = |name: &str, stat: &str| value(&last, name, &[("scenario", "chat"), ("stat", stat)]);
    assert_eq!(
        stat("llm_bench_result_ttft_seconds", "p50"),
        m.ttft_ms.unwrap().p50 / 1000.0
    );
    assert_eq!(
        stat("llm_bench_result_itl_seconds", "p99"),
        m.itl_ms.unwrap().p99 / 1000.0
    );
    assert_eq!(
        value(
            &last,
            "llm_bench_result_output_tokens_per_second",
            &[("scenario", "chat")]
        ),
        m.output_tokens_per_s
    );
}

/// The same endpoint in the Prometheus text format 0.0.4 for a scraper that asks for
/// it, and a hint at any other path.
#[test]
fn text_format_on_request_and_a_hint_elsewhere() {
    let sim = Sim::start(llm_bench::sim::SimConfig {
        ttft_ms: 5.0,
        itl_ms: 20.0,
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = run_command(&sim.url(), &out_dir(&tmp));
    cmd.args(["--no-telemetry", "--requests", "6", "--max-tokens", "40"])
        .args(["--concurrency", "3", "--metrics-listen", "0"]);
    let mut run = Running::spawn(cmd);
    let addr = run.live_addr(Duration::from_secs(30));
    assert_eq!(
        addr.ip().to_string(),
        "127.0.0.1",
        "a bare port is loopback"
    );
    // One listening socket: this one (127.0.0.1 is 0100007F in /proc/net/tcp).
    let port = format!("0100007F:{:04X}", addr.port());
    assert_eq!(listening_sockets(run.child.id()), vec![port]);
    let text = get(addr, "/metrics", "text/plain;version=0.0.4").expect("served while running");
    assert_eq!(
        text.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(
        text.body
            .contains("# TYPE llm_bench_requests_sent_total counter\n"),
        "{}",
        text.body
    );
    assert!(!text.body.contains("# EOF"));
    llm_bench::telemetry::prometheus::parse(&text.body).unwrap();
    let other = get(addr, "/", "*/*").unwrap();
    assert_eq!(other.status, 404);
    assert!(other.body.contains("/metrics"));
    assert_eq!(
        run.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_port_in_use_stops_the_run_before_any_request() {
    let sim = Sim::start(Default::default());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let o = run_against(
        &sim.url(),
        &out,
        &["--requests", "5", "--metrics-listen", &addr],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("--metrics-listen {addr}: cannot listen there"))
            && err.contains("another port"),
        "{err}"
    );
    assert_eq!(sim.stats().requests_total, 0, "nothing was sent");
    assert!(!out.join("requests.jsonl").exists());
}

/// Without the flags nothing listens: the process's only TCP sockets are its
/// connections to the server.
#[test]
fn nothing_listens_unless_asked() {
    let sim = Sim::start(llm_bench::sim::SimConfig {
        ttft_ms: 5.0,
        itl_ms: 25.0,
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = run_command(&sim.url(), &out_dir(&tmp));
    cmd.args(["--no-telemetry", "--requests", "4", "--max-tokens", "40"]);
    let mut run = Running::spawn(cmd);
    // Wait until requests are in flight, then look at the process's sockets.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sim.stats().active_requests == 0 {
        assert!(std::time::Instant::now() < deadline, "{}", run.stderr());
        std::thread::sleep(Duration::from_millis(10));
    }
    let listening = listening_sockets(run.child.id());
    assert_eq!(
        run.wait(Duration::from_secs(60)),
        Some(0),
        "{}",
        run.stderr()
    );
    assert!(listening.is_empty(), "listening on {listening:?}");
}

/// A linger nobody ends by scraping: Ctrl-C (SIGINT) or SIGTERM ends it at once, with
/// the run's own exit code, and no later than the linger time otherwise.
#[test]
fn a_signal_ends_the_linger() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let sim = Sim::start(llm_bench::sim::SimConfig {
            ttft_ms: 2.0,
            itl_ms: 1.0,
            ..Default::default()
        });
        let tmp = tempfile::tempdir().unwrap();
        let mut cmd = run_command(&sim.url(), &out_dir(&tmp));
        cmd.args(["--no-telemetry", "--requests", "3", "--max-tokens", "4"])
            .args(["--metrics-listen", "127.0.0.1:0", "--metrics-linger", "5m"]);
        let mut run = Running::spawn(cmd);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !run
            .stderr()
            .contains("live metrics: serving the final values")
        {
            assert!(std::time::Instant::now() < deadline, "{}", run.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: kill sends a signal to our own child process.
        unsafe { libc::kill(run.child.id() as libc::pid_t, signal) };
        let started = std::time::Instant::now();
        assert_eq!(
            run.wait(Duration::from_secs(10)),
            Some(0),
            "{}",
            run.stderr()
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "signal {signal}"
        );
    }
}
