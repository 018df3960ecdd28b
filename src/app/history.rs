//! `llm-bench history add|show` and `llm-bench trend`: wires a results folder's
//! candidates, the history store, the change-point analysis and the trends page.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use super::EXIT_OK;
use crate::cli::{HistoryAddArgs, HistoryCommand, HistoryShowArgs, StoreArgs, TrendArgs};
use crate::compare::metric::MetricId;
use crate::compare::{self, CANDIDATE_SUFFIX};
use crate::history::git::GitBranch;
use crate::history::store::Store;
use crate::history::{self, Entry};
use crate::report::trends::Band;
use crate::trend::{self, Series};
use crate::usage_error::UsageError;

pub fn history_command(command: &HistoryCommand) -> anyhow::Result<u8> {
    match command {
        HistoryCommand::Add(args) => add(args),
        HistoryCommand::Show(args) => show(args),
    }
}

fn store_of(args: &StoreArgs) -> anyhow::Result<Store> {
    Ok(match &args.store {
        Some(dir) => Store::Folder(dir.clone()),
        None => Store::Branch(
            GitBranch::new(&args.repo, &args.branch, args.remote.as_deref()).map_err(|e| {
                UsageError(format!(
                    "{e}\n(--branch keeps the history on a git branch of the repository at --repo {}; \
                     outside a git repository use --store DIR)",
                    args.repo.display()
                ))
            })?,
        ),
    })
}

fn describe(store: &Store) -> String {
    match store {
        Store::Folder(dir) => dir.display().to_string(),
        Store::Branch(b) => match &b.remote {
            Some(r) => format!("branch {} of {r}", b.branch),
            None => format!("local branch {}", b.branch),
        },
    }
}

/// The history records of a results folder: one per candidate baseline.
pub fn entries_of(dir: &Path, commit: Option<&str>) -> anyhow::Result<Vec<Entry>> {
    let listing = std::fs::read_dir(dir).map_err(|e| {
        UsageError(format!(
            "cannot read results folder {}: {e} (pass a folder that `llm-bench run` wrote)",
            dir.display()
        ))
    })?;
    let mut paths: Vec<_> = listing
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(CANDIDATE_SUFFIX))
        })
        .collect();
    paths.sort();
    let mut entries = Vec::new();
    for path in paths {
        if let Some(c) = compare::baseline::read(&path).map_err(|e| UsageError(e.to_string()))? {
            entries.push(Entry::from_candidate(&c, commit));
        }
    }
    if entries.is_empty() {
        return Err(UsageError(format!(
            "{} has no `*{CANDIDATE_SUFFIX}` files: pass the results folder of a finished `llm-bench run`",
            dir.display()
        ))
        .into());
    }
    Ok(entries)
}

fn add(args: &HistoryAddArgs) -> anyhow::Result<u8> {
    let entries = entries_of(&args.results_dir, args.commit.as_deref())?;
    let store = store_of(&args.store)?;
    let appended = store
        .append(&entries, args.keep as usize)
        .with_context(|| format!("cannot add to the history in {}", describe(&store)))?;
    let retries = match appended.attempts {
        1 => String::new(),
        n => format!(" after {n} attempts (other jobs appended at the same time)"),
    };
    println!(
        "added {} scenario(s) of run {} to {} ({}){retries}",
        entries.len(),
        entries[0].run_id,
        describe(&store),
        appended.files.join(", ")
    );
    Ok(EXIT_OK)
}

fn metric_keys(keys: &[String]) -> anyhow::Result<Vec<MetricId>> {
    keys.iter()
        .map(|k| {
            MetricId::ALL
                .into_iter()
                .find(|m| m.key() == k)
                .ok_or_else(|| {
                    let known: Vec<&str> = MetricId::ALL.iter().map(|m| m.key()).collect();
                    UsageError(format!(
                        "unknown metric `{k}`; one of: {}",
                        known.join(", ")
                    ))
                    .into()
                })
        })
        .collect()
}

fn read(store: &Store, target: Option<&str>) -> anyhow::Result<Vec<Entry>> {
    store
        .read(target)
        .with_context(|| format!("cannot read the history in {}", describe(store)))
}

fn show(args: &HistoryShowArgs) -> anyhow::Result<u8> {
    let metrics = metric_keys(&args.metrics)?;
    let store = store_of(&args.store)?;
    let entries = read(&store, args.target.as_deref())?;
    print!("{}", history::table::render(&entries, &metrics, args.last));
    Ok(EXIT_OK)
}

