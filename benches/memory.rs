//! Peak memory of the client against what a server can make it hold, measured on the
//! real binary (`llm-bench run`, its peak RSS from `wait4`), each figure against a
//! reference measured in the same run:
//!
//! 1. stream length: endless streams (a server that ignores `max_tokens`) cut by a
//!    1 s and a 60 s request timeout. Flat means the 60 s run, with 60× the tokens,
//!    peaks where the 1 s run does;
//! 2. run length: N and 20×N short requests against the built-in simulator
//!    (`serve-sim`);
//! 3. hostile caps: streams that send one endless line, which every stream buffers up
//!    to this run's cap at once; the peak must stay within the cap × streams.
//!
//! Loopback only; takes about three minutes. `cargo bench --bench memory`; the
//! environment variables `MEMORY_STREAMS` (16), `MEMORY_LONG_S` (60) and
//! `MEMORY_REQUESTS` (20,000: both runs past the summaries' exact-sample caps)
//! change the sizes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_llm-bench");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `cmd` to its end; returns its exit code, peak RSS in MiB and wall time.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by `wait4`, which also reports its peak RSS"
)]
fn measured(cmd: &mut Command) -> (i32, f64, f64) {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("llm-bench starts");
    let mut status = 0;
    // SAFETY: zeroed `rusage` is a valid value; `wait4` fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // ru_maxrss is in KiB on Linux.
    (
        code,
        usage.ru_maxrss as f64 / 1024.0,
        started.elapsed().as_secs_f64(),
    )
}

/// Reads a request's head and body; returns its method, `None` at EOF.
fn read_request(stream: &mut BufReader<TcpStream>) -> Option<String> {
    let mut length = 0usize;
    let mut method = None;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        method.get_or_insert_with(|| line.split(' ').next().unwrap_or("").to_string());
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    method
}

/// A server on loopback that answers each POST with `respond` (one thread per
/// connection, until the client goes away), and anything else (the run's probes
/// of `/models` and `/version`) with a 404, so only the completions are measured.
fn serve(respond: fn(&mut TcpStream) -> std::io::Result<()>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while let Some(method) = read_request(&mut reader) {
                    if method == "POST" {
                        let _ = respond(&mut stream);
                        return;
                    }
                    let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
                    if stream.write_all(not_found).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// An event stream that never ends: batches of 20 one-token events every
/// millisecond (20,000 tokens/s), as a looping server sends them.
fn endless_tokens(stream: &mut TcpStream) -> std::io::Result<()> {
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
    )?;
    let event = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"}}]}\n\n";
    let batch = event.repeat(20);
    let chunk = format!("{:x}\r\n{batch}\r\n", batch.len());
    loop {
        stream.write_all(chunk.as_bytes())?;
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// One `data:` line that never ends, 64 KiB per write.
fn endless_line(stream: &mut TcpStream) -> std::io::Result<()> {
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
    )?;
    let piece = format!("data: {}", "x".repeat(64 * 1024 - 6));
    stream.write_all(format!("{:x}\r\n{piece}\r\n", piece.len()).as_bytes())?;
    let more = "x".repeat(64 * 1024);
    let chunk = format!("{:x}\r\n{more}\r\n", more.len());
    loop {
        stream.write_all(chunk.as_bytes())?;
    }
}

/// Sums `chunks` over the rows of `out/requests.jsonl`; returns (rows, chunks, file
/// MiB). Line by line: this process must stay small, since a child spawned with
/// `vfork` (as `Command` does) starts its `ru_maxrss` at its parent's peak.
fn rows(out: &Path) -> (usize, u64, f64) {
    let path = out.join("requests.jsonl");
    let Ok(file) = std::fs::File::open(&path) else {
        return (0, 0, 0.0);
    };
    let bytes = file.metadata().map_or(0, |m| m.len());
    let mut chunks = 0;
    let mut n = 0;
    for line in BufReader::new(file).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).expect("a JSON row");
        chunks += v["chunks"].as_u64().unwrap_or(0);
        n += 1;
    }
    (n, chunks, bytes as f64 / (1024.0 * 1024.0))
}

fn run_args(cmd: &mut Command, url: &str, out: &Path) {
    cmd.args([
        "run",
        "--url",
        url,
        "--model",
        "m",
        "--no-telemetry",
        "--out",
    ])
    .arg(out);
}

