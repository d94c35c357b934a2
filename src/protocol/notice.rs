//! Notices: what the runtime tells its watchers (the event stream, every screen, the
//! journal). Core events plus what the world reports of itself (injected faults,
//! checkpoint keeping, workspace syncs) and what the service says of itself.

use crate::core::event::{Event, EventKind};
use crate::core::safe_text::escape_line;
use crate::core::time::rfc3339;
use crate::core::time::Ts;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Notice {
    Core(Event),
    /// The simulator (or a chaos tool) injected a fault.
    FaultInjected {
        ts: Ts,
        fault: String,
        host: Option<String>,
        job: Option<String>,
        detail: String,
    },
    /// Checkpoint keeping: replicated, a copy found bad, repaired, pruned, restored, or a
    /// store that failed. `what` is one of [`CHECKPOINT_WHATS`].
    Checkpoint {
        ts: Ts,
        what: Cow<'static, str>,
        job: String,
        id: String,
        store: Option<String>,
        detail: String,
    },
    /// A job's workspace synced to (or failed to sync to) a CPU standby: `what` is
    /// `synced` or `sync_failed`.
    Workspace {
        ts: Ts,
        what: Cow<'static, str>,
        job: String,
        from: String,
        to: String,
        detail: String,
    },
    /// The supervisor started, stopped, reloaded its config or could not.
    Service {
        ts: Ts,
        what: ServiceEvent,
        detail: String,
    },
    /// A drill's progress: `what` is one of [`DRILL_WHATS`]; `run` is its id.
    Drill {
        ts: Ts,
        run: String,
        runbook: String,
        what: Cow<'static, str>,
        detail: String,
    },
}

/// Every `what` a drill notice may carry: a drill `started`, a step `step_started` /
/// `step_passed` / `step_failed`, a fault `injected`, a manual step `waiting`, a
/// `rollback` ran, and `finished` (detail starts with its status). A guided drill is
/// `holding` before a step; the fault was `detected`, the job `recovered` (RTO, RPO); a
/// `stop` condition holds or fired. Step details start with the step's number (`4. …`).
/// A scheduled drill whose preconditions fail is `skipped` (the detail says why).
pub const DRILL_WHATS: &[&str] = &[
    "started",
    "refused",
    "step_started",
    "step_passed",
    "step_failed",
    "injected",
    "waiting",
    "rollback",
    "finished",
    "holding",
    "detected",
    "recovered",
    "stop",
    "skipped",
    "restarting",
    "resumed",
];

/// What the supervisor says of itself.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceEvent {
    SupervisorStarted,
    SupervisorStopped,
    ConfigReloaded,
    ConfigReloadFailed,
    /// The console that was the supervisor lost its terminal and supervises on, headless.
    TerminalLost,
    /// Who may reach the supervisor changed: the SSH console's keys, its address, or the
    /// group the socket is shared with.
    AccessChanged,
}

