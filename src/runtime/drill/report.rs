//! A drill's report, written into `STATE/drills/RUN/`: `report.json` for tools,
//! `report.md` for people and `timeline.svg` (see `timeline`) — status and why, the runbook (name, version, hash), who ran it,
//! the targets, every step, the stop conditions, the rollbacks, the measures and each
//! expectation met or missed.

use crate::core::drill::engine::{Drill, Expectation, Measures, Sample, Status, StepResult};
use crate::core::drill::plan::Resolved;
use crate::core::drill::probe::Verdict;
use crate::core::time::{rfc3339, Ts};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One fault a drill made: its kind, the host, and the job whose process it struck.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injected {
    pub fault: crate::protocol::fault::FaultKind,
    pub host: String,
    pub job: Option<String>,
    /// When the fault's dead-man on the host undoes it at the latest (Unix seconds).
    #[serde(default)]
    pub until: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub run: String,
    pub runbook: String,
    pub title: String,
    pub scenario: String,
    pub version: u32,
    pub hash: String,
    pub operator: String,
    pub started: String,
    pub ended: String,
    /// The same instants in ms since the epoch (the timeline's axis).
    #[serde(default)]
    pub started_ms: u64,
    #[serde(default)]
    pub ended_ms: u64,
    pub status: Status,
    pub why: String,
    pub targets: Resolved,
    pub steps: Vec<StepResult>,
    pub stop_conditions: Vec<(String, Verdict)>,
    pub rollbacks: Vec<(String, Result<String, String>)>,
    pub measures: Measures,
    pub expectations: Vec<Expectation>,
    /// The target job's step and state across the run.
    #[serde(default)]
    pub timeline: Vec<Sample>,
    /// What the drill struck, for clear-faults after a crash.
    #[serde(default)]
    pub injected: Vec<Injected>,
    /// Where the restore test put its copy (host, path), for remove-scratch after a crash.
    #[serde(default)]
    pub scratch: Option<(String, String)>,
    /// Jobs one of whose stored copies the drill corrupted, for clear-faults after a crash.
    #[serde(default)]
    pub corrupted: Vec<String>,
    /// Whether the drill took the NAS away, for clear-faults after a crash.
    #[serde(default)]
    pub nas_lost: bool,
    /// The runbook's rollbacks, by name, for a supervisor that restarts under it.
    #[serde(default)]
    pub rollback_plan: Vec<String>,
    /// Set only by a supervisor-kill step just before it replaces the supervisor: the
    /// next one goes on with the run from here instead of rolling it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
}

/// What the next supervisor needs to go on with a drill that killed its predecessor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resume {
    /// The engine as it stands once the kill step has passed.
    pub engine: Drill,
    pub by: crate::core::identity::Identity,
    /// Manual steps are confirmed (`--yes`).
    pub yes: bool,
}

impl Report {
    pub fn of(run: &str, drill: &Drill, operator: &str, started: Ts, ended: Ts) -> Report {
        let rb = drill.runbook();
        Report {
            run: run.into(),
            runbook: rb.name.clone(),
            title: rb.title.clone(),
            scenario: rb.scenario.as_str().into(),
            version: rb.version,
            hash: rb.hash.clone(),
            operator: operator.into(),
            started: rfc3339(started),
            ended: rfc3339(ended),
            started_ms: started.0,
            ended_ms: ended.0,
            status: drill.status.unwrap_or(Status::Interrupted),
            why: drill.why.clone(),
            targets: drill.targets.clone(),
            steps: drill.steps.clone(),
            stop_conditions: drill.stops.clone(),
            rollbacks: drill.rollbacks.clone(),
            measures: drill.measures.clone(),
            expectations: drill.expectations(),
            timeline: drill.timeline.clone(),
            injected: Vec::new(),
            scratch: None,
            corrupted: Vec::new(),
            nas_lost: false,
            rollback_plan: rb
                .rollbacks
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            resume: None,
        }
    }

    fn dir(state_dir: &Path, run: &str) -> PathBuf {
        state_dir.join("drills").join(run)
    }

