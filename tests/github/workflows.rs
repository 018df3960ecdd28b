//! action.yml and the workflows: documented inputs, no script injection.

use super::*;

fn yaml(path: &str) -> serde_yaml::Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `run:` script of a list of steps.
fn run_scripts(steps: &serde_yaml::Value) -> Vec<String> {
    steps
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn action_yml_documents_every_input_and_never_expands_inside_scripts() {
    let action = yaml("action.yml");
    assert!(action["name"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(action["description"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_mapping().expect("inputs");
    for required in [
        "config-dir",
        "targets",
        "workloads",
        "baseline-dir",
        "results-dir",
        "fail-on-regression",
        "comment",
        "comment-key",
        "bless",
        "github-token",
        "binary",
    ] {
        assert!(inputs.contains_key(required), "input `{required}` missing");
    }
    for (name, input) in inputs {
        let name = name.as_str().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "input `{name}` is not kebab-case"
        );
        assert!(
            input["description"].as_str().is_some_and(|d| d.len() > 10),
            "input `{name}` has no description"
        );
        assert!(
            input["default"].is_string(),
            "input `{name}` has no default"
        );
    }
    let outputs = action["outputs"].as_mapping().expect("outputs");
    for required in ["verdict", "regressions", "results-dir", "report"] {
        let o = &outputs[required];
        assert!(
            o["description"].is_string() && o["value"].is_string(),
            "output `{required}`"
        );
    }
    let steps = &action["runs"]["steps"];
    let scripts = run_scripts(steps);
    assert!(scripts.len() >= 4);
    for script in &scripts {
        assert!(!script.contains("${{"), "`${{{{ }}}}` inside run: {script}");
    }
    for step in steps.as_sequence().unwrap() {
        if step["run"].is_string() {
            assert_eq!(step["shell"], "bash", "{step:?}");
        }
    }
    assert!(steps.as_sequence().unwrap().iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("actions/upload-artifact@"))));
}

#[test]
fn workflows_exist_and_keep_expressions_out_of_scripts() {
    for file in [
        "ci.yml",
        "benchmark-pr.yml",
        "nightly.yml",
        "bless.yml",
        "release.yml",
    ] {
        let wf = yaml(&format!(".github/workflows/{file}"));
        for (job_name, job) in wf["jobs"].as_mapping().unwrap() {
            for script in run_scripts(&job["steps"]) {
                assert!(
                    !script.contains("${{"),
                    "{file}: job {job_name:?}: `${{{{ }}}}` inside run: {script}"
                );
            }
        }
    }

    let ci = yaml(".github/workflows/ci.yml");
    let uses_itself = ci["jobs"].as_mapping().unwrap().values().any(|job| {
        job["runs-on"] == "ubuntu-latest"
            && job["steps"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|s| s["uses"] == "./")
    });
    assert!(
        uses_itself,
        "ci.yml runs the action with `uses: ./` on ubuntu-latest"
    );

    let pr = yaml(".github/workflows/benchmark-pr.yml");
    assert!(
        pr["on"]["pull_request"]["paths"].is_sequence(),
        "only for paths that affect serving"
    );
    assert_eq!(pr["concurrency"]["cancel-in-progress"], true);
    let job = &pr["jobs"]["benchmark"];
    assert_eq!(job["permissions"]["contents"], "read");
    assert_eq!(job["permissions"]["pull-requests"], "write");
    let labels: Vec<&str> = job["runs-on"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(labels, ["self-hosted", "gpu"]);
    assert!(
        job["if"]
            .as_str()
            .unwrap()
            .contains("github.event.pull_request.head.repo.full_name == github.repository"),
        "no fork code on the GPU runner"
    );

    let nightly = yaml(".github/workflows/nightly.yml");
    assert!(nightly["on"]["schedule"][0]["cron"].is_string());
    assert!(nightly["on"]
        .as_mapping()
        .unwrap()
        .contains_key("workflow_dispatch"));
    assert_eq!(nightly["jobs"]["track"]["permissions"]["issues"], "write");

    let bless = yaml(".github/workflows/bless.yml");
    assert_eq!(
        bless["on"]["workflow_dispatch"]["inputs"]["reason"]["required"],
        true
    );
    let steps = bless["jobs"]["bless"]["steps"].as_sequence().unwrap();
    assert!(steps
        .iter()
        .any(|s| s["uses"] == "./" && s["with"]["bless"] == "true"));
    assert!(run_scripts(&bless["jobs"]["pull-request"]["steps"])
        .iter()
        .any(|s| s.contains("gh pr create")));
}

/// A real regression and a real not-comparable baseline become `::error::` and
/// `::warning::` annotations and the `verdict`/`regressions` outputs.
#[test]
fn regressions_and_not_comparable_baselines_are_annotated() {
    let tmp = tempfile::tempdir().unwrap();
    let configs = tmp.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    std::fs::write(configs.join("models.yaml"), CONFIG_MODELS).unwrap();
    std::fs::write(configs.join("workloads.yaml"), CONFIG_WORKLOADS).unwrap();
    let baselines = tmp.path().join("baselines");
    let run = |name: &str, ttft_ms: u32, extra: &[&str]| {
        std::fs::write(
            configs.join("targets.yaml"),
            CONFIG_TARGETS.replace("ttft_ms: 3", &format!("ttft_ms: {ttft_ms}")),
        )
        .unwrap();
        let out = tmp.path().join(name);
        let o = common::bin()
            .arg("run")
            .arg("--config-dir")
            .arg(&configs)
            .arg("--out")
            .arg(&out)
            .arg("--baseline-dir")
            .arg(&baselines)
            .args(extra)
            .output()
            .unwrap();
        (out, o)
    };
    let (_, o) = run("base", 3, &["--bless", "--reason", "base"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));

    // Ten times the time to first token: a regression.
    let (slow, o) = run("slow", 30, &["--compare"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    // Another max_tokens: the measurement changed, not comparable.
    let (changed, o) = run("changed", 3, &["--compare", "--max-tokens", "8"]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));

    for (dir, verdict, annotation) in [
        (
            &slow,
            "regression",
            "::error title=llm-bench%3A regression::smoke: TTFT p50 +",
        ),
        (
            &changed,
            "not-comparable",
            "::warning title=llm-bench%3A not comparable::smoke: not comparable with ",
        ),
    ] {
        let output = tmp.path().join(format!("{verdict}.output"));
        let o = common::bin()
            .arg("comment")
            .arg(dir)
            .arg("--dry-run")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}", show(&o));
        assert!(
            stdout.contains(annotation),
            "`{annotation}` missing:\n{stdout}"
        );
        assert!(
            stdout.contains("::group::llm-bench comment (dry run: not posted)"),
            "{stdout}"
        );
        assert!(
            stdout.contains("<!-- llm-bench:default -->"),
            "the dry run prints the comment"
        );
        let outputs = read_outputs(&output);
        assert_eq!(outputs["verdict"], verdict);
        if verdict == "regression" {
            assert!(
                outputs["regressions"].parse::<u32>().unwrap() >= 1,
                "{outputs:?}"
            );
        }
    }
}
