//! How late the precise timer (`llm_bench::timer`) wakes a task, against tokio's
//! own `sleep_until` measured in the same run on the same runtime. The simulated
//! server's TTFT/ITL "truth" and the open-loop send schedule depend on it.
//!
//! `cargo bench --bench timer_lateness` prints p50/p99/max lateness of both and
//! their ratio; the precise timer should be several times closer to its deadline.

use std::time::{Duration, Instant};

const SLEEPS: usize = 400;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let precise = runtime.block_on(measure(|d| Box::pin(llm_bench::timer::sleep_until(d))));
    let tokio_timer = runtime.block_on(measure(|d| {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(d)))
    }));
    println!("lateness over {SLEEPS} sleeps of 0.3-2.3 ms (µs)");
    println!("{:<16}{:>8}{:>8}{:>8}", "timer", "p50", "p99", "max");
    for (name, l) in [
        ("llm_bench::timer", &precise),
        ("tokio::time", &tokio_timer),
    ] {
        println!("{name:<16}{:>8.0}{:>8.0}{:>8.0}", l.p50, l.p99, l.max);
    }
    println!(
        "ratio tokio/precise: p50 {:.1}x, p99 {:.1}x",
        tokio_timer.p50 / precise.p50.max(1.0),
        tokio_timer.p99 / precise.p99.max(1.0)
    );
}

struct Lateness {
    p50: f64,
    p99: f64,
    max: f64,
}

type SleepFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn measure(sleep: impl Fn(Instant) -> SleepFuture) -> Lateness {
    let mut late_us = Vec::with_capacity(SLEEPS);
    for i in 0..SLEEPS {
        // Deadlines off the millisecond grid, as real chunk schedules are.
        let deadline = Instant::now() + Duration::from_micros(300 + (i as u64 * 37) % 2000);
        sleep(deadline).await;
        late_us.push((Instant::now() - deadline).as_secs_f64() * 1e6);
    }
    late_us.sort_by(f64::total_cmp);
    let at = |q: f64| late_us[((late_us.len() - 1) as f64 * q).round() as usize];
    Lateness {
        p50: at(0.5),
        p99: at(0.99),
        max: *late_us.last().unwrap(),
    }
}
