//! Folding the outside in: `observe` takes a new snapshot (sparkline history, a second look
//! for open dialogs, stale messages), `note` takes a notice into the event log.

use super::state::{EventLine, Level, Message, Overlay, UiState, EVENT_LOG, HISTORY};
use crate::core::event::EventKind;
use crate::core::snapshot::Snapshot;
use crate::protocol::notice::Notice;
use std::collections::VecDeque;

/// Folds a new snapshot in: history for sparklines, and a second look for open dialogs.
pub fn observe(ui: &mut UiState, snap: &Snapshot) {
    if ui.history.last != Some(snap.now) {
        ui.history.last = Some(snap.now);
        for h in &snap.hosts {
            for g in &h.gpus {
                let Some(i) = g.sample.index else { continue };
                let key = (h.id.to_string(), i);
                if let Some(u) = g.sample.utilization_gpu {
                    push(
                        ui.history.util.entry(key.clone()).or_default(),
                        u.round() as u64,
                    );
                }
                if let Some(t) = g.sample.temperature_gpu {
                    push(ui.history.temp.entry(key).or_default(), t.round() as u64);
                }
            }
        }
    }
    match &mut ui.overlay {
        Overlay::Dialog(d) => d.observe(snap),
        Overlay::Readiness(p) => p.observe(snap),
        _ => {}
    }
    if ui
        .message
        .as_ref()
        .is_some_and(|m| snap.now.since(m.at).as_secs() > 15)
    {
        ui.message = None;
    }
}

fn push(q: &mut VecDeque<u64>, v: u64) {
    if q.len() >= HISTORY {
        q.pop_front();
    }
    q.push_back(v);
}

/// Folds a notice into the event log; a refusal of this operator's command is shown.
pub fn note(ui: &mut UiState, n: &Notice) {
    let (host, operator) = match n {
        Notice::FaultInjected { host, .. } => (host.clone(), None),
        Notice::Checkpoint { .. } | Notice::Service { .. } | Notice::Drill { .. } => (None, None),
        Notice::Workspace { to, .. } => (Some(to.clone()), None),
        Notice::Core(e) => match &e.kind {
            EventKind::HealthChanged { host, .. } => (Some(host.to_string()), None),
            EventKind::CommandAccepted { operator, .. }
            | EventKind::CommandRejected { operator, .. } => (None, Some(operator.clone())),
            _ => (None, None),
        },
    };
    let full = n.to_text();
    let text = full
        .split_once(' ')
        .map_or(full.as_str(), |(_, rest)| rest)
        .to_string();
    // A prune this console asked for: its outcome, not just that it was sent.
    if let Notice::Checkpoint {
        what, ts, detail, ..
    } = n
    {
        if what == "prune_finished" {
            let level = if detail.contains("; failed") {
                Level::Error
            } else {
                Level::Info
            };
            ui.message = Some(Message {
                text: format!("prune: {detail}"),
                level,
                at: *ts,
            });
        }
    }
    if let Notice::Drill {
        run,
        runbook,
        what,
        detail,
        ..
    } = n
    {
        match what.as_ref() {
            "finished" if ui.drill.as_ref().is_some_and(|d| &d.run == run) => ui.drill = None,
            "started" => {
                ui.drill = Some(crate::tui::state::DrillUnderWay {
                    runbook: runbook.clone(),
                    run: run.clone(),
                    step: String::new(),
                })
            }
            "step_started" | "waiting" | "holding" => {
                if let Some(d) = ui.drill.as_mut().filter(|d| &d.run == run) {
                    d.step = detail.clone();
                }
            }
            _ => {}
        }
    }
    ui.drills.note(n);
    if let Notice::Core(e) = n {
        if let EventKind::CommandRejected {
            operator,
            command,
            reason,
            ..
        } = &e.kind
        {
            if *operator == ui.settings.operator {
                ui.message = Some(Message {
                    text: format!("{command} refused: {reason}"),
                    level: Level::Error,
                    at: e.ts,
                });
            }
        }
    }
    if ui.events.len() >= EVENT_LOG {
        ui.events.pop_front();
    }
    ui.events.push_back(EventLine {
        ts: n.ts(),
        kind: n.kind().to_string(),
        job: n.job(),
        host,
        operator,
        text,
    });
}
