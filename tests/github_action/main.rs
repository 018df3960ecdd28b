//! The composite action's first steps and its failure path, run as the runner runs
//! them: the fork guard (before anything is downloaded or sent), boolean inputs and
//! GitHub Enterprise Server, installing the release binary from a fake release server on
//! loopback (download, checksum refused, fallback to a cached source build), and a
//! failed run published as failed for this commit.
//!
//! One test binary, grouped by feature: [`guard`] (the fork guard, boolean inputs
//! and GitHub Enterprise Server), [`install`] (the release binary, its checksum,
//! the source build and its cache) and [`failure`] (a failed run's comment).

mod failure;
mod guard;
mod install;

use std::path::{Path, PathBuf};

#[path = "../common/action_env.rs"]
mod action_env;
use action_env::{action_step, config_repo, read_outputs, show, CONFIG_TARGETS};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A folder to run a step in, inside `tmp`: the step's RUNNER_TEMP is its sibling, so
/// tests running at the same time never share one.
fn scratch_repo(tmp: &Path) -> PathBuf {
    let repo = tmp.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    repo
}