fn stream_length(work: &Path, streams: u64, long_s: u64) {
    let port = serve(endless_tokens);
    let url = format!("http://127.0.0.1:{port}/v1");
    println!("## Stream length: {streams} endless streams (20,000 tokens/s each)\n");
    println!("| request timeout | peak RSS MiB | content chunks received | requests.jsonl MiB | wall s |");
    println!("|---:|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    for seconds in [1, long_s] {
        let out = work.join(format!("stream-{seconds}s"));
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(BIN);
        run_args(&mut cmd, &url, &out);
        let n = streams.to_string();
        cmd.args(["--concurrency", &n, "--requests", &n, "--max-tokens", "16"])
            .args(["--request-timeout", &format!("{seconds}s")]);
        let (_, rss, wall) = measured(&mut cmd);
        let (_, chunks, mib) = rows(&out);
        println!("| {seconds} s | {rss:.1} | {chunks} | {mib:.2} | {wall:.1} |");
        peaks.push(rss);
    }
    println!(
        "\npeak RSS {long_s} s / 1 s: **{:.2}×**\n",
        peaks[1] / peaks[0]
    );
}

fn run_length(work: &Path, requests: u64) {
    let sim_port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut sim = Command::new(BIN)
        .args([
            "serve-sim",
            "--port",
            &sim_port.to_string(),
            "--ttft-ms",
            "1",
        ])
        .args([
            "--itl-ms",
            "0",
            "--output-tokens",
            "8",
            "--batch-size",
            "1000000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve-sim starts");
    let url = format!("http://127.0.0.1:{sim_port}/v1");
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", sim_port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("## Run length: closed loop, 32 streams, 8 tokens per response\n");
    println!("| requests | peak RSS MiB | requests.jsonl MiB | wall s |");
    println!("|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    for n in [requests, 20 * requests] {
        let out = work.join(format!("run-{n}"));
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(BIN);
        run_args(&mut cmd, &url, &out);
        cmd.args(["--concurrency", "32", "--requests", &n.to_string()])
            .args(["--max-tokens", "8", "--prompt-tokens", "16"]);
        let (_, rss, wall) = measured(&mut cmd);
        let (rows, _, mib) = rows(&out);
        assert_eq!(rows as u64, n, "every request has a row");
        println!("| {n} | {rss:.1} | {mib:.1} | {wall:.1} |");
        peaks.push(rss);
        let _ = std::fs::remove_dir_all(&out);
    }
    let _ = sim.kill();
    let _ = sim.wait();
    println!(
        "\npeak RSS {}× requests / 1×: **{:.2}×**\n",
        20,
        peaks[1] / peaks[0]
    );
}

fn hostile_caps(work: &Path, streams: u64, baseline_rss: f64) {
    let port = serve(endless_line);
    let url = format!("http://127.0.0.1:{port}/v1");
    let limits = llm_bench::client::limits::Limits::for_streams(streams as usize);
    let out = work.join("caps");
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(BIN);
    run_args(&mut cmd, &url, &out);
    let n = streams.to_string();
    let requests = (2 * streams).to_string();
    cmd.args(["--concurrency", &n, "--requests", &requests]);
    let (_, rss, wall) = measured(&mut cmd);
    let (rows, _, _) = rows(&out);
    let cap_mib = limits.per_buffer as f64 / (1024.0 * 1024.0);
    println!("## Hostile caps: {streams} streams, each sending one endless line\n");
    println!(
        "per-request cap {cap_mib:.2} MiB; {rows} rows (all `too_large`) in {wall:.1} s; \
         peak RSS **{rss:.1} MiB**, {:.1} MiB above one short stream's; \
         bound for these buffers: {streams} × {cap_mib:.2} MiB = {:.0} MiB (the whole run's \
         budget, line and event buffers both full, {:.0} MiB)\n",
        rss - baseline_rss,
        streams as f64 * cap_mib,
        limits.run_worst_case() as f64 / (1024.0 * 1024.0)
    );
}

fn main() {
    // Criterion-style arguments (`--bench`) are ignored: this is not a timing.
    let streams = env_or("MEMORY_STREAMS", 16);
    let long_s = env_or("MEMORY_LONG_S", 60);
    let requests = env_or("MEMORY_REQUESTS", 20_000);
    let work = std::env::temp_dir().join("llm-bench-memory");
    std::fs::create_dir_all(&work).unwrap();
    // Reference for the hostile case: the client's own floor at one short stream.
    let floor = {
        let port = serve(endless_tokens);
        let out = work.join("floor");
        let _ = std::fs::remove_dir_all(&out);
        let mut cmd = Command::new(BIN);
        run_args(&mut cmd, &format!("http://127.0.0.1:{port}/v1"), &out);
        cmd.args(["--requests", "1", "--request-timeout", "1s"]);
        measured(&mut cmd).1
    };
    stream_length(&work, streams, long_s);
    run_length(&work, requests);
    hostile_caps(&work, 256, floor);
    let _ = std::fs::remove_dir_all(&work);
}
