//! One sticky comment per benchmark job on a pull request (or issue), through octocrab.
//!
//! The comment starts with a hidden marker, `<!-- llm-bench:KEY -->`; a later run pages
//! through every comment, finds its own by that marker and edits it in place, and only
//! creates one when none exists. KEY keeps several benchmark jobs in one repository
//! apart.
//!
//! "Its own" means the marker *and* the author: anyone can write the marker into a
//! comment, so a comment is edited only when GitHub says the token's own identity wrote
//! it. The identity is `GET /user` for a personal token; the job token and other
//! installation tokens cannot call that endpoint, and the job token's comments are by
//! `github-actions[bot]`; a GitHub App's token names its bot with `--author`. A marked
//! comment by anyone else is left alone (and reported), so it can neither receive the
//! results nor block them.
//!
//! Requests go through octocrab's raw `_get`/`_post`/`_patch` so that the status and
//! headers of a failure stay visible: GitHub's secondary rate limit answers 403 or 429
//! with `Retry-After`, a proxy in front of GitHub Enterprise may answer 502 with an
//! HTML page, and octocrab's own retry neither waits nor reads `Retry-After`. The whole
//! find-then-write step is retried, so a create whose answer was lost is found (not
//! duplicated) on the next attempt. Nothing here formats a request or its headers,
//! and every message is passed through [`Secret`]-aware redaction before it leaves.

mod answer;
mod retry;

use std::time::Duration;

use octocrab::Octocrab;
use serde::Deserialize;

use super::{GithubError, Repo};
use crate::config::Secret;
use answer::{first_line, Failure, Method};

pub use answer::redact;
pub use retry::RetryPolicy;

/// The author of comments written with a workflow's job token (`GITHUB_TOKEN`).
pub const ACTIONS_BOT_LOGIN: &str = "github-actions[bot]";

/// Comments per page when listing (GitHub's maximum).
const PER_PAGE: usize = 100;
/// A pull request with more comments than this many pages is not searched further.
const MAX_PAGES: u32 = 100;
/// The hidden line that identifies the comment of one benchmark job.
pub fn marker(key: &str) -> String {
    format!("<!-- llm-bench:{key} -->")
}

/// Whether `key` can sit inside the marker: letters, digits, `.`, `_`, `-`, `/`.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !key.contains("--")
}

/// What [`CommentClient::upsert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Created {
        id: u64,
        url: String,
    },
    Updated {
        id: u64,
        url: String,
    },
    /// The comment already had exactly this body.
    Unchanged {
        id: u64,
        url: String,
    },
}

impl Posted {
    pub fn url(&self) -> &str {
        match self {
            Posted::Created { url, .. }
            | Posted::Updated { url, .. }
            | Posted::Unchanged { url, .. } => url,
        }
    }
}

/// The fields of a comment this module needs (GitHub sends many more).
#[derive(Debug, Clone, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    /// Null for a deleted ("ghost") account.
    #[serde(default)]
    user: Option<Account>,
}

#[derive(Debug, Clone, Deserialize)]
struct Account {
    login: String,
}

impl Comment {
    fn author(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.login.as_str())
    }
}

