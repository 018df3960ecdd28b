//! Rows of a whole run, in any order, sorted by scenario and trial into
//! accumulators; trials pooled and telemetry joined into a [`Summary`].

use std::collections::BTreeMap;

use super::{Accumulator, Metrics, ScenarioSummary, Summary};
use crate::fingerprint::Fingerprint;
use crate::manifest::{Manifest, RunMeta, SCHEMA_VERSION};
use crate::metrics::ClientHealth;
use crate::record::RequestRow;
use crate::telemetry::{TelemetryAccumulator, TelemetryRecord};

/// Joins telemetry to the metrics of the same window: energy per token needs the
/// window's tokens, goodput per watt its goodput.
fn with_telemetry(mut m: Metrics, t: &TelemetryAccumulator) -> Metrics {
    m.telemetry = t.finish(
        m.output_tokens_total,
        m.goodput.as_ref().map(|g| g.requests_per_s),
    );
    m
}

/// Builds summaries incrementally: feed rows in any order, then [`finish`](Self::finish).
#[derive(Debug)]
pub struct SummaryBuilder {
    manifest: Manifest,
    /// Per scenario (manifest order), per trial.
    trials: Vec<BTreeMap<u32, Accumulator>>,
    /// Telemetry records, per scenario and trial like `trials`.
    telemetry: Vec<BTreeMap<u32, Vec<TelemetryRecord>>>,
}

impl SummaryBuilder {
    pub fn new(manifest: Manifest) -> Self {
        let trials = vec![BTreeMap::new(); manifest.scenarios.len()];
        let telemetry = vec![BTreeMap::new(); manifest.scenarios.len()];
        SummaryBuilder {
            manifest,
            trials,
            telemetry,
        }
    }

    /// Telemetry of scenarios the manifest does not know is ignored.
    pub fn add_telemetry(&mut self, record: &TelemetryRecord) {
        let Some(i) = self
            .manifest
            .scenarios
            .iter()
            .position(|s| s.name == record.scenario())
        else {
            return;
        };
        self.telemetry[i]
            .entry(record.trial())
            .or_default()
            .push(record.clone());
    }

    /// Rows of scenarios the manifest does not know are ignored.
    pub fn add(&mut self, row: &RequestRow) {
        let Some(i) = self
            .manifest
            .scenarios
            .iter()
            .position(|s| s.name == row.scenario)
        else {
            return;
        };
        let slo = &self.manifest.scenarios[i].slo;
        self.trials[i].entry(row.trial).or_default().add(row, slo);
    }

    /// Records what the client measured about itself during a trial. Health of
    /// scenarios the manifest does not know is ignored.
    pub fn add_health(&mut self, scenario: &str, trial: u32, health: ClientHealth) {
        if let Some(i) = self
            .manifest
            .scenarios
            .iter()
            .position(|s| s.name == scenario)
        {
            self.trials[i].entry(trial).or_default().health = Some(health);
        }
    }

    pub fn run_meta_mut(&mut self) -> &mut RunMeta {
        &mut self.manifest.run
    }

    pub fn finish(self) -> Summary {
        let scenarios = self
            .manifest
            .scenarios
            .into_iter()
            .zip(self.trials)
            .zip(self.telemetry)
            .filter(|((_, trials), _)| !trials.is_empty())
            .map(|((spec, trials), telemetry)| {
                let mut pooled = Accumulator::default();
                let mut pooled_telemetry = TelemetryAccumulator::default();
                let mut per_trial = Vec::with_capacity(trials.len());
                let single = trials.len() == 1;
                for (i, (trial, acc)) in trials.into_iter().enumerate() {
                    let records: Vec<&TelemetryRecord> =
                        telemetry.get(&trial).into_iter().flatten().collect();
                    let t = TelemetryAccumulator::from_records(&records, acc.window_ms());
                    if single {
                        // One trial is its own pool: no copy of its samples.
                    } else if i == 0 {
                        pooled = acc.clone();
                        pooled_telemetry = t.clone();
                    } else {
                        pooled.merge(&acc);
                        pooled_telemetry.merge(&t);
                    }
                    per_trial.push(with_telemetry(acc.finish(&spec), &t));
                }
                let metrics = match (single, per_trial.first()) {
                    (true, Some(only)) => only.clone(),
                    _ => with_telemetry(pooled.finish(&spec), &pooled_telemetry),
                };
                ScenarioSummary {
                    name: spec.name.clone(),
                    fingerprint: Some(Fingerprint::of(&self.manifest.run, &spec)),
                    metrics,
                    trials: per_trial,
                    spec,
                }
            })
            .collect();
        Summary {
            schema_version: SCHEMA_VERSION,
            run: self.manifest.run,
            scenarios,
        }
    }
}
