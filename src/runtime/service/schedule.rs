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

impl Scheduled {
    /// What an earlier daemon skipped, from the journal: a restart does not retry a
    /// skipped runbook at once, but an hour after its skip as if nothing had stopped.
    pub fn from_journal(state_dir: &Path) -> Scheduled {
        let mut out = Scheduled::default();
        let path = state_dir.join("journal.db");
        if !path.exists() {
            return out;
        }
        let rows = match crate::runtime::journal::Journal::open_existing(&path)
            .and_then(|j| j.latest_of_kind("drill", 1000))
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("cannot read the drill schedules' skips from the journal: {e}");
                return out;
            }
        };
        for r in rows {
            let field = |k: &str| r.body.get(k).and_then(|v| v.as_str());
            if let (Some("skipped"), Some(runbook)) = (field("what"), field("runbook")) {
                let t = out.skipped.entry(runbook.to_string()).or_insert(Ts(0));
                *t = (*t).max(Ts(r.ts.max(0) as u64));
            }
        }
        out
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::runtime::journal::Journal;

    #[test]
    fn a_restarted_daemon_remembers_the_newest_skip_of_each_runbook_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Scheduled::from_journal(dir.path()).skipped.is_empty());
        let j = Journal::open(&dir.path().join("journal.db")).unwrap();
        let drill = |ts: u64, what: &str, runbook: &str| {
            let body = serde_json::json!({
                "what": what, "run": "scheduled", "runbook": runbook, "detail": "why"
            });
            j.append_event(ts, "drill", None, &body).unwrap();
        };
        drill(1_000, "skipped", "restore-test");
        drill(5_000, "skipped", "restore-test");
        drill(7_000, "finished", "job-crash");
        drill(3_000, "skipped", "team-check");
        j.append_event(9_000, "note", None, &serde_json::json!({"what": "skipped"}))
            .unwrap();
        let s = Scheduled::from_journal(dir.path());
        assert_eq!(s.skipped.get("restore-test"), Some(&Ts(5_000)));
        assert_eq!(s.skipped.get("team-check"), Some(&Ts(3_000)));
        assert_eq!(s.skipped.len(), 2, "{:?}", s.skipped);
    }
}
