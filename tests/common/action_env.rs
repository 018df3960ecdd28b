//! Runs the composite action's shell steps (.github/action/run.sh) as the runner would,
//! with a clean environment and fake `GITHUB_*` variables, plus the small config and git
//! helpers those tests share. Included with `#[path = "common/action_env.rs"]`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

pub const CONFIG_TARGETS: &str = "default: sim\ntargets:\n  sim:\n    builtin: sim\n    sim: { ttft_ms: 3, itl_ms: 0.5 }\n    api: chat\n";
pub const CONFIG_MODELS: &str = "default: sim-model\nmodels:\n  sim-model:\n    max_tokens: 16\n";
pub const CONFIG_WORKLOADS: &str =
    "defaults:\n  warmup: 2\nprompts:\n  short:\n    text: \"Say hi.\"\nscenarios:\n  smoke:\n    prompt: short\n    concurrency: 2\n    requests: 16\n";

/// A repository folder `tmp/repo` holding the three config files, as a workflow's
/// checkout would; the step's `RUNNER_TEMP` and `HOME` are its siblings.
pub fn config_repo(tmp: &Path, targets: &str, workloads: &str) -> std::path::PathBuf {
    let repo = tmp.join("repo");
    std::fs::create_dir_all(repo.join("configs")).unwrap();
    std::fs::write(repo.join("configs/targets.yaml"), targets).unwrap();
    std::fs::write(repo.join("configs/models.yaml"), CONFIG_MODELS).unwrap();
    std::fs::write(repo.join("configs/workloads.yaml"), workloads).unwrap();
    repo
}

pub fn git(repo: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Runs one step of the action, in `repo`, with a clean environment plus `vars`.
pub async fn action_step(
    repo: &Path,
    step: &str,
    vars: Vec<(&'static str, String)>,
) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/action/run.sh");
    let repo = repo.to_path_buf();
    let step = step.to_string();
    tokio::task::spawn_blocking(move || {
        let home = repo.parent().unwrap().join("home");
        let runner_temp = repo.parent().unwrap().join("runner-temp");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&runner_temp).unwrap();
        std::process::Command::new("bash")
            .arg(&script)
            .arg(&step)
            .current_dir(&repo)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("RUNNER_TEMP", &runner_temp)
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("LB_BIN", env!("CARGO_BIN_EXE_llm-bench"))
            .envs(vars)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Step outputs as written to a `$GITHUB_OUTPUT` file (both forms).
pub fn read_outputs(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((key, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(key.to_string(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            out.insert(key.to_string(), value.to_string());
        }
    }
    out
}

pub fn show(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
