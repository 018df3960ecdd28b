//! The client's own health during a trial, and the verdict on whether the client,
//! not the server, was the bottleneck.
//!
//! A load generator that runs out of CPU, or that is not running at all while
//! tokens arrive, timestamps chunks late and sends late: its numbers then describe
//! the client. The runner measures the symptoms (see `runner::health` and
//! `runner::stall_watch`); this module turns them into a `client_limited` flag
//! with reasons, so summaries, reports and comparisons can say so instead of
//! presenting the numbers as the server's. Pure: no clock, no I/O.
//!
//! The verdict is judged against paired truth (scripts/selfcheck_study.py: a
//! trial is client-limited when its per-request TTFT error, against the moment
//! the server wrote each first token, has p99 over 1 ms). Over plain `http://` on
//! Linux the client measures that error itself: the kernel stamps each packet as
//! it arrives, and a first token that waited over 1 ms before the client read it
//! marks its row; more than 1 % of them puts the p99 past 1 ms. Elsewhere it is
//! predicted: requests whose first token fell inside a process stall, a
//! saturated CPU, and a runtime late most of the time (a runtime late only now
//! and then is not: a closed loop's burst of first tokens delays the watchdog
//! task by milliseconds while every token is still stamped on time). An open-loop
//! dispatcher that woke late is a symptom either way: it sends late.

use serde::{Deserialize, Serialize};

/// A runtime that polls a due task more than this late skews timestamps by as
/// much; a symptom when the watchdog's median is past it (late most of the time).
pub const SCHED_LAG_LIMIT_MS: f64 = 2.0;
/// Share of requests whose first token fell in a stall beyond which the trial's
/// TTFT p99 is the client's delay: more than 1 % of them.
pub const STALLED_REQUEST_SHARE: f64 = 0.01;
/// Share of requests whose first-token wait the kernel must have timed for those
/// waits to decide the verdict alone (the rest failed before a first token).
const WAITS_MEASURED_SHARE: f64 = 0.9;
/// An open loop whose dispatcher wakes more than this late sends late by as much.
pub const DISPATCH_LAG_LIMIT_MS: f64 = 2.0;
/// Share of its CPUs the process used; beyond this the runtime has no headroom.
pub const CPU_UTILISATION_LIMIT: f64 = 0.9;
/// Below this share of its CPUs, lag is the machine's doing, not the client's load.
const MACHINE_STALL_UTILISATION: f64 = 0.5;
/// Lag samples over the limit needed before lag counts as a symptom, so one
/// hiccup in a short run does not condemn it.
pub const MIN_LATE_SAMPLES: u64 = 3;

/// What the client measured about itself during a trial (or the worst of several).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientHealth {
    /// True when any symptom crossed its limit: the results describe the client.
    pub client_limited: bool,
    /// Why, in words; empty when healthy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Watchdog samples: a task sleeping 10 ms measures how late it runs.
    pub sched_lag_samples: u64,
    pub sched_lag_p50_ms: f64,
    pub sched_lag_p99_ms: f64,
    pub sched_lag_max_ms: f64,
    /// Samples later than [`SCHED_LAG_LIMIT_MS`].
    pub sched_lag_over_limit: u64,
    /// User + system CPU time of the whole process during the trial.
    pub cpu_s: f64,
    pub wall_s: f64,
    /// CPUs the process may run on (affinity and cgroup quota).
    pub cpus: u32,
    /// cpu_s / (wall_s × cpus).
    pub cpu_utilisation: f64,
    /// Open loop: how late the dispatcher woke for scheduled sends, before any
    /// wait for a concurrency slot (that wait is the server's doing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_lag_p99_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_lag_over_limit: Option<u64>,
    /// Times the whole process did not run for more than 1 ms: a thread of its
    /// own, sleeping 1 ms at a time, woke that late (SIGSTOP, a hypervisor
    /// stealing the core, another process on the client's CPU).
    #[serde(default)]
    pub stalls: u64,
    #[serde(default)]
    pub stall_max_ms: f64,
    #[serde(default)]
    pub stall_total_ms: f64,
    /// Requests of the trial checked against the stalls (warm-up included).
    #[serde(default)]
    pub requests_watched: u64,
    /// Of those, the ones whose first token the client read late (`client_stall`
    /// in their rows): it waited over 1 ms in the kernel before the read, or,
    /// where that wait is not known, it was stamped inside a stall or right after
    /// one (within 1 ms plus the stall's length, while the runtime caught up).
    /// Their TTFT includes the client's delay.
    #[serde(default)]
    pub requests_in_stall: u64,
    /// Requests whose first token's wait in the kernel is known (plain `http://`
    /// on Linux: the kernel's receive timestamp), and the longest of those waits.
    #[serde(default)]
    pub first_token_waits_timed: u64,
    #[serde(default)]
    pub first_token_wait_max_ms: f64,
}

