//! The workflows and action.yml as security policy: every action pinned by commit with
//! its version beside it, least permissions per job, no credentials left in a checkout
//! that does not push, one concurrency group for the GPU runner, merge queues judged by
//! their base commit, nothing published after a cancellation, and a release workflow
//! that ships what the action installs.

use std::path::Path;

fn text(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&text(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const WORKFLOWS: [&str; 6] = [
    "ci.yml",
    "benchmark-pr.yml",
    "benchmark-matrix.yml",
    "nightly.yml",
    "bless.yml",
    "release.yml",
];

fn files() -> Vec<String> {
    let mut files: Vec<String> = WORKFLOWS
        .iter()
        .map(|f| format!(".github/workflows/{f}"))
        .collect();
    files.push("action.yml".into());
    files
}

fn steps(job: &serde_yaml::Value) -> Vec<&serde_yaml::Value> {
    job["steps"].as_sequence().into_iter().flatten().collect()
}

#[test]
fn every_action_is_pinned_by_commit_with_its_version() {
    let mut seen = 0;
    for file in files() {
        for line in text(&file).lines() {
            let key = line.trim_start().trim_start_matches("- ");
            let Some(rest) = key.strip_prefix("uses: ") else {
                continue;
            };
            if rest.trim() == "./" {
                continue;
            }
            seen += 1;
            let (reference, comment) = rest.split_once(" # ").unwrap_or((rest, ""));
            let (_, sha) = reference
                .trim()
                .split_once('@')
                .unwrap_or_else(|| panic!("{file}: `{line}` has no ref"));
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{file}: `{line}` is not pinned by a full commit SHA"
            );
            assert!(
                comment.trim().starts_with('v'),
                "{file}: `{line}` does not name its version in a comment"
            );
        }
    }
    assert!(seen >= 10, "{seen} actions found");
}

#[test]
fn least_privilege_and_no_persisted_credentials() {
    for file in WORKFLOWS {
        let wf = yaml(&format!(".github/workflows/{file}"));
        assert_eq!(
            wf["permissions"],
            serde_yaml::from_str::<serde_yaml::Value>("{}").unwrap(),
            "{file}: nothing at workflow level; each job asks for what it needs"
        );
        for (name, job) in wf["jobs"].as_mapping().unwrap() {
            let permissions = job["permissions"].as_mapping();
            assert!(
                permissions.is_some(),
                "{file}: job {name:?} states its permissions"
            );
            let writes: Vec<&str> = permissions
                .unwrap()
                .iter()
                .filter(|(_, v)| *v == "write")
                .map(|(k, _)| k.as_str().unwrap())
                .collect();
            let pushes = file == "bless.yml" && name == "pull-request";
            for step in steps(job) {
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    assert_eq!(
                        step["with"]["persist-credentials"],
                        serde_yaml::Value::Bool(pushes),
                        "{file}: job {name:?}: persist-credentials"
                    );
                }
            }
            if job["runs-on"]
                .as_sequence()
                .is_some_and(|l| l.iter().any(|v| v == "self-hosted"))
            {
                assert!(
                    writes.iter().all(|w| *w == "pull-requests"),
                    "{file}: the GPU job {name:?} may write only its comment: {writes:?}"
                );
                // A matrix's shards run side by side, each on its own runner: one
                // group per shard.
                let group = job["concurrency"]["group"].as_str().unwrap_or_default();
                assert!(
                    group == "llm-bench-gpu"
                        || (file == "benchmark-matrix.yml"
                            && group == "llm-bench-gpu-shard-${{ matrix.shard }}"),
                    "{file}: the GPU jobs share one concurrency group: {group}"
                );
                assert_eq!(job["concurrency"]["cancel-in-progress"], false);
            }
        }
    }
}

#[test]
fn the_action_judges_merge_queues_by_their_base_and_publishes_nothing_cancelled() {
    let action = yaml("action.yml");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let by_id = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no step {id}"))
    };
    assert_eq!(
        steps[0]["id"], "guard",
        "the fork check comes before anything is installed or sent"
    );
    assert_eq!(steps[1]["id"], "install");
    assert!(by_id("bench")["env"]["LB_BASE_SHA"]
        .as_str()
        .unwrap()
        .contains("github.event.merge_group.base_sha"));
    for id in ["upload", "publish"] {
        let condition = by_id(id)["if"].as_str().unwrap();
        assert!(
            condition.contains("!cancelled()") && !condition.contains("always()"),
            "{id}: {condition}"
        );
    }
    assert!(by_id("upload")["if"]
        .as_str()
        .unwrap()
        .contains("steps.guard.outputs.upload == 'true'"));
    let pr = yaml(".github/workflows/benchmark-pr.yml");
    assert!(pr["on"].as_mapping().unwrap().contains_key("merge_group"));
}

#[test]
fn the_release_ships_what_the_action_installs() {
    let release = yaml(".github/workflows/release.yml");
    assert_eq!(
        release["on"]["push"]["tags"][0], "v[0-9]+.[0-9]+.[0-9]+",
        "only full version tags release; the moving major tag does not"
    );
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["target"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]
    );
    let text = text(".github/workflows/release.yml");
    // The names install.sh downloads and checks.
    for needle in [
        "--target \"$TARGET.2.17\"",
        "name=\"llm-bench-$GITHUB_REF_NAME-$TARGET\"",
        "echo \"$GITHUB_SHA\" >\"$name/COMMIT\"",
        "sha256sum llm-bench-*.tar.gz >SHA256SUMS",
        "major=\"${GITHUB_REF_NAME%%.*}\"",
    ] {
        assert!(text.contains(needle), "release.yml: `{needle}` missing");
    }
    let install = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/action/install.sh"),
    )
    .unwrap();
    for needle in [
        "local name=\"llm-bench-$tag-$triple\"",
        "\"$base/SHA256SUMS\"",
        "/COMMIT\"",
    ] {
        assert!(install.contains(needle), "install.sh: `{needle}` missing");
    }
}

#[test]
fn nightly_closes_its_issue_on_recovery_and_bless_branches_are_unique() {
    let nightly = text(".github/workflows/nightly.yml");
    assert!(nightly.contains("gh issue close \"$number\""));
    assert!(
        !nightly.contains("head -c"),
        "the issue body is cut by characters, not bytes"
    );
    let bless = text(".github/workflows/bless.yml");
    assert!(bless.contains("branch=\"llm-bench/bless-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT\""));
    assert!(bless.contains("is no longer in workloads.yaml"));
    assert!(
        bless.contains("git add --all baselines"),
        "removals are committed too"
    );
}
