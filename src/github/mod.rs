//! GitHub integration for `llm-bench comment`: the sticky pull-request comment, the
//! job summary, step outputs and annotations.
//!
//! This module is the only reader of `GITHUB_*` variables ([`GithubEnv::from_lookup`]),
//! so what the command depends on is visible in one place and tests pass a fake
//! environment instead of mutating the process's. Posting is best effort by default:
//! a read-only token (a pull request from a fork) gives a clear warning and exit 0, so
//! the benchmark's verdict, not GitHub's permissions, decides the check; `--strict`
//! turns that into a failure.

pub mod comment;
pub mod headline;
pub mod issues;
pub mod publish;
pub mod summary;
pub mod tracking;
pub mod truncate;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::CommentArgs;
use crate::compare::verdict::{Comparison, Outcome, Status, Verdict as MetricVerdict};
use crate::compare::{COMPARISON_JSON, COMPARISON_MD};
use crate::config::Secret;
use crate::options::UsageError;
use comment::{CommentClient, Posted, RetryPolicy};
use summary::Level;
use truncate::{Unit, COMMENT_LIMIT_CHARS, STEP_SUMMARY_LIMIT_BYTES};

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

/// Why a comment was not posted. Each message says how to fix it, and none contains
/// the token.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("{0}")]
    Config(String),
    #[error("not posting the comment: {0}")]
    NotConfigured(String),
    #[error(
        "GitHub rejected the token (HTTP 401: {message}): it is invalid, expired or revoked. \
         Pass a valid token as GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{{{ github.token }}}}`)"
    )]
    Unauthorized { message: String },
    #[error(
        "GitHub refused to write the comment (HTTP 403: {message}). The token may not write \
         pull-request comments. Fix: give the job `permissions: {{ contents: read, pull-requests: write }}`. \
         On a pull request from a fork, GITHUB_TOKEN is read-only whatever `permissions:` says: the \
         report is still in the job summary and the results artifact; to comment on fork pull \
         requests, post it from a separate `workflow_run` workflow, or use `pull_request_target` \
         only if that workflow never checks out or runs the fork's code (see {})",
        crate::docs_url("github-actions.md")
    )]
    Forbidden { message: String },
    #[error(
        "GitHub answered 404 for {repo} ({message}). Check GITHUB_REPOSITORY and the pull-request \
         number (--pr); a token that cannot read the repository also gets 404: give the job \
         `permissions: {{ contents: read, pull-requests: write }}`"
    )]
    NotFound { message: String, repo: String },
    #[error("GitHub API error (HTTP {status}): {message}")]
    Api { status: u16, message: String },
    #[error(
        "GitHub did not take the comment after {attempts} attempt(s): {last}. GitHub may be \
         degraded (https://www.githubstatus.com); the report is in the job summary and the results folder"
    )]
    GaveUp { attempts: u32, last: String },
    #[error("cannot reach GitHub: {0}")]
    Transport(String),
}

/// `llm-bench comment`, validated.
#[derive(Debug, Clone)]
pub struct CommentOptions {
    pub results_dir: PathBuf,
    pub key: String,
    pub pr: Option<u64>,
    pub strict: bool,
    /// The Markdown file to publish.
    pub file: PathBuf,
    pub notes: Vec<String>,
    pub artifact_url: Option<String>,
    pub dry_run: bool,
    /// Edit only comments by this login (default: the token's own identity).
    pub author: Option<String>,
    pub path_aliases: Vec<publish::PathAlias>,
    /// The run did not finish: publish that instead of a report.
    pub failure: Option<publish::RunFailure>,
    /// The workflow file that blesses baselines, for the hint on new scenarios.
    pub bless_workflow: Option<String>,
}

/// The report `llm-bench comment` publishes when `comparison.md` is absent.
pub const REPORT_MD: &str = "report.md";

impl TryFrom<&CommentArgs> for CommentOptions {
    type Error = UsageError;

