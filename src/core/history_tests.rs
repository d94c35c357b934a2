//! The history fold from fixed records: incidents that resolve, escalate, stay open or
//! are cancelled, jobs interleaved, `--since` and `--job` cuts, and operator actions.

use super::history::{fold, CommandFact, Fact, Outcome, Record, Rto, Step};
use super::time::Ts;

/// Builds records with increasing row numbers.
#[derive(Default)]
struct Journal {
    rows: Vec<Record>,
}

impl Journal {
    fn push(&mut self, at: u64, job: Option<&str>, fact: Fact) -> &mut Self {
        self.rows.push(Record {
            seq: self.rows.len() as i64 + 1,
            at: Ts(at),
            job: job.map(str::to_string),
            fact,
        });
        self
    }

    fn state(&mut self, at: u64, job: &str, from: &str, to: &str, why: &str) -> &mut Self {
        let fact = Fact::State {
            from: from.into(),
            to: to.into(),
            reason: why.into(),
        };
        self.push(at, Some(job), fact)
    }

    fn step(
        &mut self,
        at: u64,
        job: &str,
        step: &str,
        target: &str,
        ms: u64,
        ok: bool,
    ) -> &mut Self {
        let fact = Fact::Step(Step {
            at: Ts(at),
            strategy: "warm-standby".into(),
            step: step.into(),
            target: Some(target.into()),
            ms,
            ok,
            detail: format!("{step} done"),
        });
        self.push(at, Some(job), fact)
    }

    fn finished(&mut self, at: u64, job: &str, target: &str, rto_ms: u64) -> &mut Self {
        let fact = Fact::Finished(Rto {
            ok: true,
            target: Some(target.into()),
            rto_ms,
            detect_ms: 1000,
            breakdown: vec![("detect".into(), 1000), ("launch".into(), rto_ms - 1000)],
        });
        self.push(at, Some(job), fact)
    }

    fn command(&mut self, at: u64, who: &str, command: &str, rejected: Option<&str>) -> &mut Self {
        let fact = Fact::Command(CommandFact {
            operator: who.into(),
            command: command.into(),
            rejected: rejected.map(str::to_string),
            role: None,
            origin: None,
        });
        self.push(at, None, fact)
    }

    /// A failover of `job` from detection to running again, `t0` to `t0 + 5000`.
    fn resolved_failover(&mut self, t0: u64, job: &str) -> &mut Self {
        self.state(
            t0,
            job,
            "RUNNING",
            "INTERRUPTION_DETECTED",
            "GPU lost (hard evidence)",
        )
        .state(
            t0,
            job,
            "INTERRUPTION_DETECTED",
            "FAILING_OVER",
            "failing over",
        )
        .step(t0, job, "select_target", "spare:gpu0", 0, true)
        .step(t0 + 2000, job, "launch", "spare:gpu0", 2000, true)
        .finished(t0 + 5000, job, "spare:gpu0", 5000)
        .state(
            t0 + 5000,
            job,
            "FAILING_OVER",
            "RESOLVED",
            "running on spare:gpu0; RTO 5.0s",
        )
        .state(
            t0 + 5000,
            job,
            "RESOLVED",
            "RUNNING",
            "running on spare:gpu0",
        )
    }
}

#[test]
fn a_failover_that_resolves_is_one_closed_incident_with_its_rto() {
    let mut j = Journal::default();
    j.state(500, "llm", "RUNNING", "RUNNING", "first probe")
        .resolved_failover(1_000, "llm");
    let h = fold(&j.rows);
    assert_eq!(h.incidents.len(), 1);
    let inc = &h.incidents[0];
    assert_eq!((inc.job.as_str(), inc.detected_at), ("llm", Ts(1_000)));
    assert_eq!(inc.reason, "GPU lost (hard evidence)");
    assert_eq!(inc.detected_from.as_deref(), Some("RUNNING"));
    assert_eq!(inc.strategy(), Some("warm-standby"));
    assert_eq!(inc.target(), Some("spare:gpu0"));
    assert_eq!(inc.steps.len(), 2);
    assert_eq!(inc.rto.as_ref().map(|r| r.rto_ms), Some(5_000));
    assert_eq!(
        inc.outcome,
        Outcome::Resolved {
            reason: "running on spare:gpu0; RTO 5.0s".into()
        }
    );
    assert_eq!(inc.ended_at, Some(Ts(6_000)));
    assert_eq!(inc.states.len(), 4);
    assert!(h.actions.is_empty());
}

