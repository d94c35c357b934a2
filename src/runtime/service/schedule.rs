//! The `[[drill]]` schedules carried out. Every tick the core says which runbook is due
//! (inside its window, once per period, an hour after a skip); a due one starts as the
//! scheduler (an operator, its manual steps confirmed), or is skipped with its reason
//! journaled and told to the team; a scheduled run's result is told when it ends.

use super::Service;
use crate::core::drill::schedule::{due, Past};
use crate::core::identity::Identity;
use crate::core::time::Ts;
use crate::protocol::notice::Notice;
use crate::protocol::wire::Outcome;
use crate::runtime::drill::report::Report;
use chrono::{Datelike, Timelike};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How often the schedules are looked at (the first look waits as long, so the fleet
/// has been probed before a drill's preconditions are judged).
pub const EVERY: Duration = Duration::from_secs(30);

/// What the schedules did lately.
#[derive(Default)]
pub struct Scheduled {
    /// When each runbook was last skipped.
    skipped: BTreeMap<String, Ts>,
    /// The scheduled run in flight (run id, runbook): its result is told when it ends.
    running: Option<(String, String)>,
}

/// When each runbook last ran (by schedule or by hand), from the reports.
fn last_runs(state_dir: &Path) -> BTreeMap<String, Ts> {
    let mut out: BTreeMap<String, Ts> = BTreeMap::new();
    for r in Report::finished(state_dir) {
        let t = out.entry(r.runbook).or_insert(Ts(0));
        *t = (*t).max(Ts(r.started_ms));
    }
    out
}

/// "Scheduled drill X passed: …; detection …, RTO …" from the run's report.
fn result_line(state_dir: &Path, run: &str, runbook: &str) -> String {
    let dir = state_dir.join("drills").join(run);
    let Some(r) = Report::finished(state_dir)
        .into_iter()
        .find(|r| r.run == run)
    else {
        return format!(
            "Scheduled drill {runbook} ({run}) ended without a report; see `lifeboat history`"
        );
    };
    let m = &r.measures;
    let secs = |v: Option<f64>| v.map(|v| format!("{v:.1} s"));
    let figures: Vec<String> = [
        ("detection", secs(m.detection_s)),
        ("RTO", secs(m.rto_s)),
        ("RPO", m.rpo_steps.map(|v| format!("{v} steps"))),
    ]
    .into_iter()
    .filter_map(|(what, v)| v.map(|v| format!("{what} {v}")))
    .collect();
    format!(
        "Scheduled drill {runbook} {}: {}{}; report: {}",
        r.status.as_str(),
        r.why,
        if figures.is_empty() {
            String::new()
        } else {
            format!(" ({})", figures.join(", "))
        },
        dir.display()
    )
}

impl Service {
    /// Looks at the schedules: tells a finished scheduled run's result, then starts what
    /// is due (one drill at a time) or skips it with the reason.
    pub(super) async fn scheduled(&mut self) {
        if let Some((run, runbook)) = self.schedule.running.clone() {
            if self
                .drill
                .as_ref()
                .is_some_and(|d| d.run == run && !d.join.is_finished())
            {
                return;
            }
            self.schedule.running = None;
            let line = result_line(&self.lock.dir, &run, &runbook);
            self.tell(&line).await;
        }
        let schedules = self.starter.drill_schedules();
        if schedules.is_empty() || self.drill.as_ref().is_some_and(|d| !d.join.is_finished()) {
            return;
        }
        let now = self.now();
        let local = chrono::Local::now();
        let weekday = local.weekday().num_days_from_monday() as usize;
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let ran = last_runs(&self.lock.dir);
        for s in schedules {
            let past = Past {
                run: ran.get(&s.runbook).copied(),
                skip: self.schedule.skipped.get(&s.runbook).copied(),
            };
            if !due(&s, past, now, weekday, minute) {
                continue;
            }
            match self
                .drill_run(&Identity::scheduler(), &s.runbook, false, true, false)
                .await
            {
                Outcome::Accepted { .. } => {
                    if let Some(d) = &self.drill {
                        self.schedule.running = Some((d.run.clone(), s.runbook.clone()));
                    }
                    return;
                }
                Outcome::Refused { reason } | Outcome::Failed { reason } => {
                    self.schedule.skipped.insert(s.runbook.clone(), now);
                    let why = reason.lines().next().unwrap_or("").to_string();
                    self.say(Notice::Drill {
                        ts: now,
                        run: "scheduled".into(),
                        runbook: s.runbook.clone(),
                        what: Cow::Borrowed("skipped"),
                        detail: reason,
                    })
                    .await;
                    self.tell(&format!(
                        "Scheduled drill {} skipped: {why}; it is tried again in an hour",
                        s.runbook
                    ))
                    .await;
                }
                Outcome::Answered { .. } => {}
            }
        }
    }

    async fn tell(&self, line: &str) {
        if let Some(c) = &self.current {
            if let Err(e) = c.world.drill_tell(line).await {
                tracing::warn!("telling the team about a scheduled drill: {e}");
            }
        }
    }
}
