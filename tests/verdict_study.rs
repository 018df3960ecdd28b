//! A small, fixed-seed version of the verdict study (`benches/verdict_study.rs`
//! prints the full table in docs/comparing.md): independent baseline and
//! candidate runs of the modelled server, each with its own speed factor, through
//! the full verdict.
//!
//! The bounds are those the full study measures with room for the smaller sample
//! (60 comparisons a row: a Wilson interval about ±8 points wide at 5%): few false
//! alarms with runs drifting by 2% and 3%, the naive request-level test crying wolf
//! far more often, a +20% TTFT regression found, one outlier trial in the
//! candidate not hiding a +15% one, and a true +4% change (inside the ±5%
//! threshold) rarely flagged.

use llm_bench::compare::study::{self, Case, Drift};
use llm_bench::config::thresholds::Thresholds;
use rand::rngs::StdRng;
use rand::SeedableRng;

const N: usize = 60;

#[test]
fn the_gate_holds_its_false_alarm_rate_when_runs_drift() {
    let t = Thresholds::default();
    let mut rng = StdRng::seed_from_u64(20_250_116);
    let mut rate = |case: Case, sd: f64| study::run(case, Drift::between_runs(sd), N, &t, &mut rng);
    let aa_2 = rate(Case::Plain { ttft_factor: 1.0 }, 0.02);
    let aa_3 = rate(Case::Plain { ttft_factor: 1.0 }, 0.03);
    let four = rate(Case::Plain { ttft_factor: 1.04 }, 0.02);
    let slow = rate(Case::Plain { ttft_factor: 1.20 }, 0.02);
    let outlier = rate(Case::CandidateOutlier { ttft_factor: 1.15 }, 0.02);
    let rows: Vec<study::Row> = [
        (0.02, Case::Plain { ttft_factor: 1.0 }, aa_2),
        (0.03, Case::Plain { ttft_factor: 1.0 }, aa_3),
        (0.02, Case::Plain { ttft_factor: 1.04 }, four),
        (0.02, Case::Plain { ttft_factor: 1.20 }, slow),
        (0.02, Case::CandidateOutlier { ttft_factor: 1.15 }, outlier),
    ]
    .into_iter()
    .map(|(sd, case, tally)| study::Row {
        drift: Drift::between_runs(sd),
        case,
        tally,
    })
    .collect();
    println!("{}", study::table(&rows));
    for (what, tally) in [("A/A at 2%", aa_2), ("A/A at 3%", aa_3)] {
        assert!(
            tally.gate_rate().share <= 0.05,
            "{what}: false alarms {}",
            tally.gate_rate().show()
        );
        assert!(
            tally.naive_rate().share > 0.15,
            "{what}: the naive test should cry wolf: {}",
            tally.naive_rate().show()
        );
    }
    assert!(
        four.gate_rate().share <= 0.10,
        "+4%: {}",
        four.gate_rate().show()
    );
    assert!(
        slow.gate_rate().share >= 0.90,
        "+20%: {}",
        slow.gate_rate().show()
    );
    assert!(
        outlier.gate_rate().share >= 0.80,
        "+15% with an outlier trial: {}",
        outlier.gate_rate().show()
    );
}
