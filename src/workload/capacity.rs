//! Capacity at SLO: the highest request rate at which at least a target fraction of
//! requests meets the SLO, found by bracketing then bisection.
//!
//! Each step runs the load at one rate and reports how many measured requests met
//! the SLO. A step *passes* when the fraction's Wilson score interval (Wilson 1927,
//! "Probable inference, the law of succession, and statistical inference", JASA
//! 22:209) lies wholly at or above the target, *fails* when it lies wholly below,
//! and is *indistinguishable* from the target when the interval straddles it.
//!
//! A step counts as below the knee when its observed fraction reaches the target
//! and above it otherwise; the interval only decides when to stop.
//!
//! - **Bracketing**: from `start`, the rate doubles while steps are below the knee
//!   and halves while they are above, until a rate on each side is known.
//! - **Bisection** on the geometric mean of the bracket (rates span orders of
//!   magnitude, so relative, not absolute, width is what matters).
//!
//! **Stopping rule.** The search ends when (a) the bracket is narrower than
//! `tolerance` (relative: `hi / lo − 1`), since no finer answer is asked for; (b) a
//! bisection step (inside a known bracket) is indistinguishable from the target:
//! with the requests a step sends, the server attains the target there within
//! sampling noise, so bisecting further would be steered by noise (that step's
//! rate is the answer, inside the bracket); or (c) `max_steps` steps have run.
//! The answer is always reported with its bracket, which is its uncertainty.
//! A step too small to ever pass (see [`min_requests`]) still moves the search by
//! its observed fraction, but cannot narrow it past its first bisection.
//!
//! **Concurrency** (`knob: concurrency`, a closed loop) is searched the same way
//! on whole numbers: halving rounds down (never below 1), bisection takes the
//! rounded geometric mean strictly inside the bracket, and the bracket is also
//! narrow enough once its ends are adjacent (no whole number lies between). The
//! answer is then the bracket's lower end, the highest concurrency seen meeting
//! the target, or the geometric mean rounded down when steps ran out first.
//!
//! Pure: the caller runs each step and feeds back the counts.

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// What a search moves: the rate of an open loop or the workers of a closed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// Requests per second.
    Rate,
    /// Requests in flight: a whole number ≥ 1.
    Concurrency,
}

impl Knob {
    /// Its name in `capacity.json` (`knob`).
    pub fn name(self) -> &'static str {
        match self {
            Knob::Rate => "rate",
            Knob::Concurrency => "concurrency",
        }
    }

    /// Its unit, for messages.
    pub fn unit(self) -> &'static str {
        match self {
            Knob::Rate => "req/s",
            Knob::Concurrency => "in flight",
        }
    }
}

/// What a search is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchSettings {
    pub knob: Knob,
    /// The first rate (requests per second) or concurrency tried.
    pub start: f64,
    /// The fraction of requests that must meet the SLO, in (0, 1).
    pub attain: f64,
    /// Relative bracket width at which the search stops.
    pub tolerance: f64,
    /// Most steps run.
    pub max_steps: u32,
}

/// How one step compares with the target fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepVerdict {
    Pass,
    Fail,
    /// The Wilson interval contains the target.
    Indistinguishable,
}

/// One step that ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub rate: f64,
    /// Measured requests that met the SLO.
    pub good: u64,
    /// Measured requests.
    pub total: u64,
    pub verdict: StepVerdict,
}

/// The outcome: the highest sustainable rate and its bracket.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// The estimate: the bracket's geometric mean, or the indistinguishable step's
    /// rate. `None` when even the lowest rate tried failed or no step passed.
    pub rate: Option<f64>,
    /// Highest rate that passed (or was indistinguishable).
    pub lower: Option<f64>,
    /// Lowest rate that failed.
    pub upper: Option<f64>,
    pub steps: Vec<Step>,
    pub stopped: Stopped,
}

/// Why the search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Converged,
    Indistinguishable,
    MaxSteps,
}

/// A search in progress.
#[derive(Debug, Clone)]
pub struct CapacitySearch {
    settings: SearchSettings,
    steps: Vec<Step>,
    lower: Option<f64>,
    upper: Option<f64>,
    stopped: Option<Stopped>,
}

impl CapacitySearch {
    pub fn new(settings: SearchSettings) -> CapacitySearch {
        CapacitySearch {
            settings,
            steps: Vec::new(),
            lower: None,
            upper: None,
            stopped: None,
        }
    }

