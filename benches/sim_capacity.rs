//! Capacity of the simulated server against the floor of the machine it runs on.
//!
//! 1,024 concurrent streams at 5 ms ITL, with the server on one CPU and a minimal
//! raw-TCP client on another, then, in the same run and with the same client,
//! streams and schedule, a bare loop that does nothing per token but one
//! `write(2)` of a chunk of the same size. That loop is the floor: one socket
//! write per token is the point of the simulator, and on loopback the write
//! pays for the receiver's TCP processing and wake-up too, so the kernel, not
//! the simulator, sets how many tokens one core can send.
//!
//! `cargo bench --bench sim_capacity` prints, for both, CPU per token (the
//! server thread and the precise-timer thread; the loop's one thread), tokens
//! per CPU-second, the share of the schedule's duration that CPU is (below 1.0
//! one core keeps up), and the ratio simulator / bare loop. CPU time, not
//! lateness, is the figure that holds on a shared machine: other processes can
//! delay a thread however cheap it is. `SIM_CAPACITY_ITL_MS=10` runs both at a
//! longer time between tokens.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use llm_bench::sim::{SimConfig, SimServer};

const STREAMS: usize = 1024;
const TOKENS: u32 = 400;
const TTFT: Duration = Duration::from_millis(20);
/// Time between tokens unless `SIM_CAPACITY_ITL_MS` says otherwise: a longer one
/// means fewer tokens due per wake-up, which costs more per token.
const DEFAULT_ITL: Duration = Duration::from_millis(5);
/// The precise timer's batching window, which the bare loop uses too.
const QUANTUM: Duration = Duration::from_micros(50);
/// The server (or bare loop) on the first, the client on the second, as
/// `scripts/side_by_side.py` pins them, when the machine has two.
const SERVER_CPU: usize = 0;
const CLIENT_CPU: usize = 1;

/// What one phase measured.
struct Phase {
    /// Streams that ended as they should.
    complete: usize,
    tokens: u64,
    /// Bytes the client read.
    bytes: u64,
    cpu: Duration,
    wall: Duration,
}

impl Phase {
    fn us_per_token(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.tokens as f64
    }

    fn print(&self, name: &str, itl: Duration) {
        let schedule = TTFT + itl * (TOKENS - 1);
        println!(
            "{name}: {}/{STREAMS} streams complete in {:.2} s (schedule {:.2} s), {} tokens, {:.0} bytes per token read",
            self.complete,
            self.wall.as_secs_f64(),
            schedule.as_secs_f64(),
            self.tokens,
            self.bytes as f64 / self.tokens as f64,
        );
        println!(
            "{name}: CPU {:.3} s = {:.2} µs per token, {:.0}k tokens per CPU-second, {:.2} of the schedule's duration",
            self.cpu.as_secs_f64(),
            self.us_per_token(),
            self.tokens as f64 / self.cpu.as_secs_f64() / 1e3,
            self.cpu.as_secs_f64() / schedule.as_secs_f64(),
        );
    }
}

fn main() {
    // `cargo test --all-targets` runs benches unoptimised, without `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("sim_capacity: a load test; run it with `cargo bench --bench sim_capacity`");
        return;
    }
    let itl = std::env::var("SIM_CAPACITY_ITL_MS")
        .ok()
        .and_then(|ms| ms.parse::<f64>().ok())
        .filter(|ms| (0.1..=1000.0).contains(ms))
        .map_or(DEFAULT_ITL, |ms| Duration::from_secs_f64(ms / 1e3));
    let pinned = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    println!(
        "{STREAMS} streams of {TOKENS} tokens, TTFT {TTFT:?}, ITL {itl:?}{}",
        if pinned {
            format!("; server on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}")
        } else {
            String::new()
        }
    );
    let simulator = simulator_phase(pinned, itl);
    simulator.print("simulator", itl);
    let chunk_len = (simulator.bytes as f64 / simulator.tokens.max(1) as f64).round() as usize;
    let floor = bare_loop_phase(pinned, itl, chunk_len.max(16));
    floor.print("bare write loop", itl);
    println!(
        "simulator / bare write loop, CPU per token: {:.2}x",
        simulator.us_per_token() / floor.us_per_token()
    );
}

