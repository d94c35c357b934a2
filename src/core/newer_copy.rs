//! A live copy of a job under a newer epoch than this core knows: another Lifeboat moved
//! it, or this one did before its state was lost. It is never called stale (fencing it
//! with an older epoch would stop nothing and relaunch from scratch): the epoch is
//! learned and the copy followed, or, while a failover of ours is under way, automation
//! refuses to act and says why.

use super::engine::Core;
use super::event::EventKind;
use super::ids::{HostId, Target};
use super::io::JobObservation;
use super::recovery::RecoveryState;

impl Core {
    /// `o` runs on `host` under an epoch newer than the job's.
    pub(super) fn newer_copy_seen(&mut self, host: &HostId, o: &JobObservation) {
        let now = self.now;
        let Some(rec) = self.d.jobs.get_mut(&o.job) else {
            return;
        };
        let ours = rec.epoch;
        // Past its fence step, a failover of ours may have launched a copy of its own:
        // two supervisors act on this job, and neither may stop the other's copy.
        let launching = rec
            .incident
            .as_ref()
            .and_then(|i| i.failover.as_ref())
            .is_some_and(|f| f.fenced);
        // An escalated job waits for a human, whoever runs it now; unless it never ran
        // here (held over checkpoints nobody adopted): then the live copy is the answer.
        if rec.state == RecoveryState::Escalating && !rec.never_ran() {
            return;
        }
        if launching {
            let why = format!(
                "a copy of {} runs on {host} under {}, newer than this Lifeboat's {ours}: another supervisor is acting on it; refusing to act — stop one of them, then resume",
                o.job, o.epoch
            );
            self.escalate(&o.job, why);
            return;
        }
        rec.epoch = o.epoch;
        rec.placement = Target::new(host.clone(), o.gpu);
        rec.placed_at = Some(now);
        rec.progress_at = Some(now);
        rec.last_step = o.step;
        rec.incident = None;
        let reason = format!(
            "learned {} from the live copy on {host} (newer than {ours}: another Lifeboat, or this one before its state was lost, put it there); following it",
            o.epoch
        );
        self.emit(EventKind::Decision {
            job: Some(o.job.clone()),
            reason: reason.clone(),
        });
        self.set_state(&o.job, RecoveryState::Running, reason);
    }
}
