//! End to end over loopback: bless a baseline against the simulated server, then
//! judge an unchanged run (exit 0), a run with 20% slower TTFT (exit 1, named in the
//! Markdown), a run with another model (exit 3), and a corrupted or too-new baseline
//! (a clear error, nothing overwritten). The real binary is run as a user would.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use llm_bench::compare::baseline;
use llm_bench::compare::verdict::{Comparison, Outcome, Status, Verdict};
use llm_bench::sim::SimConfig;

const TTFT_MS: f64 = 60.0;

fn sim(ttft_ms: f64) -> Sim {
    Sim::start(SimConfig {
        ttft_ms,
        itl_ms: 5.0,
        ..SimConfig::default()
    })
}

/// A config folder whose one target points at `url`. Only TTFT keeps a tight
/// threshold: the other latencies sum many timer sleeps, which a loaded CI machine
/// stretches, and this test is about TTFT.
fn config_dir(root: &Path, url: &str) -> PathBuf {
    let dir = root.join("configs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("targets.yaml"),
        format!("default: local\ntargets:\n  local:\n    base_url: {url}\n    api: chat\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model: { max_tokens: 8 }\n  other-model: { max_tokens: 8 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("workloads.yaml"),
        "thresholds:\n  tpot: { relative: 0.5 }\n  itl: { relative: 0.5 }\n  e2e: { relative: 0.5 }\n  \
         throughput: { relative: 0.5 }\n\
         prompts:\n  short: { text: \"Say hello.\" }\n\
         scenarios:\n  chat:\n    prompt: short\n    concurrency: 4\n    requests: 16\n    ignore_eos: true\n    \
         thresholds:\n      ttft: { relative: 0.08 }\n",
    )
    .unwrap();
    dir
}

struct Bench {
    tmp: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn baselines(&self) -> PathBuf {
        self.tmp.path().join("baselines")
    }

    fn baseline_file(&self) -> PathBuf {
        self.baselines().join("local").join("chat.json")
    }

    /// `llm-bench run` against `url` into `out`, with extra flags.
    fn run(&self, url: &str, out: &str, args: &[&str]) -> (Output, PathBuf) {
        let config = config_dir(&self.tmp.path().join(out), url);
        let out_dir = self.tmp.path().join(out).join("results");
        let o = bin()
            .env_remove("LLM_BENCH_BLESS")
            .env("LLM_BENCH_BLESSED_BY", "e2e-test")
            .args(["run", "--config-dir"])
            .arg(&config)
            .arg("--out")
            .arg(&out_dir)
            .arg("--baseline-dir")
            .arg(self.baselines())
            .args(if args.contains(&"--trials") {
                &[][..]
            } else {
                &["--trials", "3"][..]
            })
            .args(args)
            .output()
            .unwrap();
        (o, out_dir)
    }

    fn cli(&self, args: &[&str]) -> Output {
        bin()
            .env_remove("LLM_BENCH_BLESS")
            .env("LLM_BENCH_BLESSED_BY", "e2e-test")
            .args(args)
            .output()
            .unwrap()
    }
}

/// Checks a baseline file against the committed JSON Schema.
fn assert_valid(text: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/baseline.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: serde_json::Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut broken = instance.clone();
    broken["trials"][0]["samples"]["error_kind"][0] = "exploded".into();
    assert!(
        !validator.is_valid(&broken),
        "the schema checks error kinds"
    );
}

fn comparison(dir: &Path) -> Comparison {
    serde_json::from_str(&std::fs::read_to_string(dir.join("comparison.json")).unwrap()).unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn both(o: &Output) -> String {
    format!("--- stdout\n{}\n--- stderr\n{}", stdout(o), stderr(o))
}

#[test]
fn bless_then_gate_unchanged_slower_and_other_model() {
    let _lock = timing_sensitive();
    let bench = Bench::new();
    let server = sim(TTFT_MS);

    // Bless: three trials, recorded with who and why; a candidate is left behind.
    let (o, blessed_run) = bench.run(
        &server.url(),
        "bless",
        &["--bless", "--reason", "first baseline"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stdout(&o).contains("TTFT p50"),
        "old → new listing: {}",
        both(&o)
    );
    let file = bench.baseline_file();
    let blessed = baseline::read(&file).unwrap().expect("baseline written");
    assert_eq!(blessed.trials.len(), 3);
    assert_eq!(blessed.blessed_by.as_deref(), Some("e2e-test"));
    assert_eq!(blessed.reason.as_deref(), Some("first baseline"));
    assert_eq!(blessed.trials[0].samples.e2e_ms.len(), 16);
    assert!(blessed_run.join("chat.baseline.json.new").is_file());
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text,
        baseline::to_text(&blessed),
        "canonical JSON round-trips byte for byte"
    );
    // The column-by-column writer gives the bytes of the generic canonical writer.
    let generic = baseline::canonical_json(&serde_json::to_value(&blessed).unwrap()) + "\n";
    assert_eq!(text, generic);
    assert_valid(&text);

    // Unchanged: exit 0, nothing regressed.
    let (o, unchanged) = bench.run(&server.url(), "same", &["--compare"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let c = comparison(&unchanged);
    assert_eq!(c.outcome, Outcome::Pass);
    assert_eq!(c.totals.regressions, 0, "{}", both(&o));
    assert_eq!(c.scenarios[0].status, Status::Compared);
    assert_eq!(c.scenarios[0].current_trials, 3);
    let md = std::fs::read_to_string(unchanged.join("comparison.md")).unwrap();
    assert!(md.starts_with("❌ 0 regressions · ✅ "), "{md}");

    // 20% slower TTFT: exit 1, the TTFT regression is named.
    let slow = sim(TTFT_MS * 1.2);
    let (o, slower) = bench.run(&slow.url(), "slow", &["--compare"]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    let c = comparison(&slower);
    assert_eq!(c.outcome, Outcome::Regression);
    let ttft = c.scenarios[0]
        .metrics
        .iter()
        .find(|m| m.metric.key() == "ttft_ms.p50")
        .unwrap();
    assert_eq!(ttft.verdict, Verdict::Regression, "{ttft:?}");
    let change = ttft.change().unwrap().0;
    assert!(
        (0.12..0.28).contains(&change),
        "TTFT change {change}, injected +20%"
    );
    let md = std::fs::read_to_string(slower.join("comparison.md")).unwrap();
    let first_row = md.lines().find(|l| l.starts_with("| TTFT")).unwrap();
    assert!(
        first_row.contains("❌ regression"),
        "regressions come first: {md}"
    );
    assert!(md.lines().next().unwrap().starts_with("❌ "), "{md}");
    assert!(!md.lines().next().unwrap().starts_with("❌ 0 "), "{md}");

    // Another model: not comparable, exit 3.
    let (o, other) = bench.run(
        &server.url(),
        "other",
        &["--compare", "--model", "other-model"],
    );
    assert_eq!(o.status.code(), Some(3), "{}", both(&o));
    let c = comparison(&other);
    assert_eq!(c.scenarios[0].status, Status::NotComparable);
    assert!(
        c.scenarios[0].not_comparable[0].contains("other-model"),
        "{:?}",
        c.scenarios[0]
    );

    // `compare` on a finished folder gives the same verdict as `run --compare`.
    let o = bench.cli(&[
        "compare",
        "--baseline-dir",
        bench.baselines().to_str().unwrap(),
        slower.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));

    // Promote the slower run without re-running it; refused in CI unless allowed.
    let from = slower.to_str().unwrap();
    let dir = bench.baselines();
    let dir = dir.to_str().unwrap();
    let o = bin()
        .env("CI", "true")
        .args([
            "bless",
            "--from",
            from,
            "--baseline-dir",
            dir,
            "--reason",
            "slower on purpose",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("--allow-ci-bless"), "{}", both(&o));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "a refused bless writes nothing"
    );
    let o = bench.cli(&[
        "bless",
        "--from",
        from,
        "--baseline-dir",
        dir,
        "--reason",
        "slower on purpose",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stdout(&o).contains(" → "), "{}", both(&o));
    let now = baseline::read(&file).unwrap().unwrap();
    assert_eq!(now.reason.as_deref(), Some("slower on purpose"));
    assert_ne!(now.run_id, blessed.run_id);
}

#[test]
fn broken_baselines_are_refused_and_never_overwritten() {
    let bench = Bench::new();
    let server = sim(20.0);
    let (o, run) = bench.run(&server.url(), "run", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let file = bench.baseline_file();
    let dir = bench.baselines();
    let (dir, run) = (dir.to_str().unwrap(), run.to_str().unwrap());

    // No baseline: reported as new; a failure only under --strict.
    let o = bench.cli(&["compare", "--baseline-dir", dir, run]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stdout(&o).contains("--bless"), "{}", both(&o));
    let o = bench.cli(&["compare", "--strict", "--baseline-dir", dir, run]);
    assert_eq!(o.status.code(), Some(3), "{}", both(&o));

    // Corrupted: a clear error naming the file and the fix; nothing overwritten, even
    // when asked to bless.
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "{\"schema_version\": \"1.0\", \"trials\": [").unwrap();
    for args in [
        vec!["compare", "--baseline-dir", dir, run],
        vec![
            "bless",
            "--from",
            run,
            "--baseline-dir",
            dir,
            "--reason",
            "x",
        ],
    ] {
        let o = bench.cli(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", both(&o));
        assert!(
            stderr(&o).contains("is not a valid baseline"),
            "{}",
            both(&o)
        );
        assert!(stderr(&o).contains("git checkout --"), "{}", both(&o));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "{\"schema_version\": \"1.0\", \"trials\": ["
        );
    }

    // A newer major version: refused with an upgrade hint.
    std::fs::write(&file, "{\"schema_version\": \"3.0\"}").unwrap();
    let o = bench.cli(&["compare", "--baseline-dir", dir, run]);
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("upgrade llm-bench"), "{}", both(&o));

    // Too few trials to bless.
    std::fs::remove_file(&file).unwrap();
    let (o, _) = bench.run(
        &server.url(),
        "one",
        &["--trials", "1", "--bless", "--reason", "x"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(stderr(&o).contains("at least 3"), "{}", both(&o));
    assert!(!file.exists());
}

/// `run --url` against `url` with a 64-token synthetic prompt, three trials and
/// one seed, into `out` (baselines under `bench`'s folder), with extra flags.
fn adhoc_run(bench: &Bench, url: &str, out: &str, args: &[&str]) -> (Output, PathBuf) {
    let out_dir = bench.tmp.path().join(out);
    let o = run_command(url, &out_dir)
        .env("LLM_BENCH_BLESSED_BY", "e2e-test")
        .env_remove("LLM_BENCH_BLESS")
        .arg("--baseline-dir")
        .arg(bench.baselines())
        .args([
            "--concurrency",
            "4",
            "--requests",
            "16",
            "--max-tokens",
            "8",
        ])
        .args(["--ignore-eos", "--prompt-tokens", "64", "--seed", "7"])
        .args(["--trials", "3", "--scrape-interval", "100ms"])
        .args(args)
        .output()
        .unwrap();
    (o, out_dir)
}

fn hit_rate(dir: &Path) -> f64 {
    summary(dir).scenarios[0]
        .metrics
        .telemetry
        .as_ref()
        .and_then(|t| t.server.as_ref())
        .and_then(|s| s.prefix_cache_hit_rate)
        .expect("the simulator reports its prefix cache")
}

/// The salt: two runs with one seed send different prompts (the simulator's
/// prefix cache finds nothing of the first in the second), with equal workload
/// hashes. Without it (`--prefix-cache allow`) the second run is served from the
/// cache; blessed warm and compared against a restarted (cold) server, the
/// scenario is not comparable (exit 3) with both hit rates named, never a
/// regression.
#[test]
fn a_prefix_cache_cannot_pass_for_a_regression() {
    let bench = Bench::new();
    let config = SimConfig {
        ttft_ms: 5.0,
        ttft_per_prompt_token_ms: 0.5,
        itl_ms: 2.0,
        prefix_cache: true,
        ..SimConfig::default()
    };
    let server = Sim::start(config.clone());
    let (o, first) = adhoc_run(&bench, &server.url(), "salted-1", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let after_first = server.stats();
    let (o, second) = adhoc_run(&bench, &server.url(), "salted-2", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let after_second = server.stats();
    assert!(after_second.prefix_cache_queries > after_first.prefix_cache_queries);
    assert_eq!(
        after_second.prefix_cache_hits, 0,
        "no request of either run shares a cacheable prefix: {after_second:?}"
    );
    assert_eq!(hit_rate(&second), 0.0);
    let hash = |dir: &Path| {
        let (_, c) = llm_bench::app::gate::read_candidates(dir).unwrap();
        (
            c[0].fingerprint.must_match.workload_hash.clone(),
            summary(dir).run.workload_hash,
        )
    };
    assert_eq!(
        hash(&first),
        hash(&second),
        "the salt is not part of the workload"
    );
    // The salt is one more word to the simulator (a few tokens to a real tokenizer).
    let rows = rows(&second);
    assert!(
        rows.iter().all(|r| r.prompt_tokens == Some(65)),
        "{:?}",
        rows[0]
    );

    // Unsalted: a warm-up run fills the cache, the blessed run is served from it.
    let args = ["--prefix-cache", "allow"];
    let (o, _) = adhoc_run(&bench, &server.url(), "warm", &args);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let bless = [&args[..], &["--bless", "--reason", "warm"]].concat();
    let (o, blessed) = adhoc_run(&bench, &server.url(), "blessed", &bless);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(hit_rate(&blessed) > 0.9, "{}", hit_rate(&blessed));
    drop(server);

    // A restarted server has an empty cache: not comparable, both values named.
    let restarted = Sim::start(config);
    let compare = [&args[..], &["--compare"]].concat();
    let (o, cold) = adhoc_run(&bench, &restarted.url(), "cold", &compare);
    assert_eq!(o.status.code(), Some(3), "{}", both(&o));
    let c = comparison(&cold);
    assert_eq!(c.scenarios[0].status, Status::NotComparable);
    let why = c.scenarios[0].not_comparable.join("\n");
    assert!(
        why.contains("server prefix-cache hit rate: 1.00 in the baseline, 0.00 now"),
        "{why}"
    );
    assert!(
        stdout(&o).contains("prefix-cache hit rate: 1.00 in the baseline"),
        "{}",
        both(&o)
    );
    assert_eq!(c.totals.regressions, 0);
}

/// Reads a baseline (or candidate) file as JSON, lets `edit` change it, writes it
/// back.
fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, value.to_string()).unwrap();
}

fn metric<'a>(c: &'a Comparison, key: &str) -> &'a llm_bench::compare::verdict::MetricComparison {
    c.scenarios[0]
        .metrics
        .iter()
        .find(|m| m.metric.key() == key)
        .unwrap_or_else(|| panic!("no {key} in {c:?}"))
}

/// What real runs contain: zero-valued statistics are left out by name with the
/// real trial count (never "within noise"); an outlier trial on either side is
/// flagged (which trial, how far out) and left out, so one in the candidate does
/// not hide a +15% regression; --max-trials adds trials while a gated verdict is
/// inconclusive, judged at α over its looks.
#[test]
fn zeros_outliers_and_more_trials() {
    let bench = Bench::new();
    let server = sim(TTFT_MS);
    let (o, _) = bench.run(
        &server.url(),
        "bless",
        &["--bless", "--reason", "first", "--trials", "5"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let (o, run) = bench.run(&server.url(), "run", &["--trials", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let file = bench.baseline_file();
    let original = std::fs::read_to_string(&file).unwrap();
    let candidate = run.join("chat.baseline.json.new");
    let original_candidate = std::fs::read_to_string(&candidate).unwrap();
    let compare = |bench: &Bench| {
        let dir = bench.baselines();
        let o = bench.cli(&[
            "compare",
            "--baseline-dir",
            dir.to_str().unwrap(),
            run.to_str().unwrap(),
        ]);
        (o, comparison(&run))
    };

    // ITL p50 of 0 in three of five baseline trials (several events in one read).
    edit_json(&file, |b| {
        for t in [0, 2, 4] {
            b["trials"][t]["stats"]["itl_ms.p50"] = 0.0.into();
        }
    });
    let (o, c) = compare(&bench);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let itl = metric(&c, "itl_ms.p50");
    let note = itl.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("baseline trial 0 is 0 ms (no logarithm)"),
        "{note}"
    );
    assert!(note.contains("2 of 5 baseline trials"), "{note}");
    assert_ne!(itl.verdict, Verdict::WithinNoise, "{itl:?}");
    assert!(itl.partial);
    std::fs::write(&file, &original).unwrap();

    // An outlier trial in the baseline: flagged, left out.
    edit_json(&file, |b| {
        let v = b["trials"][2]["stats"]["ttft_ms.p50"].as_f64().unwrap();
        b["trials"][2]["stats"]["ttft_ms.p50"] = (v * 1.6).into();
    });
    let (o, c) = compare(&bench);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let warnings = c.scenarios[0].warnings.join("\n");
    // The change is measured against the other trials' median, not the trial's own
    // value before the edit, so it reads 60% ± the trials' spread (a few %).
    let flagged = "the baseline's trial 2 is an outlier in TTFT p50 (+";
    let change: f64 = warnings
        .split(flagged)
        .nth(1)
        .and_then(|rest| rest.split('%').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no outlier warning for trial 2: {warnings}"));
    assert!((50.0..=70.0).contains(&change), "{warnings}");
    assert_eq!(metric(&c, "ttft_ms.p50").trials_used.unwrap().baseline, 4);
    std::fs::write(&file, &original).unwrap();

    // The candidate 15% slower in TTFT p50, one of its trials 1.6× slower still:
    // the outlier is flagged and the regression found.
    edit_json(&candidate, |b| {
        for t in 0..4 {
            let v = b["trials"][t]["stats"]["ttft_ms.p50"].as_f64().unwrap();
            let factor = if t == 1 { 1.15 * 1.6 } else { 1.15 };
            b["trials"][t]["stats"]["ttft_ms.p50"] = (v * factor).into();
        }
    });
    let (o, c) = compare(&bench);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(
        c.scenarios[0]
            .warnings
            .join("\n")
            .contains("this run's trial 1 is an outlier in TTFT p50"),
        "{:?}",
        c.scenarios[0].warnings
    );
    assert_eq!(metric(&c, "ttft_ms.p50").verdict, Verdict::Regression);
    std::fs::write(&candidate, &original_candidate).unwrap();

    // --max-trials: a baseline whose recorded TTFT noise is 30% leaves TTFT
    // inconclusive, so the run goes on to its sixth trial; every look at α / 3.
    edit_json(&file, |b| b["noise"]["ttft_ms.p50"] = 0.3.into());
    let (o, more) = bench.run(
        &server.url(),
        "more",
        &["--compare", "--trials", "4", "--max-trials", "6"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stderr(&o).contains("trial 5/4 (--max-trials 6: TTFT p50"),
        "{}",
        both(&o)
    );
    let c = comparison(&more);
    assert_eq!(c.scenarios[0].current_trials, 6);
    assert_eq!(c.sequential_looks, 3);
    let o = bench.cli(&["run", "--url", &server.url(), "--max-trials", "6"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--max-trials needs --compare: {}",
        both(&o)
    );
}

/// `--bless --append` builds a multi-run baseline (schema 2.0, a rolling window of
/// --keep-runs), also when two blesses into one folder run at once (the folder is
/// locked); a comparison then names its runs.
#[test]
fn appended_baselines_hold_several_runs() {
    let bench = Bench::new();
    let server = sim(TTFT_MS);
    let (o, first) = bench.run(&server.url(), "r1", &["--bless", "--reason", "first"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let (o, second) = bench.run(&server.url(), "r2", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let (o, third) = bench.run(&server.url(), "r3", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let dir = bench.baselines();
    let bless = |from: &Path| {
        bin()
            .env("LLM_BENCH_BLESSED_BY", "e2e-test")
            .args([
                "bless",
                "--append",
                "--keep-runs",
                "3",
                "--reason",
                "nightly",
                "--from",
            ])
            .arg(from)
            .arg("--baseline-dir")
            .arg(&dir)
            .spawn()
            .unwrap()
    };
    // Two at once: both succeed, and neither loses the other's run.
    let (mut a, mut b) = (bless(&second), bless(&third));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let text = std::fs::read_to_string(bench.baseline_file()).unwrap();
    assert_valid(&text);
    let joined = baseline::parse(&text, &bench.baseline_file()).unwrap();
    assert_eq!(joined.schema_version, "2.0");
    assert_eq!(joined.runs.len(), 3, "{:?}", joined.runs);
    assert_eq!(joined.trials.len(), 9);
    // A fourth run pushes the first out of the window.
    let o = bench.cli(&[
        "bless",
        "--append",
        "--keep-runs",
        "3",
        "--reason",
        "again",
        "--from",
        first.to_str().unwrap(),
        "--baseline-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(stdout(&o).contains("(9 trials in 3 runs)"), "{}", both(&o));
    let (o, compared) = bench.run(&server.url(), "cmp", &["--compare"]);
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", both(&o));
    let c = comparison(&compared);
    assert_eq!(c.scenarios[0].baseline.as_ref().unwrap().runs, 3);
    let md = std::fs::read_to_string(compared.join("comparison.md")).unwrap();
    assert!(md.contains("Baseline: 3 runs, 9 trial(s)"), "{md}");
    // Another workload cannot join.
    let (o, _) = bench.run(
        &server.url(),
        "other",
        &[
            "--bless",
            "--append",
            "--reason",
            "x",
            "--max-error-rate",
            "0.5",
            "--warmup",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(
        stderr(&o).contains("workload `warmup`: `0` in the baseline, `2` now"),
        "{}",
        both(&o)
    );
}
