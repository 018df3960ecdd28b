//! `--url` without `--model`: ask the server's `/models` for the first model, and
//! say plainly why when that fails: a dead server is "connection refused", a
//! refused key is "check the key" (naming where it comes from), not "pass --model".

use std::time::Duration;

use crate::client::limits::read_capped;
use crate::options::{RunOptions, UsageError};
use crate::redact::strip_credentials;

/// How long `/models` may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Largest `/models` answer read: a list of a few hundred models is well under
/// 1 MiB, and an endless one must not be kept (the telemetry probes cap theirs too).
const MODELS_CAP: usize = 4 * 1024 * 1024;

/// Asks `/models` for the first model the server serves.
pub(super) async fn discover_model(base_url: &str, options: &RunOptions) -> anyhow::Result<String> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let shown = strip_credentials(&url);
    let builder =
        crate::client::trust::trusting(reqwest::Client::builder(), options.ca_cert.as_ref());
    let mut request = builder.timeout(TIMEOUT).no_proxy().build()?.get(&url);
    if let Some(key) = &options.api_key {
        request = request.bearer_auth(key);
    }
    let failed = |why: String| anyhow::Error::from(UsageError(why));
    let response = request
        .send()
        .await
        .map_err(|e| failed(unreachable(&shown, e)))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(failed(refused(&shown, status, options)));
    }
    let no_model = |why: &str| failed(format!("no --model given and {why}; pass --model NAME"));
    let body = read_capped(response, MODELS_CAP)
        .await
        .map_err(|e| no_model(&format!("{shown} sent no usable model list ({e})")))?;
    let body: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| no_model(&format!("{shown} did not answer with JSON")))?;
    let model = body["data"][0]["id"]
        .as_str()
        .ok_or_else(|| no_model(&format!("the model list at {shown} is empty")))?;
    eprintln!("using model `{model}` (the first listed by /models)");
    Ok(model.to_string())
}

/// Why the request never got an answer.
fn unreachable(url: &str, e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        chain.push_str(&s.to_string().to_ascii_lowercase());
        chain.push(' ');
        source = s.source();
    }
    if chain.contains("connection refused") {
        format!(
            "cannot reach {url}: connection refused: is the server running? (start it, or check \
             the host and port in --url)"
        )
    } else if e.is_timeout() {
        format!(
            "{url} did not answer within {} s: is the server still loading the model? (try again \
             when it is ready, or pass --model NAME to skip this request)",
            TIMEOUT.as_secs()
        )
    } else {
        format!(
            "cannot reach {url}: {}; check the host and port in --url",
            chain.trim_end()
        )
    }
}

/// What a refusal of `/models` means.
fn refused(url: &str, status: u16, options: &RunOptions) -> String {
    let key = match &options.api_key {
        Some(_) => format!("the key sent comes from {}", options.key_source),
        None => format!("no key was sent: {} is not set", options.key_source),
    };
    match status {
        401 | 403 => format!("{url} answered HTTP {status}: check the API key ({key})"),
        404 => format!(
            "{url} answered HTTP 404: is --url the API root? It usually ends in /v1 (or pass \
             --model NAME to skip this request)"
        ),
        _ => format!("no --model given and {url} answered HTTP {status}; pass --model NAME"),
    }
}
