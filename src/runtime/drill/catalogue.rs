//! What the drills view is answered: the runbooks (shipped and the team's) with their last
//! runs read from the reports in `STATE/drills/`, and one runbook's plan checked on the
//! fleet now, as the protocol's structured types.

use super::report::Report;
use super::show;
use crate::config::runbook::SHIPPED_DIR;
use crate::core::drill::engine::{stop_name, Drill};
use crate::core::drill::runbook::Runbook;
use crate::core::snapshot::Snapshot;
use crate::core::time::Ts;
use crate::protocol::drill::{
    DrillCatalogue, DrillEntry, DrillPlan, PastRun, PlanCheck, PlanStep, RUNS_KEPT,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The runbooks with their last [`RUNS_KEPT`] runs each, oldest first.
pub fn catalogue(team_dir: Option<&Path>, state_dir: &Path) -> DrillCatalogue {
    let (books, errors) = crate::config::runbook::catalogue(team_dir);
    let mut runs = past_runs(state_dir);
    let runbooks = books
        .into_iter()
        .map(|r| DrillEntry {
            team: !r.source.starts_with(SHIPPED_DIR),
            runs: runs.remove(&r.name).unwrap_or_default(),
            name: r.name,
            title: r.title,
            scenario: r.scenario.as_str().into(),
            description: r.description,
        })
        .collect();
    DrillCatalogue {
        runbooks,
        errors: errors.iter().map(ToString::to_string).collect(),
    }
}

/// Finished runs by runbook, from every readable `report.json` (a run still in flight
/// has none yet).
fn past_runs(state_dir: &Path) -> BTreeMap<String, Vec<PastRun>> {
    let mut by: BTreeMap<String, Vec<PastRun>> = BTreeMap::new();
    for r in Report::finished(state_dir) {
        by.entry(r.runbook.clone()).or_default().push(PastRun {
            run: r.run,
            status: r.status,
            ended: Ts(r.ended_ms),
            rto_s: r.measures.rto_s,
            why: r.why,
        });
    }
    for runs in by.values_mut() {
        runs.sort_by(|a, b| (a.ended, &a.run).cmp(&(b.ended, &b.run)));
        let extra = runs.len().saturating_sub(RUNS_KEPT);
        runs.drain(..extra);
    }
    by
}

/// `runbook`'s plan on `snap`: targets, blast radius, each precondition ✓/✗ and why,
/// every step, the stop conditions and the rollbacks; `refused` says why it may not start.
pub fn plan(runbook: &Runbook, snap: &Snapshot) -> DrillPlan {
    let mut p = DrillPlan {
        runbook: runbook.name.clone(),
        title: runbook.title.clone(),
        scenario: runbook.scenario.as_str().into(),
        version: runbook.version,
        max_hosts: runbook.blast_radius.max_hosts,
        max_jobs: runbook.blast_radius.max_jobs,
        steps: runbook
            .steps
            .iter()
            .map(|s| PlanStep {
                kind: s.action.kind().into(),
                title: s.title.clone(),
                does: show::step_line(&s.action),
            })
            .collect(),
        stop_conditions: runbook.stop_conditions.iter().map(stop_name).collect(),
        rollbacks: runbook
            .rollbacks
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        ..DrillPlan::default()
    };
    let targets = match crate::core::drill::plan::resolve(runbook, snap) {
        Ok(t) => t,
        Err(e) => {
            p.refused = Some(e.to_string());
            return p;
        }
    };
    p.jobs = targets.jobs.iter().map(ToString::to_string).collect();
    p.hosts = targets.hosts.iter().map(ToString::to_string).collect();
    p.preconditions = Drill::preconditions(runbook, &targets, snap)
        .into_iter()
        .map(|(probe, v)| PlanCheck {
            what: show::probe_text(&probe),
            ok: v.ok,
            why: v.why,
        })
        .collect();
    if let Some(bad) = p.preconditions.iter().find(|c| !c.ok) {
        p.refused = Some(format!("a precondition fails: {}: {}", bad.what, bad.why));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::drill::engine::Status;

    fn report(dir: &Path, run: &str, runbook: &str, ended_ms: u64, rto: Option<f64>) {
        let d = dir.join("drills").join(run);
        std::fs::create_dir_all(&d).unwrap();
        let mut v: serde_json::Value = serde_json::json!({
            "run": run, "runbook": runbook, "title": "t", "scenario": "job_crash",
            "version": 1, "hash": "00", "operator": "op", "started": "", "ended": "",
            "started_ms": ended_ms - 10, "ended_ms": ended_ms, "status": "passed",
            "why": "ok", "targets": {"jobs": [], "hosts": []}, "steps": [],
            "stop_conditions": [], "rollbacks": [], "measures": {},
            "expectations": []
        });
        v["measures"]["rto_s"] = serde_json::json!(rto);
        std::fs::write(d.join("report.json"), v.to_string()).unwrap();
    }

    #[test]
    fn the_catalogue_carries_each_runbooks_last_runs_oldest_first() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..10u64 {
            report(
                tmp.path(),
                &format!("r{i}"),
                "job-crash",
                1000 + i,
                Some(i as f64),
            );
        }
        report(tmp.path(), "broken", "job-crash", 50, None);
        std::fs::write(tmp.path().join("drills/broken/report.json"), "{").unwrap();
        // In flight: no report yet.
        std::fs::create_dir_all(tmp.path().join("drills/flying")).unwrap();
        let c = catalogue(None, tmp.path());
        let jc = c.runbooks.iter().find(|r| r.name == "job-crash").unwrap();
        assert!(!jc.team);
        assert_eq!(jc.runs.len(), RUNS_KEPT);
        assert_eq!(jc.last().unwrap().run, "r9");
        assert_eq!(jc.runs[0].run, "r2");
        assert_eq!(jc.last().unwrap().status, Status::Passed);
        assert_eq!(jc.last().unwrap().rto_s, Some(9.0));
        let other = c
            .runbooks
            .iter()
            .find(|r| r.name == "restore-test")
            .unwrap();
        assert!(other.runs.is_empty());
    }
}
