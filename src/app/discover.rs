//! `--url` without `--model`: ask the server's `/models` for the first model, and
//! say plainly why when that fails.

use std::time::Duration;

use anyhow::anyhow;

use super::run::strip_credentials;
use crate::options::{RunOptions, UsageError};

/// Asks `/models` for the first model the server serves.
pub(super) async fn discover_model(base_url: &str, options: &RunOptions) -> anyhow::Result<String> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut request = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?
        .get(&url);
    if let Some(key) = &options.api_key {
        request = request.bearer_auth(key);
    }
    let failed = |why: String| {
        anyhow!(UsageError(format!(
            "no --model given and {why}; pass --model NAME"
        )))
    };
    let response = request.send().await.map_err(|e| {
        failed(format!(
            "{} could not be reached: {}",
            strip_credentials(&url),
            e.without_url()
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "{} answered HTTP {}",
            strip_credentials(&url),
            status.as_u16()
        )));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| failed("its /models answer is not JSON".into()))?;
    let model = body["data"][0]["id"]
        .as_str()
        .ok_or_else(|| failed("its /models list is empty".into()))?;
    eprintln!("using model `{model}` (the first listed by /models)");
    Ok(model.to_string())
}