    /// Keeps the run's picture in `inflight.json` while it runs: a supervisor that
    /// restarts under it finds it there and runs the rollbacks.
    pub fn write_inflight(&self, state_dir: &Path) -> std::io::Result<()> {
        let dir = Self::dir(state_dir, &self.run);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join("inflight.json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, dir.join("inflight.json"))
    }

    /// The runs a supervisor stopped under (their `inflight.json`), oldest first.
    pub fn inflight(state_dir: &Path) -> Vec<Report> {
        Self::read_all(state_dir, "inflight.json")
    }

    /// Run `run`'s report, once it finished.
    pub fn read(state_dir: &Path, run: &str) -> Option<Report> {
        let b = std::fs::read(Self::dir(state_dir, run).join("report.json")).ok()?;
        serde_json::from_slice(&b).ok()
    }

    /// Every finished run's readable `report.json`, oldest first.
    pub fn finished(state_dir: &Path) -> Vec<Report> {
        Self::read_all(state_dir, "report.json")
    }

    fn read_all(state_dir: &Path, file: &str) -> Vec<Report> {
        let mut out: Vec<Report> = std::fs::read_dir(state_dir.join("drills"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join(file)).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a, b| (a.started_ms, &a.started).cmp(&(b.started_ms, &b.started)));
        out
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Drill {} — {}\n",
            self.runbook,
            self.status.as_str().to_uppercase()
        );
        let _ = writeln!(s, "{}\n", self.why);
        let _ = writeln!(
            s,
            "- Runbook: {} v{} ({}), sha256 `{}`",
            self.title, self.version, self.scenario, self.hash
        );
        let _ = writeln!(
            s,
            "- Run: `{}` by {}, {} → {}",
            self.run, self.operator, self.started, self.ended
        );
        let names = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let jobs: Vec<String> = self.targets.jobs.iter().map(|j| j.to_string()).collect();
        let hosts: Vec<String> = self.targets.hosts.iter().map(|h| h.to_string()).collect();
        let _ = writeln!(
            s,
            "- Targets: jobs {}; hosts {}\n",
            names(&jobs),
            names(&hosts)
        );
        let _ = writeln!(s, "## Measures\n");
        let m = &self.measures;
        let opt = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1} s"));
        let _ = writeln!(
            s,
            "| detection | RTO | RPO (steps) | RPO (time) | step at fault | restored step |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |\n",
            opt(m.detection_s),
            opt(m.rto_s),
            m.rpo_steps.map_or("—".into(), |v| v.to_string()),
            opt(m.rpo_s),
            m.step_at_fault.map_or("—".into(), |v| v.to_string()),
            m.restored_step.map_or("—".into(), |v| v.to_string()),
        );
        if !m.phases.is_empty() {
            let _ = writeln!(s, "RTO's phases, from the failover journal:\n");
            let _ = writeln!(s, "| phase | time |");
            let _ = writeln!(s, "|---|---|");
            for p in &m.phases {
                let _ = writeln!(s, "| {} | {:.2} s |", p.step, p.ms as f64 / 1000.0);
            }
            let _ = writeln!(s);
        }
        match (m.restore_bytes, m.restore_s, &m.restore_from) {
            (Some(b), Some(t), Some(from)) => {
                let rate = match t > 0.0 {
                    true => format!("{:.1} MiB/s", b as f64 / 1048576.0 / t),
                    false => "too fast to time".into(),
                };
                let _ = writeln!(
                    s,
                    "Restore: {b} bytes from {from} in {t:.2} s ({rate}), SHA-256 verified where it landed.\n"
                );
            }
            (_, Some(t), None) => {
                let _ = writeln!(
                    s,
                    "Restore: the checkpoint was already in place on the target and checked there in {t:.2} s (the stage step says whether it was hashed or trusted by its seal).\n"
                );
            }
            _ => {}
        }
        if !self.expectations.is_empty() {
            let _ = writeln!(s, "## Expectations\n");
            for e in &self.expectations {
                let mark = if e.met { "met" } else { "MISSED" };
                let got = e
                    .measured
                    .map_or("not measured".to_string(), |v| format!("{v:.1}"));
                let _ = writeln!(s, "- {}: ≤ {} — measured {got} — {mark}", e.what, e.limit);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "## Steps\n");
        for (i, st) in self.steps.iter().enumerate() {
            let mark = match st.ok {
                Some(true) => "passed",
                Some(false) => "FAILED",
                None => "not finished",
            };
            let secs = st
                .ended
                .map(|e| e.since(st.started).as_secs_f64())
                .unwrap_or(0.0);
            let _ = writeln!(
                s,
                "{}. **{}** [{}] — {mark} in {secs:.1} s",
                i + 1,
                st.title,
                st.kind
            );
            for line in st.output.lines() {
                let _ = writeln!(s, "   > {line}");
            }
        }
        let _ = writeln!(s, "\n## Stop conditions\n");
        if self.stop_conditions.is_empty() {
            let _ = writeln!(s, "- none");
        }
        for (name, v) in &self.stop_conditions {
            let _ = writeln!(
                s,
                "- {name}: {} ({})",
                if v.ok { "held" } else { "FIRED" },
                v.why
            );
        }
        let _ = writeln!(s, "\n## Rollbacks\n");
        if self.rollbacks.is_empty() {
            let _ = writeln!(s, "- none");
        }
        for (name, r) in &self.rollbacks {
            match r {
                Ok(d) => {
                    let _ = writeln!(s, "- {name}: done — {d}");
                }
                Err(e) => {
                    let _ = writeln!(s, "- {name}: FAILED — {e}");
                }
            }
        }
        s
    }

    /// Writes `report.json` and `report.md` under `state_dir/drills/RUN/`; the run is
    /// no longer in flight.
    pub fn write(&self, state_dir: &Path) -> std::io::Result<PathBuf> {
        let dir = Self::dir(state_dir, &self.run);
        std::fs::create_dir_all(&dir)?;
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        std::fs::write(dir.join("timeline.svg"), super::timeline::svg(self))?;
        match std::fs::remove_file(dir.join("inflight.json")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(dir)
    }
}
