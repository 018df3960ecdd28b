//! Capacity of the simulated server: 1,024 concurrent streams at 5 ms ITL against a
//! server confined to one thread, fed by a minimal raw-TCP client on another.
//! `cargo bench --bench sim_capacity` prints the server thread's CPU time as a ratio
//! of the schedule's duration (below 1.0, one core keeps every chunk on schedule),
//! tokens per CPU-second and chunk lateness. CPU time, not lateness, is the figure
//! that holds on a shared machine: other processes can delay the thread however
//! cheap it is.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use std::net::{Ipv4Addr, SocketAddr};

use llm_bench::sim::{SimConfig, SimServer};

const STREAMS: usize = 1024;
const TOKENS: u32 = 400;

/// CPU time of the calling thread (Linux: /proc/thread-self/schedstat).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    )
}

fn main() {
    // `cargo test --all-targets` runs benches unoptimised, without `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("sim_capacity: a load test; run it with `cargo bench --bench sim_capacity`");
        return;
    }
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_thread = std::thread::Builder::new()
        .name("sim-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let config = SimConfig {
                    ttft_ms: 20.0,
                    itl_ms: 5.0,
                    batch_size: 4096,
                    ..SimConfig::default()
                };
                config.validate().expect("valid simulator config");
                let server = SimServer::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .expect("simulator starts");
                let cpu_before = thread_cpu();
                addr_tx.send(server.addr()).unwrap();
                let _ = stop_rx.await;
                let cpu = thread_cpu() - cpu_before;
                let stats = server.stats();
                server.shutdown().await;
                (cpu, stats)
            })
        })
        .unwrap();
    let addr = addr_rx.recv().unwrap();

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let done = client.block_on(async move {
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":"hi"}}],"max_tokens":{TOKENS},"stream":true}}"#
        );
        let request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let tasks: Vec<_> = (0..STREAMS)
            .map(|_| {
                let request = request.clone();
                tokio::spawn(async move {
                    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
                    socket.write_all(request.as_bytes()).await.unwrap();
                    let mut response = Vec::with_capacity(128 * 1024);
                    socket.read_to_end(&mut response).await.unwrap();
                    response.windows(12).any(|w| w == b"data: [DONE]")
                })
            })
            .collect();
        let mut done = 0;
        for task in tasks {
            done += usize::from(task.await.unwrap());
        }
        done
    });
    let wall = started.elapsed();
    let _ = stop_tx.send(());
    let (cpu, stats) = server_thread.join().unwrap();
    let ideal = Duration::from_secs_f64((20.0 + 5.0 * f64::from(TOKENS - 1)) / 1e3);
    println!(
        "{done}/{STREAMS} streams complete in {wall:?} (ideal {ideal:?}); {} chunks",
        stats.output_tokens_total
    );
    println!(
        "server thread CPU {cpu:?}: {:.2} of the schedule's duration (< 1.00 means one core keeps up)",
        cpu.as_secs_f64() / ideal.as_secs_f64()
    );
    println!(
        "chunk lateness mean {:.3} ms, max {:.3} ms (meaningful only on an idle machine)",
        stats.lateness_mean_ms, stats.lateness_max_ms
    );
    println!(
        "simulator throughput: {:.0}k tokens per CPU-second",
        stats.output_tokens_total as f64 / cpu.as_secs_f64() / 1e3
    );
}
