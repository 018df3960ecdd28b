//! The verdict study behind docs/comparing.md, run by `cargo bench --bench
//! verdict_study` (a few minutes on two cores): false-alarm rate and power of the
//! gate when runs drift, next to a naive request-level test.
//!
//! For each between-run SD (0, 2, 3 and 5%), [`COMPARISONS`] independent A/A
//! comparisons and as many at each injected TTFT change (+5, +10, +20%), every one
//! a fresh baseline run against a fresh candidate run of the modelled server
//! (`llm_bench::compare::study::model`: rows through the real summary and verdict
//! code). Then the cases real runs add: an outlier trial in the candidate or the
//! baseline, `--max-trials 8`, and a 5-run baseline (`--bless --append`). Prints
//! the Markdown table with Wilson 95% intervals.
//!
//! `LLM_BENCH_STUDY_N` sets the comparisons per row (default [`COMPARISONS`]);
//! `LLM_BENCH_STUDY_PRIOR` the prior between-run SD (`between_run_sd`), to see
//! what another default would do. Seeded: the same settings print the same table.
//! Under `cargo test --all-targets` it only prints how to run it.

use llm_bench::compare::study::{self, Case, Drift, Row};
use llm_bench::config::thresholds::Thresholds;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Comparisons per row: the issue asks for at least 200.
const COMPARISONS: usize = 200;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("verdict_study: a few minutes; run it with `cargo bench --bench verdict_study`");
        return;
    }
    let n: usize = std::env::var("LLM_BENCH_STUDY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(COMPARISONS);
    let mut thresholds = Thresholds::default();
    if let Some(prior) = std::env::var("LLM_BENCH_STUDY_PRIOR")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        thresholds.between_run_sd = prior;
    }
    let started = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(20_250_115);
    let mut rows = Vec::new();
    let mut add = |drift: Drift, case: Case, rng: &mut StdRng| {
        let tally = study::run(case, drift, n, &thresholds, rng);
        eprintln!(
            "{:.0}%/{:.0}% {}: {} ({:.0} s)",
            drift.between_run_sd * 100.0,
            drift.within_run_sd * 100.0,
            case.label(),
            tally.gate_rate().show(),
            started.elapsed().as_secs_f64()
        );
        rows.push(Row { drift, case, tally });
    };
    let runs = Drift::between_runs;
    for sd in [0.0, 0.02, 0.03, 0.05] {
        for factor in [1.0, 1.04, 1.05, 1.10, 1.20] {
            add(
                runs(sd),
                Case::Plain {
                    ttft_factor: factor,
                },
                &mut rng,
            );
        }
    }
    add(
        runs(0.02),
        Case::CandidateOutlier { ttft_factor: 1.0 },
        &mut rng,
    );
    add(
        runs(0.02),
        Case::CandidateOutlier { ttft_factor: 1.15 },
        &mut rng,
    );
    add(
        runs(0.02),
        Case::BaselineOutlier { ttft_factor: 1.0 },
        &mut rng,
    );
    add(
        runs(0.02),
        Case::BaselineOutlier { ttft_factor: 1.15 },
        &mut rng,
    );
    // --max-trials, where trials are as steady as above and where they are noisy
    // (5% from trial to trial), next to the same comparison without it.
    let noisy = Drift {
        between_run_sd: 0.0,
        within_run_sd: 0.05,
    };
    for drift in [runs(0.0), runs(0.02), runs(0.03), noisy] {
        for factor in [1.0, 1.10] {
            if drift == noisy {
                add(
                    drift,
                    Case::Plain {
                        ttft_factor: factor,
                    },
                    &mut rng,
                );
            }
            let case = Case::Sequential {
                ttft_factor: factor,
                max_trials: 8,
            };
            add(drift, case, &mut rng);
        }
    }
    for sd in [0.0, 0.02, 0.03] {
        for factor in [1.0, 1.10] {
            let case = Case::MultiRun {
                ttft_factor: factor,
                runs: 5,
            };
            add(runs(sd), case, &mut rng);
        }
    }
    println!(
        "verdict study: {n} independent comparisons per row, 5 blessed vs 4 current trials, \
         prior between-run SD {:.1}%, α = {}\n",
        thresholds.between_run_sd * 100.0,
        thresholds.alpha
    );
    println!("{}", study::table(&rows));
    println!("({:.0} s)", started.elapsed().as_secs_f64());
}
