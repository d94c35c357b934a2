//! `lifeboat history` output: two sections of text for people (local times, every line
//! escaped, since reasons and details quote hosts and operators), or one JSON object per
//! line with the field names README.md documents.

use super::clock::{local_rfc3339, rfc3339};
use crate::core::history::{Action, Fact, History, Incident, Outcome};
use crate::core::safe_text::escape_line;
use crate::core::time::{human, Ts};
use serde_json::{json, Value};
use std::time::Duration;

/// The text report, one string per line, each safe for a terminal.
pub fn text(h: &History) -> Vec<String> {
    let mut lines = vec![format!("INCIDENTS ({})", h.incidents.len())];
    if h.incidents.is_empty() {
        lines.push("  (none)".into());
    }
    for inc in &h.incidents {
        incident_text(inc, &mut lines);
    }
    lines.push(String::new());
    lines.push(format!("OPERATOR ACTIONS ({})", h.actions.len()));
    if h.actions.is_empty() {
        lines.push("  (none)".into());
    }
    lines.extend(h.actions.iter().map(action_text));
    lines
        .into_iter()
        .map(|l| escape_line(&l).into_owned())
        .collect()
}

fn ms(v: u64) -> String {
    human(Duration::from_millis(v))
}

fn incident_text(inc: &Incident, out: &mut Vec<String>) {
    let took = inc
        .ended_at
        .unwrap_or(inc.last_at)
        .since(inc.detected_at)
        .as_millis() as u64;
    let how = match &inc.outcome {
        Outcome::Resolved { .. } => format!("resolved after {}", ms(took)),
        Outcome::Cancelled { by: Some(by), .. } => format!("cancelled by {by}"),
        Outcome::Cancelled { by: None, .. } => "ended FAILED".into(),
        Outcome::NeedsHuman { .. } => "ESCALATED, NEEDS A HUMAN".into(),
        Outcome::Acknowledged { by } => format!("escalated, acknowledged by {by}"),
        Outcome::Open { state } => format!("STILL OPEN ({state})"),
    };
    out.push(format!(
        "{}  {}  {how}",
        local_rfc3339(inc.detected_at),
        inc.job
    ));
    // Out of RUNNING goes without saying; anything else (a journal that starts late) not.
    let was = match inc.detected_from.as_deref() {
        Some("RUNNING") => String::new(),
        Some(s) => format!(" (was {s})"),
        None => " (its detection is not in the journal)".into(),
    };
    out.push(format!("  detected   {}{was}", inc.reason));
    if let Some(strategy) = inc.strategy() {
        let to = inc.target().map(|t| format!(" → {t}")).unwrap_or_default();
        out.push(format!("  strategy   {strategy}{to}"));
    }
    for s in &inc.steps {
        let mark = match (s.ok, s.step.as_str()) {
            (true, _) => "ok",
            (false, "select_target") => "skipped",
            (false, _) => "FAILED",
        };
        out.push(format!(
            "  step       [{}] {} {mark} in {} ms — {}",
            s.strategy, s.step, s.ms, s.detail
        ));
    }
    if let Some(r) = &inc.rto {
        let parts: Vec<String> = r
            .breakdown
            .iter()
            .map(|(k, v)| format!("{k} {v} ms"))
            .collect();
        let failed = if r.ok { "" } else { " (failover FAILED)" };
        out.push(format!(
            "  RTO        {} ms{failed}: {}",
            r.rto_ms,
            parts.join(", ")
        ));
    }
    for (at, why) in &inc.escalations {
        out.push(format!("  escalated  {}  {why}", local_rfc3339(*at)));
    }
    let ended = match &inc.outcome {
        Outcome::Resolved { reason } => format!("resolved: {reason}"),
        Outcome::Cancelled { reason, .. } => format!("FAILED: {reason}"),
        _ => return,
    };
    let at = inc.ended_at.map(local_rfc3339).unwrap_or_default();
    out.push(format!("  ended      {at}  {ended}"));
}

fn action_text(a: &Action) -> String {
    let at = local_rfc3339(a.at);
    match &a.fact {
        Fact::Command(c) => {
            let mut who = c.operator.clone();
            let mut tags: Vec<String> = c.role.iter().cloned().collect();
            tags.extend(c.origin.as_ref().map(origin_text));
            if !tags.is_empty() {
                who = format!("{who} [{}]", tags.join("; "));
            }
            match &c.rejected {
                Some(why) => format!("{at}  {who}: {} REJECTED — {why}", c.command),
                None => format!("{at}  {who}: {} accepted", c.command),
            }
        }
        Fact::Checkpoint {
            what,
            id,
            store,
            detail,
            operator,
        } => {
            let job = a.job.as_deref().unwrap_or("");
            let slash = if id.is_empty() || job.is_empty() {
                ""
            } else {
                "/"
            };
            let at_store = store
                .as_ref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let by = operator
                .as_ref()
                .map(|o| format!("{o}: "))
                .unwrap_or_default();
            format!("{at}  {by}checkpoint {what} {job}{slash}{id}{at_store}: {detail}")
        }
        Fact::Note {
            kind,
            detail,
            operator,
        } => {
            let by = operator
                .as_ref()
                .map(|o| format!("{o}: "))
                .unwrap_or_default();
            format!("{at}  {by}{kind}: {detail}")
        }
        _ => format!("{at}  {}", a.kind),
    }
}

