//! Journal rows → history records: the JSON bodies `Notice::to_json` wrote, read back
//! tolerantly (new fields are ignored or shown, unknown kinds with a `detail` are notes).

use super::journal::{EventRow, Journal, JournalError};
use crate::core::history::{CommandFact, Fact, Record, Rto, Step};
use crate::core::ids::Target;
use crate::core::time::Ts;
use serde::Deserialize;
use serde_json::Value;

/// Kinds history never shows: read past in SQL, so a long journal of probes costs little.
const SKIPPED: &[&str] = &[
    "health_changed",
    "decision",
    "automation_changed",
    "fault_injected",
    "checkpoint_recorded",
    "store_health_changed",
    "workspace",
];

/// Checkpoint notices that record what people asked for (the rest is the copier's work).
const PEOPLES_CHECKPOINTS: &[&str] =
    &["pruned", "prune_finished", "restored", "adopted", "refused"];

/// A row of a known kind whose body lacks what that kind always carries.
#[derive(Debug, thiserror::Error)]
#[error("journal row {seq} ({kind}) is unreadable: {source}; it is left out")]
pub struct RowError {
    pub seq: i64,
    pub kind: String,
    #[source]
    pub source: serde_json::Error,
}

/// Every record history needs, oldest first, and the rows that could not be read.
pub fn read(journal: &Journal) -> Result<(Vec<Record>, Vec<RowError>), JournalError> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    journal.each_event(SKIPPED, |row| match record(&row) {
        Ok(Some(r)) => records.push(r),
        Ok(None) => {}
        Err(source) => bad.push(RowError {
            seq: row.seq,
            kind: row.kind.clone(),
            source,
        }),
    })?;
    Ok((records, bad))
}

#[derive(Deserialize)]
struct StateBody {
    from: String,
    to: String,
    reason: String,
}

#[derive(Deserialize)]
struct StepBody {
    strategy: String,
    step: String,
    target: Option<Target>,
    ms: u64,
    ok: bool,
    #[serde(default)]
    detail: String,
}

#[derive(Deserialize)]
struct FinishedBody {
    ok: bool,
    target: Option<Target>,
    rto_ms: u64,
    detect_ms: u64,
    #[serde(default)]
    breakdown: Vec<(String, u64)>,
}

#[derive(Deserialize)]
struct EscalatedBody {
    reason: String,
}

#[derive(Deserialize)]
struct CommandBody {
    operator: String,
    command: String,
    reason: Option<String>,
    role: Option<Value>,
    origin: Option<Value>,
}

#[derive(Deserialize)]
struct CheckpointBody {
    what: String,
    #[serde(default)]
    id: String,
    store: Option<String>,
    #[serde(default)]
    detail: String,
    operator: Option<String>,
}

#[derive(Deserialize)]
struct DrillBody {
    what: String,
    run: String,
    #[serde(default)]
    runbook: String,
    #[serde(default)]
    detail: String,
}

/// `lifeboat checkpoints adopt` journals its own kind, with what it hashed.
#[derive(Deserialize)]
struct AdoptedBody {
    operator: Option<String>,
    id: String,
    step: Option<u64>,
    #[serde(default)]
    stores: Vec<String>,
    #[serde(default)]
    files: Vec<Value>,
}

/// The record a row stands for, `None` when history does not show its kind.
pub fn record(row: &EventRow) -> Result<Option<Record>, serde_json::Error> {
    let body = || row.body.clone();
    let fact = match row.kind.as_str() {
        "recovery_state" => {
            let b: StateBody = serde_json::from_value(body())?;
            Fact::State {
                from: b.from,
                to: b.to,
                reason: b.reason,
            }
        }
        "failover_step" => {
            let b: StepBody = serde_json::from_value(body())?;
            Fact::Step(Step {
                at: ts(row),
                strategy: b.strategy,
                step: b.step,
                target: b.target.map(|t| t.to_string()),
                ms: b.ms,
                ok: b.ok,
                detail: b.detail,
            })
        }
        "failover_finished" => {
            let b: FinishedBody = serde_json::from_value(body())?;
            Fact::Finished(Rto {
                ok: b.ok,
                target: b.target.map(|t| t.to_string()),
                rto_ms: b.rto_ms,
                detect_ms: b.detect_ms,
                breakdown: b.breakdown,
            })
        }
        "escalated" => {
            let b: EscalatedBody = serde_json::from_value(body())?;
            Fact::Escalated { reason: b.reason }
        }
        "command_accepted" | "command_rejected" => {
            let b: CommandBody = serde_json::from_value(body())?;
            let rejected = (row.kind == "command_rejected").then(|| b.reason.unwrap_or_default());
            Fact::Command(CommandFact {
                operator: b.operator,
                command: b.command,
                rejected,
                role: b.role.map(|r| match r {
                    Value::String(s) => s,
                    other => other.to_string(),
                }),
                origin: b.origin.filter(|o| !o.is_null()),
            })
        }
        "checkpoint" => {
            let b: CheckpointBody = serde_json::from_value(body())?;
            if !PEOPLES_CHECKPOINTS.contains(&b.what.as_str()) {
                return Ok(None);
            }
            Fact::Checkpoint {
                what: b.what,
                id: b.id,
                store: b.store,
                detail: b.detail,
                operator: b.operator,
            }
        }
        // A drill is one line: how its run ended, or that its schedule skipped it (its
        // steps are in its report).
        "drill" => {
            let b: DrillBody = serde_json::from_value(body())?;
            let detail = match b.what.as_str() {
                "finished" => format!("{} ({}): {}", b.runbook, b.run, b.detail),
                "skipped" => format!(
                    "{} skipped by its schedule: {}",
                    b.runbook,
                    b.detail.lines().next().unwrap_or("")
                ),
                _ => return Ok(None),
            };
            Fact::Note {
                kind: "drill".into(),
                detail,
                operator: None,
            }
        }
        "checkpoint_adopted" => {
            let b: AdoptedBody = serde_json::from_value(body())?;
            let step = b.step.map(|s| format!("step {s}, ")).unwrap_or_default();
            Fact::Checkpoint {
                what: "adopted".into(),
                id: b.id,
                store: (!b.stores.is_empty()).then(|| b.stores.join(", ")),
                detail: format!("{step}{} file(s) hashed", b.files.len()),
                operator: b.operator,
            }
        }
        _ => match note(row) {
            Some(fact) => fact,
            None => return Ok(None),
        },
    };
    Ok(Some(Record {
        seq: row.seq,
        at: ts(row),
        job: row.job.clone(),
        fact,
    }))
}

