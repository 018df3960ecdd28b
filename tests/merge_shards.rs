//! `run --shard I/N` and `llm-bench merge` of shards, end to end: the scenarios of a
//! config split over 2 and 3 shards, each run on its own, merged, count what one
//! run counts, and the merged folder works with `compare`, `bless --from` and
//! `report`; a bad I/N is a usage error.

mod common;
#[path = "common/merged.rs"]
mod merged;
use merged::{merge, totals};

use std::path::{Path, PathBuf};
use std::process::Output;

/// A config folder with four scenarios on the built-in simulated server.
fn shard_config(dir: &Path) -> PathBuf {
    let config = dir.join("configs");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("targets.yaml"),
        "default: sim\ntargets:\n  sim:\n    builtin: sim\n    sim: { ttft_ms: 5, itl_ms: 1, output_tokens: 8 }\n    api: chat\n",
    )
    .unwrap();
    std::fs::write(
        config.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model: { max_tokens: 8 }\n",
    )
    .unwrap();
    std::fs::write(
        config.join("workloads.yaml"),
        "prompts:\n  short: { synthetic_tokens: 32 }\nscenarios:\n\
         \x20 a: { prompt: short, concurrency: 2, requests: 10 }\n\
         \x20 b: { prompt: short, concurrency: 4, requests: 16 }\n\
         \x20 c: { prompt: short, rate: 50, requests: 20 }\n\
         \x20 d: { prompt: short, rate: 40, requests: 12 }\n",
    )
    .unwrap();
    config
}

fn run_config(config: &Path, out: &Path, extra: &[&str]) -> Output {
    common::bin()
        .args([
            "run",
            "--no-telemetry",
            "--warmup",
            "0",
            "--trials",
            "3",
            "--config-dir",
        ])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn shards_split_the_scenarios_and_merge_back() {
    let tmp = tempfile::tempdir().unwrap();
    let config = shard_config(tmp.path());
    let single = tmp.path().join("single");
    let o = run_config(&config, &single, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let expected = totals(&common::summary(&single));
    for n in [2u32, 3] {
        let parts: Vec<PathBuf> = (1..=n)
            .map(|i| {
                let out = tmp.path().join(format!("shard-{i}of{n}"));
                let o = run_config(&config, &out, &["--shard", &format!("{i}/{n}")]);
                assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
                out
            })
            .collect();
        let mut names: Vec<String> = parts
            .iter()
            .flat_map(|p| common::summary(p).scenarios.into_iter().map(|s| s.name))
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["a", "b", "c", "d"],
            "each scenario in exactly one shard"
        );
        let out = tmp.path().join(format!("merged-{n}"));
        let o = merge(&out, &parts);
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        let mut merged = totals(&common::summary(&out));
        let mut want = expected.clone();
        merged.sort();
        want.sort();
        assert_eq!(merged, want, "{n} shards");
        common::validated_summary(&out);
        // `compare` reads the merged folder as a run's.
        let o = common::bin()
            .args(["compare", "--baseline-dir"])
            .arg(tmp.path().join("no-baselines"))
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        assert!(out.join("comparison.json").is_file());
        // `bless --from` promotes it; `report` rebuilds it from its rows.
        let baselines = tmp.path().join(format!("baselines-{n}"));
        let o = common::bin()
            .args(["bless", "--reason", "merged shards", "--from"])
            .arg(&out)
            .arg("--baseline-dir")
            .arg(&baselines)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        for s in ["a", "b", "c", "d"] {
            assert!(baselines.join(format!("sim/{s}.json")).is_file(), "{s}");
        }
        let o = common::bin().arg("report").arg(&out).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
        assert_eq!(totals(&common::summary(&out)).len(), want.len());
    }
    // A bad part is a usage error that says how to fix it.
    for bad in ["0/2", "3/2", "x"] {
        let o = run_config(
            &config,
            &tmp.path().join(format!("bad-{bad}").replace('/', "_")),
            &["--shard", bad],
        );
        assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
        assert!(
            common::stderr(&o).contains("1 ≤ I ≤ N"),
            "{}",
            common::stderr(&o)
        );
    }
    let o = run_config(&config, &tmp.path().join("too-many"), &["--shard", "5/5"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("use at most 4 shards"),
        "{}",
        common::stderr(&o)
    );
}