impl ServiceEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceEvent::SupervisorStarted => "supervisor_started",
            ServiceEvent::SupervisorStopped => "supervisor_stopped",
            ServiceEvent::ConfigReloaded => "config_reloaded",
            ServiceEvent::ConfigReloadFailed => "config_reload_failed",
            ServiceEvent::TerminalLost => "terminal_lost",
            ServiceEvent::AccessChanged => "access_changed",
        }
    }

    pub fn parse(s: &str) -> Option<ServiceEvent> {
        [
            ServiceEvent::SupervisorStarted,
            ServiceEvent::SupervisorStopped,
            ServiceEvent::ConfigReloaded,
            ServiceEvent::ConfigReloadFailed,
            ServiceEvent::TerminalLost,
            ServiceEvent::AccessChanged,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
}

/// Every `what` a checkpoint notice may carry.
pub const CHECKPOINT_WHATS: &[&str] = &[
    "replicated",
    "copy_failed",
    "copy_bad",
    "repaired",
    "restored",
    "sealed",
    "staged",
    "pruned",
    "found",
    "refused",
    "adopted",
    "prune_finished",
];

impl Notice {
    pub fn ts(&self) -> Ts {
        match self {
            Notice::Core(e) => e.ts,
            Notice::FaultInjected { ts, .. }
            | Notice::Checkpoint { ts, .. }
            | Notice::Workspace { ts, .. }
            | Notice::Service { ts, .. }
            | Notice::Drill { ts, .. } => *ts,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Core(e) => e.kind.name(),
            Notice::FaultInjected { .. } => "fault_injected",
            Notice::Checkpoint { .. } => "checkpoint",
            Notice::Workspace { .. } => "workspace",
            Notice::Service { what, .. } => what.as_str(),
            Notice::Drill { .. } => "drill",
        }
    }

    pub fn job(&self) -> Option<String> {
        match self {
            Notice::Core(e) => e.kind.job().map(|j| j.to_string()),
            Notice::FaultInjected { job, .. } => job.clone(),
            Notice::Checkpoint { job, .. } | Notice::Workspace { job, .. } => Some(job.clone()),
            Notice::Service { .. } | Notice::Drill { .. } => None,
        }
    }

    /// One JSON object with `ts` (RFC 3339) and `kind` first.
    pub fn to_json(&self) -> Value {
        let mut v = match self {
            Notice::Core(e) => serde_json::to_value(&e.kind).unwrap_or(Value::Null),
            Notice::FaultInjected {
                fault,
                host,
                job,
                detail,
                ..
            } => {
                json!({ "kind": "fault_injected", "fault": fault, "host": host, "job": job, "detail": detail })
            }
            Notice::Checkpoint {
                what,
                job,
                id,
                store,
                detail,
                ..
            } => {
                json!({ "kind": "checkpoint", "what": what, "job": job, "id": id, "store": store, "detail": detail })
            }
            Notice::Workspace {
                what,
                job,
                from,
                to,
                detail,
                ..
            } => {
                json!({ "kind": "workspace", "what": what, "job": job, "from": from, "to": to, "detail": detail })
            }
            Notice::Service { what, detail, .. } => {
                json!({ "kind": what.as_str(), "detail": detail })
            }
            Notice::Drill {
                run,
                runbook,
                what,
                detail,
                ..
            } => {
                json!({ "kind": "drill", "run": run, "runbook": runbook, "what": what, "detail": detail })
            }
        };
        let mut out = serde_json::Map::new();
        out.insert("ts".into(), Value::String(rfc3339(self.ts())));
        if let Value::Object(m) = &mut v {
            if let Some(k) = m.remove("kind") {
                out.insert("kind".into(), k);
            }
            out.append(m);
        }
        Value::Object(out)
    }

    /// A notice back from its journal row (`ts`, `kind`, the body `to_json` wrote), so a
    /// screen that attaches sees the history from before it came; `None` for rows this
    /// build does not know.
    pub fn from_journal(ts: Ts, kind: &str, body: &Value) -> Option<Notice> {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        match kind {
            "fault_injected" => Some(Notice::FaultInjected {
                ts,
                fault: text("fault")?,
                host: text("host"),
                job: text("job"),
                detail: text("detail").unwrap_or_default(),
            }),
            "checkpoint" => Some(Notice::Checkpoint {
                ts,
                what: Cow::Owned(text("what")?),
                job: text("job")?,
                id: text("id").unwrap_or_default(),
                store: text("store"),
                detail: text("detail").unwrap_or_default(),
            }),
            "drill" => Some(Notice::Drill {
                ts,
                run: text("run")?,
                runbook: text("runbook").unwrap_or_default(),
                what: Cow::Owned(text("what")?),
                detail: text("detail").unwrap_or_default(),
            }),
            "workspace" => Some(Notice::Workspace {
                ts,
                what: Cow::Owned(text("what")?),
                job: text("job")?,
                from: text("from").unwrap_or_default(),
                to: text("to").unwrap_or_default(),
                detail: text("detail").unwrap_or_default(),
            }),
            _ => match ServiceEvent::parse(kind) {
                Some(what) => Some(Notice::Service {
                    ts,
                    what,
                    detail: text("detail").unwrap_or_default(),
                }),
                None => serde_json::from_value::<EventKind>(body.clone())
                    .ok()
                    .map(|kind| Notice::Core(Event { ts, kind })),
            },
        }
    }

    /// Writes one line: JSON or text.
    pub fn write_line(
        &self,
        json: bool,
        out: &mut (dyn std::io::Write + Send),
    ) -> std::io::Result<()> {
        let line = if json {
            self.to_json().to_string()
        } else {
            self.to_text()
        };
        writeln!(out, "{line}")?;
        out.flush()
    }

    /// One line for people.
    pub fn to_text(&self) -> String {
        let ts = rfc3339(self.ts());
        let clock = ts.get(11..23).unwrap_or(&ts);
        let body = match self {
            Notice::FaultInjected { fault, detail, .. } => format!("FAULT   {fault}: {detail}"),
            Notice::Checkpoint {
                what,
                job,
                id,
                store,
                detail,
                ..
            } => {
                let at = store
                    .as_ref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default();
                let slash = if id.is_empty() { "" } else { "/" };
                format!("CKPT    {job}{slash}{id}{at} {what}: {detail}")
            }
            Notice::Workspace {
                what,
                job,
                from,
                to,
                detail,
                ..
            } => format!("SYNC    {job}: workspace {from} → {to} {what}: {detail}"),
            Notice::Service { what, detail, .. } => {
                format!("SERVICE {}: {detail}", what.as_str().replace('_', " "))
            }
            Notice::Drill {
                runbook,
                what,
                detail,
                ..
            } => format!("DRILL   {runbook} {}: {detail}", what.replace('_', " ")),
            Notice::Core(e) => match &e.kind {
                EventKind::HealthChanged {
                    host,
                    from,
                    to,
                    reason,
                } => format!("HEALTH  {host}: {from} → {to} ({reason})"),
                EventKind::RecoveryState {
                    job,
                    from,
                    to,
                    reason,
                } => format!("STATE   {job}: {from} → {to} — {reason}"),
                EventKind::FailoverStep {
                    job,
                    strategy,
                    step,
                    ms,
                    ok,
                    detail,
                    ..
                } => {
                    let mark = match (*ok, step.as_str()) {
                        (true, _) => "ok",
                        (false, "select_target") => "skipped",
                        (false, _) => "FAILED",
                    };
                    format!("STEP    {job}: [{strategy}] {step} {mark} in {ms} ms — {detail}")
                }
                EventKind::FailoverFinished {
                    job,
                    rto_ms,
                    breakdown,
                    target,
                    ..
                } => {
                    let parts: Vec<String> = breakdown
                        .iter()
                        .map(|(k, v)| format!("{k} {v} ms"))
                        .collect();
                    let to = target.as_ref().map(|t| t.to_string()).unwrap_or_default();
                    format!("RTO     {job} → {to}: {rto_ms} ms ({})", parts.join(", "))
                }
                EventKind::Escalated { job, reason } => {
                    format!("ESCALATE {job} NEEDS A HUMAN: {reason} (acknowledge: key a or :ack {job} in the console)")
                }
                EventKind::Decision { job, reason } => match job {
                    Some(j) => format!("WHY     {j}: {reason}"),
                    None => format!("WHY     {reason}"),
                },
                EventKind::AutomationChanged { reason, .. } => format!("AUTO    {reason}"),
                EventKind::CommandAccepted {
                    operator, command, ..
                } => {
                    format!("CMD     {operator}: {command} accepted")
                }
                EventKind::CommandRejected {
                    operator,
                    command,
                    reason,
                    ..
                } => format!("CMD     {operator}: {command} REJECTED — {reason}"),
                EventKind::CheckpointRecorded { job, id, step } => {
                    format!("CKPT    {job}: {id} (step {step}) verified")
                }
                EventKind::StoreHealthChanged {
                    store,
                    fault: Some(f),
                    detail,
                    ..
                } => format!("STORE   {store} ✖ {f}: {detail}"),
                EventKind::StoreHealthChanged { store, detail, .. } => {
                    format!("STORE   {store} ok: {detail}")
                }
            },
        };
        // Details carry hosts' own words (stderr, GPU names): never terminal controls.
        format!("{clock} {}", escape_line(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_notice_comes_back_from_its_journal_row() {
        let notices = [
            Notice::Core(Event {
                ts: Ts(5),
                kind: EventKind::AutomationChanged {
                    job: None,
                    active: false,
                    reason: "paused by alice".into(),
                },
            }),
            Notice::Checkpoint {
                ts: Ts(6),
                what: "replicated".into(),
                job: "llm".into(),
                id: "ck-1".into(),
                store: Some("s3".into()),
                detail: "3 files".into(),
            },
            Notice::Service {
                ts: Ts(7),
                what: ServiceEvent::SupervisorStopped,
                detail: "SIGTERM".into(),
            },
            Notice::FaultInjected {
                ts: Ts(8),
                fault: "gpu-lost".into(),
                host: Some("a".into()),
                job: None,
                detail: "Xid 79".into(),
            },
        ];
        for n in notices {
            let back = Notice::from_journal(n.ts(), n.kind(), &n.to_json());
            assert_eq!(back.as_ref(), Some(&n));
        }
        assert_eq!(
            Notice::from_journal(Ts(1), "from_the_future", &json!({})),
            None
        );
    }

    #[test]
    fn a_text_line_never_carries_terminal_controls() {
        let n = Notice::Checkpoint {
            ts: Ts(0),
            what: "copy_failed".into(),
            job: "llm".into(),
            id: "ck-1".into(),
            store: Some("nas".into()),
            detail: "rsync: \x1b]52;c;cm0gLXJm\x07 failed\nFAKE 00:00 ok".into(),
        };
        let line = n.to_text();
        assert!(!line.contains('\x1b') && !line.contains('\x07') && !line.contains('\n'));
        assert!(
            line.ends_with("copy_failed: rsync: \\x1b]52;c;cm0gLXJm\\x07 failed\\nFAKE 00:00 ok")
        );
        let mut out = Vec::new();
        n.write_line(false, &mut out).ok();
        assert_eq!(out.iter().filter(|b| **b == b'\n').count(), 1);
    }
}
