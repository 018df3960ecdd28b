//! A run's own resources stay bounded: the in-flight bound is capped by what the
//! run can use, and the client's file-descriptor limit is fitted (or the run
//! refused) before anything is sent.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::*;
use llm_bench::sim::SimConfig;

fn fast_sim() -> Sim {
    Sim::start(SimConfig {
        ttft_ms: 2.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    })
}

/// Runs `cmd` to completion and returns its exit code, stderr and peak RSS in KiB
/// (`wait4` reports it for this child alone).
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also reports its peak RSS"
)]
fn run_measured(mut cmd: Command) -> (Option<i32>, String, i64) {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let stderr = child.stderr.unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it and the status.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid std has not reaped.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, reader.join().unwrap(), usage.ru_maxrss)
}

/// Sets the child's open-file limits before it starts.
fn with_nofile(cmd: &mut Command, soft: u64, hard: u64) {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// `--concurrency 1000000000 --requests 2` sends its 2 requests with 2 in flight,
/// in the memory of a small run (it reached 4 GB and sent nothing).
#[test]
fn concurrency_is_capped_by_the_requests() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut cmd = run_command(&server.url(), &out);
    cmd.args([
        "--concurrency",
        "1000000000",
        "--requests",
        "2",
        "--no-telemetry",
    ]);
    let (code, stderr, max_rss_kib) = run_measured(cmd);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("sends 2 requests, so at most 2 are in flight (asked for 1000000000)"),
        "{stderr}"
    );
    assert_eq!(rows(&out).len(), 2);
    assert_eq!(server.stats().requests_total, 2);
    assert!(
        max_rss_kib < 200 * 1024,
        "peak RSS {max_rss_kib} KiB for a 2-request run"
    );
}

/// More in flight than one client can hold is refused before anything is sent.
#[test]
fn concurrency_over_the_bound_is_refused() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let o = run_against(
        &server.url(),
        &out_dir(&tmp),
        &["--concurrency", "70000", "--duration", "1s"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("at most 65535 requests can be in flight") && text.contains("got 70000"),
        "{text}"
    );
    assert_eq!(server.stats().requests_total, 0);
}

/// A soft limit below what the run needs is raised toward the hard limit: 300
/// streams under a soft limit of 100 all succeed (they failed as `connect`, "Too
/// many open files", and the run exited 4).
#[test]
fn a_low_soft_fd_limit_is_raised() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let mut cmd = run_command(&server.url(), &out);
    cmd.args([
        "-c",
        "300",
        "-n",
        "300",
        "--max-tokens",
        "4",
        "--no-telemetry",
    ]);
    let (_, hard) = llm_bench::fd_limit::get();
    with_nofile(&mut cmd, 100, hard.min(65_536));
    let o = cmd.output().unwrap();
    assert_success(&o);
    assert!(
        stderr(&o).contains("raised this process's open-file limit from 100"),
        "{}",
        stderr(&o)
    );
    let rows = rows(&out);
    assert_eq!(rows.len(), 300);
    assert!(
        rows.iter().all(|r| r.ok),
        "{:?}",
        rows.iter().find(|r| !r.ok)
    );
}

/// A hard limit the run cannot fit in is refused before any request, with the fix.
#[test]
fn a_hard_fd_limit_too_low_is_refused_before_sending() {
    let server = fast_sim();
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = run_command(&server.url(), &out_dir(&tmp));
    cmd.args(["-c", "300", "-n", "300", "--no-telemetry"]);
    with_nofile(&mut cmd, 100, 200);
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("at most 200"), "{text}");
    assert!(text.contains("`ulimit -n 364`"), "{text}");
    assert_eq!(server.stats().requests_total, 0);
}
