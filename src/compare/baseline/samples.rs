//! A trial's raw per-request samples as a baseline keeps them: the columns a
//! statistical test reads, at most [`SAMPLES_PER_TRIAL`] requests of them (a
//! seeded reservoir sample past that), and every inter-token latency in an HDR
//! histogram, encoded as HdrHistogram's interval logs encode it.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::record::{ErrorKind, RequestRow};

/// Raw per-request samples of one trial, one entry per measured request (warm-up,
/// cancelled and dropped requests excluded) in request order.
///
/// A trial of more than [`SAMPLES_PER_TRIAL`] measured requests keeps a uniform
/// random subset of that many (see [`SamplesBuilder`]) and says of how many in
/// `sampled_from`; its counts, durations and statistics stay those of every request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// `null` for a success, else the error kind.
    pub error_kind: Vec<Option<ErrorKind>>,
    pub ttft_ms: Vec<Option<f64>>,
    pub tpot_ms: Vec<Option<f64>>,
    pub e2e_ms: Vec<f64>,
    pub output_tokens: Vec<u64>,
    /// Every inter-token latency of the trial's successful requests, in microseconds:
    /// base64 of an HdrHistogram V2+DEFLATE encoding (3 significant digits).
    pub itl_us_hdr: String,
    /// Measured requests the columns were sampled from, when they hold only
    /// [`SAMPLES_PER_TRIAL`] of them; absent when they hold every one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<u64>,
}

impl Samples {
    /// Collects the measured rows of one trial (any order; sorted by index here).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a RequestRow>) -> Samples {
        let mut builder = SamplesBuilder::default();
        for row in rows {
            builder.add(row);
        }
        builder.finish()
    }

    /// Indices of the successful requests' samples.
    pub(super) fn ok(&self) -> impl Iterator<Item = usize> + '_ {
        self.error_kind
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_none())
            .map(|(i, _)| i)
    }

    /// TTFT of successful requests.
    pub fn ttft(&self) -> Vec<f64> {
        self.ok().filter_map(|i| self.ttft_ms[i]).collect()
    }

    pub fn tpot(&self) -> Vec<f64> {
        self.ok().filter_map(|i| self.tpot_ms[i]).collect()
    }

    pub fn e2e(&self) -> Vec<f64> {
        self.ok().map(|i| self.e2e_ms[i]).collect()
    }

    pub fn output_tokens(&self) -> Vec<f64> {
        self.ok().map(|i| self.output_tokens[i] as f64).collect()
    }

    /// ITL values (ms) rebuilt from the histogram, each bucket at its median value.
    pub fn itl(&self) -> Vec<f64> {
        let Some(h) = decode_histogram(&self.itl_us_hdr) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(h.len() as usize);
        for v in h.iter_recorded() {
            let value = h.median_equivalent(v.value_iterated_to()) as f64 / 1000.0;
            out.extend(std::iter::repeat_n(value, v.count_at_value() as usize));
        }
        out
    }
}

/// Per-request samples a trial keeps at most: enough that the request-level
/// bootstrap and the report's baseline curves are as good as with every request
/// (a p99 from 16,384 requests rests on 164 beyond it; the bootstrap's standard
/// error is well under the noise floor it is added to), few enough that a trial of
/// millions of requests costs what one of 16k does (~1 MiB) instead of ~60 bytes per
/// request, and the committed file stays small. Ordinary CI runs stay below it and
/// keep every request.
pub const SAMPLES_PER_TRIAL: usize = 1 << 14;

/// Seed of the reservoir sampling past [`SAMPLES_PER_TRIAL`] ("llm-samp"), so the
/// same `requests.jsonl` always gives the same candidate.
const SAMPLE_SEED: u64 = 0x6c6c_6d2d_7361_6d70;

