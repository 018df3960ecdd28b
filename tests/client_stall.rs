//! A client process that is stopped while tokens arrive (SIGSTOP, as a hypervisor
//! stealing its core would) is client-limited, its stalls are counted, and the rows
//! whose first token it read late say so; the kernel times how long each first
//! token waited for the client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use llm_bench::sim::SimConfig;

const STOP: Duration = Duration::from_millis(30);
const STOPS: u32 = 4;

/// What a stopped run left: its results folder (in `_tmp`), health and rows.
struct Stopped {
    _tmp: tempfile::TempDir,
    out: std::path::PathBuf,
    health: llm_bench::metrics::health::ClientHealth,
    rows: Vec<llm_bench::record::RequestRow>,
}

/// Runs 600 requests of 16 streams against `sim`, stopping llm-bench [`STOPS`]
/// times for [`STOP`] once rows are being written.
fn run_stopped(sim: SimConfig, max_tokens: &str) -> Stopped {
    let server = Sim::start(sim);
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut child = run_command(&server.url(), &out)
        .args([
            "--concurrency",
            "16",
            "--requests",
            "600",
            "--max-tokens",
            max_tokens,
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
    let rows = rows(&out);
    Stopped {
        _tmp: tmp,
        out,
        health,
        rows,
    }
}

#[test]
fn a_client_stopped_while_tokens_arrive_is_client_limited_and_marks_its_rows() {
    let _serial = timing_sensitive();
    // 16 streams of 32 tokens, ~85 ms each: about 3 s for 600 requests, so the
    // stops below fall inside the trial on a slow machine too.
    let Stopped {
        _tmp,
        out,
        health,
        rows,
    } = run_stopped(
        SimConfig {
            ttft_ms: 20.0,
            itl_ms: 2.0,
            ..SimConfig::default()
        },
        "32",
    );
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

/// With tokens 60 ms apart, a first token that arrives while the client is
/// stopped is the newest thing it reads on waking: the kernel's stamp times its
/// wait exactly. That wait is the client's share of the TTFT: subtracted, what
/// is left is the 20 ms the simulator waited, for late rows and on-time rows
/// alike; and a row is marked exactly when its wait is over 1 ms.
#[cfg(target_os = "linux")]
#[test]
fn the_kernel_times_how_long_each_first_token_waited_for_the_client() {
    let _serial = timing_sensitive();
    const TTFT_MS: f64 = 20.0;
    let Stopped { health, rows, .. } = run_stopped(
        SimConfig {
            ttft_ms: TTFT_MS,
            itl_ms: 60.0,
            ..SimConfig::default()
        },
        "2",
    );
    let timed: Vec<_> = rows
        .iter()
        .filter_map(|r| Some((r, r.first_token_wait_ms?, r.ttft_ms?)))
        .collect();
    // The kernel turns stamping on a moment after the first socket asks; every
    // later first token is timed.
    assert!(
        timed.len() * 10 >= rows.len() * 9,
        "{} of {}",
        timed.len(),
        rows.len()
    );
    assert_eq!(
        health.first_token_waits_timed,
        timed.len() as u64,
        "{health:?}"
    );
    for (row, wait, _) in timed.iter().filter(|(_, w, _)| (w - 1.0).abs() > 0.001) {
        assert_eq!(row.client_stall, *wait > 1.0, "{row:?}");
    }
    let late: Vec<_> = timed.iter().filter(|(_, w, _)| *w > 5.0).collect();
    assert!(
        !late.is_empty(),
        "no first token waited through a 30 ms stop"
    );
    let longest = timed.iter().map(|(_, w, _)| *w).fold(0.0, f64::max);
    assert!(longest <= STOP.as_secs_f64() * 1000.0 + 20.0, "{longest}");
    assert!(
        (health.first_token_wait_max_ms - longest).abs() < 0.002,
        "{longest} {health:?}"
    );
    // TTFT minus the wait: never below the injected delay (0.5 ms for clock
    // reads), and close to it: its median within 3 ms for late and on-time rows.
    let mut server_side: Vec<f64> = timed.iter().map(|(_, w, t)| t - w).collect();
    assert!(
        server_side.iter().all(|d| *d >= TTFT_MS - 0.5),
        "{server_side:?}"
    );
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut of_late: Vec<f64> = late.iter().map(|(_, w, t)| t - w).collect();
    for (what, m) in [
        ("all", median(&mut server_side)),
        ("late", median(&mut of_late)),
    ] {
        assert!(m < TTFT_MS + 3.0, "{what}: median TTFT - wait {m} ms");
    }
}