impl ClientHealth {
    /// Sets `client_limited` and `reasons` from the measurements.
    pub fn judge(mut self) -> ClientHealth {
        let symptoms = self.symptoms();
        self.describe(symptoms);
        self
    }

    /// Which symptoms crossed their limits.
    fn symptoms(&self) -> Symptoms {
        let dispatch = match (self.dispatch_lag_p99_ms, self.dispatch_lag_over_limit) {
            (Some(p99), Some(over)) => over >= MIN_LATE_SAMPLES && p99 > DISPATCH_LAG_LIMIT_MS,
            _ => false,
        };
        // Where the kernel said how long first tokens waited before they were
        // read, that is the measurement; a busy runtime or CPU only predicts it.
        let predicted = !self.waits_measured();
        Symptoms {
            stalls: self.requests_in_stall > 0
                && self.requests_in_stall as f64
                    > STALLED_REQUEST_SHARE * self.requests_watched as f64,
            sched_lag: predicted
                && self.sched_lag_samples > 0
                && self.sched_lag_p50_ms > SCHED_LAG_LIMIT_MS,
            cpu: predicted && self.cpu_utilisation > CPU_UTILISATION_LIMIT,
            dispatch,
        }
    }

    /// Whether the kernel timed the first-token waits of nearly every request
    /// ([`WAITS_MEASURED_SHARE`]): plain `http://` on Linux.
    fn waits_measured(&self) -> bool {
        self.first_token_waits_timed > 0
            && self.first_token_waits_timed as f64
                >= WAITS_MEASURED_SHARE * self.requests_watched as f64
    }

    /// Sets `client_limited` and one reason per symptom, worded from these numbers.
    fn describe(&mut self, symptoms: Symptoms) {
        let mut reasons = Vec::new();
        if symptoms.stalls {
            reasons.push(self.stall_reason());
        }
        if symptoms.sched_lag {
            let cause = if self.machine_stalled() {
                format!(
                    " while it used only {:.0}% of its CPU(s): the machine held it back (other processes, or CPU steal on a virtual machine)",
                    self.cpu_utilisation * 100.0
                )
            } else {
                String::new()
            };
            reasons.push(format!(
                "the client's runtime ran due tasks late most of the time (median {:.1} ms > {SCHED_LAG_LIMIT_MS} ms, up to {:.1} ms){cause}, so timestamps are late by as much",
                self.sched_lag_p50_ms, self.sched_lag_max_ms
            ));
        }
        if symptoms.cpu {
            reasons.push(format!(
                "the client process used {:.0}% of its {} CPU(s)",
                self.cpu_utilisation * 100.0,
                self.cpus
            ));
        }
        if symptoms.dispatch {
            reasons.push(format!(
                "the open-loop dispatcher sent late (p99 {:.1} ms > {DISPATCH_LAG_LIMIT_MS} ms) before any concurrency cap",
                self.dispatch_lag_p99_ms.unwrap_or(0.0)
            ));
        }
        self.client_limited = !reasons.is_empty();
        self.reasons = reasons;
    }

    /// Why rows were marked: measured waits in the kernel where the client knows
    /// them, the stalls it saw otherwise.
    fn stall_reason(&self) -> String {
        let share = format!(
            "{} of {} requests ({:.1}%)",
            self.requests_in_stall,
            self.requests_watched,
            100.0 * self.requests_in_stall as f64 / self.requests_watched.max(1) as f64
        );
        let stopped = format!(
            "the client process was stopped {} time(s), for up to {:.1} ms ({:.1} ms in all: other processes on its CPU, CPU steal on a virtual machine, or a stop signal)",
            self.stalls, self.stall_max_ms, self.stall_total_ms
        );
        if self.first_token_waits_timed == 0 {
            return format!("{stopped}, and {share} got their first token during or right after a stall, so their TTFTs are late by as much");
        }
        let why = if self.stalls > 0 {
            stopped
        } else {
            "the client's runtime was busy or kept off its CPU".to_string()
        };
        format!(
            "{share} had their first token read more than 1 ms after it arrived (it waited up to {:.1} ms in the kernel), so their TTFTs are late by as much; {why}",
            self.first_token_wait_max_ms
        )
    }

