//! Answers to a failover's work: a step finished (or failed) on a candidate, a chore done,
//! the failover finished, and checkpoints seen for a job.

use super::engine::{Chore, Core};
use super::event::EventKind;
use super::fleet::StrategyKind;
use super::ids::{JobId, OpId, Target};
use super::io::{Effect, StepOutput};
use super::recovery::{PendingKind, RecoveryState, StepKind};
use super::time::human;
use std::time::Duration;

/// How far before an epoch's revocation its checkpoints must be made to count.
const REVOKE_MARGIN_MS: u64 = 2_000;

impl Core {
    pub(super) fn handle_step(&mut self, op: OpId, result: Result<StepOutput, String>) {
        let owner = self
            .d
            .jobs
            .iter()
            .find(|(_, r)| r.pending().is_some_and(|p| p.op == op))
            .map(|(id, r)| (id.clone(), r.pending().map(|p| p.kind)));
        let Some((job, Some(PendingKind::Step(step)))) = owner else {
            self.chore_finished(op, result);
            return;
        };
        if let Some(inc) = self.d.jobs.get_mut(&job).and_then(|r| r.incident.as_mut()) {
            inc.pending = None;
        }
        self.progress.remove(&op);
        let epoch = self.d.jobs.get(&job).map(|r| r.epoch).unwrap_or_default();
        let old = self.d.jobs.get(&job).map(|r| r.placement.host.clone());
        match (step, result) {
            (StepKind::Fence, Ok(out)) => {
                let revoked = format!(
                    "old host did not answer; copies older than {epoch} are revoked, their late writes ignored"
                );
                // Survivors: the step failed (the host is not fenced), yet the failover goes
                // on as for a host that did not answer: the epoch is revoked.
                let (ok, detail) = match out {
                    StepOutput::FenceUnreachable => (true, revoked),
                    // What the provider did about the old instance (or failed to).
                    StepOutput::FenceUnreachableNoted { note } => (true, format!("{revoked}; {note}")),
                    StepOutput::FenceSurvivors { alive, note } => (
                        false,
                        format!(
                            "old copy NOT stopped: still alive after SIGKILL: {}; the host is not fenced, so copies older than {epoch} are revoked and their late writes ignored{}",
                            alive.join(", "),
                            note.map(|n| format!("; {n}")).unwrap_or_default()
                        ),
                    ),
                    _ => (
                        true,
                        format!("old copy stopped, nothing of it left on the host; copies older than {epoch} are revoked"),
                    ),
                };
                self.record(&job, step, ok, detail, old.map(|h| Target::new(h, None)));
                if let Some(r) = self.run_mut(&job) {
                    r.fenced = true;
                }
                self.issue_step(&job, StepKind::Stage);
            }
            (StepKind::Fence, Err(e)) => {
                self.record(&job, step, false, e.clone(), None);
                self.escalate(
                    &job,
                    format!("could not fence the old copy ({e}); refusing to start a second one"),
                );
            }
            (StepKind::Provision, Ok(StepOutput::Provisioned { target, host })) => {
                self.adopt_rented(*host);
                self.record(
                    &job,
                    step,
                    true,
                    format!("new instance {target}"),
                    Some(target.clone()),
                );
                if let Some(r) = self.run_mut(&job) {
                    r.target = Some(target.clone());
                    r.candidates = Some(vec![target]);
                }
                self.issue_after_select(&job);
            }
            (
                StepKind::Stage,
                Ok(StepOutput::Staged {
                    bytes,
                    from,
                    sealed,
                }),
            ) => {
                let ck = self.run_mut(&job).and_then(|r| r.checkpoint.clone());
                let how = match (&from, sealed) {
                    (Some(store), _) => format!("{STAGED_FROM}{store}, SHA-256 verified"),
                    (None, false) => "in place, SHA-256 verified".to_string(),
                    (None, true) => {
                        "in place, unchanged since its SHA-256 was verified there (sealed)".into()
                    }
                };
                let detail = match ck {
                    Some(c) => format!(
                        "checkpoint {} (step {}, {bytes}{STAGED_BYTES} {how}",
                        c.id, c.step
                    ),
                    None => "no verified checkpoint exists: the job restarts from scratch".into(),
                };
                self.record(&job, step, true, detail, None);
                self.issue_step(&job, StepKind::Launch);
            }
            (StepKind::Launch, Ok(StepOutput::Launched)) => {
                self.record(&job, step, true, format!("started under {epoch}"), None);
                self.issue_step(&job, StepKind::Verify);
            }
            (StepKind::Verify, Ok(StepOutput::Running)) => {
                self.record(&job, step, true, format!("running under {epoch}"), None);
                self.issue_step(&job, StepKind::Notify);
            }
            (StepKind::Notify, r) => {
                let (ok, detail) = match r {
                    Ok(_) => (true, "people told".to_string()),
                    Err(e) => (false, format!("notification failed ({e}); failover stands")),
                };
                self.record(&job, step, ok, detail, None);
                self.finish_failover(&job);
            }
            (s, r) => {
                let why = match r {
                    Ok(StepOutput::NotRunning(w)) => w,
                    Ok(other) => format!("unexpected answer {other:?}"),
                    Err(e) => e,
                };
                self.record(&job, s, false, why, None);
                self.candidate_failed(&job, s);
            }
        }
    }

