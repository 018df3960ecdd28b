//! How long the async runtime's threads waited for a CPU while they could run.
//!
//! The stall watch's own thread tells when the whole process was stopped (SIGSTOP, a
//! hypervisor taking the vCPU): it wakes late. It does not tell when another task on
//! the same CPU (a busy loop, a compiler) held the core while the runtime had first
//! tokens to read: the scheduler favours a thread that sleeps most of the time, so
//! the watch wakes on time while a busy runtime thread waits its turn for
//! milliseconds. The kernel counts that wait per thread: the second field of
//! `/proc/self/task/<tid>/schedstat` is the time spent runnable on a run queue
//! (`run_delay`, nanoseconds). Read once per watch period for each runtime thread
//! (~1 µs a read), its growth is the longest the runtime was kept from reading.
//!
//! Linux only; elsewhere (or where procfs is not mounted) nothing is read and no
//! wait is seen.

use std::fs::File;
use std::time::Duration;

/// The runtime's threads and the `run_delay` each had at the last look.
#[derive(Debug, Default)]
pub struct RunDelay {
    threads: Vec<Watched>,
}

#[derive(Debug)]
struct Watched {
    file: File,
    last_ns: u64,
}

impl RunDelay {
    /// The threads that run the async runtime: the main thread (a current-thread
    /// runtime runs there) and tokio's workers. Others (the row writer, the stall
    /// watch) are left out: their waits delay no timestamp.
    pub fn of_runtime_threads() -> RunDelay {
        let mut threads = Vec::new();
        for tid in runtime_thread_ids() {
            let Ok(file) = File::open(format!("/proc/self/task/{tid}/schedstat")) else {
                continue;
            };
            if let Some(last_ns) = read_run_delay(&file) {
                threads.push(Watched { file, last_ns });
            }
        }
        RunDelay { threads }
    }

    /// The longest time one runtime thread waited for a CPU since the last call.
    pub fn waited(&mut self) -> Duration {
        let mut longest = 0;
        for t in &mut self.threads {
            if let Some(now) = read_run_delay(&t.file) {
                longest = longest.max(now.saturating_sub(t.last_ns));
                t.last_ns = now;
            }
        }
        Duration::from_nanos(longest)
    }
}

/// `run_delay` from a `schedstat` file: "<on cpu ns> <run_delay ns> <slices>".
pub fn parse_run_delay(text: &str) -> Option<u64> {
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(target_os = "linux")]
fn read_run_delay(file: &File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 96];
    let n = file.read_at(&mut buf, 0).ok()?;
    parse_run_delay(std::str::from_utf8(&buf[..n]).ok()?)
}

#[cfg(not(target_os = "linux"))]
fn read_run_delay(_: &File) -> Option<u64> {
    None
}

/// Thread ids of the main thread and of tokio's worker threads (named
/// `tokio-runtime-worker`, which `comm` cuts to 15 bytes).
fn runtime_thread_ids() -> Vec<u32> {
    let pid = std::process::id();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&tid| {
            tid == pid
                || std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                    .is_ok_and(|name| name.starts_with("tokio-runtime-w"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_field_is_the_wait() {
        assert_eq!(parse_run_delay("57601296 52760443 76\n"), Some(52_760_443));
        assert_eq!(parse_run_delay("1 2 3"), Some(2));
        assert_eq!(parse_run_delay("1"), None);
        assert_eq!(parse_run_delay(""), None);
        assert_eq!(parse_run_delay("a b c"), None);
    }

    /// The main thread is watched, and a wait is never negative: two looks with
    /// nothing competing see (almost) no wait.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_main_thread_is_watched() {
        // Test threads are not the main thread; the watch still finds the
        // process's main thread (the test harness's).
        let mut delay = RunDelay::of_runtime_threads();
        assert!(
            !delay.threads.is_empty(),
            "procfs gives the main thread's schedstat"
        );
        let _ = delay.waited();
        assert!(delay.waited() < Duration::from_secs(1));
    }
}
