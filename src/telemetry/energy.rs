//! GPU samples → energy, power and utilisation over a trial's measured window.
//!
//! The window is the one throughput is divided by (first measured send to last
//! measured completion), so tokens per joule and tokens per second describe the same
//! stretch of time. Samples are taken every few hundred milliseconds and the window
//! edges fall between them, so every quantity is interpolated linearly at the edges.
//!
//! Energy comes from the driver's total energy counter where every GPU has one
//! (Volta and newer): its difference across the window. Otherwise the power samples
//! are integrated (trapezoidal rule). Both are kept when both exist, since their
//! agreement is the check that the sampling is fine enough. NVML's power reading is
//! itself an average over about a second on recent drivers, so integration lags
//! power changes slightly; over a window of many seconds this cancels out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::record::{GpuSample, GpuSource};

/// How a scenario's energy was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnergyMethod {
    /// Difference of the driver's total energy counter.
    Counter,
    /// Power samples integrated over time (no energy counter on some GPU).
    PowerIntegration,
}

impl EnergyMethod {
    pub fn describe(self) -> &'static str {
        match self {
            EnergyMethod::Counter => "energy counter",
            EnergyMethod::PowerIntegration => "integrated power samples",
        }
    }
}

/// GPU power and energy over the measured window, summed over the sampled GPUs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuMetrics {
    pub source: GpuSource,
    /// GPUs sampled.
    pub gpus: u32,
    /// Readings inside the window (one per GPU per tick).
    pub samples: u64,
    /// The window energy is taken over (summed over pooled trials), s.
    pub window_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_method: Option<EnergyMethod>,
    /// Energy by each method, where it could be computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_counter_j: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_integrated_j: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_joule: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_output_token: Option<f64>,
    /// energy_j / window_s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_mean_w: Option<f64>,
    /// Highest reading of one tick (all GPUs together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_peak_w: Option<f64>,
    /// Mean over GPUs and ticks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_util_mean_pct: Option<f64>,
    /// Highest memory in use at one tick, all GPUs together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_max_mib: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mean_mhz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_max_c: Option<f64>,
    /// Goodput (requests/s meeting every SLO) per watt of mean power.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput_requests_per_s_per_w: Option<f64>,
}

/// Running sums of one or more trials, before the window's tokens are known.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuAccumulator {
    source: GpuSource,
    gpus: BTreeSet<u32>,
    samples: u64,
    window_s: f64,
    counter_j: Option<f64>,
    integrated_j: Option<f64>,
    peak_w: Option<f64>,
    util: (f64, u64),
    clock: (f64, u64),
    memory_max_mib: Option<f64>,
    temperature_max_c: Option<f64>,
}

/// Linear interpolation of `value` at time `t` from time-sorted points; clamped to
/// the first/last point outside their span.
fn at(points: &[(f64, f64)], t: f64) -> Option<f64> {
    let first = points.first()?;
    let last = points.last()?;
    if t <= first.0 {
        return Some(first.1);
    }
    if t >= last.0 {
        return Some(last.1);
    }
    let i = points.partition_point(|p| p.0 <= t);
    let (t0, v0) = points[i - 1];
    let (t1, v1) = points[i];
    if t1 <= t0 {
        return Some(v1);
    }
    Some(v0 + (v1 - v0) * (t - t0) / (t1 - t0))
}

/// ∫ value dt over [a, b] (ms → value·s) by the trapezoidal rule, with the edges
/// interpolated.
fn integrate(points: &[(f64, f64)], a: f64, b: f64) -> Option<f64> {
    if points.is_empty() || b <= a {
        return None;
    }
    let mut knots = vec![(a, at(points, a)?)];
    knots.extend(points.iter().copied().filter(|p| p.0 > a && p.0 < b));
    knots.push((b, at(points, b)?));
    Some(
        knots
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) / 1000.0 * (w[0].1 + w[1].1) / 2.0)
            .sum(),
    )
}

