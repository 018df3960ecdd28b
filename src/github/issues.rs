//! The tracking issue's API calls (octocrab's raw requests, as the comment client
//! makes them): find the open issue by label and marker, read which alarms its
//! comments announced, then open, edit, comment and close as
//! [`super::tracking::plan`] says.

use std::collections::BTreeSet;
use std::time::Duration;

use octocrab::Octocrab;
use serde_json::{json, Value};

use super::comment::redact;
use super::tracking::{self, Action, Alarm};
use super::{GithubError, Repo};
use crate::config::Secret;

/// Pages of 100 comments read from the tracking issue at most.
const MAX_PAGES: u32 = 10;

pub struct IssueClient {
    crab: Octocrab,
    repo: Repo,
    token: Secret,
}

impl IssueClient {
    pub fn new(api_url: &str, token: &Secret, repo: Repo) -> Result<IssueClient, GithubError> {
        let base = api_url.trim_end_matches('/');
        let bad_url = || {
            GithubError::Config(format!(
                "GITHUB_API_URL `{api_url}` is not a URL; it should be https://api.github.com or https://HOST/api/v3"
            ))
        };
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(bad_url());
        }
        let crab = Octocrab::builder()
            .base_uri(base)
            .map_err(|_| bad_url())?
            .personal_token(token.expose().to_string())
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| GithubError::Transport(redact(token, &e.to_string())))?;
        Ok(IssueClient {
            crab,
            repo,
            token: token.clone(),
        })
    }

    /// Brings the tracking issue in line with `alarms`; returns what it did.
    pub async fn track(
        &self,
        alarms: &[Alarm],
        run_url: Option<&str>,
    ) -> Result<Vec<Action>, GithubError> {
        let open = self.open_issue().await?;
        let announced = match open {
            Some(n) => self.announced(n).await?,
            None => BTreeSet::new(),
        };
        let actions = tracking::plan(alarms, open.is_some(), &announced, run_url);
        let issues = format!("/repos/{}/{}/issues", self.repo.owner, self.repo.name);
        let mut number = open;
        for action in &actions {
            match action {
                Action::Open { title, body } => {
                    let made = self
                        .call("POST", &issues, Some(json!({ "title": title, "body": body, "labels": [tracking::LABEL] })))
                        .await?;
                    number = made["number"].as_u64();
                }
                Action::EditBody { body } => {
                    let n = number.unwrap_or_default();
                    self.call(
                        "PATCH",
                        &format!("{issues}/{n}"),
                        Some(json!({ "body": body })),
                    )
                    .await?;
                }
                Action::Comment { body } => {
                    let n = number.unwrap_or_default();
                    self.call(
                        "POST",
                        &format!("{issues}/{n}/comments"),
                        Some(json!({ "body": body })),
                    )
                    .await?;
                }
                Action::Close { comment } => {
                    let n = number.unwrap_or_default();
                    self.call(
                        "POST",
                        &format!("{issues}/{n}/comments"),
                        Some(json!({ "body": comment })),
                    )
                    .await?;
                    self.call(
                        "PATCH",
                        &format!("{issues}/{n}"),
                        Some(json!({ "state": "closed", "state_reason": "completed" })),
                    )
                    .await?;
                }
            }
        }
        Ok(actions)
    }

    /// The open issue labelled and marked as the tracking issue (not a pull request).
    async fn open_issue(&self) -> Result<Option<u64>, GithubError> {
        let route = format!(
            "/repos/{}/{}/issues?state=open&labels={}&per_page=100",
            self.repo.owner,
            self.repo.name,
            tracking::LABEL
        );
        let list = self.call("GET", &route, None).await?;
        Ok(list
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| {
                i.get("pull_request").is_none()
                    && i["body"]
                        .as_str()
                        .is_some_and(|b| b.contains(tracking::ISSUE_MARKER))
            })
            .and_then(|i| i["number"].as_u64()))
    }

    async fn announced(&self, number: u64) -> Result<BTreeSet<String>, GithubError> {
        let mut ids = BTreeSet::new();
        for page in 1..=MAX_PAGES {
            let route = format!(
                "/repos/{}/{}/issues/{number}/comments?per_page=100&page={page}",
                self.repo.owner, self.repo.name
            );
            let list = self.call("GET", &route, None).await?;
            let comments = list.as_array().cloned().unwrap_or_default();
            for c in &comments {
                ids.extend(tracking::markers_in(c["body"].as_str().unwrap_or("")));
            }
            if comments.len() < 100 {
                break;
            }
        }
        Ok(ids)
    }

    async fn call(
        &self,
        method: &str,
        route: &str,
        body: Option<Value>,
    ) -> Result<Value, GithubError> {
        let response = match method {
            "GET" => self.crab._get(route).await,
            "POST" => self.crab._post(route, body.as_ref()).await,
            _ => self.crab._patch(route, body.as_ref()).await,
        }
        .map_err(|e| {
            GithubError::Transport(redact(&self.token, &format!("{method} {route}: {e}")))
        })?;
        let status = response.status().as_u16();
        let text = self
            .crab
            .body_to_string(response)
            .await
            .map_err(|e| GithubError::Transport(redact(&self.token, &e.to_string())))?;
        if !(200..300).contains(&status) {
            let path = route.split('?').next().unwrap_or(route);
            return Err(GithubError::Api {
                status,
                message: redact(
                    &self.token,
                    &format!(
                        "{method} {path}: {} (the job needs `permissions: issues: write`)",
                        text.chars().take(300).collect::<String>()
                    ),
                ),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| GithubError::Api {
            status,
            message: format!("unexpected answer from GitHub to {method}: {e}"),
        })
    }
}