    /// The current target failed; never leave a copy that may run under the live epoch.
    fn candidate_failed(&mut self, job: &JobId, step: StepKind) {
        let target = self.run_mut(job).and_then(|r| r.target.clone());
        let now = self.now;
        if matches!(step, StepKind::Launch | StepKind::Verify) {
            if let (Some(t), Some(rec)) = (target, self.d.jobs.get_mut(job)) {
                rec.revoke(now);
                let (op, epoch) = (self.d.next_op, rec.epoch);
                self.d.next_op += 1;
                let op = OpId(op);
                self.chores.insert(
                    op,
                    Chore::StaleFence {
                        job: job.clone(),
                        host: t.host.clone(),
                    },
                );
                let timeout = self.policy.recovery.step_timeouts.fence;
                self.effects.push_back(Effect::Fence {
                    op,
                    job: job.clone(),
                    host: t.host,
                    epoch,
                    timeout,
                    reach: super::io::FENCE_REACH,
                });
            }
        }
        if let Some(r) = self.run_mut(job) {
            r.cand_idx += 1;
            r.target = None;
        }
        self.advance(job);
    }

    fn chore_finished(&mut self, op: OpId, result: Result<StepOutput, String>) {
        match self.chores.remove(&op) {
            Some(Chore::StaleFence { job, host }) => {
                let reason = match result {
                    Ok(StepOutput::Fenced) => format!(
                        "stale copy of {job} on {host} stopped; nothing of it is left on the host"
                    ),
                    Ok(StepOutput::FenceSurvivors { alive, .. }) => format!(
                        "could not stop stale copy of {job} on {host}: still alive after SIGKILL: {}; will retry when seen",
                        alive.join(", ")
                    ),
                    Ok(_) => format!(
                        "stale copy of {job} on {host} not stopped: the host did not answer; will retry when seen"
                    ),
                    Err(e) => format!(
                        "could not fence stale copy of {job} on {host}: {e}; will retry when seen"
                    ),
                };
                self.emit(EventKind::Decision {
                    job: Some(job),
                    reason,
                });
            }
            Some(Chore::ReturnSync {
                job,
                target,
                started,
            }) => self.return_synced(job, target, started, result),
            Some(Chore::Destroy { host }) => {
                let reason = match result {
                    Ok(_) => format!("the failed instance behind {host} was destroyed through its provider"),
                    Err(e) => format!("could not destroy the failed instance behind {host} ({e}); it may still be billed: destroy it by hand"),
                };
                self.emit(EventKind::Decision { job: None, reason });
            }
            Some(Chore::Notify) | None => {}
        }
    }