#[test]
fn an_escalation_needs_a_human_until_acknowledged_then_resolves() {
    let mut j = Journal::default();
    j.state(
        1_000,
        "llm",
        "RUNNING",
        "INTERRUPTION_DETECTED",
        "unreachable (soft evidence)",
    )
    .state(
        1_000,
        "llm",
        "INTERRUPTION_DETECTED",
        "FAILING_OVER",
        "failing over",
    )
    .step(1_000, "llm", "select_target", "-", 0, false)
    .state(2_000, "llm", "FAILING_OVER", "ESCALATING", "no target left")
    .push(
        2_000,
        Some("llm"),
        Fact::Escalated {
            reason: "no target left".into(),
        },
    );
    let waiting = fold(&j.rows);
    assert_eq!(
        waiting.incidents[0].outcome,
        Outcome::NeedsHuman {
            reason: "no target left".into()
        }
    );
    assert_eq!(waiting.incidents[0].ended_at, None);

    j.command(3_000, "alice", "acknowledge llm", None);
    let taken = fold(&j.rows);
    assert_eq!(
        taken.incidents[0].outcome,
        Outcome::Acknowledged { by: "alice".into() }
    );
    assert_eq!(taken.actions.len(), 1);
    assert_eq!(taken.actions[0].job.as_deref(), Some("llm"));

    j.state(
        4_000,
        "llm",
        "ESCALATING",
        "RESOLVED",
        "llm seen running again, after alice acknowledged",
    )
    .state(4_000, "llm", "RESOLVED", "RUNNING", "running on gpu-a");
    let done = fold(&j.rows);
    let inc = &done.incidents[0];
    assert!(matches!(&inc.outcome, Outcome::Resolved { reason } if reason.contains("alice")));
    assert_eq!(inc.escalations.len(), 1);
    assert_eq!(inc.acknowledged_by.as_deref(), Some("alice"));
    assert_eq!(inc.rto, None);
}

#[test]
fn an_incident_still_under_way_is_open_in_its_state() {
    let mut j = Journal::default();
    j.state(
        1_000,
        "rl",
        "RUNNING",
        "INTERRUPTION_DETECTED",
        "3 probes missed",
    )
    .state(
        1_000,
        "rl",
        "INTERRUPTION_DETECTED",
        "RECONNECTING",
        "trying to reconnect",
    );
    let h = fold(&j.rows);
    assert_eq!(
        h.incidents[0].outcome,
        Outcome::Open {
            state: "RECONNECTING".into()
        }
    );
    assert!(h.incidents[0].outcome.is_open());
}

#[test]
fn a_cancel_ends_the_incident_and_names_who() {
    let mut j = Journal::default();
    j.state(
        1_000,
        "rl",
        "RUNNING",
        "FAILING_OVER",
        "manual failover by bob",
    )
    .command(2_000, "bob", "cancel rl", None)
    .state(
        2_000,
        "rl",
        "FAILING_OVER",
        "FAILED",
        "recovery cancelled by bob",
    );
    let h = fold(&j.rows);
    assert_eq!(
        h.incidents[0].outcome,
        Outcome::Cancelled {
            by: Some("bob".into()),
            reason: "recovery cancelled by bob".into()
        }
    );
    assert_eq!(h.incidents[0].ended_at, Some(Ts(2_000)));
}

#[test]
fn two_jobs_interleaved_keep_their_own_incidents() {
    let mut j = Journal::default();
    j.state(1_000, "a", "RUNNING", "INTERRUPTION_DETECTED", "a lost")
        .state(1_500, "b", "RUNNING", "INTERRUPTION_DETECTED", "b lost")
        .step(2_000, "a", "select_target", "spare-1", 0, true)
        .step(2_100, "b", "select_target", "spare-2", 0, true)
        .finished(3_000, "b", "spare-2", 1_500)
        .state(3_000, "b", "INTERRUPTION_DETECTED", "RESOLVED", "b back")
        .state(3_000, "b", "RESOLVED", "RUNNING", "on spare-2")
        .step(3_500, "a", "launch", "spare-1", 1_500, false);
    let h = fold(&j.rows);
    assert_eq!(h.incidents.len(), 2);
    let (a, b) = (&h.incidents[0], &h.incidents[1]);
    assert_eq!((a.job.as_str(), b.job.as_str()), ("a", "b"));
    assert_eq!(a.steps.len(), 2);
    assert!(!a.steps[1].ok);
    assert_eq!(a.target(), Some("spare-1"));
    assert!(a.outcome.is_open());
    assert_eq!(b.steps.len(), 1);
    assert_eq!(b.target(), Some("spare-2"));
    assert_eq!(b.rto.as_ref().map(|r| r.rto_ms), Some(1_500));
    assert!(!b.outcome.is_open());
    // A second incident of the same job is a new one.
    j.resolved_failover(10_000, "b");
    assert_eq!(fold(&j.rows).incidents.len(), 3);
}