fn series(samples: &[&GpuSample], f: impl Fn(&GpuSample) -> Option<f64>) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| Some((s.t_ms, f(s)?)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

impl GpuAccumulator {
    /// One trial: its samples from one source (any order) and its measured window
    /// (ms since the trial start). `None` without samples or without a window.
    pub fn from_samples(
        source: GpuSource,
        samples: &[&GpuSample],
        window_ms: Option<(f64, f64)>,
    ) -> Option<GpuAccumulator> {
        let (a, b) = window_ms?;
        if samples.is_empty() || b <= a {
            return None;
        }
        let mut by_gpu: BTreeMap<u32, Vec<&GpuSample>> = BTreeMap::new();
        for s in samples {
            by_gpu.entry(s.gpu).or_default().push(s);
        }
        let (mut counter, mut integrated) = (Some(0.0), Some(0.0));
        for gpu_samples in by_gpu.values() {
            let energy = series(gpu_samples, |s| s.energy_mj);
            let gpu_counter = match (at(&energy, a), at(&energy, b)) {
                (Some(ea), Some(eb)) if energy.len() >= 2 && eb >= ea => Some((eb - ea) / 1000.0),
                _ => None,
            };
            counter = counter.zip(gpu_counter).map(|(x, y)| x + y);
            let power = series(gpu_samples, |s| s.power_w);
            let gpu_integrated = integrate(&power, a, b);
            integrated = integrated.zip(gpu_integrated).map(|(x, y)| x + y);
        }
        let inside: Vec<&GpuSample> = samples
            .iter()
            .copied()
            .filter(|s| s.t_ms >= a && s.t_ms <= b)
            .collect();
        // One tick: every GPU read at the same t_ms.
        let mut ticks: BTreeMap<u64, (Option<f64>, Option<f64>)> = BTreeMap::new();
        let (mut util, mut clock) = ((0.0, 0), (0.0, 0));
        let mut temperature_max_c: Option<f64> = None;
        for s in &inside {
            let tick = ticks.entry(s.t_ms.to_bits()).or_default();
            if let Some(p) = s.power_w {
                tick.0 = Some(tick.0.unwrap_or(0.0) + p);
            }
            if let Some(m) = s.memory_used_mib {
                tick.1 = Some(tick.1.unwrap_or(0.0) + m);
            }
            if let Some(u) = s.gpu_util_pct {
                util = (util.0 + u, util.1 + 1);
            }
            if let Some(c) = s.sm_clock_mhz {
                clock = (clock.0 + c, clock.1 + 1);
            }
            if let Some(t) = s.temperature_c {
                temperature_max_c = Some(temperature_max_c.map_or(t, |m: f64| m.max(t)));
            }
        }
        let max = |xs: &mut dyn Iterator<Item = f64>| {
            xs.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
        };
        Some(GpuAccumulator {
            source,
            gpus: by_gpu.keys().copied().collect(),
            samples: inside.len() as u64,
            window_s: (b - a) / 1000.0,
            counter_j: counter,
            integrated_j: integrated,
            peak_w: max(&mut ticks.values().filter_map(|t| t.0)),
            util,
            clock,
            memory_max_mib: max(&mut ticks.values().filter_map(|t| t.1)),
            temperature_max_c,
        })
    }

    /// Pools another trial: energies and windows add up, peaks take the larger.
    pub fn merge(&mut self, other: &GpuAccumulator) {
        let larger = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.gpus.extend(&other.gpus);
        self.samples += other.samples;
        self.window_s += other.window_s;
        self.counter_j = self.counter_j.zip(other.counter_j).map(|(a, b)| a + b);
        self.integrated_j = self
            .integrated_j
            .zip(other.integrated_j)
            .map(|(a, b)| a + b);
        self.peak_w = larger(self.peak_w, other.peak_w);
        self.util = (self.util.0 + other.util.0, self.util.1 + other.util.1);
        self.clock = (self.clock.0 + other.clock.0, self.clock.1 + other.clock.1);
        self.memory_max_mib = larger(self.memory_max_mib, other.memory_max_mib);
        self.temperature_max_c = larger(self.temperature_max_c, other.temperature_max_c);
    }

    /// The metrics, given the window's output tokens and goodput (requests/s).
    pub fn finish(&self, output_tokens: u64, goodput_requests_per_s: Option<f64>) -> GpuMetrics {
        let (energy_j, energy_method) = match (self.counter_j, self.integrated_j) {
            (Some(c), _) => (Some(c), Some(EnergyMethod::Counter)),
            (None, Some(i)) => (Some(i), Some(EnergyMethod::PowerIntegration)),
            (None, None) => (None, None),
        };
        let energy = energy_j.filter(|e| *e > 0.0);
        let power_mean_w = energy
            .filter(|_| self.window_s > 0.0)
            .map(|e| e / self.window_s);
        let tokens = output_tokens as f64;
        let mean = |(sum, n): (f64, u64)| (n > 0).then(|| sum / n as f64);
        GpuMetrics {
            source: self.source,
            gpus: self.gpus.len() as u32,
            samples: self.samples,
            window_s: self.window_s,
            energy_j,
            energy_method,
            energy_counter_j: self.counter_j,
            energy_integrated_j: self.integrated_j,
            output_tokens_per_joule: energy.map(|e| tokens / e),
            joules_per_output_token: energy.filter(|_| output_tokens > 0).map(|e| e / tokens),
            power_mean_w,
            power_peak_w: self.peak_w,
            gpu_util_mean_pct: mean(self.util),
            memory_used_max_mib: self.memory_max_mib,
            sm_clock_mean_mhz: mean(self.clock),
            temperature_max_c: self.temperature_max_c,
            goodput_requests_per_s_per_w: goodput_requests_per_s
                .zip(power_mean_w)
                .map(|(g, p)| g / p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(gpu: u32, t_ms: f64, power_w: f64, energy_mj: Option<f64>) -> GpuSample {
        GpuSample {
            scenario: "s".into(),
            trial: 0,
            t_ms,
            gpu,
            power_w: Some(power_w),
            energy_mj,
            gpu_util_pct: Some(50.0),
            memory_used_mib: Some(1000.0),
            sm_clock_mhz: Some(1500.0),
            temperature_c: Some(40.0 + t_ms / 1000.0),
        }
    }

    /// A GPU drawing a constant 300 W, sampled every 250 ms, with a counter that
    /// agrees: both methods give 300 W × the window, whatever the edges.
    #[test]
    fn counter_and_integration_agree_on_constant_power() {
        let samples: Vec<GpuSample> = (0..=40)
            .map(|i| {
                let t = i as f64 * 250.0;
                sample(0, t, 300.0, Some(1e9 + 300.0 * t))
            })
            .collect();
        let refs: Vec<&GpuSample> = samples.iter().collect();
        let acc =
            GpuAccumulator::from_samples(GpuSource::Nvml, &refs, Some((130.0, 9870.0))).unwrap();
        let m = acc.finish(9740, Some(2.0));
        let expected = 300.0 * 9.74;
        assert!((m.energy_counter_j.unwrap() - expected).abs() < 1e-6);
        assert!((m.energy_integrated_j.unwrap() - expected).abs() < 1e-6);
        assert_eq!(m.energy_method, Some(EnergyMethod::Counter));
        assert!((m.power_mean_w.unwrap() - 300.0).abs() < 1e-9);
        assert!((m.output_tokens_per_joule.unwrap() - 9740.0 / expected).abs() < 1e-12);
        assert!((m.joules_per_output_token.unwrap() - expected / 9740.0).abs() < 1e-12);
        assert!((m.goodput_requests_per_s_per_w.unwrap() - 2.0 / 300.0).abs() < 1e-12);
        assert_eq!(m.power_peak_w, Some(300.0));
        assert_eq!(m.gpu_util_mean_pct, Some(50.0));
    }

    /// Without a counter on one GPU the power samples are integrated, for all GPUs;
    /// a ramp is integrated exactly by the trapezoidal rule.
    #[test]
    fn falls_back_to_integrating_power() {
        let mut samples = Vec::new();
        for i in 0..=10 {
            let t = i as f64 * 100.0;
            samples.push(sample(0, t, 100.0 + t / 10.0, None));
            samples.push(sample(1, t, 50.0, Some(5000.0 + 50.0 * t)));
        }
        let refs: Vec<&GpuSample> = samples.iter().collect();
        let acc =
            GpuAccumulator::from_samples(GpuSource::Nvml, &refs, Some((0.0, 1000.0))).unwrap();
        let m = acc.finish(100, None);
        assert_eq!(m.energy_method, Some(EnergyMethod::PowerIntegration));
        assert_eq!(m.energy_counter_j, None);
        // GPU 0: 100 → 200 W over 1 s = 150 J; GPU 1: 50 J.
        assert!((m.energy_j.unwrap() - 200.0).abs() < 1e-9);
        assert_eq!(m.gpus, 2);
        assert_eq!(m.power_peak_w, Some(250.0));
        assert_eq!(m.memory_used_max_mib, Some(2000.0));
    }

    #[test]
    fn pooled_trials_add_energy_and_window() {
        let samples: Vec<GpuSample> = (0..=4)
            .map(|i| sample(0, i as f64 * 500.0, 200.0, Some(200.0 * i as f64 * 500.0)))
            .collect();
        let refs: Vec<&GpuSample> = samples.iter().collect();
        let one =
            GpuAccumulator::from_samples(GpuSource::Nvml, &refs, Some((0.0, 2000.0))).unwrap();
        let mut pooled = one.clone();
        pooled.merge(&one);
        let m = pooled.finish(800, None);
        assert!((m.energy_j.unwrap() - 800.0).abs() < 1e-9);
        assert!((m.window_s - 4.0).abs() < 1e-12);
        assert!((m.power_mean_w.unwrap() - 200.0).abs() < 1e-9);
        assert_eq!(m.joules_per_output_token, Some(1.0));
    }

    #[test]
    fn no_window_no_metrics() {
        let s = sample(0, 0.0, 1.0, None);
        assert!(GpuAccumulator::from_samples(GpuSource::Nvml, &[&s], None).is_none());
        assert!(GpuAccumulator::from_samples(GpuSource::Nvml, &[], Some((0.0, 1.0))).is_none());
    }
}
