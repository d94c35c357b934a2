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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::core::drill::plan::Resolved;
    use crate::core::drill::probe::Verdict;

    fn guided() -> Drill {
        let rb = crate::config::runbook::shipped()
            .into_iter()
            .find(|r| r.name == "job-crash")
            .unwrap();
        Drill::new(rb, Resolved::default()).stepping()
    }

    fn whats(news: &[(&'static str, String)]) -> Vec<&'static str> {
        news.iter().map(|(w, _)| *w).collect()
    }

    #[test]
    fn each_change_is_said_once_and_what_did_not_change_is_not_said_again() {
        let mut drill = guided();
        let mut p = Progress::default();
        let first = p.news(&drill);
        assert_eq!(whats(&first), ["holding"]);
        assert!(first[0].1.starts_with("1. [diagnose] "), "{first:?}");
        assert!(p.news(&drill).is_empty(), "the same hold is not said twice");

        let verdict = |ok: bool, why: &str| Verdict {
            ok,
            why: why.into(),
        };
        drill.stops = vec![("rto-exceeds 5m".into(), verdict(true, "RTO 1.0s"))];
        let n = p.news(&drill);
        assert_eq!(n, [("stop", "rto-exceeds 5m: holds — RTO 1.0s".into())]);
        drill.stops[0].1.why = "RTO 2.0s".into();
        assert!(p.news(&drill).is_empty(), "only a change of state is news");
        drill.stops[0].1 = verdict(false, "RTO 301.0s");
        assert_eq!(
            p.news(&drill),
            [("stop", "rto-exceeds 5m: FIRED — RTO 301.0s".into())]
        );

        drill.measures.detection_s = Some(0.84);
        assert_eq!(
            p.news(&drill),
            [("detected", "detected 0.8s after the injection".into())]
        );
        drill.measures.rto_s = Some(11.62);
        drill.measures.rpo_steps = Some(80);
        drill.measures.rpo_s = Some(9.1);
        assert_eq!(
            p.news(&drill),
            [("recovered", "RTO 11.6s; RPO 80 steps (9.1s)".into())]
        );
        drill.measures.rto_s = Some(20.0);
        assert!(p.news(&drill).is_empty(), "recovery is said once");
    }

    #[test]
    fn a_recovery_without_a_step_counter_says_its_rpo_was_not_measured() {
        let mut drill = guided();
        let mut p = Progress::default();
        p.news(&drill);
        drill.measures.rto_s = Some(3.0);
        assert_eq!(
            p.news(&drill),
            [("recovered", "RTO 3.0s; RPO not measured".into())]
        );
    }
}
