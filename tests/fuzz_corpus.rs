//! The fuzz targets' properties (`fuzz/oracles.rs`) on stable, in every test run:
//! each input of the committed corpus (`fuzz/corpus/<target>/`, minimized from the
//! cargo-fuzz runs), then a fixed number of seeded mutations of them, so CI checks
//! what the fuzzers found even where nightly and cargo-fuzz are absent.

#[path = "../fuzz/oracles.rs"]
mod oracles;

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Mutated inputs checked per target on top of the corpus.
const MUTATIONS: usize = 1500;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no corpus in {}", dir.display());
    inputs.into_iter().map(|(_, bytes)| bytes).collect()
}

/// One of a few byte-level mutations, as a fuzzer makes them.
fn mutate(rng: &mut StdRng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = rng.gen_range(0..=out.len());
        match rng.gen_range(0..6) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.gen_range(0..8);
            }
            1 => out.insert(at, rng.gen()),
            2 => out.truncate(at),
            3 => {
                let pick = b"\r\n:; \0\xff\xc3{}[]\"0aF-";
                out.insert(at, pick[rng.gen_range(0..pick.len())]);
            }
            4 if !other.is_empty() => {
                // Splice in a piece of another input.
                let from = rng.gen_range(0..other.len());
                let to = rng.gen_range(from..=other.len().min(from + 64));
                out.splice(at..at, other[from..to].iter().copied());
            }
            _ => {
                let end = rng.gen_range(at..=out.len());
                out.drain(at..end);
            }
        }
    }
    out
}

fn replay(target: &str, check: fn(&[u8])) {
    let inputs = corpus(target);
    let checked = |input: &[u8]| {
        if std::panic::catch_unwind(|| check(input)).is_err() {
            panic!(
                "{target}: the property failed for the input b\"{}\"",
                input.escape_ascii()
            );
        }
    };
    for input in &inputs {
        checked(input);
    }
    let mut rng = StdRng::seed_from_u64(0x16);
    for _ in 0..MUTATIONS {
        let a = &inputs[rng.gen_range(0..inputs.len())];
        let b = &inputs[rng.gen_range(0..inputs.len())];
        checked(&mutate(&mut rng, a, b));
    }
}

#[test]
fn sse_parser() {
    replay("sse_parser", oracles::sse_parser);
}

#[test]
fn h1_framing() {
    replay("h1_framing", oracles::h1_framing);
}

#[test]
fn config_loader() {
    replay("config_loader", oracles::config_loader);
}

#[test]
fn baseline_reader() {
    replay("baseline_reader", oracles::baseline_reader);
}