#[test]
fn since_in_the_middle_of_an_incident_keeps_it_whole() {
    let mut j = Journal::default();
    j.resolved_failover(1_000, "old")
        .resolved_failover(10_000, "mid");
    let h = fold(&j.rows).select(Some(Ts(12_000)), None);
    assert_eq!(h.incidents.len(), 1);
    let inc = &h.incidents[0];
    assert_eq!((inc.job.as_str(), inc.detected_at), ("mid", Ts(10_000)));
    assert_eq!(inc.steps.len(), 2, "steps before the cut stay");
    assert_eq!(inc.states.len(), 4);
    // After everything: nothing closed is left, an open one always is.
    j.state(20_000, "open", "RUNNING", "RECONNECTING", "flaky");
    let h = fold(&j.rows).select(Some(Ts(50_000)), None);
    assert_eq!(h.incidents.len(), 1);
    assert_eq!(h.incidents[0].job, "open");
}

#[test]
fn job_and_since_cut_actions_too() {
    let mut j = Journal::default();
    j.command(1_000, "alice", "failover llm to gpu-b", Some("epoch moved"))
        .command(2_000, "bob", "pause all", None)
        .command(3_000, "carol", "resume rl", None)
        .push(
            4_000,
            Some("llm"),
            Fact::Checkpoint {
                what: "pruned".into(),
                id: "ck-1".into(),
                store: Some("nas".into()),
                detail: "retention".into(),
                operator: None,
            },
        )
        .push(
            5_000,
            None,
            Fact::Note {
                kind: "config_reloaded".into(),
                detail: "2 jobs".into(),
                operator: None,
            },
        );
    let all = fold(&j.rows);
    let kinds: Vec<&str> = all.actions.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "command_rejected",
            "command_accepted",
            "command_accepted",
            "checkpoint",
            "config_reloaded"
        ]
    );
    let llm = fold(&j.rows).select(None, Some("llm"));
    let seqs: Vec<i64> = llm.actions.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, [1, 4]);
    let late = fold(&j.rows).select(Some(Ts(3_000)), None);
    assert_eq!(late.actions.len(), 3);
    assert!(fold(&j.rows).select(None, Some("nope")).actions.is_empty());
}

#[test]
fn a_return_sync_joins_the_failover_it_starts_and_a_failed_one_is_no_incident() {
    let mut j = Journal::default();
    j.state(0, "cpu", "FAILING_OVER", "RUNNING", "running on cpu-1")
        .step(1_000, "cpu", "sync", "gpu-a", 900, false)
        .step(5_000, "cpu", "sync", "gpu-a", 800, true)
        .state(
            5_000,
            "cpu",
            "RUNNING",
            "FAILING_OVER",
            "gpu-a is healthy again: cpu returns",
        );
    let h = fold(&j.rows);
    assert_eq!(h.incidents.len(), 1);
    let inc = &h.incidents[0];
    assert_eq!(inc.steps.len(), 1);
    assert!(inc.steps[0].ok);
    assert!(inc.reason.contains("returns"));
}

#[test]
fn a_journal_that_starts_mid_failover_still_shows_it() {
    let mut j = Journal::default();
    j.step(1_000, "llm", "launch", "spare", 1_000, true)
        .finished(2_000, "llm", "spare", 4_000)
        .state(2_000, "llm", "FAILING_OVER", "RESOLVED", "back")
        .state(2_000, "llm", "RESOLVED", "RUNNING", "on spare");
    let h = fold(&j.rows);
    assert_eq!(h.incidents.len(), 1);
    assert_eq!(h.incidents[0].detected_from, None);
    assert_eq!(h.incidents[0].target(), Some("spare"));
    assert!(!h.incidents[0].outcome.is_open());
}