/// The simulator on its own current-thread runtime, driven by [`raw_client`].
fn simulator_phase(pinned: bool, itl: Duration) -> Phase {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_thread = std::thread::Builder::new()
        .name("sim-server".into())
        .spawn(move || {
            if pinned {
                pin_to(SERVER_CPU);
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let config = SimConfig {
                    ttft_ms: TTFT.as_secs_f64() * 1e3,
                    itl_ms: itl.as_secs_f64() * 1e3,
                    batch_size: 4096,
                    ..SimConfig::default()
                };
                config.validate().expect("valid simulator config");
                let server = SimServer::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .expect("simulator starts");
                // The precise timer's thread starts with the first deadline, on
                // this CPU; its CPU is the simulator's too.
                let cpu_before = thread_cpu("self") + timer_thread_cpu();
                addr_tx.send(server.addr()).unwrap();
                let _ = stop_rx.await;
                let cpu = thread_cpu("self") + timer_thread_cpu() - cpu_before;
                let stats = server.stats();
                server.shutdown().await;
                (cpu, stats.output_tokens_total)
            })
        })
        .unwrap();
    let addr = addr_rx.recv().unwrap();
    let body = format!(
        r#"{{"messages":[{{"role":"user","content":"hi"}}],"max_tokens":{TOKENS},"stream":true}}"#
    );
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let started = Instant::now();
    let responses = raw_client(pinned, addr, request.into_bytes());
    let wall = started.elapsed();
    let _ = stop_tx.send(());
    let (cpu, tokens) = server_thread.join().unwrap();
    Phase {
        complete: responses
            .iter()
            .filter(|r| r.windows(12).any(|w| w == b"data: [DONE]"))
            .count(),
        tokens,
        // Response heads and the first chunk's role are a few hundred bytes per
        // stream: under 1 % of 400 chunks.
        bytes: responses.iter().map(|r| r.len() as u64).sum(),
        cpu,
        wall,
    }
}

/// The floor: one thread that accepts the same streams and, on the same schedule
/// and with the same batching window, writes `chunk_len` bytes per token with one
/// `write(2)`, and nothing else.
fn bare_loop_phase(pinned: bool, itl: Duration, chunk_len: usize) -> Phase {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = std::thread::spawn(move || {
        if pinned {
            pin_to(SERVER_CPU);
        }
        lower_timer_slack();
        let chunk = vec![b'x'; chunk_len];
        let mut sockets = Vec::with_capacity(STREAMS);
        let mut due = BinaryHeap::with_capacity(STREAMS);
        let cpu_before = thread_cpu("self");
        for i in 0..STREAMS {
            let (socket, _) = listener.accept().unwrap();
            socket.set_nodelay(true).unwrap();
            sockets.push(socket);
            due.push(Reverse((Instant::now() + TTFT, i, 0u32)));
        }
        let mut tokens = 0u64;
        while let Some(&Reverse((deadline, i, sent))) = due.peek() {
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep(deadline.max(now + QUANTUM) - now);
                continue;
            }
            due.pop();
            sockets[i].write_all(&chunk).unwrap();
            tokens += 1;
            if sent + 1 < TOKENS {
                due.push(Reverse((deadline + itl, i, sent + 1)));
            } else {
                // Closing ends the client's read, as `connection: close` does.
                let _ = sockets[i].shutdown(std::net::Shutdown::Write);
            }
        }
        (thread_cpu("self") - cpu_before, tokens)
    });
    let started = Instant::now();
    let responses = raw_client(pinned, addr, Vec::new());
    let wall = started.elapsed();
    let (cpu, tokens) = writer.join().unwrap();
    let expected = chunk_len * TOKENS as usize;
    Phase {
        complete: responses.iter().filter(|r| r.len() == expected).count(),
        tokens,
        bytes: responses.iter().map(|r| r.len() as u64).sum(),
        cpu,
        wall,
    }
}

/// Opens every stream at once, sends `request` (if any) and reads each to the
/// end, on a current-thread runtime: what a lean client does, nothing more.
fn raw_client(pinned: bool, addr: SocketAddr, request: Vec<u8>) -> Vec<Vec<u8>> {
    let request = std::sync::Arc::new(request);
    std::thread::spawn(move || {
        if pinned {
            pin_to(CLIENT_CPU);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let tasks: Vec<_> = (0..STREAMS)
                .map(|_| {
                    let request = std::sync::Arc::clone(&request);
                    tokio::spawn(async move {
                        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
                        socket.write_all(&request).await.unwrap();
                        let mut response = Vec::with_capacity(128 * 1024);
                        socket.read_to_end(&mut response).await.unwrap();
                        response
                    })
                })
                .collect();
            let mut responses = Vec::with_capacity(STREAMS);
            for task in tasks {
                responses.push(task.await.unwrap());
            }
            responses
        })
    })
    .join()
    .unwrap()
}

/// CPU time of a thread of this process ("self" for the caller), from
/// /proc/…/schedstat (Linux); zero where it cannot be read.
fn thread_cpu(tid: &str) -> Duration {
    let path = if tid == "self" {
        "/proc/thread-self/schedstat".to_string()
    } else {
        format!("/proc/self/task/{tid}/schedstat")
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    Duration::from_nanos(
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    )
}

/// CPU time of llm-bench's precise-timer thread, zero before it has started.
fn timer_thread_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim() == "llm-bench-timer")
        })
        .map(|task| thread_cpu(&task.file_name().to_string_lossy()))
        .sum()
}

fn pin_to(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_setaffinity(0, …)
    // changes only the calling thread, and a failure leaves it unpinned.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The same 1 µs timer slack the precise timer's thread sets, so that the bare
/// loop's sleeps are as precise as the simulator's.
fn lower_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and affects only the
    // calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
    }
}