    /// A machine a failover rented joins the fleet (and stays in it across restarts).
    fn adopt_rented(&mut self, host: super::fleet::HostSpec) {
        if self.host_spec(&host.id).is_none() {
            self.fleet.hosts.push(host.clone());
            self.index_fleet();
        }
        self.hosts
            .entry(host.id.clone())
            .or_insert_with(|| super::engine::HostWatch {
                detector: super::detector::HostDetector::new(),
                next_probe_at: self.now,
                badge: "unknown".into(),
                ..Default::default()
            });
        self.d.rented.retain(|h| h.id != host.id);
        self.d.rented.push(host);
        self.dirty = true;
    }

    pub(super) fn finish_failover(&mut self, job: &JobId) {
        let now = self.now;
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        let Some(inc) = rec.incident.take() else {
            return;
        };
        let Some(run) = inc.failover else { return };
        let Some(target) = run.target.clone() else {
            return;
        };
        let old_host = rec.placement.host.clone();
        rec.placement = target.clone();
        rec.placed_at = Some(now);
        rec.progress_at = Some(now);
        rec.last_step = None;
        let epoch = rec.epoch;
        let rto_ms = now.since(inc.evidence_at).as_millis() as u64;
        let detect_ms = inc.detected_at.since(inc.evidence_at).as_millis() as u64;
        let mut breakdown = vec![("detect".to_string(), detect_ms)];
        if run.started_at > inc.detected_at {
            breakdown.push((
                "reconnect".into(),
                run.started_at.since(inc.detected_at).as_millis() as u64,
            ));
        }
        breakdown.extend(
            run.steps
                .iter()
                .filter(|s| s.ms > 0)
                .map(|s| (s.step.as_str().to_string(), s.ms)),
        );
        let parts: Vec<String> = breakdown
            .iter()
            .map(|(k, v)| format!("{k} {}", human(Duration::from_millis(*v))))
            .collect();
        self.emit(EventKind::FailoverFinished {
            job: job.clone(),
            ok: true,
            target: Some(target.clone()),
            epoch,
            rto_ms,
            detect_ms,
            breakdown,
        });
        let reason = format!(
            "running on {target} under {epoch} via {}; RTO {} ({})",
            run.strategy_name(),
            human(Duration::from_millis(rto_ms)),
            parts.join(", ")
        );
        self.set_state(job, RecoveryState::Resolved, reason);
        self.set_state(job, RecoveryState::Running, format!("running on {target}"));
        // A rented machine took over from a rented one: the failed one is not coming back
        // into service, so it stops costing money (its job's checkpoints are in the stores).
        let rented_anew = matches!(
            run.chain.get(run.strategy_idx),
            Some(StrategyKind::Provision | StrategyKind::RegionalVolume)
        ) && run.manual_target.is_none();
        let old_is_rented = self
            .fleet
            .host(&old_host)
            .is_some_and(|h| h.provider.is_some());
        if rented_anew && old_is_rented && old_host != target.host {
            let op = self.next_op();
            let timeout = self.policy.recovery.step_timeouts.provision;
            self.chores.insert(
                op,
                Chore::Destroy {
                    host: old_host.clone(),
                },
            );
            self.effects.push_back(Effect::DestroyInstance {
                op,
                host: old_host,
                timeout,
            });
        }
    }

