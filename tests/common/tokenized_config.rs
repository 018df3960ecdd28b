//! A config folder for the built-in simulator whose model may count tokens with
//! the test tokenizer, for the tests of what prompts reach the server
//! (`tests/workloads.rs`, `tests/datasets/`). Included with
//! `#[path = "common/tokenized_config.rs"]`.

use std::path::{Path, PathBuf};

use llm_bench::workload::tokenizer::TokenCounter;

/// The small WordPiece tokenizer in tests/fixtures.
pub fn tiny_tokenizer() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tokenizer/tiny-wordpiece.json")
}

/// That tokenizer, loaded.
pub fn tiny() -> TokenCounter {
    let path = tiny_tokenizer();
    TokenCounter::from_bytes(&path, &std::fs::read(&path).unwrap()).unwrap()
}

/// A config folder whose one target is `url`, whose model uses the test tokenizer
/// (when `tokenizer`), with `workloads` as workloads.yaml.
pub fn config(dir: &Path, url: &str, tokenizer: bool, workloads: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!("default: t\ntargets:\n  t:\n    base_url: {url}\n    api: chat\n"),
    )
    .unwrap();
    let tokenizer = match tokenizer {
        true => format!("    tokenizer: {}\n", tiny_tokenizer().display()),
        false => String::new(),
    };
    std::fs::write(
        dir.join("models.yaml"),
        format!("default: sim-model\nmodels:\n  sim-model:\n    max_tokens: 8\n{tokenizer}"),
    )
    .unwrap();
    std::fs::write(dir.join("workloads.yaml"), workloads).unwrap();
}
