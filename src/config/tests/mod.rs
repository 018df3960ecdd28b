//! End-to-end tests of `load_dir`: one per kind of mistake, each asserting the exact
//! `file:line:column: path` and the key part of the message.

mod conversation;
mod files;
mod lengths;
mod sweep;
mod targets;
mod workloads;

use std::path::Path;

use super::{load_dir, Config, ConfigError, ConfigErrors};

pub(super) const TARGETS: &str = "\
default: sim
targets:
  sim:
    builtin: sim
";

pub(super) const MODELS: &str = "\
models:
  m: {}
";

pub(super) const WORKLOADS: &str = "\
prompts:
  p: { text: hi }
scenarios:
  s:
    prompt: p
    concurrency: 1
    requests: 1
";

pub(super) const SECRET: &str = "sk-very-secret-value-1234";

/// The environment the tests see.
pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "API_KEY" => Some(SECRET.to_string()),
        "HOST" => Some("gpu-1".to_string()),
        _ => None,
    }
}

/// Writes the three files into a fresh folder and loads it.
pub(super) fn load(targets: &str, models: &str, workloads: &str) -> Result<Config, ConfigErrors> {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), targets, models, workloads);
    load_dir(dir.path(), &env)
}

pub(super) fn write(dir: &Path, targets: &str, models: &str, workloads: &str) {
    for (name, text) in [
        ("targets.yaml", targets),
        ("models.yaml", models),
        ("workloads.yaml", workloads),
    ] {
        std::fs::write(dir.join(name), text).expect("write config");
    }
}

/// The single error a broken config produces.
pub(super) fn only_error(targets: &str, models: &str, workloads: &str) -> ConfigError {
    match load(targets, models, workloads) {
        Ok(_) => panic!("expected an error"),
        Err(ConfigErrors(mut errors)) => {
            assert_eq!(
                errors.len(),
                1,
                "expected one error, got:\n{}",
                ConfigErrors(errors.clone())
            );
            errors.remove(0)
        }
    }
}

/// `file.yaml:line:column: path`, the part of the Display that locates the error.
pub(super) fn place(error: &ConfigError) -> String {
    let file = error
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pos = match (error.line, error.column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    };
    format!("{file}{pos}: {}", error.path)
}

#[test]
fn the_minimal_config_loads() {
    let config = load(TARGETS, MODELS, WORKLOADS).expect("valid");
    assert_eq!(config.default_target, "sim");
    assert_eq!(config.default_model, "m");
    assert_eq!(config.scenario("s").map(|s| s.prompt.as_str()), Some("p"));
}
