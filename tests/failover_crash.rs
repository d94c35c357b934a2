//! Exactly once: the console is SIGKILLed in the middle of a real failover, at each step in
//! turn, and started again on the same journal. Each time the failover finishes once,
//! under the epoch it began with (it resumed, it did not start over), and exactly one
//! copy of the job runs.

// A failed assumption here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/failover_bed.rs"]
mod failover_bed;

use failover_bed::eventually;

use serde_json::Value;

/// The step whose end issues `step` (the crash comes right after it).
fn before(step: &str) -> &'static str {
    match step {
        "fence" => "select_target",
        "stage" => "fence",
        "launch" => "stage",
        "verify" => "launch",
        _ => "verify",
    }
}

#[test]
fn a_console_killed_at_each_failover_step_finishes_the_failover_once() {
    let bed =
        failover_bed::start_with("fo-crash", &["warm-standby", "escalate"], &["h2:0", "h1:1"]);
    let mut c = bed.console("300s");
    c.wait(40, |v| {
        v["kind"] == "recovery_state" && v["to"] == "RESOLVED"
    });
    let job = bed.job.clone();
    c.wait(60, |v| {
        v["kind"] == "checkpoint_recorded" && v["job"] == job
    });
    let mut on = 1;
    let mut interrupted = Vec::new();
    for step in ["fence", "stage", "launch", "verify", "notify"] {
        let finished_before = bed.journal("failover_finished").len();
        bed.signal_runs(on, "KILL");
        let started = c.wait(30, |v| {
            v["kind"] == "recovery_state" && v["to"] == "FAILING_OVER"
        });
        let reason = started["reason"].as_str().unwrap().to_string();
        let epoch: u64 = reason
            .rsplit_once("new epoch e")
            .map(|(_, e)| e.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("{reason}"));
        let prior = before(step);
        c.wait(30, |v| v["kind"] == "failover_step" && v["step"] == prior);
        c.crash();
        interrupted.push((step, bed.open_intents()));
        // Started again on the same journal: the failover goes on where it was (unless the
        // crash came just after it finished: steps take milliseconds).
        c = bed.console("300s");
        let done = match bed.journal("failover_finished") {
            j if j.len() > finished_before => j.last().cloned().unwrap(),
            _ => c.wait(60, |v| v["kind"] == "failover_finished"),
        };
        assert_eq!(done["ok"], true, "{done}");
        assert_eq!(
            done["epoch"].as_u64(),
            Some(epoch),
            "crash before {step}: the failover started over instead of resuming\n{:#?}",
            c.seen
        );
        let target = done["target"]["host"].as_str().unwrap().to_string();
        on = if target == "h1" { 1 } else { 2 };
        // h1's standby slot is its second GPU: the job is pinned to it.
        let gpu = if on == 1 { "1" } else { "0" };
        assert_eq!(done["target"]["gpu"].as_u64(), gpu.parse().ok(), "{done}");
        eventually(20, "exactly one copy runs, under the new epoch", || {
            let all = bed.all_alive();
            all.len() == 1 && all[0] == (on, epoch, all[0].2)
        });
        assert_eq!(
            bed.journal("failover_finished").len(),
            finished_before + 1,
            "crash before {step}: the failover must finish exactly once"
        );
        // One run was started for this epoch, on one host.
        let runs: Vec<usize> = [1, 2]
            .into_iter()
            .filter(|n| bed.runs(*n).join(format!("e{epoch}.pid")).exists())
            .collect();
        assert_eq!(
            runs,
            vec![on],
            "crash before {step}: epoch {epoch} started on {runs:?}"
        );
        eventually(10, "the new run says which GPU it sees", || {
            bed.log(on, epoch)
                .contains(&format!("toy job: on GPU {gpu}"))
        });
        let from = bed.step(on).unwrap_or(0);
        eventually(20, "the step counter goes on", || {
            bed.step(on).is_some_and(|s| s > from)
        });
        assert!(
            c.count(|v: &Value| v["kind"] == "escalated") == 0,
            "{:#?}",
            c.seen
        );
    }
    // The journal shows what each crash interrupted. Steps take milliseconds, so on a
    // loaded machine a crash may land just after its step; most must land inside it.
    let inside = interrupted
        .iter()
        .filter(|(step, open)| {
            open.iter()
                .any(|e| e.contains(&format!("\"effect\":\"{step}\"")))
        })
        .count();
    assert!(
        inside >= 3,
        "only {inside} of 5 crashes landed inside their step: {interrupted:#?}"
    );
}
