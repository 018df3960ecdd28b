//! Reading a baseline file: the schema version first, then the fields, then the
//! checks a parsed file must pass (trial columns that line up).

use std::path::{Path, PathBuf};

use serde_json::Value;

use std::collections::BTreeMap;

use super::{Baseline, SCHEMA_MAJOR, SCHEMA_VERSION};

/// Why a baseline file cannot be used. Each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not a valid baseline ({message}); restore it with `git checkout -- {}` \
         or delete it and bless again with `--bless --reason ...`",
        path.display(),
        path.display()
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "{} has baseline schema version {found}, but this llm-bench (v{}) reads 1.x and {SCHEMA_MAJOR}.x; \
         upgrade llm-bench, or bless again with this version",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    UnsupportedVersion { path: PathBuf, found: String },
}

/// Reads and checks a baseline; `Ok(None)` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<Baseline>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(&text, path).map(Some)
}

/// Parses baseline text; `path` is only for messages.
pub fn parse(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
    // A valid file of a version this build reads parses straight into the struct;
    // anything else goes through a `Value` first, whose errors say what is wrong
    // (the version before the fields). The struct is the same either way; the fast
    // path halves the time a comparison of large baselines takes.
    if let Ok(baseline) = serde_json::from_str::<Baseline>(text) {
        if schema_major(&baseline.schema_version).is_some_and(readable) {
            return check_trials(baseline, path);
        }
    }
    parse_via_value(text, path)
}

/// [`parse`] through a `Value`: checks the version before the fields.
fn parse_via_value(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
    let corrupt = |message: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    let version = match value.get("schema_version") {
        Some(Value::String(v)) => v.clone(),
        // A bare `1` (written by hand or by another tool) is major 1.
        Some(Value::Number(n)) if n.as_u64().is_some() => format!("{n}.0"),
        Some(other) => {
            return Err(corrupt(format!(
                "`schema_version` must be a string like \"{SCHEMA_VERSION}\" (got {other})"
            )))
        }
        None => return Err(corrupt("no `schema_version`".into())),
    };
    match schema_major(&version) {
        Some(major) if readable(major) => {}
        Some(_) => {
            return Err(BaselineError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
            })
        }
        None => {
            return Err(corrupt(format!(
                "`schema_version` must look like \"{SCHEMA_VERSION}\" (got {version:?})"
            )))
        }
    }
    let mut value = value;
    value["schema_version"] = Value::String(version);
    let baseline: Baseline = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    check_trials(baseline, path)
}

/// Whether this build reads a major version: 1 (one run) and 2 (several).
fn readable(major: u32) -> bool {
    (1..=SCHEMA_MAJOR).contains(&major)
}

/// The major number of a "MAJOR.MINOR" schema version.
fn schema_major(version: &str) -> Option<u32> {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
}

/// A parsed baseline needs trials whose sample columns line up.
fn check_trials(baseline: Baseline, path: &Path) -> Result<Baseline, BaselineError> {
    let corrupt = |message: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    if baseline.trials.is_empty() {
        return Err(corrupt("it has no trials".into()));
    }
    let mut seen: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for t in &baseline.trials {
        *seen.entry((t.run, t.trial)).or_default() += 1;
    }
    if let Some(((run, trial), n)) = seen.iter().find(|(_, n)| **n > 1) {
        let whose = match run {
            0 => format!("trial {trial}"),
            r => format!("trial {trial} of run {r}"),
        };
        return Err(corrupt(format!(
            "{whose} appears {n} times; each trial is recorded once"
        )));
    }
    let runs = baseline.run_count() as u32;
    if let Some(t) = baseline.trials.iter().find(|t| t.run >= runs) {
        return Err(corrupt(format!(
            "trial {} names run {}, but `runs` lists {runs}",
            t.trial, t.run
        )));
    }
    for t in &baseline.trials {
        let n = t.samples.error_kind.len();
        let s = &t.samples;
        if [
            s.ttft_ms.len(),
            s.tpot_ms.len(),
            s.e2e_ms.len(),
            s.output_tokens.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(corrupt(format!(
                "trial {}: sample columns of different lengths",
                t.trial
            )));
        }
        if s.sampled_from.is_some_and(|from| from < n as u64) {
            return Err(corrupt(format!(
                "trial {}: `sampled_from` is smaller than the samples kept",
                t.trial
            )));
        }
    }
    Ok(baseline)
}

#[cfg(test)]
mod tests;
