//! Back from the CPU standby (seed 003's auto-recovery): a job that runs on a CPU standby
//! goes back to a GPU once it has run there for `return_after` and a GPU host has been
//! healthy that long — its home first, then its GPU standbys. When the job has a synced workspace, it is synced back to the GPU host
//! first (a failed sync leaves the job where it is and tries again later); then a planned
//! failover fences the CPU copy, restores the newest verified checkpoint, relaunches on the
//! GPU and verifies it, each a step of its own.

use super::engine::{Chore, Core};
use super::event::EventKind;
use super::fleet::Role;
use super::ids::{JobId, Target};
use super::io::Effect;
use super::recovery::{RecoveryState, StepKind, StepRecord};
use super::time::{human, Ts};

impl Core {
    /// Starts the return of every job on a CPU standby that has a healthy GPU to go to.
    pub(super) fn consider_returns(&mut self) {
        let Some(after) = self.policy.recovery.return_after else {
            return;
        };
        if self.frozen.is_some() || self.d.paused.is_some() {
            return;
        }
        let now = self.now;
        let due: Vec<JobId> = self
            .d
            .jobs
            .iter()
            .filter(|(_, r)| {
                r.state == RecoveryState::Running
                    && r.incident.is_none()
                    && r.paused.is_none()
                    && r.return_hold_until.is_none_or(|t| now >= t)
                    // A job that just landed stays a while: its GPU host may have been up
                    // all along (only the job died there), and flapping helps nobody.
                    && r.placed_at.is_none_or(|t| now.since(t) >= after)
                    && self.role_of(&r.placement.host) == Some(Role::CpuStandby)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for job in due {
            let syncing = self
                .chores
                .values()
                .any(|c| matches!(c, Chore::ReturnSync { job: j, .. } if *j == job));
            if syncing {
                continue;
            }
            let Some(target) = self.return_target(&job, after) else {
                continue;
            };
            let has_workspace = self.job_spec(&job).is_some_and(|j| j.workspace.is_some());
            let Some(from) = self.d.jobs.get(&job).map(|r| r.placement.host.clone()) else {
                continue;
            };
            if !has_workspace {
                self.start_return(&job, target, None);
                continue;
            }
            let op = self.next_op();
            let timeout = self.policy.recovery.step_timeouts.stage;
            self.chores.insert(
                op,
                Chore::ReturnSync {
                    job: job.clone(),
                    target: target.clone(),
                    started: now,
                },
            );
            self.emit(EventKind::Decision {
                job: Some(job.clone()),
                reason: format!(
                    "a GPU is back ({target}): syncing {job}'s workspace from {from} before it returns"
                ),
            });
            self.effects.push_back(Effect::SyncWorkspace {
                op,
                job,
                from,
                to: target.host,
                timeout,
            });
        }
    }

    /// The GPU the job should return to: home first, then GPU standbys, healthy for `after`.
    fn return_target(&self, job: &JobId, after: std::time::Duration) -> Option<Target> {
        let spec = self.job_spec(job)?;
        let taken: Vec<&Target> = self
            .d
            .jobs
            .iter()
            .filter(|(id, _)| *id != job)
            .map(|(_, r)| &r.placement)
            .collect();
        std::iter::once(spec.home())
            .chain(spec.standbys.iter().cloned())
            .filter(|t| self.role_of(&t.host).is_some_and(|r| r != Role::CpuStandby))
            .find(|t| {
                let Some(w) = self.hosts.get(&t.host) else {
                    return false;
                };
                self.eligible(t).is_ok()
                    && w.gpu_host_fatal.is_none()
                    && !t.gpu.is_some_and(|g| w.fatal_gpus.contains(&g))
                    && w.up_since.is_some_and(|s| self.now.since(s) >= after)
                    && !taken.contains(&t)
            })
    }

    /// The planned failover back to `target`; `sync` is the workspace step done before it.
    fn start_return(&mut self, job: &JobId, target: Target, sync: Option<StepRecord>) {
        let from = self
            .d
            .jobs
            .get(job)
            .map(|r| r.placement.host.to_string())
            .unwrap_or_default();
        let reason = format!(
            "{} is healthy again: {job} returns from the CPU standby {from}",
            target.host
        );
        self.start_failover(job, Some(target), true, false, reason);
        if let (Some(s), Some(run)) = (sync, self.run_mut(job)) {
            run.steps.insert(0, s);
        }
    }

    /// The workspace sync before a return finished.
    pub(super) fn return_synced(
        &mut self,
        job: JobId,
        target: Target,
        started: Ts,
        result: Result<super::io::StepOutput, String>,
    ) {
        let ms = self.now.since(started).as_millis() as u64;
        let still_on_cpu = self.d.jobs.get(&job).is_some_and(|r| {
            r.state == RecoveryState::Running
                && r.incident.is_none()
                && self.role_of(&r.placement.host) == Some(Role::CpuStandby)
        });
        match result {
            Ok(out) if still_on_cpu => {
                let detail = match out {
                    super::io::StepOutput::Synced { files, bytes } => {
                        format!(
                            "workspace synced to {}: {files} file(s), {bytes} bytes",
                            target.host
                        )
                    }
                    _ => format!("workspace synced to {}", target.host),
                };
                self.emit(EventKind::FailoverStep {
                    job: job.clone(),
                    strategy: "return".into(),
                    step: StepKind::Sync.as_str().into(),
                    target: Some(target.clone()),
                    ms,
                    ok: true,
                    detail: detail.clone(),
                });
                let rec = StepRecord {
                    strategy: "return".into(),
                    step: StepKind::Sync,
                    target: Some(target.clone()),
                    ms,
                    ok: true,
                    detail,
                };
                self.start_return(&job, target, Some(rec));
            }
            Ok(_) => {}
            Err(e) => {
                let wait = self
                    .policy
                    .recovery
                    .return_after
                    .unwrap_or_default()
                    .max(std::time::Duration::from_secs(60));
                let until = self.now.plus(wait);
                if let Some(rec) = self.d.jobs.get_mut(&job) {
                    rec.return_hold_until = Some(until);
                }
                self.dirty = true;
                self.emit(EventKind::FailoverStep {
                    job: job.clone(),
                    strategy: "return".into(),
                    step: StepKind::Sync.as_str().into(),
                    target: Some(target),
                    ms,
                    ok: false,
                    detail: format!(
                        "workspace sync failed ({e}); {job} stays on the CPU standby, next try in {}",
                        human(wait)
                    ),
                });
            }
        }
    }
}
