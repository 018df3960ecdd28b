//! A Prometheus histogram that takes a whole response's gaps under one lock.
//!
//! `prometheus_client`'s `Histogram` locks and scans its buckets once per
//! observation: for inter-token gaps that is ~128 lock round trips per row on the
//! writer thread, which already spends most of its time per row on the same gaps
//! (docs/performance.md). This one sorts a row's gaps into buckets with a binary
//! search and adds them in one critical section; it is encoded exactly like the
//! crate's own histograms.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

#[derive(Debug, Clone)]
pub struct BatchHistogram {
    /// Upper bounds, increasing; `+Inf` is implied after the last.
    bounds: &'static [f64],
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    sum: f64,
    count: u64,
    /// One more than `bounds`: the last is the `+Inf` bucket.
    buckets: Vec<u64>,
}

impl BatchHistogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        BatchHistogram {
            bounds,
            inner: Arc::new(Mutex::new(Inner {
                sum: 0.0,
                count: 0,
                buckets: vec![0; bounds.len() + 1],
            })),
        }
    }

    /// Observes every value, in seconds.
    pub fn observe_all(&self, values: impl IntoIterator<Item = f64>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for v in values {
            // The first bound ≥ v, as Prometheus's `le` says; NaN goes to +Inf.
            let i = self.bounds.partition_point(|&b| b < v);
            inner.buckets[i] += 1;
            inner.sum += v;
            inner.count += 1;
        }
    }

    /// Number of observations so far.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).count
    }
}

impl TypedMetric for BatchHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for BatchHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = {
            let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let buckets: Vec<(f64, u64)> = self
                .bounds
                .iter()
                .copied()
                .chain(std::iter::once(f64::INFINITY))
                .zip(inner.buckets.iter().copied())
                .collect();
            (inner.sum, inner.count, buckets)
        };
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::histogram::Histogram;
    use prometheus_client::registry::Registry;

    fn exposition(register: impl FnOnce(&mut Registry)) -> String {
        let mut registry = Registry::default();
        register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    /// Same observations, same text as the crate's own histogram, bounds included
    /// (a value on a bound belongs to that bound's bucket).
    #[test]
    fn encodes_as_the_crates_histogram_does() {
        const BOUNDS: &[f64] = &[0.001, 0.01, 0.1];
        let values = [0.0005, 0.001, 0.002, 0.01, 0.05, 0.1, 0.3, 7.0, 0.0];
        let batch = BatchHistogram::new(BOUNDS);
        batch.observe_all(values[..4].iter().copied());
        batch.observe_all(values[4..].iter().copied());
        let single = Histogram::new(BOUNDS.iter().copied());
        for v in values {
            single.observe(v);
        }
        let a = exposition(|r| r.register("gap", "Gaps", batch.clone()));
        let b = exposition(|r| r.register("gap", "Gaps", single));
        assert_eq!(a, b);
        assert!(a.contains("gap_bucket{le=\"0.001\"} 3\n"), "{a}");
        assert_eq!(batch.count(), values.len() as u64);
    }
}
