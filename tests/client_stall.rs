//! A client process that is stopped while tokens arrive (SIGSTOP, as a hypervisor
//! stealing its core would) is client-limited, its stalls are counted, and the rows
//! whose first token fell in a stall say so.

mod common;

use std::time::{Duration, Instant};

use common::*;
use llm_bench::sim::SimConfig;

const STOP: Duration = Duration::from_millis(30);
const STOPS: u32 = 4;

#[test]
fn a_client_stopped_while_tokens_arrive_is_client_limited_and_marks_its_rows() {
    let _serial = timing_sensitive();
    // 16 streams of 32 tokens, ~85 ms each: about 3 s for 600 requests, so the
    // stops below fall inside the trial on a slow machine too.
    let server = Sim::start(SimConfig {
        ttft_ms: 20.0,
        itl_ms: 2.0,
        ..SimConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut child = run_command(&server.url(), &out)
        .args([
            "--concurrency",
            "16",
            "--requests",
            "600",
            "--max-tokens",
            "32",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    // Wait for the trial to be under way: rows are written as requests finish.
    let started = Instant::now();
    while !out
        .join("requests.jsonl")
        .metadata()
        .is_ok_and(|m| m.len() > 0)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no row written"
        );
        assert!(child.try_wait().unwrap().is_none(), "llm-bench ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    for _ in 0..STOPS {
        // SAFETY: kill only sends a signal to the child we spawned.
        unsafe {
            libc::kill(pid, libc::SIGSTOP);
            std::thread::sleep(STOP);
            libc::kill(pid, libc::SIGCONT);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let health = summary(&out).scenarios[0]
        .metrics
        .client_health
        .clone()
        .expect("client health is measured");
    assert!(health.client_limited, "{health:?}");
    assert!(
        health.reasons.iter().any(|r| r.contains("was stopped")),
        "{:?}",
        health.reasons
    );
    // Every stop is seen (a loaded machine may add stalls of its own), none is
    // longer than measured, and each lasted at least the stop.
    assert!(health.stalls >= u64::from(STOPS), "{health:?}");
    assert!(health.stall_max_ms >= 25.0, "{health:?}");
    assert!(
        health.stall_total_ms >= f64::from(STOPS) * 25.0,
        "{health:?}"
    );
    // The marked rows are the ones counted, and every row was checked.
    let rows = rows(&out);
    let marked = rows.iter().filter(|r| r.client_stall).count() as u64;
    assert_eq!(health.requests_watched, rows.len() as u64, "{health:?}");
    assert_eq!(health.requests_in_stall, marked, "{health:?}");
    // 16 streams, each in its first-token wait ~20 of every ~85 ms: a 30 ms stop
    // catches several first tokens.
    assert!(
        marked >= u64::from(STOPS),
        "{marked} rows marked; {health:?}"
    );
    let text = std::fs::read_to_string(out.join("requests.jsonl")).unwrap();
    assert_eq!(
        text.matches("\"client_stall\":true").count() as u64,
        marked,
        "the key is written only when true"
    );
    assert!(!text.contains("\"client_stall\":false"));
    validated_summary(&out);
}
