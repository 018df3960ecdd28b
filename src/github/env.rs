//! The GitHub Actions environment: the only reader of `GITHUB_*` variables, so what
//! `llm-bench comment` depends on is visible in one place and tests pass a fake
//! lookup instead of mutating the process's environment.

use std::fmt;
use std::path::PathBuf;

use super::GithubError;
use crate::config::Secret;

/// The public GitHub API, used when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The GitHub Actions environment, as far as this tool uses it. Every field is
/// optional: outside Actions the command still writes what it can.
#[derive(Debug, Clone, Default)]
pub struct GithubEnv {
    /// `GITHUB_ACTIONS=true`: print workflow commands.
    pub actions: bool,
    pub token: Option<Secret>,
    /// `GITHUB_REPOSITORY`, unparsed (parsed when posting, so a bad value is reported there).
    pub repository: Option<String>,
    pub event_name: Option<String>,
    pub event_path: Option<PathBuf>,
    /// `GITHUB_API_URL`: `https://api.github.com`, or `https://HOST/api/v3` on GitHub
    /// Enterprise Server.
    pub api_url: String,
    /// `GITHUB_SERVER_URL` and `GITHUB_RUN_ID`: the run's page, where its artifacts are.
    pub server_url: Option<String>,
    pub run_id: Option<String>,
    /// `GITHUB_RUN_NUMBER`: "run #123".
    pub run_number: Option<String>,
    /// `GITHUB_SHA`: on a pull request, the merge commit; see [`GithubEnv::commit`].
    pub sha: Option<String>,
    /// The pull request's (or merge group's) head commit, from the event file.
    pub head_sha: Option<String>,
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
}

impl GithubEnv {
    /// Reads the environment through `lookup` (`std::env::var` in the binary, a map in
    /// tests). Empty values count as unset, as an unset `${{ }}` expands to "".
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> GithubEnv {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let event_path = get("GITHUB_EVENT_PATH").map(PathBuf::from);
        let head_sha = event_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|text| head_sha_from_event(&text));
        GithubEnv {
            actions: get("GITHUB_ACTIONS").as_deref() == Some("true"),
            token: lookup("GITHUB_TOKEN")
                .filter(|t| !t.trim().is_empty())
                .map(|t| Secret::new(t.trim())),
            repository: get("GITHUB_REPOSITORY"),
            event_name: get("GITHUB_EVENT_NAME"),
            event_path,
            head_sha,
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string()),
            server_url: get("GITHUB_SERVER_URL"),
            run_id: get("GITHUB_RUN_ID"),
            run_number: get("GITHUB_RUN_NUMBER"),
            sha: get("GITHUB_SHA"),
            step_summary: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: get("GITHUB_OUTPUT").map(PathBuf::from),
        }
    }

    /// The commit a reviewer knows: a pull request's (or merge group's) head from the
    /// event, else `GITHUB_SHA`.
    pub fn commit(&self) -> Option<&str> {
        self.head_sha.as_deref().or(self.sha.as_deref())
    }

    /// The workflow run's page, where its artifacts are listed.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url.as_deref()?.trim_end_matches('/'),
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }
}

/// `owner/name` from `GITHUB_REPOSITORY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn parse(text: &str) -> Result<Repo, GithubError> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match text.split_once('/') {
            Some((owner, name)) if ok(owner) && ok(name) => Ok(Repo {
                owner: owner.into(),
                name: name.into(),
            }),
            _ => Err(GithubError::Config(format!(
                "GITHUB_REPOSITORY must be OWNER/NAME (got `{text}`)"
            ))),
        }
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The head commit of a `pull_request*` or `merge_group` event.
pub fn head_sha_from_event(event_json: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(event_json).ok()?;
    event["pull_request"]["head"]["sha"]
        .as_str()
        .or_else(|| event["merge_group"]["head_sha"].as_str())
        .map(str::to_string)
}

/// The pull-request (or issue) number of the event that started the workflow.
pub fn pr_number_from_event(event_json: &str) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_str(event_json).ok()?;
    event["pull_request"]["number"]
        .as_u64()
        // issue_comment on a pull request: the issue is the pull request.
        .or_else(|| {
            event["issue"]["pull_request"]
                .is_object()
                .then(|| event["issue"]["number"].as_u64())
                .flatten()
        })
        .or_else(|| event["number"].as_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> GithubEnv {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        GithubEnv::from_lookup(&move |k| map.get(k).cloned())
    }

    #[test]
    fn environment_is_read_once() {
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_TOKEN", "ghs_abc"),
            ("GITHUB_REPOSITORY", "acme/serving"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_API_URL", ""),
        ]);
        assert!(e.actions);
        assert_eq!(e.token.as_ref().unwrap().expose(), "ghs_abc");
        assert_eq!(
            e.api_url, DEFAULT_API_URL,
            "an empty GITHUB_API_URL falls back"
        );
        assert_eq!(
            e.run_url().unwrap(),
            "https://github.com/acme/serving/actions/runs/42"
        );
        assert!(
            !format!("{e:?}").contains("ghs_abc"),
            "Debug never shows the token"
        );
        let e = env(&[("GITHUB_API_URL", "https://ghe.example.com/api/v3")]);
        assert_eq!(e.api_url, "https://ghe.example.com/api/v3");
        assert!(!e.actions && e.token.is_none() && e.run_url().is_none());
    }

    #[test]
    fn pr_numbers_from_events() {
        for (event, expected) in [
            (r#"{"pull_request":{"number":17},"number":17}"#, Some(17)),
            (
                r#"{"issue":{"number":5,"pull_request":{"url":"x"}}}"#,
                Some(5),
            ),
            (r#"{"issue":{"number":5}}"#, None),
            (r#"{"ref":"refs/heads/main"}"#, None),
            ("not json", None),
        ] {
            assert_eq!(pr_number_from_event(event), expected, "{event}");
        }
    }

    #[test]
    fn repositories() {
        assert_eq!(
            Repo::parse("acme/serving.rs").unwrap().to_string(),
            "acme/serving.rs"
        );
        for bad in ["acme", "acme/", "/x", "a/b/c", "a b/c"] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
    }
}