    /// The rate of the next step; `None` once the search has ended.
    pub fn next_rate(&self) -> Option<f64> {
        if self.stopped.is_some() {
            return None;
        }
        let next = match (self.lower, self.upper) {
            (None, None) => self.settings.start,
            (Some(lo), None) => lo * 2.0,
            (None, Some(hi)) => hi / 2.0,
            (Some(lo), Some(hi)) => (lo * hi).sqrt(),
        };
        Some(match (self.settings.knob, self.lower, self.upper) {
            (Knob::Rate, ..) => next,
            (Knob::Concurrency, Some(lo), Some(hi)) => next.round().clamp(lo + 1.0, hi - 1.0),
            (Knob::Concurrency, ..) => next.floor().max(1.0),
        })
    }

    /// Records the step run at `rate`: `good` of `total` measured requests met the SLO.
    pub fn record(&mut self, rate: f64, good: u64, total: u64) -> StepVerdict {
        let verdict = verdict(good, total, self.settings.attain);
        self.steps.push(Step {
            rate,
            good,
            total,
            verdict,
        });
        // The side of the knee a step lies on follows its observed fraction; only
        // whether that is distinguishable from the target decides when to stop.
        let bracketed = self.lower.is_some() && self.upper.is_some();
        if good as f64 >= self.settings.attain * total as f64 && total > 0 {
            self.lower = Some(self.lower.map_or(rate, |lo| lo.max(rate)));
        } else {
            self.upper = Some(self.upper.map_or(rate, |hi| hi.min(rate)));
        }
        if bracketed && verdict == StepVerdict::Indistinguishable {
            self.stopped = Some(Stopped::Indistinguishable);
        }
        let whole = self.settings.knob == Knob::Concurrency;
        if self.stopped.is_none() {
            if let (Some(lo), Some(hi)) = (self.lower, self.upper) {
                if hi / lo - 1.0 <= self.settings.tolerance || (whole && hi - lo <= 1.0) {
                    self.stopped = Some(Stopped::Converged);
                }
            }
            // A concurrency of 1 missed the target: there is nothing lower to try.
            if whole && self.lower.is_none() && self.upper.is_some_and(|hi| hi <= 1.0) {
                self.stopped = Some(Stopped::Converged);
            }
        }
        if self.stopped.is_none() && self.steps.len() as u32 >= self.settings.max_steps {
            self.stopped = Some(Stopped::MaxSteps);
        }
        verdict
    }

    pub fn result(&self) -> Capacity {
        let last = self.steps.last().map(|s| s.rate);
        let rate = match (self.stopped, self.lower, self.upper) {
            (Some(Stopped::Indistinguishable), _, _) => last,
            (_, Some(lo), Some(hi)) if self.settings.knob == Knob::Concurrency => {
                Some((lo * hi).sqrt().floor().max(lo))
            }
            (_, Some(lo), Some(hi)) => Some((lo * hi).sqrt()),
            (_, Some(lo), None) => Some(lo),
            _ => None,
        };
        Capacity {
            rate,
            lower: self.lower,
            upper: self.upper,
            steps: self.steps.clone(),
            stopped: self.stopped.unwrap_or(Stopped::MaxSteps),
        }
    }
}

/// The fewest measured requests a step needs for a perfect step (every request
/// meeting the SLO) to be distinguishable from `attain`: below it, every step
/// that does not fail outright is indistinguishable.
pub fn min_requests(attain: f64) -> u64 {
    (1..100_000)
        .find(|&n| verdict(n, n, attain) == StepVerdict::Pass)
        .unwrap_or(100_000)
}

/// Pass, fail, or indistinguishable: where the 95% Wilson interval of `good / total`
/// lies relative to `attain`.
pub fn verdict(good: u64, total: u64, attain: f64) -> StepVerdict {
    let (lo, hi) = wilson(good, total);
    if lo >= attain {
        StepVerdict::Pass
    } else if hi < attain {
        StepVerdict::Fail
    } else {
        StepVerdict::Indistinguishable
    }
}

