//! Recovery of one job: interruption, reconnect with backoff, the strategy chain walked
//! step by step, the restart budget, escalation and resolution.

use super::engine::{Chore, Core, GRACE};
use super::event::EventKind;
use super::fleet::{Role, StrategyKind};
use super::ids::{JobId, OpId, Target};
use super::io::{Effect, ProbeError, ProbeReport, Severity, StepOutput};
use super::recovery::{
    FailoverRun, Incident, Pending, PendingKind, RecoveryState, StepKind, StepRecord,
};
use super::time::{human, Ts};
use std::time::Duration;

impl Core {
    /// Evidence hit a job. Only a job that was running starts an incident.
    pub(super) fn interrupted(&mut self, job: &JobId, cause: String, hard: bool) {
        let Some(rec) = self.d.jobs.get(job) else {
            return;
        };
        if !matches!(rec.state, RecoveryState::Running | RecoveryState::Resolved) {
            return;
        }
        let evidence_at = self
            .hosts
            .get(&rec.placement.host)
            .and_then(|w| w.detector.suspect_since)
            .filter(|_| !hard)
            .unwrap_or(self.now);
        if let Some(rec) = self.d.jobs.get_mut(job) {
            rec.incident = Some(Incident {
                detected_at: self.now,
                evidence_at,
                cause: cause.clone(),
                hard,
                attempt: 0,
                next_attempt_at: None,
                pending: None,
                failover: None,
            });
        }
        let kind = if hard {
            "hard evidence"
        } else {
            "soft evidence"
        };
        self.set_state(
            job,
            RecoveryState::InterruptionDetected,
            format!("{cause} ({kind})"),
        );
        self.proceed(job);
    }

    /// Why automation must not act on this job now, if it must not.
    fn hold_reason(&self, job: &JobId, hard: bool) -> Option<String> {
        let rec = self.d.jobs.get(job)?;
        if let Some(who) = &rec.paused {
            return Some(format!("not failing over: automation paused for {job} by {who}; fail over by hand or resume"));
        }
        if let Some(who) = &self.d.paused {
            return Some(format!(
                "not failing over: automation paused for the whole fleet by {who}"
            ));
        }
        match &self.frozen {
            Some(why) if !hard => Some(format!("not failing over: {why}")),
            _ => None,
        }
    }