    /// The worst of several trials: a scenario is client-limited if any trial was.
    /// Each symptom is said once, worded from the pooled (worst) numbers: one
    /// clause per trial on one line read as noise.
    pub fn pool<'a>(trials: impl IntoIterator<Item = &'a ClientHealth>) -> Option<ClientHealth> {
        let mut pooled: Option<ClientHealth> = None;
        let mut symptoms = Symptoms::default();
        let mut limited = false;
        let mut reasons: Vec<String> = Vec::new();
        for h in trials {
            symptoms = symptoms.or(h.symptoms());
            limited |= h.client_limited;
            for r in &h.reasons {
                if !reasons.contains(r) {
                    reasons.push(r.clone());
                }
            }
            let Some(p) = pooled.as_mut() else {
                pooled = Some(h.clone());
                continue;
            };
            p.sched_lag_samples += h.sched_lag_samples;
            p.sched_lag_p50_ms = p.sched_lag_p50_ms.max(h.sched_lag_p50_ms);
            p.sched_lag_p99_ms = p.sched_lag_p99_ms.max(h.sched_lag_p99_ms);
            p.sched_lag_max_ms = p.sched_lag_max_ms.max(h.sched_lag_max_ms);
            p.sched_lag_over_limit += h.sched_lag_over_limit;
            p.cpu_s += h.cpu_s;
            p.wall_s += h.wall_s;
            p.cpus = p.cpus.max(h.cpus);
            p.cpu_utilisation = p.cpu_utilisation.max(h.cpu_utilisation);
            p.dispatch_lag_p99_ms = max_opt(p.dispatch_lag_p99_ms, h.dispatch_lag_p99_ms);
            p.stalls += h.stalls;
            p.stall_max_ms = p.stall_max_ms.max(h.stall_max_ms);
            p.stall_total_ms += h.stall_total_ms;
            p.requests_watched += h.requests_watched;
            p.requests_in_stall += h.requests_in_stall;
            p.first_token_waits_timed += h.first_token_waits_timed;
            p.first_token_wait_max_ms = p.first_token_wait_max_ms.max(h.first_token_wait_max_ms);
            p.dispatch_lag_over_limit = match (p.dispatch_lag_over_limit, h.dispatch_lag_over_limit)
            {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
        let mut pooled = pooled?;
        pooled.describe(symptoms);
        if limited && !pooled.client_limited {
            // Trials judged under other limits (an older file) keep their words.
            pooled.client_limited = true;
            pooled.reasons = reasons;
        }
        Some(pooled)
    }

    /// Lag with an idle client: the operating system or hypervisor, not llm-bench's
    /// own work, kept it from running.
    fn machine_stalled(&self) -> bool {
        self.cpu_utilisation < MACHINE_STALL_UTILISATION || self.symptoms().stalls
    }

    /// One line for a console or a report, with the remedy that fits the cause.
    pub fn warning(&self, scenario: &str) -> String {
        let remedy = if self.machine_stalled() {
            "run it on a quieter machine, or pin it to CPUs nothing else uses"
        } else {
            "lower the load, give the client more CPUs, or run it on another machine"
        };
        format!(
            "scenario `{scenario}` is client-limited: {}; its timings include the client's own delays, not only the server's ({remedy})",
            self.reasons.join("; ")
        )
    }
}

/// The symptoms of a client that limited its own measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Symptoms {
    stalls: bool,
    sched_lag: bool,
    cpu: bool,
    dispatch: bool,
}

impl Symptoms {
    fn or(self, other: Symptoms) -> Symptoms {
        Symptoms {
            stalls: self.stalls || other.stalls,
            sched_lag: self.sched_lag || other.sched_lag,
            cpu: self.cpu || other.cpu,
            dispatch: self.dispatch || other.dispatch,
        }
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
