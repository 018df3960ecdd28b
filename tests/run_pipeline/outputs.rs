//! What a run writes: never the API key, the default configs' results, a
//! `summary.json` that matches its committed schema.

use super::*;

/// The API key is sent as a bearer token and never written anywhere.
#[test]
fn api_key_is_used_and_never_written() {
    let secret = "sk-test-5ecr3t-never-print-me";
    let server = sim(|c| {
        c.api_key = Some(secret.to_string());
        c.ttft_ms = 1.0;
        c.itl_ms = 0.0;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let without = run_against(&server.url(), &out, &["--requests", "2"]);
    assert_eq!(without.status.code(), Some(4));
    assert!(stderr(&without).contains("unauthorized"));

    let out = tmp.path().join("with-key");
    let with = bin()
        .env("MY_KEY", secret)
        .args([
            "run",
            "--url",
            &server.url(),
            "--model",
            "m",
            "--api-key-env",
            "MY_KEY",
            "--requests",
            "2",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&with);
    let mut everything = String::from_utf8_lossy(&with.stdout).into_owned() + &stderr(&with);
    let mut folders = vec![out.clone()];
    let mut files = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                // Bytes, not UTF-8: compressed histograms must be searched too.
                everything += &String::from_utf8_lossy(&std::fs::read(&path).unwrap());
                files += 1;
            }
        }
    }
    assert!(files >= 5, "only {files} result files written");
    assert!(!everything.contains(secret));
}

/// The README's first command: the default workloads against the built-in server
/// (with fewer requests, to keep the test quick).
#[test]
fn default_configs_run_against_builtin_sim() {
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    let configs = concat!(env!("CARGO_MANIFEST_DIR"), "/configs");
    let o = bin()
        .args([
            "run",
            "--config-dir",
            configs,
            "--requests",
            "6",
            "--warmup",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&o);
    let s = summary(&out);
    let names: Vec<&str> = s.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["low-load", "medium-load", "high-load", "stress-test"]
    );
    for sc in &s.scenarios {
        assert_eq!(sc.metrics.requests.succeeded, 6, "{}", sc.name);
        assert_eq!(sc.metrics.requests.warmup, 1, "{}", sc.name);
    }
    for file in [
        "run.json",
        "requests.jsonl",
        "summary.json",
        "summary.csv",
        "report.md",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for name in names {
        assert!(md.contains(name), "{name} missing from report.md:\n{md}");
    }
}

/// `summary.json` of a real run (with errors, an open loop and an SLO) matches the
/// committed JSON Schema, so other tools can rely on it.
#[test]
fn summary_matches_committed_schema() {
    let server = sim(|c| {
        c.ttft_ms = 2.0;
        c.itl_ms = 1.0;
        c.error_500_rate = 0.2;
        c.seed = 9;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &[
            "--rate",
            "100",
            "--requests",
            "40",
            "--max-tokens",
            "8",
            "--max-error-rate",
            "1",
        ],
    );
    let instance = validated_summary(&out);
    assert!(
        instance["scenarios"][0]["metrics"]["errors"]["http_5xx"]
            .as_u64()
            .unwrap()
            > 0
    );
}
