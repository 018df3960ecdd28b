//! `llm-bench history add|show` and `trend` end to end: two runs of the built-in
//! simulator appended at the same moment from two clones of one bare repository
//! (a push race: both records must survive), shown, and analysed into a trends page.

use std::path::Path;
use std::process::{Command, Output};

fn llm_bench(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llm-bench"))
        .current_dir(dir)
        .args(args)
        .env_remove("CI")
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn two_concurrent_appends_from_two_clones_both_survive() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<_> = (0..2)
        .map(|i| {
            let out = tmp.path().join(format!("run{i}"));
            ok(llm_bench(
                root,
                &[
                    "run",
                    "--requests",
                    "8",
                    "--trials",
                    "2",
                    "--scenario",
                    "low-load",
                    "--no-telemetry",
                    "--out",
                    out.to_str().unwrap(),
                ],
            ));
            out
        })
        .collect();
    let bare = tmp.path().join("remote.git");
    git(
        tmp.path(),
        &["init", "--quiet", "--bare", bare.to_str().unwrap()],
    );
    let clones: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            let dir = tmp.path().join(name);
            git(
                tmp.path(),
                &[
                    "clone",
                    "--quiet",
                    bare.to_str().unwrap(),
                    dir.to_str().unwrap(),
                ],
            );
            dir
        })
        .collect();
    // Both appends start together; whichever pushes second is refused and retries.
    let children: Vec<_> = clones
        .iter()
        .zip(&runs)
        .enumerate()
        .map(|(i, (clone, run))| {
            Command::new(env!("CARGO_BIN_EXE_llm-bench"))
                .current_dir(clone)
                .args(["history", "add", run.to_str().unwrap(), "--commit"])
                .arg(format!("{i}{i}{i}{i}aaaa"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = ok(child.wait_with_output().unwrap());
        assert!(out.contains("added 1 scenario(s)"), "{out}");
    }
    let shown = ok(llm_bench(
        &clones[0],
        &["history", "show", "--metric", "ttft_ms.p50"],
    ));
    assert!(
        shown.contains("0000aaaa") && shown.contains("1111aaaa"),
        "{shown}"
    );
    assert!(shown.contains("last 2 of 2 runs"), "{shown}");

    // A local folder store, and the trends page.
    let store = tmp.path().join("store");
    for run in &runs {
        ok(llm_bench(
            tmp.path(),
            &[
                "history",
                "add",
                run.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
            ],
        ));
    }
    // Every line follows schemas/history.schema.json.
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/history.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = std::fs::read_to_string(store.join("sim.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 2);
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&record)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let page = tmp.path().join("trends.html");
    let json = tmp.path().join("trend.json");
    let out = ok(llm_bench(
        tmp.path(),
        &[
            "trend",
            "--store",
            store.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("0 change point(s)"), "{out}");
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains("<figure>") && !html.contains("<script src"),
        "self-contained"
    );
    let series: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(series[0]["points"].as_array().unwrap().len(), 2);
}

#[test]
fn adding_a_folder_without_candidates_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = llm_bench(tmp.path(), &["history", "add", ".", "--store", "h"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("baseline.json.new"));
}