pub fn trend_command(args: &TrendArgs) -> anyhow::Result<u8> {
    let valid = (0.0..1.0).contains(&args.alpha) && args.alpha > 0.0 && args.min_magnitude >= 0.0;
    if !valid {
        return Err(UsageError(format!(
            "--alpha must be in (0, 1) (got {}) and --min-magnitude ≥ 0 (got {})",
            args.alpha, args.min_magnitude
        ))
        .into());
    }
    let store = store_of(&args.store)?;
    let entries = read(&store, args.target.as_deref())?;
    let settings = trend::Settings {
        min_magnitude: args.min_magnitude,
        alpha: args.alpha,
    };
    let series = trend::analyse(&entries, &settings);
    let summary = trend::render::text(&series);
    // With `--json -` stdout is the JSON alone; the summary goes to stderr.
    if args.json.as_deref().is_some_and(|p| p.as_os_str() == "-") {
        eprintln!("{}", summary.trim_end());
    } else {
        print!("{summary}");
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&series)? + "\n";
        if path.as_os_str() == "-" {
            print!("{text}");
        } else {
            crate::results::write_atomic(path, text.as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
    }
    if let Some(path) = &args.html {
        let bands = bands(&series, &args.baseline_dir)?;
        let page = crate::report::trends::page(&series, &bands);
        crate::results::write_atomic(path, page.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if args.track_issue {
        track_issue(&series, &args.baseline_dir)?;
    }
    Ok(EXIT_OK)
}

/// `trend --track-issue`: the alarms of `series` (less those a bless accepted) to
/// the tracking issue.
fn track_issue(series: &[Series], baseline_dir: &Path) -> anyhow::Result<()> {
    use crate::github::{issues::IssueClient, tracking, GithubEnv, GithubError, Repo};
    let env = GithubEnv::from_lookup(&super::env_lookup);
    let (Some(token), Some(repository)) = (env.token.as_ref(), env.repository.as_deref()) else {
        return Err(UsageError(
            "--track-issue needs GITHUB_TOKEN and GITHUB_REPOSITORY (in a workflow: `GITHUB_TOKEN: ${{ github.token }}` and `permissions: issues: write`)".into(),
        )
        .into());
    };
    let repo = Repo::parse(repository).map_err(|e: GithubError| UsageError(e.to_string()))?;
    let blessed_at = |target: &str, scenario: &str| {
        let path = compare::baseline_path(baseline_dir, target, scenario).ok()?;
        let b = compare::baseline::read(&path).ok()??;
        b.blessed_by.is_some().then_some(b.created_at)
    };
    let alarms = tracking::alarms(series, &blessed_at);
    // octocrab's client must be built inside the runtime.
    let actions = super::runtime()?.block_on(async {
        IssueClient::new(&env.api_url, token, repo)?
            .track(&alarms, env.run_url().as_deref())
            .await
    })?;
    eprintln!(
        "tracking issue: {} open alarm(s); {}",
        alarms.len(),
        if actions.is_empty() {
            "nothing to do".to_string()
        } else {
            actions
                .iter()
                .map(|a| match a {
                    tracking::Action::Open { .. } => "opened",
                    tracking::Action::EditBody { .. } => "updated",
                    tracking::Action::Comment { .. } => "commented",
                    tracking::Action::Close { .. } => "closed",
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(())
}

/// The blessed baselines' value and band of every series that has a baseline.
fn bands(
    series: &[Series],
    baseline_dir: &Path,
) -> anyhow::Result<BTreeMap<(String, String, MetricId), Band>> {
    let mut out = BTreeMap::new();
    let mut seen = BTreeMap::new();
    for s in series {
        let key = (s.target.clone(), s.scenario.clone());
        if !seen.contains_key(&key) {
            let path = compare::baseline_path(baseline_dir, &s.target, &s.scenario)?;
            let baseline = compare::baseline::read(&path).map_err(|e| UsageError(e.to_string()))?;
            seen.insert(key.clone(), baseline);
        }
        if let Some(Some(b)) = seen.get(&key) {
            if let Some(band) = Band::of(b, s.metric) {
                out.insert((key.0, key.1, s.metric), band);
            }
        }
    }
    Ok(out)
}
