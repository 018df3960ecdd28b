//! The salt: a server's prefix cache cannot make a rerun look faster or slower
//! than it is.

use super::*;

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
