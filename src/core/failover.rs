//! The failover of one job: the strategy chain walked step by step, candidates per
//! strategy, each step issued and recorded, the restart budget and escalation.

use super::engine::{Core, GRACE};
use super::event::EventKind;
use super::fleet::{Role, StrategyKind};
use super::ids::{JobId, Target};
use super::io::{Effect, Severity};
use super::recovery::{
    FailoverRun, Incident, Pending, PendingKind, RecoveryState, StepKind, StepRecord,
};
use super::time::{human, Ts};

impl Core {
    /// Starts walking the strategy chain (or goes to a named target).
    pub(super) fn start_failover(
        &mut self,
        job: &JobId,
        target: Option<Target>,
        planned: bool,
        manual: bool,
        reason: String,
    ) {
        self.start_failover_with(job, target, None, planned, manual, reason);
    }

    /// An operator's failover: to `target`, by `only` that strategy of the chain, or
    /// down the whole chain.
    pub(super) fn start_failover_on(
        &mut self,
        job: &JobId,
        target: Option<Target>,
        only: Option<StrategyKind>,
        reason: String,
    ) {
        self.start_failover_with(job, target, only, false, true, reason);
    }

    fn start_failover_with(
        &mut self,
        job: &JobId,
        target: Option<Target>,
        only: Option<StrategyKind>,
        planned: bool,
        manual: bool,
        reason: String,
    ) {
        let now = self.now;
        let budget = self.policy.recovery.restart_budget;
        let window = self.policy.recovery.budget_window;
        let mut chain = self
            .fleet
            .job(job)
            .map(|j| j.strategies.clone())
            .unwrap_or_default();
        if let Some(s) = only {
            chain.retain(|k| *k == s);
        }
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        // A job never seen running and never moved is started where it was configured
        // first: it did not fail, it was not started yet (unless a strategy is named).
        let never_ran = rec.never_ran();
        if never_ran
            && target.is_none()
            && only.is_none()
            && chain.first() != Some(&StrategyKind::RestartInPlace)
        {
            chain.insert(0, StrategyKind::RestartInPlace);
        }
        rec.history.retain(|t| now.since(*t) < window);
        if !manual && !planned && rec.history.len() >= budget as usize {
            let why = format!(
                "restart budget spent: {} failovers of {job} in the last {} (limit {budget}); a job that keeps dying needs a human",
                rec.history.len(),
                human(window)
            );
            self.escalate(job, why);
            return;
        }
        if never_ran {
            // The first start runs under e1: no copy of it ever ran, so none is revoked.
        } else {
            if !planned {
                rec.history.push(now);
            }
            rec.revoke(now);
        }
        let cause = reason.clone();
        let inc = rec
            .incident
            .get_or_insert(Incident::opened(now, now, cause, true));
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
            returning: planned && !manual,
            first_start: never_ran,
        });
        let epoch = rec.epoch;
        let why = if never_ran {
            format!("{reason}; first start, under {epoch}")
        } else {
            format!("{reason}; new epoch {epoch}")
        };
        self.set_state(job, RecoveryState::FailingOver, why);
        self.advance(job);
    }

    pub(super) fn run_mut(&mut self, job: &JobId) -> Option<&mut FailoverRun> {
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
        let spec = self.job_spec(job).ok_or("job not in fleet")?;
        let rec = self.d.jobs.get(job).ok_or("job not tracked")?;
        let pick = |want_cpu: bool| -> Result<Vec<Target>, String> {
            let kind = if want_cpu {
                "CPU standby"
            } else {
                "warm standby"
            };
            let configured: Vec<&Target> = spec
                .standbys
                .iter()
                .filter(|t| (self.role_of(&t.host) == Some(Role::CpuStandby)) == want_cpu)
                .collect();
            if configured.is_empty() {
                return Err(format!("no {kind} configured"));
            }
            // Configured but unusable: say which and why, never "none configured".
            let mut why = Vec::new();
            let mut ok = Vec::new();
            for t in configured {
                if *t == rec.placement {
                    why.push(format!("{t} is where the job was running when it failed"));
                    continue;
                }
                match self.eligible(t) {
                    Ok(()) => ok.push(t.clone()),
                    Err(e) => why.push(e),
                }
            }
            if ok.is_empty() {
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
    pub(super) fn advance(&mut self, job: &JobId) {
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
                        Ok(()) if run.returning => {
                            format!("back to {t}: its host has been healthy long enough")
                        }
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

    pub(super) fn issue_after_select(&mut self, job: &JobId) {
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
    pub(super) fn issue_step(&mut self, job: &JobId, step: StepKind) {
        let now = self.now;
        if step == StepKind::Notify && self.run_mut(job).is_some_and(|r| r.first_start) {
            // A first start is a launch, not an incident: nobody is told it "failed over".
            let detail = "first start: a launch, nothing to tell".to_string();
            self.record(job, StepKind::Notify, true, detail, None);
            self.finish_failover(job);
            return;
        }
        let t = self.policy.recovery.step_timeouts.clone();
        let op = self.next_op();
        let Some(rec) = self.d.jobs.get(job) else {
            return;
        };
        let paged = rec
            .incident
            .as_ref()
            .is_some_and(|i| i.escalation.is_some());
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
                reach: self.fence_reach(&old_host),
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
                let moved =
                    format!("failed over to {to} by {strategy}, restored from {from}, now {epoch}");
                // An incident that paged closes with its one resolution message.
                let (severity, message) = if paged {
                    (Severity::Info, format!("{job} resolved: {moved}"))
                } else {
                    (Severity::Warning, format!("{job}: {moved}"))
                };
                Effect::Notify {
                    op,
                    job: Some(job_id),
                    severity,
                    message,
                    timeout: t.notify,
                }
            }
            // A return's sync runs before its failover starts (see `return_gpu`).
            (_, None) | (StepKind::SelectTarget | StepKind::Sync, _) => return,
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

    pub(super) fn record(
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

    /// Where a failover of `job` would go first if it started now, if anywhere.
    pub(super) fn would_pick(&self, job: &JobId) -> Option<Target> {
        let chain = &self.job_spec(job)?.strategies;
        chain.iter().find_map(|s| match s {
            StrategyKind::Escalate | StrategyKind::Provision | StrategyKind::RegionalVolume => None,
            s => self.candidates(job, *s).ok()?.into_iter().next(),
        })
    }

    /// The time of the next reconnect attempt, for views.
    pub fn next_attempt(&self, job: &JobId) -> Option<Ts> {
        self.d.jobs.get(job)?.incident.as_ref()?.next_attempt_at
    }
}