    fn try_from(args: &CommentArgs) -> Result<Self, UsageError> {
        let CommentArgs {
            results_dir,
            key,
            pr,
            strict,
            file,
            notes,
            artifact_url,
            dry_run,
            author,
            path_aliases,
            run_failed,
            error,
            bless_workflow,
        } = args;
        let path_aliases = path_aliases
            .iter()
            .map(|a| {
                publish::PathAlias::parse(a).ok_or_else(|| {
                    UsageError(format!(
                        "--path-alias `{a}`: write FROM=TO, e.g. --path-alias /tmp/base/baselines=baselines"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let failure = run_failed.map(|exit_code| publish::RunFailure {
            exit_code,
            first_error: error.clone().unwrap_or_default(),
        });
        let common = |file: PathBuf| CommentOptions {
            results_dir: results_dir.clone(),
            key: key.clone(),
            pr: *pr,
            strict: *strict,
            file,
            notes: notes.clone(),
            artifact_url: artifact_url.clone(),
            dry_run: *dry_run,
            author: author.clone(),
            path_aliases: path_aliases.clone(),
            failure: failure.clone(),
            bless_workflow: bless_workflow.clone(),
        };
        if !comment::valid_key(key) {
            return Err(UsageError(format!(
                "--key `{key}`: use letters, digits, `.`, `_`, `-` or `/` (at most 100, no `--`), e.g. --key vllm-h100"
            )));
        }
        if failure.is_some() {
            // A run that failed early may have written nothing at all.
            return Ok(common(results_dir.join(REPORT_MD)));
        }
        if !results_dir.is_dir() {
            return Err(UsageError(format!(
                "{} is not a folder; pass the results folder that `llm-bench run --out DIR` wrote",
                results_dir.display()
            )));
        }
        let file = match file {
            Some(f) if f.is_absolute() => f.clone(),
            Some(f) => results_dir.join(f),
            None if results_dir.join(COMPARISON_MD).is_file() => results_dir.join(COMPARISON_MD),
            None => results_dir.join(REPORT_MD),
        };
        if !file.is_file() {
            return Err(UsageError(format!(
                "{} does not exist: run `llm-bench compare` (for {COMPARISON_MD}) or `llm-bench run` (for {REPORT_MD}) first, or pass --file",
                file.display()
            )));
        }
        Ok(common(file))
    }
}

/// The gate's result as read from `comparison.json`, for outputs and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `pass`, `regression` or `not-comparable` (the comparison's outcome); `new` when
    /// it passed without comparing anything (no scenario had a baseline); `none` when
    /// the folder has no comparison, `unknown` when it cannot be read, `error` when the
    /// run failed.
    pub verdict: String,
    /// Gated metrics judged a regression.
    pub regressions: usize,
    /// One annotation per regression and per scenario that could not be compared.
    pub annotations: Vec<(Level, String, String)>,
}

fn no_comparison() -> Verdict {
    Verdict {
        verdict: "none".into(),
        regressions: 0,
        annotations: Vec::new(),
    }
}

fn unknown_verdict() -> Verdict {
    Verdict {
        verdict: "unknown".into(),
        regressions: 0,
        annotations: Vec::new(),
    }
}

/// `comparison.json` of a results folder; `None` when there is none.
pub fn read_comparison(dir: &Path) -> anyhow::Result<Option<Comparison>> {
    let path = dir.join(COMPARISON_JSON);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let comparison = serde_json::from_str(&text)
        .with_context(|| format!("{} cannot be parsed", path.display()))?;
    Ok(Some(comparison))
}

/// Reads the verdict from `comparison.json`, if the folder has one.
pub fn read_verdict(dir: &Path) -> Verdict {
    match read_comparison(dir) {
        Ok(Some(comparison)) => verdict_of(&comparison),
        Ok(None) => no_comparison(),
        Err(e) => {
            eprintln!("warning: {e:#}; the verdict output is `unknown`");
            unknown_verdict()
        }
    }
}

/// The outputs and annotations of a comparison.
pub fn verdict_of(c: &Comparison) -> Verdict {
    let compared_any = c.scenarios.iter().any(|s| s.status == Status::Compared);
    let verdict = match c.outcome {
        Outcome::Pass if !compared_any && c.totals.new > 0 => "new",
        Outcome::Pass => "pass",
        Outcome::Regression => "regression",
        Outcome::NotComparable => "not-comparable",
    };
    let mut annotations = Vec::new();
    for s in &c.scenarios {
        match s.status {
            Status::NotComparable => annotations.push((
                Level::Warning,
                "llm-bench: not comparable".to_string(),
                format!(
                    "{}: not comparable with {}: {}",
                    s.scenario,
                    s.baseline_path,
                    s.not_comparable.join("; ")
                ),
            )),
            // Every new scenario is worth a look: a renamed scenario or target has no
            // baseline and would otherwise pass unnoticed for ever.
            Status::New => annotations.push((
                Level::Warning,
                "llm-bench: no baseline".to_string(),
                format!(
                    "{}: no baseline at {}, so nothing was compared{}; record one with the bless workflow",
                    s.scenario,
                    s.baseline_path,
                    if c.strict { " (fails under strict)" } else { "" }
                ),
            )),
            Status::Compared => {}
        }
        for m in s
            .metrics
            .iter()
            .filter(|m| m.gated && m.verdict == MetricVerdict::Regression)
        {
            let change = m
                .change()
                .map(|(v, lo, hi)| {
                    format!(
                        " {:+.1}% (CI {:+.1}% to {:+.1}%)",
                        v * 100.0,
                        lo * 100.0,
                        hi * 100.0
                    )
                })
                .unwrap_or_default();
            let p = m
                .p_adjusted
                .map(|p| format!(", adjusted p = {p:.2e}"))
                .unwrap_or_default();
            annotations.push((
                Level::Error,
                "llm-bench: regression".to_string(),
                format!("{}: {}{change}{p}", s.scenario, m.metric.label()),
            ));
        }
    }
    Verdict {
        verdict: verdict.to_string(),
        regressions: c.totals.regressions,
        annotations,
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

/// Runs `llm-bench comment`. Returns the exit code: 0 unless `--strict` and posting failed.
pub async fn run_comment(
    options: &CommentOptions,
    env: &GithubEnv,
    policy: RetryPolicy,
) -> anyhow::Result<u8> {
    let redact = |text: &str| match &env.token {
        Some(token) => comment::redact(token, text),
        None => text.to_string(),
    };
    let published = publish::compose(options, env)?;
    let verdict = &published.verdict;
    // What goes to GitHub passes the process's redactor (src/redact.rs) too.
    let content = crate::redact::text(&published.content);
    let file_name = options
        .file
        .file_name()
        .map_or_else(|| "the report".into(), |n| n.to_string_lossy().into_owned());
    let full_report = match options.artifact_url.clone().or_else(|| env.run_url()) {
        Some(url) => format!("`{file_name}` in the [results artifact]({url})"),
        None => format!("`{}`", options.file.display()),
    };

    if let Some(path) = &env.step_summary {
        let shortened = truncate::shorten(
            &published.summary,
            STEP_SUMMARY_LIMIT_BYTES,
            Unit::Bytes,
            &full_report,
        );
        summary::append_step_summary(path, &shortened.text)
            .with_context(|| format!("cannot write the job summary {}", path.display()))?;
    }
    if env.actions {
        for (level, title, message) in &verdict.annotations {
            println!("{}", summary::annotation(*level, title, &redact(message)));
        }
    }
    let mut outputs = vec![
        ("verdict", verdict.verdict.clone()),
        ("regressions", verdict.regressions.to_string()),
        ("results-dir", options.results_dir.display().to_string()),
        // Empty when a failed run wrote no report.
        (
            "report",
            if options.file.is_file() {
                options.file.display().to_string()
            } else {
                String::new()
            },
        ),
    ];

    let marker = comment::marker(&options.key);
    let shortened = truncate::shorten(
        &content,
        COMMENT_LIMIT_CHARS - marker.chars().count() - 1,
        Unit::Chars,
        &full_report,
    );
    if shortened.is_shortened() {
        eprintln!(
            "the comment was shortened to fit GitHub's {COMMENT_LIMIT_CHARS}-character limit ({} detail section(s) left out{})",
            shortened.dropped_details.len(),
            if shortened.cut { ", text cut" } else { "" }
        );
    }
    let body = format!("{marker}\n{}", shortened.text);

    let result = if options.dry_run {
        if env.actions {
            println!(
                "{}",
                summary::group_start("llm-bench comment (dry run: not posted)")
            );
        }
        println!("{}", redact(&body));
        if env.actions {
            println!("{}", summary::group_end());
        }
        Ok(None)
    } else {
        post(options, env, &body, policy).await.map(Some)
    };

    match result {
        Ok(Some(posted)) => {
            let what = match &posted {
                Posted::Created { .. } => "created",
                Posted::Updated { .. } => "updated",
                Posted::Unchanged { .. } => "unchanged",
            };
            eprintln!("pull-request comment {what}: {}", posted.url());
            outputs.push(("comment-url", posted.url().to_string()));
        }
        Ok(None) => outputs.push(("comment-url", String::new())),
        Err(e) => {
            outputs.push(("comment-url", String::new()));
            write_outputs(env, &outputs)?;
            let message = redact(&e.to_string());
            let quiet = matches!(e, GithubError::NotConfigured(_));
            if options.strict {
                return Err(anyhow::anyhow!(message));
            }
            if env.actions {
                let level = if quiet { Level::Notice } else { Level::Warning };
                println!(
                    "{}",
                    summary::annotation(level, "llm-bench: comment not posted", &message)
                );
            } else {
                eprintln!("{}: {message}", if quiet { "note" } else { "warning" });
            }
            return Ok(0);
        }
    }
    write_outputs(env, &outputs)?;
    Ok(0)
}

fn write_outputs(env: &GithubEnv, outputs: &[(&str, String)]) -> anyhow::Result<()> {
    if let Some(path) = &env.output {
        summary::append_outputs(path, outputs)
            .with_context(|| format!("cannot write step outputs to {}", path.display()))?;
    }
    Ok(())
}

/// Finds where to post and posts.
async fn post(
    options: &CommentOptions,
    env: &GithubEnv,
    body: &str,
    policy: RetryPolicy,
) -> Result<Posted, GithubError> {
    let token = env.token.as_ref().ok_or_else(|| {
        GithubError::NotConfigured(
            "GITHUB_TOKEN is not set (in a workflow step: `env: GITHUB_TOKEN: ${{ github.token }}`); the report is in the job summary".into(),
        )
    })?;
    let repository = env.repository.as_deref().ok_or_else(|| {
        GithubError::NotConfigured("GITHUB_REPOSITORY is not set (it is in every GitHub Actions job; outside one, set it to OWNER/NAME)".into())
    })?;
    let repo = Repo::parse(repository)?;
    let number = match options.pr {
        Some(n) => n,
        None => {
            let from_event = match &env.event_path {
                Some(path) => std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| pr_number_from_event(&text)),
                None => None,
            };
            from_event.ok_or_else(|| {
                GithubError::NotConfigured(format!(
                    "this run is not for a pull request (event `{}`) and no --pr N was given; the report is in the job summary",
                    env.event_name.as_deref().unwrap_or("unknown")
                ))
            })?
        }
    };
    let client =
        CommentClient::new(&env.api_url, token, repo, policy)?.with_author(options.author.clone());
    client.upsert(number, &options.key, body).await
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

    #[test]
    fn error_messages_say_how_to_fix() {
        let forbidden = GithubError::Forbidden {
            message: "Resource not accessible by integration".into(),
        }
        .to_string();
        assert!(forbidden.contains("pull-requests: write"));
        assert!(forbidden.contains("pull_request_target"));
        assert!(forbidden.contains("fork"));
        let unauthorized = GithubError::Unauthorized {
            message: "Bad credentials".into(),
        }
        .to_string();
        assert!(
            unauthorized.contains("${{ github.token }}"),
            "{unauthorized}"
        );
    }
}