    /// From INTERRUPTION_DETECTED: hold, reconnect, or fail over.
    fn proceed(&mut self, job: &JobId) {
        let Some(inc) = self.d.jobs.get(job).and_then(|r| r.incident.clone()) else {
            return;
        };
        if let Some(why) = self.hold_reason(job, inc.hard) {
            if let Some(rec) = self.d.jobs.get_mut(job) {
                rec.reason = why.clone();
            }
            self.bump();
            self.emit(EventKind::Decision {
                job: Some(job.clone()),
                reason: why,
            });
            return;
        }
        if inc.hard {
            let reason = format!("{}: skipping reconnect, failing over", inc.cause);
            self.start_failover(job, None, false, false, reason);
            return;
        }
        let backoff = self.policy.recovery.reconnect_backoff.clone();
        let Some(first) = backoff.first().copied() else {
            self.start_failover(
                job,
                None,
                false,
                false,
                "no reconnect attempts configured".into(),
            );
            return;
        };
        let total: Duration = backoff.iter().sum();
        if let Some(inc) = self.d.jobs.get_mut(job).and_then(|r| r.incident.as_mut()) {
            inc.next_attempt_at = Some(self.now.plus(first));
        }
        let reason = format!(
            "trying to reconnect: {} attempts over {} (backoff {})",
            backoff.len(),
            human(total),
            backoff
                .iter()
                .map(|d| human(*d))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.set_state(job, RecoveryState::Reconnecting, reason);
    }

    /// Jobs held by a pause or the partition guard go on once nothing holds them.
    pub(super) fn continue_held(&mut self) {
        let held: Vec<JobId> = self
            .d
            .jobs
            .iter()
            .filter(|(_, r)| {
                r.state == RecoveryState::InterruptionDetected
                    && r.incident.as_ref().is_some_and(|i| i.failover.is_none())
            })
            .map(|(id, _)| id.clone())
            .collect();
        for job in held {
            self.proceed(&job);
        }
    }

    pub(super) fn handle_job_timers(&mut self) {
        let now = self.now;
        let ids: Vec<JobId> = self.d.jobs.keys().cloned().collect();
        for job in ids {
            let Some(rec) = self.d.jobs.get(&job) else {
                continue;
            };
            let Some(inc) = rec.incident.as_ref() else {
                continue;
            };
            if let Some(p) = &inc.pending {
                if now >= p.deadline {
                    let (op, kind) = (p.op, p.kind);
                    match kind {
                        PendingKind::Reconnect => {
                            self.reconnect_answered(&job, &Err(ProbeError::Timeout))
                        }
                        PendingKind::Step(s) => {
                            let why = format!("{} got no answer in time", s.as_str());
                            self.handle_step(op, Err(why));
                        }
                    }
                }
                continue;
            }
            let due = inc.next_attempt_at.is_some_and(|t| now >= t);
            if rec.state == RecoveryState::Reconnecting && due {
                let host = rec.placement.host.clone();
                let timeout = self.policy.detection.probe_timeout;
                let op = self.next_op();
                if let Some(inc) = self.d.jobs.get_mut(&job).and_then(|r| r.incident.as_mut()) {
                    inc.attempt += 1;
                    inc.next_attempt_at = None;
                    inc.pending = Some(Pending {
                        op,
                        kind: PendingKind::Reconnect,
                        started: now,
                        deadline: now.plus(timeout + GRACE),
                    });
                }
                self.dirty = true;
                self.effects.push_back(Effect::Probe { op, host, timeout });
            }
        }
    }

    pub(super) fn reconnect_answered(
        &mut self,
        job: &JobId,
        result: &Result<ProbeReport, ProbeError>,
    ) {
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        let epoch = rec.epoch;
        let host = rec.placement.host.clone();
        let Some(inc) = rec.incident.as_mut() else {
            return;
        };
        inc.pending = None;
        let attempt = inc.attempt;
        let backoff = self.policy.recovery.reconnect_backoff.clone();
        match result {
            Ok(r)
                if r.jobs
                    .iter()
                    .any(|o| &o.job == job && o.epoch == epoch && o.running) =>
            {
                self.resolved(
                    job,
                    format!("reconnected to {host} on attempt {attempt}; job still running"),
                );
            }
            Ok(_) => {
                let reason =
                    format!("{host} answers again (attempt {attempt}) but the job process is gone");
                self.start_failover(job, None, false, false, reason);
            }
            Err(e) => {
                if let Some(wait) = backoff.get(attempt as usize) {
                    inc.next_attempt_at = Some(self.now.plus(*wait));
                    // The next attempt's time is in the snapshot; views count it down.
                    rec.reason = format!(
                        "reconnect attempt {attempt} of {} failed ({e})",
                        backoff.len()
                    );
                    self.bump();
                } else {
                    let total: Duration = backoff.iter().sum();
                    let reason = format!(
                        "reconnect failed after {attempt} attempts over {} ({e})",
                        human(total)
                    );
                    self.start_failover(job, None, false, false, reason);
                }
            }
        }
    }

    /// Starts walking the strategy chain (or goes to a named target).
    pub(super) fn start_failover(
        &mut self,
        job: &JobId,
        target: Option<Target>,
        planned: bool,
        manual: bool,
        reason: String,
    ) {
        let now = self.now;
        let budget = self.policy.recovery.restart_budget;
        let window = self.policy.recovery.budget_window;
        let chain = self
            .fleet
            .job(job)
            .map(|j| j.strategies.clone())
            .unwrap_or_default();
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        rec.history.retain(|t| now.since(*t) < window);
        if !manual && rec.history.len() >= budget as usize {
            let why = format!(
                "restart budget spent: {} failovers of {job} in the last {} (limit {budget}); a job that keeps dying needs a human",
                rec.history.len(),
                human(window)
            );
            self.escalate(job, why);
            return;
        }
        if !planned {
            rec.history.push(now);
        }
        rec.epoch = rec.epoch.next();
        let cause = reason.clone();
        let inc = rec.incident.get_or_insert(Incident {
            detected_at: now,
            evidence_at: now,
            cause,
            hard: true,
            attempt: 0,
            next_attempt_at: None,
            pending: None,
            failover: None,
        });
        inc.next_attempt_at = None;
        inc.pending = None;
        inc.failover = Some(FailoverRun {
            started_at: now,
            chain,
            manual_target: target,
            planned,
            strategy_idx: 0,
            candidates: None,
            cand_idx: 0,
            target: None,
            step: StepKind::SelectTarget,
            step_started: now,
            fenced: false,
            checkpoint: None,
            steps: Vec::new(),
        });
        let epoch = rec.epoch;
        self.set_state(
            job,
            RecoveryState::FailingOver,
            format!("{reason}; new epoch {epoch}"),
        );
        self.advance(job);
    }

    fn run_mut(&mut self, job: &JobId) -> Option<&mut FailoverRun> {
        self.d
            .jobs
            .get_mut(job)?
            .incident
            .as_mut()?
            .failover
            .as_mut()
    }

    /// Who may take the job under `strategy`, or why nobody can.
    fn candidates(&self, job: &JobId, strategy: StrategyKind) -> Result<Vec<Target>, String> {
        let spec = self.fleet.job(job).ok_or("job not in fleet")?;
        let rec = self.d.jobs.get(job).ok_or("job not tracked")?;
        let pick = |want_cpu: bool| -> Result<Vec<Target>, String> {
            let mut why = Vec::new();
            let ok: Vec<Target> = spec
                .standbys
                .iter()
                .filter(|t| (self.role_of(&t.host) == Some(Role::CpuStandby)) == want_cpu)
                .filter(|t| **t != rec.placement)
                .filter(|t| match self.eligible(t) {
                    Ok(()) => true,
                    Err(e) => {
                        why.push(e);
                        false
                    }
                })
                .cloned()
                .collect();
            if ok.is_empty() {
                let kind = if want_cpu {
                    "CPU standby"
                } else {
                    "warm standby"
                };
                if why.is_empty() {
                    return Err(format!("no {kind} configured"));
                }
                return Err(format!("no {kind} fit: {}", why.join("; ")));
            }
            Ok(ok)
        };
        match strategy {
            StrategyKind::RestartInPlace => {
                let t = rec.placement.clone();
                // The job's own GPU is busy with itself; only health matters here.
                let w = self.hosts.get(&t.host).ok_or("host unknown")?;
                if w.detector.state != super::detector::Reach::Healthy {
                    return Err(format!(
                        "{} is {}: restarting in place would not help",
                        t.host,
                        w.detector.state.as_str()
                    ));
                }
                if let Some(why) = &w.gpu_host_fatal {
                    return Err(format!("{}: {why}", t.host));
                }
                if t.gpu.is_some_and(|g| w.fatal_gpus.contains(&g)) {
                    return Err(format!("{t} has a fatal GPU fault"));
                }
                Ok(vec![t])
            }
            StrategyKind::WarmStandby => pick(false),
            StrategyKind::CpuStandby => pick(true),
            StrategyKind::Provision if self.caps.provision => Ok(Vec::new()),
            StrategyKind::RegionalVolume if self.caps.regional_volume => Ok(Vec::new()),
            StrategyKind::Provision | StrategyKind::RegionalVolume => {
                Err("no provider able to do this is configured".into())
            }
            StrategyKind::Escalate => Err("escalate".into()),
        }
    }

    /// Moves the failover forward to its next effect, falling through the chain.
    fn advance(&mut self, job: &JobId) {
        loop {
            let Some(run) = self.run_mut(job).cloned() else {
                return;
            };
            if let Some(t) = &run.manual_target {
                if run.strategy_idx > 0 {
                    let why = format!("{} to {t} failed; handing to humans", run.strategy_name());
                    self.escalate(job, why);
                    return;
                }
                if run.target.is_none() {
                    let detail = match self.eligible(t) {
                        Ok(()) => format!("operator chose {t}"),
                        Err(e) => format!("operator chose {t} (warning: {e})"),
                    };
                    self.record(job, StepKind::SelectTarget, true, detail, Some(t.clone()));
                    if let Some(r) = self.run_mut(job) {
                        r.target = Some(t.clone());
                        r.candidates = Some(vec![t.clone()]);
                    }
                    self.issue_after_select(job);
                    return;
                }
            }
            let Some(strategy) = run.chain.get(run.strategy_idx).copied() else {
                let tried: Vec<&str> = run.chain.iter().map(|s| s.as_str()).collect();
                self.escalate(
                    job,
                    format!("every strategy failed ({})", tried.join(" → ")),
                );
                return;
            };
            if strategy == StrategyKind::Escalate {
                let failed: Vec<String> = run
                    .steps
                    .iter()
                    .filter(|s| !s.ok)
                    .map(|s| format!("{}: {}", s.strategy, s.detail))
                    .collect();
                self.escalate(
                    job,
                    format!(
                        "strategy chain reached escalate after: {}",
                        failed.join("; ")
                    ),
                );
                return;
            }
            let cands = match run.candidates.clone() {
                Some(c) => c,
                None => match self.candidates(job, strategy) {
                    Ok(c) if c.is_empty() => {
                        // Provision: the target comes from the provider.
                        if let Some(r) = self.run_mut(job) {
                            r.candidates = Some(Vec::new());
                        }
                        self.issue_step(job, StepKind::Provision);
                        return;
                    }
                    Ok(c) => {
                        if let Some(r) = self.run_mut(job) {
                            r.candidates = Some(c.clone());
                            r.cand_idx = 0;
                        }
                        c
                    }
                    Err(why) => {
                        self.record(job, StepKind::SelectTarget, false, why, None);
                        self.next_strategy(job);
                        continue;
                    }
                },
            };
            let Some(target) = cands.get(run.cand_idx).cloned() else {
                self.next_strategy(job);
                continue;
            };
            self.record(
                job,
                StepKind::SelectTarget,
                true,
                format!("picked {target}"),
                Some(target.clone()),
            );
            if let Some(r) = self.run_mut(job) {
                r.target = Some(target);
            }
            self.issue_after_select(job);
            return;
        }
    }

    fn next_strategy(&mut self, job: &JobId) {
        if let Some(r) = self.run_mut(job) {
            r.strategy_idx += 1;
            r.candidates = None;
            r.cand_idx = 0;
            r.target = None;
        }
    }

    fn issue_after_select(&mut self, job: &JobId) {
        let fenced = self.run_mut(job).is_some_and(|r| r.fenced);
        self.issue_step(
            job,
            if fenced {
                StepKind::Stage
            } else {
                StepKind::Fence
            },
        );
    }

    /// Asks for the effect of `step` and records it as pending.
    fn issue_step(&mut self, job: &JobId, step: StepKind) {
        let now = self.now;
        let t = self.policy.recovery.step_timeouts.clone();
        let op = self.next_op();
        let Some(rec) = self.d.jobs.get(job) else {
            return;
        };
        let epoch = rec.epoch;
        let old_host = rec.placement.host.clone();
        let newest = rec.newest_verified().cloned();
        let Some(run) = rec.incident.as_ref().and_then(|i| i.failover.as_ref()) else {
            return;
        };
        let target = run.target.clone();
        let strategy = run.strategy_name();
        let checkpoint = run.checkpoint.clone();
        let job_id = job.clone();
        let effect = match (step, target.clone()) {
            (StepKind::Provision, _) => Effect::Provision {
                op,
                job: job_id,
                regional_volume: run.chain.get(run.strategy_idx)
                    == Some(&StrategyKind::RegionalVolume),
                timeout: t.provision,
            },
            (StepKind::Fence, _) => Effect::Fence {
                op,
                job: job_id,
                host: old_host,
                epoch,
                timeout: t.fence,
            },
            (StepKind::Stage, Some(target)) => Effect::Stage {
                op,
                job: job_id,
                target,
                checkpoint: newest.clone(),
                timeout: t.stage,
            },
            (StepKind::Launch, Some(target)) => {
                let cpu = self.role_of(&target.host) == Some(Role::CpuStandby);
                Effect::Launch {
                    op,
                    job: job_id,
                    target,
                    epoch,
                    checkpoint,
                    cpu,
                    timeout: t.launch,
                }
            }
            (StepKind::Verify, Some(target)) => Effect::Verify {
                op,
                job: job_id,
                target,
                epoch,
                timeout: t.verify,
            },
            (StepKind::Notify, target) => {
                let to = target.map_or("?".to_string(), |t| t.to_string());
                let from = checkpoint
                    .as_ref()
                    .map_or("no checkpoint (fresh start)".to_string(), |c| {
                        format!("checkpoint step {}", c.step)
                    });
                Effect::Notify {
                    op,
                    job: Some(job_id),
                    severity: Severity::Warning,
                    message: format!("{job}: failed over to {to} by {strategy}, restored from {from}, now {epoch}"),
                    timeout: t.notify,
                }
            }
            (_, None) | (StepKind::SelectTarget, _) => return,
        };
        let timeout = effect.timeout();
        if let Some(run) = self.run_mut(job) {
            run.step = step;
            run.step_started = now;
            if step == StepKind::Stage {
                run.checkpoint = newest;
            }
        }
        if let Some(inc) = self.d.jobs.get_mut(job).and_then(|r| r.incident.as_mut()) {
            inc.pending = Some(Pending {
                op,
                kind: PendingKind::Step(step),
                started: now,
                deadline: now.plus(timeout + GRACE),
            });
        }
        self.dirty = true;
        self.effects.push_back(effect);
    }

    /// After a restart: ask again for the step that was running.
    pub(super) fn reissue_step(&mut self, job: &JobId) {
        let Some(run) = self.run_mut(job) else { return };
        let step = run.step;
        if step == StepKind::SelectTarget {
            self.advance(job);
        } else {
            self.issue_step(job, step);
        }
    }

    fn record(
        &mut self,
        job: &JobId,
        step: StepKind,
        ok: bool,
        detail: String,
        target: Option<Target>,
    ) {
        let now = self.now;
        let Some(run) = self.run_mut(job) else { return };
        let ms = if step == StepKind::SelectTarget {
            0
        } else {
            now.since(run.step_started).as_millis() as u64
        };
        let strategy = run.strategy_name();
        let target = target.or_else(|| run.target.clone());
        run.steps.push(StepRecord {
            strategy: strategy.clone(),
            step,
            target: target.clone(),
            ms,
            ok,
            detail: detail.clone(),
        });
        self.emit(EventKind::FailoverStep {
            job: job.clone(),
            strategy,
            step: step.as_str().into(),
            target,
            ms,
            ok,
            detail,
        });
    }

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
                let detail = match out {
                    StepOutput::FenceUnreachable => format!(
                        "old host did not answer; {epoch} revoked, its writes will be ignored"
                    ),
                    _ => format!("old copy stopped; {epoch} revoked"),
                };
                self.record(&job, step, true, detail, old.map(|h| Target::new(h, None)));
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
            (StepKind::Provision, Ok(StepOutput::Provisioned { target })) => {
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
            (StepKind::Stage, Ok(StepOutput::Staged { bytes })) => {
                let ck = self.run_mut(&job).and_then(|r| r.checkpoint.clone());
                let detail = match ck {
                    Some(c) => format!(
                        "checkpoint {} (step {}, {bytes} bytes) in place, SHA-256 verified",
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
        if matches!(step, StepKind::Launch | StepKind::Verify) {
            if let (Some(t), Some(rec)) = (target, self.d.jobs.get_mut(job)) {
                rec.epoch = rec.epoch.next();
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
                    Ok(_) => format!("stale copy of {job} on {host} fenced"),
                    Err(e) => format!(
                        "could not fence stale copy of {job} on {host}: {e}; will retry when seen"
                    ),
                };
                self.emit(EventKind::Decision {
                    job: Some(job),
                    reason,
                });
            }
            Some(Chore::Notify) | None => {}
        }
    }

    fn finish_failover(&mut self, job: &JobId) {
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
        rec.placement = target.clone();
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
    }

    pub(super) fn resolved(&mut self, job: &JobId, reason: String) {
        let now = self.now;
        if let Some(rec) = self.d.jobs.get_mut(job) {
            rec.incident = None;
            rec.progress_at = Some(now);
        }
        let place = self
            .d
            .jobs
            .get(job)
            .map(|r| r.placement.to_string())
            .unwrap_or_default();
        self.set_state(job, RecoveryState::Resolved, reason);
        self.set_state(job, RecoveryState::Running, format!("running on {place}"));
    }

    pub(super) fn escalate(&mut self, job: &JobId, reason: String) {
        if let Some(inc) = self.d.jobs.get_mut(job).and_then(|r| r.incident.as_mut()) {
            inc.pending = None;
            inc.next_attempt_at = None;
            inc.failover = None;
        }
        self.set_state(job, RecoveryState::Escalating, reason.clone());
        self.emit(EventKind::Escalated {
            job: job.clone(),
            reason: reason.clone(),
        });
        let op = self.next_op();
        self.chores.insert(op, Chore::Notify);
        let timeout = self.policy.recovery.step_timeouts.notify;
        self.effects.push_back(Effect::Notify {
            op,
            job: Some(job.clone()),
            severity: Severity::Critical,
            message: format!("{job} needs a human: {reason}"),
            timeout,
        });
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
        if epoch < rec.epoch {
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

    /// The time of the next reconnect attempt, for views.
    pub fn next_attempt(&self, job: &JobId) -> Option<Ts> {
        self.d.jobs.get(job)?.incident.as_ref()?.next_attempt_at
    }
}
