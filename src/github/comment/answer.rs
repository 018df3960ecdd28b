//! One raw request to GitHub and what its answer means: success, worth another
//! try (rate limits, 5xx, a cut connection) or final, worded with GitHub's own
//! message and never with the token.

use std::time::Duration;

use serde::Deserialize;

use super::retry::{parse_retry_after, until_reset};
use super::CommentClient;
use crate::config::Secret;
use crate::github::GithubError;

/// Why one attempt failed.
pub(super) enum Failure {
    /// Worth another try, after `wait` if the server named one.
    Transient {
        why: String,
        wait: Option<Duration>,
    },
    Fatal(GithubError),
}

/// A raw answer: status, the headers this module reads, and the body.
pub(super) struct Answer {
    status: u16,
    retry_after: Option<String>,
    rate_limit_remaining: Option<String>,
    rate_limit_reset: Option<String>,
    body: String,
}
impl CommentClient {
    pub(super) async fn send(
        &self,
        method: Method,
        route: &str,
        body: Option<&str>,
    ) -> Result<Answer, Failure> {
        let payload = body.map(|b| serde_json::json!({ "body": b }));
        let response = match method {
            Method::Get => self.crab._get(route).await,
            Method::Post => self.crab._post(route, payload.as_ref()).await,
            Method::Patch => self.crab._patch(route, payload.as_ref()).await,
        };
        let response = response.map_err(|e| Failure::Transient {
            why: format!(
                "{} {route}: {}",
                method.name(),
                redact(&self.token, &first_line(&e.to_string()))
            ),
            wait: None,
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let retry_after = header("retry-after");
        let rate_limit_remaining = header("x-ratelimit-remaining");
        let rate_limit_reset = header("x-ratelimit-reset");
        let text = self
            .crab
            .body_to_string(response)
            .await
            .map_err(|e| Failure::Transient {
                why: format!(
                    "{} {route}: the answer was cut off: {}",
                    method.name(),
                    redact(&self.token, &first_line(&e.to_string()))
                ),
                wait: None,
            })?;
        let answer = Answer {
            status,
            retry_after,
            rate_limit_remaining,
            rate_limit_reset,
            body: text,
        };
        if (200..300).contains(&status) {
            Ok(answer)
        } else {
            Err(self.classify(method, route, &answer))
        }
    }

    pub(super) fn parse<T: serde::de::DeserializeOwned>(
        &self,
        answer: &Answer,
    ) -> Result<T, Failure> {
        serde_json::from_str(&answer.body).map_err(|e| {
            Failure::Fatal(GithubError::Api {
                status: answer.status,
                message: format!("unexpected answer from GitHub: {e}"),
            })
        })
    }

    /// Sorts a failed answer into worth-retrying or final, with GitHub's own message.
    fn classify(&self, method: Method, route: &str, answer: &Answer) -> Failure {
        let message = redact(&self.token, &api_message(&answer.body));
        let status = answer.status;
        let what = format!(
            "{} {} answered HTTP {status}: {message}",
            method.name(),
            route.split('?').next().unwrap_or(route)
        );
        let secondary = message
            .to_ascii_lowercase()
            .contains("secondary rate limit");
        let primary_exhausted = answer.rate_limit_remaining.as_deref() == Some("0");
        if status == 429
            || (status == 403 && (secondary || primary_exhausted || answer.retry_after.is_some()))
        {
            let wait = parse_retry_after(answer.retry_after.as_deref())
                .or_else(|| {
                    primary_exhausted
                        .then(|| until_reset(answer.rate_limit_reset.as_deref()))
                        .flatten()
                })
                .or(secondary.then_some(self.policy.secondary_rate_limit_delay));
            return Failure::Transient {
                why: format!("rate limited ({what})"),
                wait,
            };
        }
        if status >= 500 {
            return Failure::Transient {
                why: what,
                wait: parse_retry_after(answer.retry_after.as_deref()),
            };
        }
        Failure::Fatal(match status {
            401 => GithubError::Unauthorized { message },
            403 => GithubError::Forbidden { message },
            404 => GithubError::NotFound {
                message,
                repo: self.repo.to_string(),
            },
            _ => GithubError::Api {
                status,
                message: what,
            },
        })
    }
}
#[derive(Debug, Clone, Copy)]
pub(super) enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// GitHub's `message` from an error body, or a short plain-text excerpt (a proxy's
/// HTML page says little, so it is not quoted at length).
fn api_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(b) => b.message,
        Err(_) if body.trim().is_empty() => "(empty answer)".into(),
        Err(_) => {
            let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
            flat.chars().take(120).collect()
        }
    }
}
/// octocrab's error text ends in a backtrace; the first line says what happened.
pub(super) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

/// Removes the token from `text`, should anything ever echo it.
pub fn redact(token: &Secret, text: &str) -> String {
    let t = token.expose();
    if t.is_empty() {
        text.to_string()
    } else {
        text.replace(t, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages() {
        assert_eq!(
            api_message(
                r#"{"message":"Resource not accessible by integration","documentation_url":"x"}"#
            ),
            "Resource not accessible by integration"
        );
        assert_eq!(api_message(""), "(empty answer)");
        assert_eq!(
            api_message("<html>\n<h1>502 Bad Gateway</h1></html>"),
            "<html> <h1>502 Bad Gateway</h1></html>"
        );
        assert_eq!(
            first_line("Service Error: timed out\n\nFound at ..."),
            "Service Error: timed out"
        );
    }

    #[test]
    fn redaction() {
        let token = Secret::new("ghs_secret123");
        assert_eq!(
            redact(&token, "Bearer ghs_secret123 failed"),
            "Bearer *** failed"
        );
        assert_eq!(redact(&Secret::new(""), "text"), "text");
    }
}
