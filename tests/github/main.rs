//! The GitHub module against a local fake of the GitHub REST API (wiremock on loopback):
//! the sticky comment, paging, keys, truncation, retries, permission errors, GitHub
//! Enterprise Server's base URL, and that the token never reaches any output.
//!
//! One test binary, grouped by feature: [`api`] (the REST calls: find, create,
//! update, retries, errors), [`command`] (`llm-bench comment` as a library call:
//! summary, outputs, truncation), [`binary`] (the process: exit codes, the token in
//! no output), [`action`] (the action's shell steps end to end) and [`workflows`]
//! (action.yml and the workflows as text).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use llm_bench::cli::CommentArgs;
use llm_bench::config::Secret;
use llm_bench::github::comment::{marker, CommentClient, Posted, RetryPolicy};
use llm_bench::github::{run_comment, CommentOptions, GithubEnv, GithubError, Repo};
use wiremock::matchers::{any, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "../common/action_env.rs"]
mod action_env;
#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fake_github.rs"]
mod fake_github;
use action_env::{
    action_step, config_repo, git, read_outputs, show, CONFIG_MODELS, CONFIG_TARGETS,
    CONFIG_WORKLOADS,
};
use fake_github::{FakeGithub, PR, TOKEN};

mod action;
mod api;
mod binary;
mod command;
mod workflows;

/// Fast retries: the tests check behaviour, not GitHub's patience.
fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(5),
        secondary_rate_limit_delay: Duration::from_millis(50),
    }
}

fn repo() -> Repo {
    Repo::parse("acme/serving").unwrap()
}

fn client(server: &MockServer, prefix: &str) -> CommentClient {
    CommentClient::new(
        &format!("{}{prefix}", server.uri()),
        &Secret::new(TOKEN),
        repo(),
        fast(),
    )
    .unwrap()
}

fn body(key: &str, text: &str) -> String {
    format!("{}\n{text}", marker(key))
}
