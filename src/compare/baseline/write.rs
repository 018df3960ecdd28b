//! Putting a baseline on disk: atomically, and one bless at a time per folder.
//!
//! A baseline is written to a temporary file of its own (a name no other process
//! can pick: the file name, the process id and a random number, created with
//! `create_new`), flushed, then renamed over the old file, so a reader sees the old
//! file or the new one, never half of one. Two `--bless` runs into one baselines
//! folder used to share one temporary name and the last writer silently won;
//! [`BlessLock`] now makes the second wait until the first has written everything,
//! so its "old → new" report and any `--append` start from the first one's file.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{write_text, Baseline};

/// Writes a baseline through a uniquely named temporary file and a rename,
/// streaming the text. On an error the temporary file is removed and `path` is
/// left as it was.
pub fn write(path: &Path, baseline: &Baseline) -> anyhow::Result<()> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (tmp, file) = create_temporary(path)?;
    let written = write_to(file, baseline);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

/// The folder a file is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `.NAME.PID-RANDOM.tmp` next to `path`, created with `create_new` so that no
/// two writers, in this process or another, ever share one.
fn create_temporary(path: &Path) -> anyhow::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map_or_else(|| "baseline".into(), |n| n.to_string_lossy());
    let mut last = None;
    for _ in 0..16 {
        let tmp = parent_dir(path).join(format!(
            ".{name}.{}-{:016x}.tmp",
            std::process::id(),
            rand::random::<u64>()
        ));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", tmp.display())),
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no free temporary name"), Into::into))
        .with_context(|| format!("cannot create a temporary file next to {}", path.display()))
}

/// Streams the baseline through the redactor, like every result file: a server
/// that echoes the key in its model name or version would otherwise commit it.
fn write_to(file: File, baseline: &Baseline) -> std::io::Result<()> {
    let mut redacting = crate::redact::global().writer(BufWriter::with_capacity(1 << 16, file));
    let mut out = IoText {
        file: &mut redacting,
        error: None,
    };
    if write_text(&mut out, baseline).is_err() {
        return Err(out
            .error
            .unwrap_or_else(|| std::io::Error::other("formatting failed")));
    }
    let file = redacting
        .finish()?
        .into_inner()
        .map_err(|e| e.into_error())?;
    file.sync_all()
}

/// [`fmt::Write`] onto an [`std::io::Write`], keeping the I/O error a formatter
/// cannot carry.
struct IoText<'a> {
    file: &'a mut dyn std::io::Write,
    error: Option<std::io::Error>,
}

impl fmt::Write for IoText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.file.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// An exclusive advisory lock on a baselines folder, held while a bless reads the
/// old baselines and writes the new ones; released when dropped (or when the
/// process dies, so a crashed bless never leaves the folder locked).
///
/// On Unix the folder itself is locked (`flock` on its descriptor), so nothing is
/// left in a folder that is committed to git; elsewhere a `.llm-bench-bless.lock`
/// file in it is.
#[derive(Debug)]
pub struct BlessLock {
    _file: File,
}

impl BlessLock {
    /// Locks `dir` (created if missing), waiting for another bless to finish;
    /// says so on stderr when it has to wait.
    pub fn acquire(dir: &Path) -> anyhow::Result<BlessLock> {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = lock_target(dir)
            .with_context(|| format!("cannot open {} to lock it", dir.display()))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                eprintln!(
                    "waiting for another bless into {} to finish ...",
                    dir.display()
                );
                fs4::FileExt::lock(&file)
                    .with_context(|| format!("cannot lock {}", dir.display()))?;
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", dir.display()))
            }
        }
        Ok(BlessLock { _file: file })
    }
}

#[cfg(unix)]
fn lock_target(dir: &Path) -> std::io::Result<File> {
    File::open(dir)
}

#[cfg(not(unix))]
fn lock_target(dir: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".llm-bench-bless.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many writers of one file at once: every write succeeds, the file is always
    /// one whole baseline, and no temporary file is left (two writers used to
    /// share one temporary name, and one of them failed).
    #[test]
    fn concurrent_writers_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t").join("s.json");
        let baselines: Vec<Baseline> = (0..8)
            .map(|i| {
                let mut b = crate::compare::baseline::tests::tiny_baseline();
                b.run_id = format!("run-{i}");
                b
            })
            .collect();
        std::thread::scope(|scope| {
            for b in &baselines {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..10 {
                        write(path, b).unwrap();
                    }
                });
            }
        });
        let back = crate::compare::baseline::read(&path).unwrap().unwrap();
        assert!(back.run_id.starts_with("run-"));
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s.json"], "no temporary file left");
    }

    /// A second lock on the folder waits until the first is dropped.
    #[test]
    fn the_bless_lock_serialises_blesses() {
        let dir = tempfile::tempdir().unwrap();
        let first = BlessLock::acquire(dir.path()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let _second = BlessLock::acquire(&path).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the second lock must wait"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the second lock is taken once the first is gone");
        waiter.join().unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left");
    }
}