    pub(super) fn handle_checkpoint(
        &mut self,
        job: &JobId,
        epoch: super::ids::Epoch,
        ck: super::io::CheckpointRef,
    ) {
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        // Made by an older epoch's copy before that epoch was revoked (the job died, or
        // was being failed over, before it was pulled): good. The margin absorbs a host
        // clock a little behind ours; a host clock ahead only makes this refuse more.
        let before_revoked = rec
            .revoked_at(epoch)
            .is_some_and(|at| ck.created.0.saturating_add(REVOKE_MARGIN_MS) < at.0);
        if epoch < rec.epoch && !before_revoked {
            // Written by a fenced copy: it must never be restored from.
            let reason = format!(
                "ignored checkpoint {} from fenced {epoch} (current {})",
                ck.id, rec.epoch
            );
            self.emit(EventKind::Decision {
                job: Some(job.clone()),
                reason,
            });
            return;
        }
        let (id, step) = (ck.id.clone(), ck.step);
        rec.checkpoints.retain(|c| c.id != ck.id);
        rec.checkpoints.push(ck);
        rec.checkpoints.sort_by_key(|c| (c.step, c.created));
        let excess = rec.checkpoints.len().saturating_sub(50);
        rec.checkpoints.drain(..excess);
        self.dirty = true;
        self.emit(EventKind::CheckpointRecorded {
            job: job.clone(),
            id,
            step,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::EventKind;
    use super::super::harness::{j, small_fleet, Harness};
    use super::super::io::{Effect, Input, StepOutput};
    use super::super::policy::Policy;
    use std::time::Duration;

    /// The fence step's detail, once recorded.
    fn fence_detail(hs: &Harness) -> Option<String> {
        hs.events.iter().find_map(|e| match &e.kind {
            EventKind::FailoverStep { step, detail, .. } if step == "fence" => Some(detail.clone()),
            _ => None,
        })
    }

    fn answer_fence(out: StepOutput) -> Harness {
        let mut hs = Harness::new(small_fleet(), Policy::default());
        hs.run_for(Duration::from_secs(5));
        hs.hold_steps = true;
        hs.fake("a").lost_gpu = Some(0);
        hs.run_for(Duration::from_secs(2));
        let fence = hs
            .take_held()
            .into_iter()
            .find(|e| matches!(e, Effect::Fence { .. }));
        assert!(fence.is_some(), "no fence was asked for");
        if let Some(f) = fence {
            hs.input(Input::StepFinished {
                op: f.op(),
                result: Ok(out),
            });
        }
        hs
    }

    #[test]
    fn an_unanswered_fence_says_what_the_provider_did() {
        let note = "instance 9876543 stopped through vast";
        let hs = answer_fence(StepOutput::FenceUnreachableNoted { note: note.into() });
        let detail = fence_detail(&hs).unwrap_or_default();
        assert!(
            detail.starts_with("old host did not answer; copies older than e2 are revoked"),
            "{detail}"
        );
        assert!(detail.ends_with(&format!("; {note}")), "{detail}");
        // Fenced all the same: the failover goes on.
        let fenced = hs.core.durable().jobs[&j("train")]
            .incident
            .as_ref()
            .and_then(|i| i.failover.as_ref())
            .is_some_and(|f| f.fenced);
        assert!(fenced);
    }

    #[test]
    fn an_unanswered_fence_without_a_provider_has_no_note() {
        let hs = answer_fence(StepOutput::FenceUnreachable);
        let detail = fence_detail(&hs).unwrap_or_default();
        assert!(detail.ends_with("their late writes ignored"), "{detail}");
    }
}

/// What follows the byte count in a stage step's detail.
const STAGED_BYTES: &str = " bytes)";

/// What names the store a stage step restored the checkpoint from.
const STAGED_FROM: &str = "restored from ";

/// The bytes a stage step moved, read back from its detail (written just above).
pub fn staged_bytes(detail: &str) -> Option<u64> {
    let head = &detail[..detail.find(STAGED_BYTES)?];
    head.rsplit(' ').next()?.parse().ok()
}

/// The store a stage step restored the checkpoint from; `None` when it was in place.
pub fn staged_from(detail: &str) -> Option<&str> {
    let tail = &detail[detail.find(STAGED_FROM)? + STAGED_FROM.len()..];
    tail.split([',', ' ']).next().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod staged_tests {
    #[test]
    fn a_stage_detail_reads_back_its_bytes_and_store() {
        let d = "checkpoint step-00000050.ckpt (step 50, 65536 bytes) restored from s3, SHA-256 verified";
        assert_eq!(super::staged_bytes(d), Some(65536));
        assert_eq!(super::staged_from(d), Some("s3"));
        let d = "checkpoint c (step 5, 10 bytes) in place, SHA-256 verified";
        assert_eq!(super::staged_bytes(d), Some(10));
        assert_eq!(super::staged_from(d), None);
        assert_eq!(super::staged_bytes("no verified checkpoint exists"), None);
        let d = "checkpoint c (step 5, 10 bytes) in place, unchanged since its SHA-256 was verified there (sealed)";
        assert_eq!(super::staged_bytes(d), Some(10));
        assert_eq!(super::staged_from(d), None);
    }
}
