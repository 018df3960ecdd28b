//! What goes wrong is recorded and the run goes on: injected faults by kind, a
//! field the server rejects, Ctrl-C, a stream that goes silent.

use super::*;

/// Injected faults show up with the right error kinds and the run still completes.
#[test]
fn injected_faults_are_recorded_by_kind() {
    let server = sim(|c| {
        c.ttft_ms = 5.0;
        c.itl_ms = 1.0;
        c.error_429_rate = 0.1;
        c.error_500_rate = 0.1;
        c.disconnect_rate = 0.1;
        c.malformed_rate = 0.1;
        c.seed = 3;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let o = run_against(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "16",
            "--requests",
            "300",
            "--max-tokens",
            "16",
        ],
    );
    // 35% of requests fail, above the default 5% limit: the run says so with exit 4.
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("rate_limited"), "{}", stderr(&o));
    let m = summary(&out).scenarios[0].metrics.clone();
    for kind in [
        ErrorKind::RateLimited,
        ErrorKind::Http5xx,
        ErrorKind::StreamReset,
        ErrorKind::MalformedEvent,
    ] {
        let n = m.errors.get(&kind).copied().unwrap_or(0);
        assert!(n >= 10, "{kind}: {n} errors in {:?}", m.errors);
    }
    assert_eq!(m.requests.succeeded + m.requests.failed, 300);
    assert_eq!(rows(&out).len(), 300);
}

/// A strict server answers 422 to `ignore_eos`: reported as a configuration problem.
#[test]
fn rejected_fields_are_a_configuration_problem() {
    let server = sim(|c| c.strict_fields = true);
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let o = run_against(&server.url(), &out, &["--requests", "3", "--ignore-eos"]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(err.contains("invalid_request"), "{err}");
    assert!(err.contains("ignore_eos"), "{err}");
    assert!(err.contains("configuration problem"), "{err}");
}

/// Ctrl-C stops new sends, waits for in-flight requests and writes valid results.
#[test]
fn interrupted_run_leaves_valid_results() {
    let server = sim(|c| {
        c.ttft_ms = 20.0;
        c.itl_ms = 5.0;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let child = bin()
        .args([
            "run",
            "--url",
            &server.url(),
            "--model",
            "m",
            "--concurrency",
            "4",
            "--duration",
            "60s",
            "--max-tokens",
            "20",
            "--out",
        ])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let s = summary(&out);
    assert!(s.run.interrupted);
    let rows = rows(&out);
    assert!(rows.len() >= 8, "{} rows", rows.len());
    assert!(
        rows.iter().all(|r| r.ok),
        "in-flight requests finished within the grace time"
    );
    assert_eq!(
        s.scenarios[0].metrics.requests.succeeded as usize,
        rows.len()
    );
}

/// A stream that goes silent is cut off after the stall timeout and recorded as a
/// timeout; the other requests are unaffected.
#[test]
fn stalled_streams_time_out_and_the_run_goes_on() {
    let server = sim(|c| {
        c.ttft_ms = 2.0;
        c.itl_ms = 1.0;
        c.stall_rate = 0.25;
        c.stall_ms = 5_000;
        c.seed = 5;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let started = std::time::Instant::now();
    run_ok(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "8",
            "--requests",
            "40",
            "--max-tokens",
            "16",
            "--stall-timeout",
            "300ms",
            "--max-error-rate",
            "1",
        ],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "stalls were waited out"
    );
    let m = summary(&out).scenarios[0].metrics.clone();
    let timeouts = m.errors.get(&ErrorKind::Timeout).copied().unwrap_or(0);
    assert!(timeouts >= 4, "{:?}", m.errors);
    assert_eq!(m.requests.succeeded + timeouts, 40);
    assert!(m.error_examples[&ErrorKind::Timeout].contains("stalled"));
}