/// `via ssh, addr 10.0.0.5:2200, fingerprint SHA256:…` from the journaled origin object.
fn origin_text(o: &Value) -> String {
    let Some(map) = o.as_object() else {
        return format!("origin {o}");
    };
    let via = map.get("via").and_then(Value::as_str).unwrap_or("unknown");
    let mut parts = vec![format!("via {via}")];
    for (k, v) in map.iter().filter(|(k, _)| *k != "via") {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        parts.push(format!("{k} {v}"));
    }
    parts.join(", ")
}

fn opt_ts(t: Option<Ts>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// The JSON lines: incidents first, then actions, each oldest first.
pub fn json(h: &History) -> Vec<Value> {
    let mut out: Vec<Value> = h.incidents.iter().map(incident_json).collect();
    out.extend(h.actions.iter().map(action_json));
    out
}

fn incident_json(inc: &Incident) -> Value {
    let (reason, by) = match &inc.outcome {
        Outcome::Resolved { reason } | Outcome::NeedsHuman { reason } => (Some(reason), None),
        Outcome::Cancelled { by, reason } => (Some(reason), by.as_ref()),
        Outcome::Acknowledged { by } => (None, Some(by)),
        Outcome::Open { .. } => (None, None),
    };
    let steps: Vec<Value> = inc
        .steps
        .iter()
        .map(|s| {
            json!({"at": rfc3339(s.at), "strategy": s.strategy, "step": s.step,
                   "target": s.target, "ms": s.ms, "ok": s.ok, "detail": s.detail})
        })
        .collect();
    let rto = inc.rto.as_ref().map(|r| {
        let parts: Vec<Value> = r
            .breakdown
            .iter()
            .map(|(k, v)| json!({"phase": k, "ms": v}))
            .collect();
        json!({"ok": r.ok, "target": r.target, "rto_ms": r.rto_ms,
               "detect_ms": r.detect_ms, "breakdown": parts})
    });
    let states: Vec<Value> = inc
        .states
        .iter()
        .map(|(at, state, why)| json!({"at": rfc3339(*at), "state": state, "reason": why}))
        .collect();
    let escalations: Vec<Value> = inc
        .escalations
        .iter()
        .map(|(at, why)| json!({"at": rfc3339(*at), "reason": why}))
        .collect();
    json!({
        "type": "incident",
        "job": inc.job,
        "seq": inc.seq,
        "detected_at": rfc3339(inc.detected_at),
        "detected_from": inc.detected_from,
        "reason": inc.reason,
        "strategy": inc.strategy(),
        "target": inc.target(),
        "steps": steps,
        "rto": rto,
        "escalations": escalations,
        "acknowledged_by": inc.acknowledged_by,
        "outcome": inc.outcome.tag(),
        "outcome_reason": reason,
        "outcome_by": by,
        "state": inc.states.last().map(|(_, s, _)| s),
        "states": states,
        "ended_at": opt_ts(inc.ended_at),
        "last_at": rfc3339(inc.last_at),
    })
}

fn action_json(a: &Action) -> Value {
    let mut v = json!({
        "type": "action", "seq": a.seq, "at": rfc3339(a.at), "kind": a.kind, "job": a.job,
        "operator": null, "role": null, "origin": null, "command": null, "accepted": null,
        "reason": null, "what": null, "id": null, "store": null, "detail": null,
    });
    match &a.fact {
        Fact::Command(c) => {
            v["operator"] = json!(c.operator);
            v["role"] = json!(c.role);
            v["origin"] = c.origin.clone().unwrap_or(Value::Null);
            v["command"] = json!(c.command);
            v["accepted"] = json!(c.rejected.is_none());
            v["reason"] = json!(c.rejected);
        }
        Fact::Checkpoint {
            what,
            id,
            store,
            detail,
            operator,
        } => {
            v["operator"] = json!(operator);
            v["what"] = json!(what);
            v["id"] = json!(id);
            v["store"] = json!(store);
            v["detail"] = json!(detail);
        }
        Fact::Note {
            detail, operator, ..
        } => {
            v["operator"] = json!(operator);
            v["detail"] = json!(detail);
        }
        _ => {}
    }
    v
}