/// Whether two GitHub logins name the same account (logins are case-insensitive).
fn same_login(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
pub struct CommentClient {
    crab: Octocrab,
    repo: Repo,
    token: Secret,
    policy: RetryPolicy,
    /// The login whose comments this client may edit; `None`: ask GitHub.
    author: Option<String>,
}

impl CommentClient {
    /// `api_url` is `GITHUB_API_URL`: `https://api.github.com`, or
    /// `https://HOST/api/v3` on GitHub Enterprise Server.
    pub fn new(
        api_url: &str,
        token: &Secret,
        repo: Repo,
        policy: RetryPolicy,
    ) -> Result<CommentClient, GithubError> {
        let bad_url = || {
            GithubError::Config(format!(
            "GITHUB_API_URL `{api_url}` is not a URL; it should be https://api.github.com or, on GitHub Enterprise Server, https://HOST/api/v3"
        ))
        };
        let base = api_url.trim_end_matches('/');
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
            .set_write_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| GithubError::Transport(redact(token, &first_line(&e.to_string()))))?;
        Ok(CommentClient {
            crab,
            repo,
            token: token.clone(),
            policy,
            author: None,
        })
    }

    /// Edits only comments by `login` (e.g. `my-app[bot]` for a GitHub App's token)
    /// instead of asking GitHub who the token is.
    pub fn with_author(mut self, login: Option<String>) -> CommentClient {
        self.author = login.filter(|l| !l.trim().is_empty());
        self
    }

    /// Who the token is: `GET /user` answers for a personal token; the job token (an
    /// installation token) is refused there (403), and its comments are by
    /// `github-actions[bot]`.
    async fn identity(&self) -> Result<String, Failure> {
        if let Some(login) = &self.author {
            return Ok(login.clone());
        }
        match self.send(Method::Get, "/user", None).await {
            Ok(answer) => {
                let me: Account = self.parse(&answer)?;
                Ok(me.login)
            }
            // 403 "Resource not accessible by integration"; some GitHub Enterprise
            // proxies answer 404.
            Err(Failure::Fatal(GithubError::Forbidden { .. } | GithubError::NotFound { .. })) => {
                Ok(ACTIONS_BOT_LOGIN.to_string())
            }
            Err(other) => Err(other),
        }
    }

    /// Edits this job's comment on issue or pull request `number` to `body`, or creates
    /// it. `body` should already start with [`marker`]`(key)`.
    pub async fn upsert(&self, number: u64, key: &str, body: &str) -> Result<Posted, GithubError> {
        let marker = marker(key);
        let mut me: Option<String> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_upsert(number, &marker, body, &mut me).await {
                Ok(posted) => return Ok(posted),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient { why, wait }) => {
                    if attempt >= self.policy.max_attempts {
                        return Err(GithubError::GaveUp {
                            attempts: attempt,
                            last: why,
                        });
                    }
                    let wait = wait.unwrap_or_else(|| self.policy.backoff(attempt));
                    if wait > self.policy.max_delay {
                        return Err(GithubError::GaveUp {
                            attempts: attempt,
                            last: format!("{why}; GitHub asked to wait {} s, longer than the {} s this command waits", wait.as_secs(), self.policy.max_delay.as_secs()),
                        });
                    }
                    eprintln!(
                        "GitHub: {why}; trying again in {:.1} s (attempt {}/{})",
                        wait.as_secs_f64(),
                        attempt + 1,
                        self.policy.max_attempts
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn try_upsert(
        &self,
        number: u64,
        marker: &str,
        body: &str,
        me: &mut Option<String>,
    ) -> Result<Posted, Failure> {
        let author = match me {
            Some(login) => login.clone(),
            None => me.insert(self.identity().await?).clone(),
        };
        match self.find(number, marker, &author).await? {
            Some(existing) if existing.body.as_deref() == Some(body) => Ok(Posted::Unchanged {
                id: existing.id,
                url: existing.html_url,
            }),
            Some(existing) => {
                let route = format!(
                    "/repos/{}/{}/issues/comments/{}",
                    self.repo.owner, self.repo.name, existing.id
                );
                let answer = self.send(Method::Patch, &route, Some(body)).await?;
                let c: Comment = self.parse(&answer)?;
                Ok(Posted::Updated {
                    id: c.id,
                    url: c.html_url,
                })
            }
            None => {
                let route = format!(
                    "/repos/{}/{}/issues/{number}/comments",
                    self.repo.owner, self.repo.name
                );
                let answer = self.send(Method::Post, &route, Some(body)).await?;
                let c: Comment = self.parse(&answer)?;
                Ok(Posted::Created {
                    id: c.id,
                    url: c.html_url,
                })
            }
        }
    }

    /// Pages through every comment (oldest first) for the first by `author` that starts
    /// with `marker`. Marked comments by anyone else are reported and skipped.
    async fn find(
        &self,
        number: u64,
        marker: &str,
        author: &str,
    ) -> Result<Option<Comment>, Failure> {
        let mut foreign: Vec<String> = Vec::new();
        let mut found = None;
        for page in 1..=MAX_PAGES {
            let route = format!(
                "/repos/{}/{}/issues/{number}/comments?per_page={PER_PAGE}&page={page}",
                self.repo.owner, self.repo.name
            );
            let answer = self.send(Method::Get, &route, None).await?;
            let comments: Vec<Comment> = self.parse(&answer)?;
            for c in comments.iter().filter(|c| {
                c.body
                    .as_deref()
                    .is_some_and(|b| b.trim_start().starts_with(marker))
            }) {
                match c.author() {
                    Some(login) if same_login(login, author) => {
                        found = Some(c.clone());
                        break;
                    }
                    other => foreign.push(other.unwrap_or("(deleted account)").to_string()),
                }
            }
            if found.is_some() || comments.len() < PER_PAGE {
                break;
            }
        }
        if !foreign.is_empty() {
            foreign.dedup();
            eprintln!(
                "left alone {} comment(s) with this job's marker written by {} (not by @{author}, this token's identity); \
                 {}. If that author is this job (a GitHub App's token), pass --author LOGIN",
                foreign.len(),
                foreign.iter().map(|l| format!("@{l}")).collect::<Vec<_>>().join(", "),
                if found.is_some() { "editing this token's own comment" } else { "posting a new comment" },
            );
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for key in ["default", "vllm-h100", "nightly/llama-8b", "a.b_c"] {
            assert!(valid_key(key), "{key}");
        }
        for key in ["", "a b", "x-->", "a--b", "<script>", &"k".repeat(101)] {
            assert!(!valid_key(key), "{key}");
        }
        assert_eq!(marker("vllm"), "<!-- llm-bench:vllm -->");
    }
}
