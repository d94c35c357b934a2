//! Interruption of one job: the incident opened by evidence, what holds automation back,
//! reconnect with backoff, the job timers, and resolution when the job is seen again.

use super::detector::Reach;
use super::engine::{Core, GRACE};
use super::event::EventKind;
use super::ids::JobId;
use super::io::{Effect, ProbeError, ProbeReport};
use super::recovery::{Incident, Pending, PendingKind, RecoveryState};
use super::time::human;
use std::time::Duration;

impl Core {
    /// Evidence hit a job. Only a job that was running starts an incident.
    pub(super) fn interrupted(&mut self, job: &JobId, cause: String, hard: bool) {
        self.interrupted_since(job, None, cause, hard);
    }

    /// `interrupted`, with when the fault was first observable if the caller knows better.
    /// Otherwise it is the last moment the job was last seen well: the last probe that saw
    /// its copy running (hard evidence about the job), or the host's last good probe (soft
    /// evidence: the host went quiet after it). The recovery time counts from there.
    pub(super) fn interrupted_since(
        &mut self,
        job: &JobId,
        since: Option<super::time::Ts>,
        cause: String,
        hard: bool,
    ) {
        let Some(rec) = self.d.jobs.get(job) else {
            return;
        };
        if rec.state == RecoveryState::Escalating {
            // Humans have it: what we learn goes into their incident, not a new one.
            self.add_evidence(job, cause);
            return;
        }
        if !matches!(rec.state, RecoveryState::Running | RecoveryState::Resolved) {
            return;
        }
        if hard && rec.never_ran() {
            // Not started yet: its first start is a launch, not an incident.
            let paused = rec.paused.is_some() || self.d.paused.is_some() || self.frozen.is_some();
            let hold = self.hold_reason(job, hard);
            // Every host it may run on answered once (a live copy elsewhere would have been
            // followed) and the stores were read: checkpoints in them nobody vouched for
            // stop it for a human, never a start from step 0.
            if let Some(why) = hold.is_none().then(|| self.unadopted_hold(job)).flatten() {
                self.escalate(job, why);
                return;
            }
            match hold {
                None => {
                    let place = rec.placement.to_string();
                    let why = format!("starting on {place} ({cause})");
                    self.start_failover(job, None, false, false, why);
                    return;
                }
                // Standbys not probed yet, or the stores not read: look again at the next
                // probe, still a launch.
                Some(why) if !paused => {
                    if let Some(rec) = self.d.jobs.get_mut(job).filter(|r| r.reason != why) {
                        rec.reason = why;
                        self.bump();
                    }
                    return;
                }
                // Paused: held like any incident, so the pause shows.
                Some(_) => {}
            }
        }
        let det = self.hosts.get(&rec.placement.host).map(|w| &w.detector);
        let last_good = if hard {
            rec.seen_at
        } else {
            det.and_then(|d| d.last_ok.or(d.suspect_since))
        };
        let evidence_at = since
            .or(last_good)
            .filter(|t| *t <= self.now)
            .unwrap_or(self.now);
        if let Some(rec) = self.d.jobs.get_mut(job) {
            rec.incident = Some(Incident::opened(self.now, evidence_at, cause.clone(), hard));
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

    /// Whether the job's host stands found lost by looks from elsewhere.
    fn host_lost(&self, job: &JobId) -> bool {
        self.d
            .jobs
            .get(job)
            .and_then(|r| self.hosts.get(&r.placement.host))
            .is_some_and(|w| w.detector.lost_only())
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
        // Hard evidence about the job or its machine overrides the partition guard; a
        // host found lost by looks from elsewhere does not: when much of the fleet went
        // quiet at once, the looks may share the fault.
        let lost = self.host_lost(job);
        if let Some(why) = self.frozen.as_ref().filter(|_| !hard || lost) {
            return Some(format!("not failing over: {why}"));
        }
        if let Some(why) = self.first_start_hold(job) {
            return Some(why);
        }
        // Choosing before every standby answered its first probe would pass over
        // standbys that are fine (right after start, probes are still in flight).
        let unprobed: Vec<String> = self
            .fleet
            .job(job)?
            .standbys
            .iter()
            .filter(|t| {
                self.hosts.get(&t.host).is_some_and(|w| {
                    w.last_report_at.is_none()
                        && w.detector.misses == 0
                        && w.detector.state == Reach::Healthy
                })
            })
            .map(|t| t.host.to_string())
            .collect();
        (!unprobed.is_empty()).then(|| {
            format!(
                "waiting for the first probe of {} before choosing where {job} goes",
                unprobed.join(", ")
            )
        })
    }

    /// From INTERRUPTION_DETECTED: hold, reconnect, or fail over.
    fn proceed(&mut self, job: &JobId) {
        let Some(mut inc) = self.d.jobs.get(job).and_then(|r| r.incident.clone()) else {
            return;
        };
        if inc.lost {
            // Held (frozen) while its host was found lost: the looks may have shared the
            // fault that froze automation, so reconnect first, as on misses alone.
            inc.hard = false;
            if let Some(i) = self.d.jobs.get_mut(job).and_then(|r| r.incident.as_mut()) {
                (i.hard, i.lost) = (false, false);
            }
        }
        if let Some(why) = self.unadopted_hold(job) {
            self.escalate(job, why);
            return;
        }
        if let Some(why) = self.hold_reason(job, inc.hard) {
            // Held jobs are looked at again after every probe: say so once.
            if self.d.jobs.get(job).is_some_and(|r| r.reason == why) {
                return;
            }
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
        // Only jobs in an incident have timers.
        let ids: Vec<JobId> = self
            .d
            .jobs
            .iter()
            .filter(|(_, r)| r.incident.is_some())
            .map(|(id, _)| id.clone())
            .collect();
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

    pub(super) fn resolved(&mut self, job: &JobId, reason: String) {
        let now = self.now;
        let mut paged = false;
        if let Some(rec) = self.d.jobs.get_mut(job) {
            paged = rec.incident.take().is_some_and(|i| i.escalation.is_some());
            rec.progress_at = Some(now);
        }
        if paged {
            self.page_closed(job, &reason);
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
}
