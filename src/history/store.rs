//! Where history files live: a local folder (for users without GitHub) or a git
//! branch (default `llm-bench-history`, one `<target>.jsonl` per target), and the
//! append that keeps every record when several jobs append at once.
//!
//! A folder append holds an exclusive lock on `DIR/.lock` while it reads, merges and
//! atomically replaces the file. A branch append reads the branch as fetched,
//! commits the merged file on top and pushes; when another job pushed first the
//! push is refused, and the append reads again and retries, at most
//! [`PUSH_ATTEMPTS`] times with a growing, jittered pause.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::git::{GitBranch, Published};
use super::{parse_lines, to_lines, window, Entry, HistoryError};

/// Attempts at pushing before giving up (each after reading the branch again).
pub const PUSH_ATTEMPTS: usize = 8;

/// A history store.
#[derive(Debug, Clone)]
pub enum Store {
    Folder(PathBuf),
    Branch(GitBranch),
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The files written, e.g. `sim.jsonl`.
    pub files: Vec<String>,
    /// Pushes it took (1 without a race).
    pub attempts: usize,
}

/// The history file of a target.
pub fn file_name(target: &str) -> Result<String, HistoryError> {
    let ok = !target.is_empty()
        && !target.starts_with('.')
        && target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(format!("{target}.jsonl"))
    } else {
        Err(HistoryError::BadTarget(target.to_string()))
    }
}

impl Store {
    /// Every record of the store (of one target when given), per file, oldest first.
    pub fn read(&self, target: Option<&str>) -> Result<Vec<Entry>, HistoryError> {
        let wanted = target.map(file_name).transpose()?;
        let keep =
            |name: &str| name.ends_with(".jsonl") && wanted.as_deref().is_none_or(|w| w == name);
        let mut entries = Vec::new();
        match self {
            Store::Folder(dir) => {
                let listing = match std::fs::read_dir(dir) {
                    Ok(listing) => listing,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
                    Err(source) => return Err(io(dir, source)),
                };
                let mut names: Vec<String> = listing
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| keep(n))
                    .collect();
                names.sort();
                for name in names {
                    let path = dir.join(&name);
                    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
                    entries.extend(parse_lines(&text, &path.display().to_string())?);
                }
            }
            Store::Branch(branch) => {
                let Some(head) = branch.head()? else {
                    return Ok(entries);
                };
                for name in branch.files(&head)?.into_iter().filter(|n| keep(n)) {
                    if let Some(text) = branch.read(&head, &name)? {
                        let origin = format!("{}:{name}", branch.branch);
                        entries.extend(parse_lines(&text, &origin)?);
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Appends `entries` (any targets) keeping the newest `keep` per scenario.
    pub fn append(&self, entries: &[Entry], keep: usize) -> Result<Appended, HistoryError> {
        let mut by_file: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for e in entries {
            by_file
                .entry(file_name(&e.target)?)
                .or_default()
                .push(e.clone());
        }
        let files: Vec<String> = by_file.keys().cloned().collect();
        match self {
            Store::Folder(dir) => {
                append_folder(dir, &by_file, keep)?;
                Ok(Appended { files, attempts: 1 })
            }
            Store::Branch(branch) => {
                let attempts = append_branch(branch, &by_file, keep, &mut || {})?;
                Ok(Appended { files, attempts })
            }
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> HistoryError {
    HistoryError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn append_folder(
    dir: &Path,
    by_file: &BTreeMap<String, Vec<Entry>>,
    keep: usize,
) -> Result<(), HistoryError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let lock_path = dir.join(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io(&lock_path, e))?;
    fs4::FileExt::lock(&lock).map_err(|e| io(&lock_path, e))?;
    for (name, new) in by_file {
        let path = dir.join(name);
        let old = match std::fs::read_to_string(&path) {
            Ok(text) => parse_lines(&text, &path.display().to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&path, e)),
        };
        let text = to_lines(&window::merge(old, new, keep));
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    }
    drop(lock);
    Ok(())
}

/// The branch append; `before_publish` runs between reading and pushing (tests
/// use it to make another job push first). Returns the attempts it took.
pub(crate) fn append_branch(
    branch: &GitBranch,
    by_file: &BTreeMap<String, Vec<Entry>>,
    keep: usize,
    before_publish: &mut dyn FnMut(),
) -> Result<usize, HistoryError> {
    let runs: Vec<&str> = by_file
        .values()
        .flatten()
        .map(|e| e.run_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let message = format!("llm-bench history: add {}", runs.join(", "));
    for attempt in 1..=PUSH_ATTEMPTS {
        let head = branch.head()?;
        let mut files = Vec::new();
        for (name, new) in by_file {
            let old = match &head {
                Some(h) => match branch.read(h, name)? {
                    Some(text) => parse_lines(&text, &format!("{}:{name}", branch.branch))?,
                    None => Vec::new(),
                },
                None => Vec::new(),
            };
            files.push((name.clone(), to_lines(&window::merge(old, new, keep))));
        }
        before_publish();
        match branch.commit_and_publish(head.as_deref(), &files, &message)? {
            Published::Done => return Ok(attempt),
            Published::Moved => std::thread::sleep(backoff(attempt)),
        }
    }
    Err(HistoryError::PushRace {
        branch: branch.branch.clone(),
        attempts: PUSH_ATTEMPTS,
    })
}

/// 100 ms, 200 ms, 400 ms, … (at most 3.2 s) plus up to as much again at random,
/// so jobs that collided do not collide again in step.
fn backoff(attempt: usize) -> Duration {
    let base = 100u64 << attempt.min(6).saturating_sub(1);
    let jitter = rand::random::<u64>() % base.max(1);
    Duration::from_millis(base + jitter)
}