/// The 95% Wilson score interval of a binomial proportion.
pub fn wilson(good: u64, total: u64) -> (f64, f64) {
    if total == 0 {
        return (0.0, 1.0);
    }
    let n = total as f64;
    let p = good as f64 / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SearchSettings {
        SearchSettings {
            knob: Knob::Rate,
            start: 10.0,
            attain: 0.9,
            tolerance: 0.05,
            max_steps: 20,
        }
    }

    /// A server that meets the SLO for every request below `knee` and for none above.
    fn run(knee: f64, settings: SearchSettings) -> Capacity {
        let mut search = CapacitySearch::new(settings);
        while let Some(rate) = search.next_rate() {
            let good = if rate <= knee { 400 } else { 0 };
            search.record(rate, good, 400);
        }
        search.result()
    }

    #[test]
    fn wilson_matches_a_published_value() {
        // 81 of 263: Wilson 95% interval 0.2553 to 0.3662 (Newcombe 1998, Table I).
        let (lo, hi) = wilson(81, 263);
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn a_sharp_knee_is_bracketed_within_the_tolerance() {
        for knee in [0.7, 13.0, 160.0, 5000.0] {
            let c = run(knee, settings());
            assert_eq!(c.stopped, Stopped::Converged, "{c:?}");
            let (lo, hi) = (c.lower.unwrap(), c.upper.unwrap());
            assert!(lo <= knee && knee < hi, "{knee} outside [{lo}, {hi}]");
            assert!(hi / lo - 1.0 <= 0.05);
            assert!((c.rate.unwrap() / knee - 1.0).abs() < 0.05, "{c:?}");
        }
    }

    #[test]
    fn the_step_limit_bounds_the_search() {
        let c = run(
            1e6,
            SearchSettings {
                max_steps: 4,
                ..settings()
            },
        );
        assert_eq!(c.steps.len(), 4);
        assert_eq!(c.stopped, Stopped::MaxSteps);
        assert_eq!((c.lower, c.upper, c.rate), (Some(80.0), None, Some(80.0)));
    }

    #[test]
    fn a_bisection_step_at_the_target_within_noise_ends_the_search_there() {
        let mut search = CapacitySearch::new(settings());
        assert_eq!(search.record(10.0, 100, 100), StepVerdict::Pass);
        // 90 of 100 is the target itself, but no bracket is known yet: go on.
        assert_eq!(search.record(20.0, 90, 100), StepVerdict::Indistinguishable);
        assert_eq!(search.next_rate(), Some(40.0));
        assert_eq!(search.record(40.0, 10, 100), StepVerdict::Fail);
        let mid = search.next_rate().unwrap();
        assert!((mid - 800f64.sqrt()).abs() < 1e-9);
        assert_eq!(search.record(mid, 88, 100), StepVerdict::Indistinguishable);
        assert_eq!(search.next_rate(), None);
        let c = search.result();
        assert_eq!((c.rate, c.stopped), (Some(mid), Stopped::Indistinguishable));
        assert_eq!((c.lower, c.upper), (Some(20.0), Some(mid)));
        assert_eq!(verdict(50, 100, 0.9), StepVerdict::Fail);
    }

    #[test]
    fn small_steps_still_move_the_search() {
        // 35 perfect requests are the fewest that tell 100% from 90%.
        assert_eq!(min_requests(0.9), 35);
        let mut search = CapacitySearch::new(settings());
        assert_eq!(search.record(10.0, 4, 4), StepVerdict::Indistinguishable);
        assert_eq!(search.next_rate(), Some(20.0));
    }

    #[test]
    fn concurrency_is_searched_on_whole_numbers() {
        let whole = SearchSettings {
            knob: Knob::Concurrency,
            start: 2.0,
            ..settings()
        };
        for knee in [1.0, 3.0, 10.0, 37.0] {
            let c = run(knee, whole);
            assert_eq!(c.stopped, Stopped::Converged, "{c:?}");
            assert_eq!(c.rate, Some(knee), "{c:?}");
            assert_eq!(c.upper, Some(knee + 1.0), "{c:?}");
            assert!(c
                .steps
                .iter()
                .all(|s| s.rate.fract() == 0.0 && s.rate >= 1.0));
        }
        // Even one request in flight misses the target: the search ends there.
        let c = run(0.5, whole);
        assert_eq!((c.rate, c.lower, c.upper), (None, None, Some(1.0)), "{c:?}");
        assert_eq!(c.steps.len(), 2);
    }
}
