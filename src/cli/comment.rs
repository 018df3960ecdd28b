//! Flags of `llm-bench comment` (clap types only): which results folder, which
//! sticky comment, and what to publish when the run failed.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// Results folder written by `llm-bench run` (and `llm-bench compare`).
    #[arg(value_name = "RESULTS_DIR")]
    pub results_dir: PathBuf,
    /// Names this benchmark job's comment, so several jobs in one repository keep
    /// separate comments (letters, digits, `.`, `_`, `-`, `/`).
    #[arg(long, default_value = "default", value_name = "KEY")]
    pub key: String,
    /// Pull request (or issue) to comment on (default: the one in GITHUB_EVENT_PATH).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Fail (exit 4) when the comment cannot be posted, instead of warning.
    #[arg(long)]
    pub strict: bool,
    /// Markdown file to publish, relative to RESULTS_DIR (default: comparison.md when
    /// present, else report.md).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A warning shown at the top of the comment (repeatable), e.g. that the pull
    /// request changes baselines/.
    #[arg(long = "note", value_name = "TEXT")]
    pub notes: Vec<String>,
    /// Where the full results are; a shortened comment links there (default: this
    /// workflow run's page, from GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID).
    #[arg(long, value_name = "URL")]
    pub artifact_url: Option<String>,
    /// Write the job summary and step outputs and print the comment, but post nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Edit only a comment written by this login, e.g. `my-app[bot]` for a GitHub
    /// App's token (default: the token's own identity, `github-actions[bot]` for the
    /// job token). Marked comments by anyone else are never edited.
    #[arg(long, value_name = "LOGIN")]
    pub author: Option<String>,
    /// Show the path FROM as TO in what is published (repeatable), e.g. a scratch copy
    /// of the base branch's baselines as `baselines`.
    #[arg(long = "path-alias", value_name = "FROM=TO")]
    pub path_aliases: Vec<String>,
    /// The run exited with this code without finishing: publish "⛔ benchmark failed
    /// (exit N)" for this commit (RESULTS_DIR may be missing or empty).
    #[arg(long, value_name = "EXIT_CODE", allow_negative_numbers = true)]
    pub run_failed: Option<i32>,
    /// With --run-failed: the run's first error line.
    #[arg(long, value_name = "TEXT", requires = "run_failed")]
    pub error: Option<String>,
    /// The workflow file that blesses baselines (in CI a scenario without a baseline
    /// points there), e.g. bless.yml.
    #[arg(long, value_name = "FILE")]
    pub bless_workflow: Option<String>,
}