/// Any other kind is shown when it says what happened in a `detail` (supervisor started,
/// config reloaded …); one without is left out, never an error.
fn note(row: &EventRow) -> Option<Fact> {
    let detail = row.body.get("detail")?.as_str()?;
    let operator = row
        .body
        .get("operator")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Fact::Note {
        kind: row.kind.clone(),
        detail: detail.to_string(),
        operator,
    })
}

fn ts(row: &EventRow) -> Ts {
    Ts(u64::try_from(row.ts).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn row(kind: &str, body: Value) -> EventRow {
        EventRow {
            seq: 7,
            ts: 1_000,
            kind: kind.into(),
            job: None,
            body,
        }
    }

    #[test]
    fn identity_fields_are_shown_when_present_and_not_needed() {
        let plain = row(
            "command_rejected",
            json!({"operator": "alice", "command": "cancel llm", "reason": "epoch moved"}),
        );
        let Some(Record {
            fact: Fact::Command(c),
            ..
        }) = record(&plain).unwrap()
        else {
            panic!("not a command")
        };
        assert_eq!(c.rejected.as_deref(), Some("epoch moved"));
        assert_eq!((c.role, c.origin), (None, None));
        let rich = row(
            "command_accepted",
            json!({"operator": "bob", "command": "pause all", "role": "admin",
                   "origin": {"via": "ssh", "fingerprint": "SHA256:x", "addr": "10.0.0.5:2200"},
                   "something_new": [1, 2]}),
        );
        let Some(Record {
            fact: Fact::Command(c),
            ..
        }) = record(&rich).unwrap()
        else {
            panic!("not a command")
        };
        assert_eq!(c.rejected, None);
        assert_eq!(c.role.as_deref(), Some("admin"));
        assert_eq!(c.origin.unwrap()["via"], "ssh");
    }

    #[test]
    fn a_drill_is_one_line_when_it_finished_and_its_steps_are_left_to_its_report() {
        let step = row(
            "drill",
            json!({"what": "step_passed", "run": "r1", "runbook": "job-crash", "detail": "1. x"}),
        );
        assert_eq!(record(&step).unwrap(), None);
        let done = row(
            "drill",
            json!({"what": "finished", "run": "r1", "runbook": "job-crash",
                   "detail": "passed: every step passed; report in /s/drills/r1"}),
        );
        let Some(Record {
            fact: Fact::Note { kind, detail, .. },
            ..
        }) = record(&done).unwrap()
        else {
            panic!("not a note")
        };
        assert_eq!(kind, "drill");
        assert_eq!(
            detail,
            "job-crash (r1): passed: every step passed; report in /s/drills/r1"
        );
    }

    #[test]
    fn unknown_kinds_with_a_detail_are_notes_and_without_are_left_out() {
        let r = record(&row(
            "config_reloaded",
            json!({"detail": "3 jobs, 6 hosts"}),
        ))
        .unwrap()
        .unwrap();
        assert!(matches!(r.fact, Fact::Note { ref kind, .. } if kind == "config_reloaded"));
        assert_eq!(record(&row("new_thing", json!({"x": 1}))).unwrap(), None);
        assert_eq!(record(&row("odd", json!("not an object"))).unwrap(), None);
    }

    #[test]
    fn only_peoples_checkpoint_actions_count_and_a_broken_known_row_is_an_error() {
        let copy =
            json!({"what": "replicated", "job": "llm", "id": "c", "store": "s3", "detail": ""});
        assert_eq!(record(&row("checkpoint", copy)).unwrap(), None);
        let prune =
            json!({"what": "pruned", "job": "llm", "id": "c", "store": "nas", "detail": "old"});
        assert!(record(&row("checkpoint", prune)).unwrap().is_some());
        assert!(record(&row("recovery_state", json!({"to": "RUNNING"}))).is_err());
    }
}
