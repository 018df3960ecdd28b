//! The nightly's tracking issue for change points: which change points are open
//! alarms, and what to do about the one issue that tracks them.
//!
//! An alarm is a change point for the worse that no later change point restored
//! (within the minimum magnitude) and that no baseline blessed since accepts. One
//! issue, labelled [`LABEL`] and marked [`ISSUE_MARKER`], lists the open alarms; it
//! gets one comment per new alarm (each comment carries the alarm's own marker,
//! so a night that sees the same change point again says nothing), and it is
//! closed, with a comment saying why, when no alarm is left. Pure: the API calls
//! are in [`super::issues`].

use std::collections::BTreeSet;

use crate::trend::render::{commit_range, step_text};
use crate::trend::{Series, Shape};

pub const LABEL: &str = "llm-bench-trend";
pub const ISSUE_MARKER: &str = "<!-- llm-bench-trend -->";
pub const TITLE: &str = "Nightly benchmark: performance changed for the worse";

/// One open change point for the worse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// `target/scenario/metric@first run after`: stable from night to night.
    pub id: String,
    /// One Markdown line: metric, step, commit range, first run after.
    pub text: String,
}

/// The hidden line a comment about alarm `id` carries.
pub fn marker(id: &str) -> String {
    format!("<!-- llm-bench-trend:{id} -->")
}

/// The alarm ids marked in a text.
pub fn markers_in(text: &str) -> BTreeSet<String> {
    text.match_indices("<!-- llm-bench-trend:")
        .filter_map(|(at, m)| {
            let rest = &text[at + m.len()..];
            rest.find(" -->").map(|end| rest[..end].to_string())
        })
        .collect()
}

/// The open alarms of `series`. `blessed_at(target, scenario)` is when that
/// scenario's baseline was blessed: a change point before it is accepted.
pub fn alarms(series: &[Series], blessed_at: &dyn Fn(&str, &str) -> Option<String>) -> Vec<Alarm> {
    let mut out = Vec::new();
    for s in series {
        let blessed = blessed_at(&s.target, &s.scenario);
        for c in &s.change_points {
            let accepted = blessed.as_deref().is_some_and(|b| {
                !c.first_date_after.is_empty() && b >= c.first_date_after.as_str()
            });
            if !c.worse || c.restored_by.is_some() || accepted {
                continue;
            }
            let shape = match c.shape {
                Shape::Step => "step",
                Shape::Drift => "drift",
            };
            out.push(Alarm {
                id: format!("{}/{}/{}@{}", s.target, s.scenario, s.metric.key(), c.first_run_after),
                text: format!(
                    "**{}** of `{}/{}`: {shape} of {} between commits `{}`, first seen in run `{}` ({})",
                    s.metric.label(),
                    s.target,
                    s.scenario,
                    step_text(c),
                    commit_range(c),
                    c.first_run_after,
                    c.first_date_after.get(..10).unwrap_or(&c.first_date_after)
                ),
            });
        }
    }
    out
}

/// What to do to the tracking issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Open { title: String, body: String },
    EditBody { body: String },
    Comment { body: String },
    Close { comment: String },
}

/// The issue body listing `alarms`.
pub fn body(alarms: &[Alarm], run_url: Option<&str>) -> String {
    let mut out = format!(
        "{ISSUE_MARKER}\n`llm-bench trend` found change points for the worse in the nightly history that no later change restored and no bless accepted:\n\n"
    );
    for a in alarms {
        out.push_str(&format!("- {}\n", a.text));
    }
    if let Some(url) = run_url {
        out.push_str(&format!("\nLatest nightly: {url}\n"));
    }
    out.push_str(
        "\nThis issue closes itself when a later change point restores each level, or when the scenario's baseline is blessed again.\n",
    );
    out
}

/// The actions for `alarms`, given whether the issue is open and which alarms its
/// comments already announced.
pub fn plan(
    alarms: &[Alarm],
    issue_open: bool,
    announced: &BTreeSet<String>,
    run_url: Option<&str>,
) -> Vec<Action> {
    if alarms.is_empty() {
        return if issue_open {
            vec![Action::Close {
                comment: format!(
                    "Every change point this issue tracked was restored by a later one or accepted by a bless{}; closing.",
                    run_url.map(|u| format!(" (as of {u})")).unwrap_or_default()
                ),
            }]
        } else {
            Vec::new()
        };
    }
    let mut actions = vec![if issue_open {
        Action::EditBody {
            body: body(alarms, run_url),
        }
    } else {
        Action::Open {
            title: TITLE.to_string(),
            body: body(alarms, run_url),
        }
    }];
    for a in alarms {
        if !announced.contains(&a.id) {
            actions.push(Action::Comment {
                body: format!("{}\nNew change point: {}\n", marker(&a.id), a.text),
            });
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::metric::MetricId;
    use crate::trend::{ChangePoint, Point};

    fn series(worse: bool, restored: Option<usize>) -> Series {
        let cp = ChangePoint {
            index: 30,
            commit_before: Some("aaa".into()),
            commit_after: Some("bbb".into()),
            first_run_after: "night-30".into(),
            first_date_after: "2026-02-03T03:00:00Z".into(),
            before: 80.0,
            after: 88.0,
            step: 0.1,
            step_low: 0.08,
            step_high: 0.12,
            p_value: 0.005,
            shape: Shape::Step,
            worse,
            restored_by: restored,
        };
        Series {
            target: "gpu".into(),
            scenario: "chat".into(),
            metric: MetricId::TtftP50,
            points: vec![Point {
                run_id: "night-30".into(),
                created_at: "2026-02-03T03:00:00Z".into(),
                git_commit: None,
                value: 88.0,
            }],
            change_points: vec![cp],
        }
    }

    #[test]
    fn only_unrestored_unblessed_worse_change_points_are_alarms() {
        let none = |_: &str, _: &str| None;
        let a = alarms(&[series(true, None)], &none);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].id, "gpu/chat/ttft_ms.p50@night-30");
        assert!(a[0].text.contains("+10.0% [+8.0%, +12.0%]") && a[0].text.contains("`aaa..bbb`"));
        assert!(alarms(&[series(false, None)], &none).is_empty());
        assert!(alarms(&[series(true, Some(40))], &none).is_empty());
        // Blessed after the change: accepted. Blessed before: still an alarm.
        let later = |_: &str, _: &str| Some("2026-02-10T00:00:00Z".to_string());
        let earlier = |_: &str, _: &str| Some("2026-01-10T00:00:00Z".to_string());
        assert!(alarms(&[series(true, None)], &later).is_empty());
        assert_eq!(alarms(&[series(true, None)], &earlier).len(), 1);
    }

    #[test]
    fn one_comment_per_new_alarm_and_a_close_when_none_is_left() {
        let a = alarms(&[series(true, None)], &|_: &str, _: &str| None);
        let fresh = plan(&a, false, &BTreeSet::new(), None);
        assert!(matches!(fresh[0], Action::Open { .. }));
        let Action::Comment { body } = &fresh[1] else {
            panic!("{fresh:?}")
        };
        assert_eq!(markers_in(body), BTreeSet::from([a[0].id.clone()]));
        let again = plan(&a, true, &markers_in(body), None);
        assert!(
            matches!(again.as_slice(), [Action::EditBody { .. }]),
            "{again:?}"
        );
        assert!(matches!(
            plan(&[], true, &BTreeSet::new(), None).as_slice(),
            [Action::Close { .. }]
        ));
        assert!(plan(&[], false, &BTreeSet::new(), None).is_empty());
    }
}
