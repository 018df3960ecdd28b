//! Shared helpers for the end-to-end tests: a simulated server on loopback and the
//! real `llm-bench` binary run against it, as a user would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use llm_bench::metrics::Summary;
use llm_bench::record::RequestRow;
use llm_bench::sim::{SimConfig, SimServer};

/// Tests that assert timing within a couple of milliseconds hold this lock, so they
/// do not share the two CPU cores of a CI machine with each other.
pub fn timing_sensitive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llm-bench"));
    cmd.env_remove("OPENAI_API_KEY")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS");
    cmd
}

/// A simulated server on an ephemeral loopback port, on its own runtime thread so
/// the test can block on the child process.
pub struct Sim {
    pub server: Option<SimServer>,
    runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start(config: SimConfig) -> Sim {
        Sim::start_logged(config, None)
    }

    /// With `serve-sim --request-log LOG`.
    pub fn start_logged(config: SimConfig, request_log: Option<&Path>) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let bind = "127.0.0.1:0".parse().unwrap();
        let server = runtime
            .block_on(SimServer::start_logged(config, bind, request_log))
            .unwrap();
        Sim {
            server: Some(server),
            runtime,
        }
    }

    pub fn url(&self) -> String {
        self.server.as_ref().unwrap().base_url()
    }

    pub fn stats(&self) -> llm_bench::sim::SimStats {
        self.server.as_ref().unwrap().stats()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// `llm-bench run --url URL --model sim-model --out DIR`, for more arguments or
/// environment.
pub fn run_command(url: &str, out: &Path) -> Command {
    let mut cmd = bin();
    cmd.args(["run", "--url", url, "--model", "sim-model", "--out"])
        .arg(out);
    cmd
}

/// Runs `llm-bench run --url URL --model sim-model --out DIR ARGS…`.
pub fn run_against(url: &str, out: &Path, args: &[&str]) -> Output {
    run_command(url, out).args(args).output().unwrap()
}

/// Panics with the command's stderr unless it exited 0.
#[track_caller]
pub fn assert_success(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
}

/// [`run_against`], expecting the run to succeed (exit 0).
#[track_caller]
pub fn run_ok(url: &str, out: &Path, args: &[&str]) -> Output {
    let o = run_against(url, out, args);
    assert_success(&o);
    o
}

pub fn summary(dir: &Path) -> Summary {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn rows(dir: &Path) -> Vec<RequestRow> {
    std::fs::read_to_string(dir.join("requests.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn out_dir(tmp: &tempfile::TempDir) -> PathBuf {
    tmp.path().join("out")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `DIR/summary.json` checked against `schemas/summary.schema.json`; every violation
/// is listed in the panic message. Returns the document for further checks.
pub fn validated_summary(dir: &Path) -> serde_json::Value {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schemas/summary.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    instance
}
