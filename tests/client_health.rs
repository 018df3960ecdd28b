//! The client watches its own health: a light run is not flagged, and a client
//! pinned to one CPU and asked for far more requests per second than it can send
//! is marked client-limited in summary.json, report.md and the console.

mod common;

use std::os::unix::process::CommandExt;

use common::*;
use llm_bench::sim::SimConfig;

fn fast_sim() -> Sim {
    Sim::start(SimConfig {
        ttft_ms: 1.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    })
}

#[test]
fn a_light_run_is_not_client_limited() {
    let _serial = timing_sensitive();
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let o = run_against(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "4",
            "--requests",
            "200",
            "--max-tokens",
            "8",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let health = summary(&out).scenarios[0]
        .metrics
        .client_health
        .clone()
        .expect("client health is measured");
    // A loaded test machine may stop the whole process now and then, and the
    // verdict rightly says so when that reaches the TTFT tail (see
    // tests/client_stall.rs); what must not flag a light run is its own load.
    let own_load: Vec<_> = health
        .reasons
        .iter()
        .filter(|r| {
            !r.contains("process was stopped") && !r.contains("first token read more than 1 ms")
        })
        .collect();
    assert!(own_load.is_empty(), "{health:?}");
    assert_eq!(
        health.client_limited,
        health.requests_in_stall * 100 > health.requests_watched,
        "{health:?}"
    );
    assert_eq!(health.requests_watched, 200, "{health:?}");
    assert!(health.cpus >= 1 && health.wall_s > 0.0, "{health:?}");
    assert!(out.join("client_health.jsonl").is_file());
}

#[test]
fn a_client_pinned_to_one_cpu_at_an_impossible_rate_is_client_limited() {
    let _serial = timing_sensitive();
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut cmd = run_command(&server.url(), &out);
    cmd.args([
        "--rate",
        "200000",
        "--requests",
        "30000",
        "--max-tokens",
        "1",
        "--no-stream",
        "--max-error-rate",
        "1",
    ]);
    // SAFETY: sched_setaffinity is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let s = summary(&out);
    let health = s.scenarios[0]
        .metrics
        .client_health
        .clone()
        .expect("client health is measured");
    assert!(health.client_limited, "{health:?}\n{}", stderr(&o));
    assert!(!health.reasons.is_empty());
    assert_eq!(health.cpus, 1, "{health:?}");
    // Every trial and the pooled metrics say so, as do the reports.
    assert!(s.scenarios[0].trials[0]
        .client_health
        .as_ref()
        .is_some_and(|h| h.client_limited));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("client-limited"), "{stdout}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("client-limited"), "{md}");
    // `llm-bench report` rebuilds the same verdict from the files.
    let rebuilt = bin().arg("report").arg(&out).output().unwrap();
    assert_eq!(rebuilt.status.code(), Some(0), "{}", stderr(&rebuilt));
    assert!(summary(&out).scenarios[0]
        .metrics
        .client_health
        .as_ref()
        .is_some_and(|h| h.client_limited));
}
