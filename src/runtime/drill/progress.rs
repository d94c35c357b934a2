//! What a running drill says beyond its steps, once each as it changes: that it holds
//! before a step (guided), that the fault was detected, that the job recovered (RTO, RPO),
//! and each stop condition's state. Screens draw the live view from these notices.

use crate::core::drill::engine::Drill;

#[derive(Debug, Default)]
pub struct Progress {
    held: Option<usize>,
    detected: bool,
    recovered: bool,
    stops: Vec<(String, bool)>,
}

impl Progress {
    /// What changed since the last call, as drill notices `(what, detail)`.
    pub fn news(&mut self, drill: &Drill) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let held = drill.held();
        if held != self.held {
            self.held = held;
            if let Some(s) = held.and_then(|i| drill.runbook().steps.get(i).map(|s| (i, s))) {
                let (i, step) = s;
                out.push((
                    "holding",
                    format!(
                        "{}. [{}] {}: {}",
                        i + 1,
                        step.action.kind(),
                        step.title,
                        super::show::step_line(&step.action)
                    ),
                ));
            }
        }
        for (name, v) in &drill.stops {
            let seen = self.stops.iter_mut().find(|(n, _)| n == name);
            let changed = match seen {
                Some((_, ok)) if *ok == v.ok => false,
                Some((_, ok)) => {
                    *ok = v.ok;
                    true
                }
                None => {
                    self.stops.push((name.clone(), v.ok));
                    true
                }
            };
            if changed {
                let state = if v.ok { "holds" } else { "FIRED" };
                out.push(("stop", format!("{name}: {state} — {}", v.why)));
            }
        }
        let m = &drill.measures;
        if let (false, Some(d)) = (self.detected, m.detection_s) {
            self.detected = true;
            out.push(("detected", format!("detected {d:.1}s after the injection")));
        }
        if let (false, Some(rto)) = (self.recovered, m.rto_s) {
            self.recovered = true;
            let rpo = match (m.rpo_steps, m.rpo_s) {
                (Some(steps), Some(s)) => format!("RPO {steps} steps ({s:.1}s)"),
                (Some(steps), None) => format!("RPO {steps} steps"),
                _ => "RPO not measured".into(),
            };
            out.push(("recovered", format!("RTO {rto:.1}s; {rpo}")));
        }
        out
    }
}
