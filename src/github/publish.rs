//! What `llm-bench comment` publishes, composed from the results folder: the verdict
//! headline, the notes, then the report, for the pull-request comment and (under a
//! per-target heading) the job summary.
//!
//! A comparison is rendered again from `comparison.json` rather than copied from
//! `comparison.md`, so that the comment can list regressions first, show baseline
//! paths as the repository names them (not the runner's scratch copy of the base
//! branch's baselines), and in CI point a new scenario at the bless workflow instead of
//! at a local `--bless`. A failed run publishes "⛔ benchmark failed (exit N): …" for
//! this commit instead of whatever an earlier run left. Only file reads happen here.

use std::path::Path;

use super::headline::{self, RunContext};
use super::{read_comparison, verdict_of, CommentOptions, GithubEnv, Verdict, REPORT_MD};
use crate::compare::render::{self, NEW_SCENARIO_HINT};
use crate::compare::verdict::Comparison;
use crate::compare::COMPARISON_MD;
use crate::results;

/// A run that did not finish, as the action saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub exit_code: i32,
    /// The first error line the run printed.
    pub first_error: String,
}

/// `--path-alias FROM=TO`: a path shown as TO wherever it would show as FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathAlias {
    pub from: String,
    pub to: String,
}

impl PathAlias {
    pub fn parse(text: &str) -> Option<PathAlias> {
        let (from, to) = text.split_once('=')?;
        let from = from.trim_end_matches('/');
        (!from.is_empty()).then(|| PathAlias {
            from: from.to_string(),
            to: to.trim_end_matches('/').to_string(),
        })
    }

    fn apply(&self, path: &str) -> String {
        match path.strip_prefix(&self.from) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{}{rest}", self.to),
            _ => path.to_string(),
        }
    }
}

/// The composed texts and the verdict they carry.
#[derive(Debug, Clone)]
pub struct Published {
    /// Headline, notes and report: the comment's body (without its marker).
    pub content: String,
    /// The same under a heading that names the target, for the job summary.
    pub summary: String,
    pub verdict: Verdict,
}

/// Composes what to publish for `options` in environment `env`.
pub fn compose(options: &CommentOptions, env: &GithubEnv) -> anyhow::Result<Published> {
    let ctx = RunContext {
        commit: env.commit().map(str::to_string),
        run_number: env.run_number.clone(),
        run_url: env.run_url(),
        artifact_url: options.artifact_url.clone(),
    };
    let dir = &options.results_dir;
    let comparison = read_comparison(dir).map(|c| c.map(|c| aliased(c, &options.path_aliases)));

    let (headline, body, verdict) = match &options.failure {
        Some(failure) => {
            // This run's own report, if it wrote one (a fresh `--out` holds nothing
            // older); otherwise only the headline.
            let body = [COMPARISON_MD, REPORT_MD]
                .iter()
                .map(|name| dir.join(name))
                .find(|p| p.is_file())
                .map(|p| read_text(&p))
                .transpose()?
                .unwrap_or_default();
            let verdict = Verdict {
                verdict: "error".into(),
                regressions: 0,
                annotations: Vec::new(),
            };
            (
                headline::failure_headline(failure.exit_code, &failure.first_error, &ctx),
                body,
                verdict,
            )
        }
        None => {
            let is_default_comparison = options.file == dir.join(COMPARISON_MD);
            match comparison {
                Ok(Some(mut c)) => {
                    let verdict = verdict_of(&c);
                    let headline = headline::comparison_headline(&c, &ctx);
                    let body = if is_default_comparison {
                        headline::sort_regressions_first(&mut c);
                        render::markdown(&c)
                    } else {
                        aliased_text(read_text(&options.file)?, &options.path_aliases)
                    };
                    (headline, body, verdict)
                }
                Ok(None) => (
                    headline::report_headline(&ctx),
                    aliased_text(read_text(&options.file)?, &options.path_aliases),
                    super::verdict::no_comparison(),
                ),
                Err(e) => {
                    eprintln!("warning: {e:#}; the verdict output is `unknown`");
                    (
                        format!("❔ The comparison could not be read{}", ctx.suffix()),
                        aliased_text(read_text(&options.file)?, &options.path_aliases),
                        super::verdict::unknown_verdict(),
                    )
                }
            }
        }
    };
    let body = if env.actions {
        body.replace(NEW_SCENARIO_HINT, &bless_hint(options, env))
    } else {
        body
    };

    let mut content = format!("{headline}\n\n");
    for note in &options.notes {
        content.push_str("> [!WARNING]\n");
        for line in note.lines() {
            content.push_str(&format!("> {line}\n"));
        }
        content.push('\n');
    }
    content.push_str(&body);
    let summary = format!(
        "## llm-bench · {}\n\n{}\n\n",
        target_label(dir, &options.path_aliases),
        content.trim_end()
    );
    Ok(Published {
        content,
        summary,
        verdict,
    })
}

/// "record it with the [bless workflow](…)", for a scenario without a baseline in CI.
fn bless_hint(options: &CommentOptions, env: &GithubEnv) -> String {
    let workflow = options.bless_workflow.as_deref().unwrap_or("bless.yml");
    let url = match (&env.server_url, &env.repository) {
        (Some(server), Some(repo)) => Some(format!(
            "{}/{repo}/actions/workflows/{workflow}",
            server.trim_end_matches('/')
        )),
        _ => None,
    };
    match url {
        Some(url) => format!(
            "record it by running the [bless workflow]({url}) (it opens a pull request with the new baseline to review)"
        ),
        None => format!(
            "record it by running the bless workflow (`{workflow}`; it opens a pull request with the new baseline to review)"
        ),
    }
}

/// The results folder's target, for the job summary's heading.
fn target_label(dir: &Path, aliases: &[PathAlias]) -> String {
    let from_json = |name: &str, pointer: &str| -> Option<String> {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value.pointer(pointer)?.as_str().map(str::to_string)
    };
    match from_json(crate::compare::COMPARISON_JSON, "/target")
        .or_else(|| from_json(results::MANIFEST, "/run/target"))
    {
        Some(target) => format!("target `{target}`"),
        None => format!(
            "`{}`",
            aliased_text(dir.display().to_string(), aliases).replace('`', "'")
        ),
    }
}

fn aliased(mut c: Comparison, aliases: &[PathAlias]) -> Comparison {
    for alias in aliases {
        c.baseline_dir = alias.apply(&c.baseline_dir);
        for s in &mut c.scenarios {
            s.baseline_path = alias.apply(&s.baseline_path);
        }
    }
    c
}

fn aliased_text(mut text: String, aliases: &[PathAlias]) -> String {
    for alias in aliases {
        text = text.replace(&alias.from, &alias.to);
    }
    text
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    use anyhow::Context;
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_replace_whole_path_prefixes_only() {
        let a = PathAlias::parse("/tmp/_temp/base/baselines/=baselines").unwrap();
        assert_eq!(
            a.apply("/tmp/_temp/base/baselines/sim/chat.json"),
            "baselines/sim/chat.json"
        );
        assert_eq!(a.apply("/tmp/_temp/base/baselines"), "baselines");
        assert_eq!(
            a.apply("/tmp/_temp/base/baselines2/x.json"),
            "/tmp/_temp/base/baselines2/x.json"
        );
        assert!(PathAlias::parse("no-equals").is_none());
        assert!(PathAlias::parse("=x").is_none());
    }
}
