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
mod env;
mod error;
pub mod headline;
pub mod issues;
mod options;
pub mod publish;
pub mod summary;
pub mod tracking;
pub mod truncate;
mod verdict;

use anyhow::Context;

pub use env::{head_sha_from_event, pr_number_from_event, GithubEnv, Repo, DEFAULT_API_URL};
pub use error::GithubError;
pub use options::{CommentOptions, REPORT_MD};
pub use verdict::{read_comparison, read_verdict, verdict_of, Verdict};

use comment::{CommentClient, Posted, RetryPolicy};
use summary::Level;
use truncate::{Unit, COMMENT_LIMIT_CHARS, STEP_SUMMARY_LIMIT_BYTES};

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
