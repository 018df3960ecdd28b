//! `llm-bench comment`'s arguments, validated into [`CommentOptions`].

use std::path::PathBuf;

use super::{comment, publish};
use crate::cli::CommentArgs;
use crate::compare::COMPARISON_MD;
use crate::usage_error::UsageError;

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
