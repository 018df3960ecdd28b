//! Helpers of the live-metrics tests: a config folder for the built-in simulator, a
//! child `llm-bench run` whose stderr is read as it goes (for the address it
//! listens on), plain HTTP/1.0 scrapes, and expositions flattened into samples.
//! Included with `#[path = "common/live.rs"] mod live;`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llm_bench::telemetry::record::PromSample;
use openmetrics_parser::{OpenMetricsType, OpenMetricsValue};

/// What Prometheus sends when it scrapes.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// targets.yaml, models.yaml and workloads.yaml: the built-in simulator failing
/// `error_500_rate` of requests, one scenario `chat` of `trials` trials of 48
/// measured requests (2 warm-up) at concurrency 4, 32 tokens each.
pub fn write_config(dir: &Path, error_500_rate: f64, trials: u32) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!(
            "default: sim\ntargets:\n  sim:\n    builtin: sim\n    sim: {{ ttft_ms: 20, itl_ms: 4, error_500_rate: {error_500_rate}, seed: 7 }}\n    api: chat\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model:\n    max_tokens: 32\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("workloads.yaml"),
        format!(
            "defaults:\n  warmup: 2\n  max_error_rate: 1.0\nprompts:\n  short:\n    text: \"Say hi.\"\nscenarios:\n  chat:\n    prompt: short\n    concurrency: 4\n    requests: 48\n    trials: {trials}\n"
        ),
    )
    .unwrap();
}

/// A child process whose stderr is collected line by line as it arrives.
pub struct Running {
    pub child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        Running { child, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// The address from `live metrics: http://ADDR/metrics`, within `timeout`.
    pub fn live_addr(&mut self, timeout: Duration) -> SocketAddr {
        let start = Instant::now();
        loop {
            let found = self.stderr.lock().unwrap().iter().find_map(|l| {
                l.strip_prefix("live metrics: http://")
                    .and_then(|rest| rest.strip_suffix("/metrics"))
                    .and_then(|a| a.parse().ok())
            });
            if let Some(addr) = found {
                return addr;
            }
            let exited = self.child.try_wait().unwrap();
            assert!(
                exited.is_none() && start.elapsed() < timeout,
                "no `live metrics:` line (exit {exited:?}):\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the exit code, killing the child after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("still running after {timeout:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One response: status, content type, body.
pub struct Scraped {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// `GET path` over HTTP/1.0; `None` when nothing answers.
pub fn get(addr: SocketAddr, path: &str, accept: &str) -> Option<Scraped> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: {accept}\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Some(Scraped {
        status,
        content_type,
        body: body.to_string(),
    })
}

/// An OpenMetrics exposition as flat samples, named as Prometheus stores them:
/// counters with `_total`, histograms as `_bucket` (with `le`), `_sum`, `_count`.
/// Panics when the text is not valid OpenMetrics.
pub fn openmetrics_samples(text: &str) -> Vec<PromSample> {
    // Nothing to expose yet (the parser wants at least one family).
    if text == "# EOF\n" {
        return Vec::new();
    }
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(text)
        .unwrap_or_else(|e| panic!("not OpenMetrics: {e:?}\n{text}"));
    let mut out = Vec::new();
    for (name, family) in &exposition.families {
        for sample in family.iter_samples() {
            let labels: BTreeMap<String, String> = sample
                .get_labelset()
                .map(|set| set.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let mut push = |name: String, labels: BTreeMap<String, String>, value: f64| {
                out.push(PromSample {
                    name,
                    labels,
                    value,
                })
            };
            match (&family.family_type, &sample.value) {
                (OpenMetricsType::Counter, OpenMetricsValue::Counter(c)) => {
                    push(format!("{name}_total"), labels, c.value.as_f64())
                }
                (_, OpenMetricsValue::Gauge(v) | OpenMetricsValue::Unknown(v)) => {
                    push(name.clone(), labels, v.as_f64())
                }
                (_, OpenMetricsValue::Histogram(h)) => {
                    for b in &h.buckets {
                        let mut l = labels.clone();
                        let le = if b.upper_bound.is_infinite() {
                            "+Inf".to_string()
                        } else {
                            b.upper_bound.to_string()
                        };
                        l.insert("le".into(), le);
                        push(format!("{name}_bucket"), l, b.count.as_f64());
                    }
                    push(
                        format!("{name}_sum"),
                        labels.clone(),
                        h.sum.as_ref().map_or(0.0, |s| s.as_f64()),
                    );
                    push(format!("{name}_count"), labels, h.count.unwrap_or(0) as f64);
                }
                (t, v) => panic!("{name}: unexpected {t:?} {v:?}"),
            }
        }
    }
    out
}

/// The sum of `name` over the samples whose labels include `labels`.
pub fn value(samples: &[PromSample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// The TCP sockets process `pid` has in the LISTEN state (Linux: its socket inodes
/// from /proc/PID/fd matched against /proc/PID/net/tcp and tcp6).
pub fn listening_sockets(pid: u32) -> Vec<String> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    l.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut listening = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, state (0A = LISTEN), inode.
            if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
                listening.push(f[1].to_string());
            }
        }
    }
    listening
}
