//! The git branch a history lives on, written with git's plumbing (`hash-object`,
//! `update-index` on a private index, `write-tree`, `commit-tree`, `push`), so
//! appending never touches the checkout's working tree, index or current branch.
//!
//! Publishing is a compare-and-swap: a push of a commit whose parent is the branch
//! as fetched is refused when another job pushed first (non-fast-forward), and
//! without a remote `git update-ref NEW OLD` refuses when the ref moved. The store
//! then fetches again and retries ([`super::store`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::io::Write as _;

use super::HistoryError;

/// A branch of a local repository, pushed to `remote` when one is named.
#[derive(Debug, Clone)]
pub struct GitBranch {
    /// A folder inside the repository (a checkout or a bare repository).
    pub repo: PathBuf,
    pub branch: String,
    /// The remote the branch is fetched from and pushed to; `None`: the local
    /// branch itself is the store.
    pub remote: Option<String>,
}

/// How a publish ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Published {
    Done,
    /// The branch moved since it was read: read again and retry.
    Moved,
}

impl GitBranch {
    /// The branch in the repository at `repo`; `remote` `None` picks `origin` when
    /// the repository has it, `Some("none")` forces the local branch.
    pub fn new(repo: &Path, branch: &str, remote: Option<&str>) -> Result<GitBranch, HistoryError> {
        let mut it = GitBranch {
            repo: repo.to_path_buf(),
            branch: branch.to_string(),
            remote: None,
        };
        it.remote = match remote {
            Some("none") => None,
            Some(r) => Some(r.to_string()),
            None => {
                let remotes = it.git(&["remote"], None)?;
                remotes
                    .lines()
                    .any(|r| r == "origin")
                    .then(|| "origin".to_string())
            }
        };
        Ok(it)
    }

    /// The branch's newest commit (fetched first from the remote), `None` when the
    /// branch does not exist yet.
    pub fn head(&self) -> Result<Option<String>, HistoryError> {
        match &self.remote {
            Some(remote) => {
                let heads = self.git(&["ls-remote", "--heads", remote, &self.branch], None)?;
                let wanted = format!("refs/heads/{}", self.branch);
                if !heads
                    .lines()
                    .any(|l| l.split_whitespace().nth(1) == Some(wanted.as_str()))
                {
                    return Ok(None);
                }
                let refspec = format!("+{wanted}:{}", self.tracking_ref());
                self.git(&["fetch", "--quiet", "--no-tags", remote, &refspec], None)?;
                Ok(Some(self.git(&["rev-parse", &self.tracking_ref()], None)?))
            }
            None => {
                let wanted = format!("refs/heads/{}", self.branch);
                match self.git(&["rev-parse", "--verify", "--quiet", &wanted], None) {
                    Ok(sha) if !sha.is_empty() => Ok(Some(sha)),
                    _ => Ok(None),
                }
            }
        }
    }

    /// The file names at the top of `commit`'s tree.
    pub fn files(&self, commit: &str) -> Result<Vec<String>, HistoryError> {
        let out = self.git(&["ls-tree", "--name-only", commit], None)?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// A file of `commit`, `None` when the tree has no such file.
    pub fn read(&self, commit: &str, name: &str) -> Result<Option<String>, HistoryError> {
        if !self.files(commit)?.iter().any(|f| f == name) {
            return Ok(None);
        }
        self.git(&["cat-file", "blob", &format!("{commit}:{name}")], None)
            .map(|text| Some(text + "\n"))
    }

    /// A commit on top of `parent` (or a first, parentless one) whose tree is the
    /// parent's with `files` written, then published with compare-and-swap.
    pub fn commit_and_publish(
        &self,
        parent: Option<&str>,
        files: &[(String, String)],
        message: &str,
    ) -> Result<Published, HistoryError> {
        let index = PrivateIndex::new();
        let env = [("GIT_INDEX_FILE", index.0.as_path())];
        match parent {
            Some(p) => self.git_env(&["read-tree", p], None, &env)?,
            None => self.git_env(&["read-tree", "--empty"], None, &env)?,
        };
        for (name, text) in files {
            let blob = self.git(&["hash-object", "-w", "--stdin"], Some(text.as_bytes()))?;
            let info = format!("100644,{blob},{name}");
            self.git_env(&["update-index", "--add", "--cacheinfo", &info], None, &env)?;
        }
        let tree = self.git_env(&["write-tree"], None, &env)?;
        let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
        if let Some(p) = parent {
            args.extend(["-p", p]);
        }
        let commit = self.git(&args, None)?;
        self.publish(parent, &commit)
    }

    fn publish(&self, parent: Option<&str>, commit: &str) -> Result<Published, HistoryError> {
        let wanted = format!("refs/heads/{}", self.branch);
        match &self.remote {
            Some(remote) => {
                let refspec = format!("{commit}:{wanted}");
                match self.git(&["push", "--quiet", "--porcelain", remote, &refspec], None) {
                    Ok(_) => Ok(Published::Done),
                    // Refused: if the branch moved, someone else appended first.
                    Err(err) => match self.head()? {
                        now if now.as_deref() != parent => Ok(Published::Moved),
                        _ => Err(err),
                    },
                }
            }
            None => {
                let old = parent.unwrap_or("0000000000000000000000000000000000000000");
                match self.git(&["update-ref", &wanted, commit, old], None) {
                    Ok(_) => Ok(Published::Done),
                    Err(err) => match self.head()? {
                        now if now.as_deref() != parent => Ok(Published::Moved),
                        _ => Err(err),
                    },
                }
            }
        }
    }

    fn tracking_ref(&self) -> String {
        format!("refs/llm-bench/{}", self.branch)
    }

    fn git(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<String, HistoryError> {
        self.git_env(args, stdin, &[])
    }

    fn git_env(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &Path)],
    ) -> Result<String, HistoryError> {
        let failed = |message: String| HistoryError::Git {
            args: args.join(" "),
            message,
        };
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.repo)
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, default) in [
            ("GIT_AUTHOR_NAME", "llm-bench"),
            ("GIT_AUTHOR_EMAIL", "llm-bench@users.noreply.github.com"),
            ("GIT_COMMITTER_NAME", "llm-bench"),
            ("GIT_COMMITTER_EMAIL", "llm-bench@users.noreply.github.com"),
        ] {
            if std::env::var_os(name).is_none() {
                cmd.env(name, default);
            }
        }
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| failed(format!("cannot start git ({e}); is git installed?")))?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(bytes)
                .map_err(|e| failed(format!("cannot write to git: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| failed(format!("git did not finish: {e}")))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(failed(crate::redact::text(stderr.trim())));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }
}

/// A git index file of this process's own, removed when dropped, so appending
/// never touches the checkout's index.
struct PrivateIndex(PathBuf);

impl PrivateIndex {
    fn new() -> PrivateIndex {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        PrivateIndex(std::env::temp_dir().join(format!(
            "llm-bench-history-index-{}-{n}-{nanos}",
            std::process::id()
        )))
    }
}

impl Drop for PrivateIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