/// Builds one trial's [`Samples`] row by row, keeping only the values a baseline
/// stores (57 bytes per request, not the row with its inter-token latencies), so
/// deriving candidates from a long run does not hold the run in memory.
///
/// Past [`SAMPLES_PER_TRIAL`] measured requests the rows kept are a uniform random
/// sample of all of them (reservoir sampling, Vitter 1985, ACM TOMS 11:37,
/// "Algorithm R": the n-th request replaces a random kept one with probability
/// cap/n), drawn from a [`StdRng`] with a fixed seed, so every request is equally
/// likely to be kept whatever the order in which they finished. The ITL histogram
/// still counts every token.
#[derive(Debug)]
pub struct SamplesBuilder {
    /// The kept requests' columns, in the order they were kept (sorted into
    /// request order by [`SamplesBuilder::finish`], in place); `itl_us_hdr` and
    /// `sampled_from` are filled in then.
    kept: Samples,
    /// Request index of each kept request.
    index: Vec<u64>,
    itl: Histogram<u64>,
    cap: usize,
    /// Measured rows seen, kept or not.
    seen: u64,
    /// Created when the cap is first exceeded.
    rng: Option<StdRng>,
}

impl Default for SamplesBuilder {
    fn default() -> Self {
        SamplesBuilder::with_cap(SAMPLES_PER_TRIAL)
    }
}

impl SamplesBuilder {
    /// Keeps at most `cap` rows (at least one).
    pub fn with_cap(cap: usize) -> Self {
        SamplesBuilder {
            kept: Samples::default(),
            index: Vec::new(),
            itl: itl_histogram(),
            cap: cap.max(1),
            seen: 0,
            rng: None,
        }
    }

    /// Adds a row if it is measured (warm-up, cancelled and dropped rows are not).
    pub fn add(&mut self, r: &RequestRow) {
        if !r.measured() {
            return;
        }
        self.seen += 1;
        let len = self.index.len();
        if len < self.cap {
            // Grow by doubling, but never past the cap.
            if len == self.index.capacity() {
                let more = len.max(16).min(self.cap - len);
                let k = &mut self.kept;
                self.index.reserve_exact(more);
                k.error_kind.reserve_exact(more);
                k.ttft_ms.reserve_exact(more);
                k.tpot_ms.reserve_exact(more);
                k.e2e_ms.reserve_exact(more);
                k.output_tokens.reserve_exact(more);
            }
            let k = &mut self.kept;
            self.index.push(r.index);
            k.error_kind.push(r.error_kind);
            k.ttft_ms.push(r.ttft_ms);
            k.tpot_ms.push(r.tpot_ms);
            k.e2e_ms.push(r.e2e_ms);
            k.output_tokens.push(r.output_tokens);
        } else {
            let rng = self
                .rng
                .get_or_insert_with(|| StdRng::seed_from_u64(SAMPLE_SEED));
            let slot = rng.gen_range(0..self.seen) as usize;
            if slot < len {
                let k = &mut self.kept;
                self.index[slot] = r.index;
                k.error_kind[slot] = r.error_kind;
                k.ttft_ms[slot] = r.ttft_ms;
                k.tpot_ms[slot] = r.tpot_ms;
                k.e2e_ms[slot] = r.e2e_ms;
                k.output_tokens[slot] = r.output_tokens;
            }
        }
        if r.ok {
            for v in &r.itl_ms {
                self.itl
                    .saturating_record((v * 1000.0).round().max(0.0) as u64);
            }
        }
    }

    /// The samples in request order (a stable sort by index).
    ///
    /// The columns are permuted in place, so finishing needs one index per kept
    /// request on top of what is kept, not a second copy of every column.
    pub fn finish(mut self) -> Samples {
        let n = self.index.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| self.index[i]);
        // Position k takes the request now at order[k]: follow each cycle of the
        // permutation, swapping along it, and mark each position done.
        let k = &mut self.kept;
        for start in 0..n {
            let mut at = start;
            while order[at] != at {
                let from = order[at];
                order[at] = at;
                if from == start {
                    break;
                }
                k.error_kind.swap(at, from);
                k.ttft_ms.swap(at, from);
                k.tpot_ms.swap(at, from);
                k.e2e_ms.swap(at, from);
                k.output_tokens.swap(at, from);
                at = from;
            }
        }
        drop(order);
        Samples {
            itl_us_hdr: encode_histogram(&self.itl),
            sampled_from: (self.seen > n as u64).then_some(self.seen),
            ..self.kept
        }
    }
}

/// An empty ITL histogram: 1 µs to one hour, 3 significant digits (longer gaps are
/// recorded as one hour).
pub fn itl_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// base64(V2 + DEFLATE) of a histogram.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

pub fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}
