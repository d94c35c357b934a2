//! Incidents handed to humans: one page when a job escalates, later evidence added to the
//! incident instead of paging again, the job held ESCALATING until a human acts
//! (acknowledge, fail over, resume, cancel), and one resolution when it closes.

use super::detector::Reach;
use super::engine::{Chore, Core};
use super::event::EventKind;
use super::ids::{HostId, JobId};
use super::io::{Effect, Severity};
use super::recovery::{Escalation, Incident, RecoveryState};

impl Core {
    /// Hands the job to humans. The first escalation of an incident pages once; a later
    /// one (say a manual failover that failed) is added to the incident, not re-sent.
    pub(super) fn escalate(&mut self, job: &JobId, reason: String) {
        let now = self.now;
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        let was = rec.state;
        let inc = rec
            .incident
            .get_or_insert_with(|| Incident::opened(now, now, reason.clone(), true));
        inc.pending = None;
        inc.next_attempt_at = None;
        inc.failover = None;
        if let Some(esc) = inc.escalation.as_mut() {
            esc.note(now, &reason);
            if was == RecoveryState::Escalating {
                self.bump();
                self.emit(EventKind::Decision {
                    job: Some(job.clone()),
                    reason: format!("added to the open incident: {reason}"),
                });
            } else {
                self.set_state(job, RecoveryState::Escalating, reason);
            }
            return;
        }
        inc.escalation = Some(Escalation {
            at: now,
            reason: reason.clone(),
            acknowledged: None,
            evidence: Vec::new(),
        });
        self.set_state(job, RecoveryState::Escalating, reason.clone());
        self.emit(EventKind::Escalated {
            job: job.clone(),
            reason: reason.clone(),
        });
        self.notify(
            job,
            Severity::Critical,
            format!("{job} needs a human: {reason}"),
        );
    }

    /// Evidence about a job whose incident is with humans: recorded on it, never paged.
    pub(super) fn add_evidence(&mut self, job: &JobId, what: String) {
        let now = self.now;
        let added = self
            .d
            .jobs
            .get_mut(job)
            .and_then(|r| r.incident.as_mut())
            .and_then(|i| i.escalation.as_mut())
            .is_some_and(|e| e.note(now, &what));
        if added {
            self.bump();
            self.emit(EventKind::Decision {
                job: Some(job.clone()),
                reason: format!("added to the open incident: {what}"),
            });
        }
    }

    /// A probe of `host` answered about an escalated job placed there. It stays with
    /// humans until one acts: the news goes into their incident, and once someone has
    /// acknowledged it, the job seen running well closes it.
    pub(super) fn escalated_seen(&mut self, job: &JobId, host: &HostId, running: bool) {
        let well = self.seen_running_well(job);
        let what = match (&well, running) {
            (_, false) => format!("no running copy of {job} on {host}"),
            (Ok(()), true) => format!("{job} seen running again on {host}"),
            (Err(why), true) => format!("{job} runs on {host}, but {why}"),
        };
        let acked = self
            .d
            .jobs
            .get(job)
            .and_then(|r| r.incident.as_ref())
            .and_then(|i| i.escalation.as_ref())
            .and_then(|e| e.acknowledged.clone());
        match (acked, well) {
            (Some((who, _)), Ok(())) => {
                self.resolved(job, format!("{what}, after {who} acknowledged"));
            }
            _ => self.add_evidence(job, what),
        }
    }

    /// Whether the job's own copy answered the last probe of its host, on a healthy host
    /// with a usable GPU; if not, why not.
    pub(super) fn seen_running_well(&self, job: &JobId) -> Result<(), String> {
        let rec = self.d.jobs.get(job).ok_or("not tracked")?;
        let host = &rec.placement.host;
        let w = self.hosts.get(host).ok_or("its host is not in the fleet")?;
        let running = w
            .observations
            .iter()
            .any(|o| &o.job == job && o.epoch == rec.epoch && o.running);
        if !running {
            return Err(format!("no running copy under {} on {host}", rec.epoch));
        }
        if w.detector.state != Reach::Healthy {
            return Err(format!("{host} is {}", w.detector.state.as_str()));
        }
        if let Some(why) = &w.gpu_host_fatal {
            return Err(format!("{host}: {why}"));
        }
        if let Some(g) = rec.placement.gpu.filter(|g| w.fatal_gpus.contains(g)) {
            return Err(format!("its GPU {g} has a fatal fault"));
        }
        Ok(())
    }

    /// An operator took an escalated incident. If the job is running well it is resolved;
    /// otherwise it stays ESCALATING, owned, until failed over, resumed or cancelled.
    pub(super) fn acknowledge(&mut self, operator: &str, job: &JobId) {
        let now = self.now;
        if let Some(rec) = self.d.jobs.get_mut(job) {
            // An escalation journaled before incidents kept their record gets one now.
            let reason = rec.reason.clone();
            let inc = rec
                .incident
                .get_or_insert_with(|| Incident::opened(now, now, reason.clone(), true));
            let esc = inc.escalation.get_or_insert_with(|| Escalation {
                at: now,
                reason,
                acknowledged: None,
                evidence: Vec::new(),
            });
            esc.acknowledged = Some((operator.to_string(), now));
        }
        self.bump();
        match self.seen_running_well(job) {
            Ok(()) => {
                let place = self.d.jobs.get(job).map(|r| r.placement.to_string());
                let place = place.unwrap_or_default();
                self.resolved(
                    job,
                    format!("acknowledged by {operator}; the job runs on {place}"),
                );
            }
            Err(why) => self.emit(EventKind::Decision {
                job: Some(job.clone()),
                reason: format!(
                    "acknowledged by {operator}; stays ESCALATING ({why}) until failed over, resumed or cancelled"
                ),
            }),
        }
    }

    /// An operator resumed automation for an escalated job: the restart budget starts
    /// afresh and recovery runs again (or the incident closes if the job runs well).
    pub(super) fn resume_escalated(&mut self, operator: &str, job: &JobId) {
        let now = self.now;
        let Some(rec) = self.d.jobs.get_mut(job) else {
            return;
        };
        rec.history.clear();
        if let Some(esc) = rec.incident.as_mut().and_then(|i| i.escalation.as_mut()) {
            esc.acknowledged.get_or_insert((operator.to_string(), now));
        }
        if self.seen_running_well(job).is_ok() {
            self.resolved(
                job,
                format!("automation resumed by {operator}; the job runs"),
            );
            return;
        }
        let reason = format!("automation resumed by {operator}; restart budget reset");
        self.start_failover(job, None, false, false, reason);
    }

    /// The one resolution message of an incident that paged.
    pub(super) fn page_closed(&mut self, job: &JobId, what: &str) {
        self.notify(job, Severity::Info, format!("{job} resolved: {what}"));
    }

    fn notify(&mut self, job: &JobId, severity: Severity, message: String) {
        let op = self.next_op();
        self.chores.insert(op, Chore::Notify);
        let timeout = self.policy.recovery.step_timeouts.notify;
        self.effects.push_back(Effect::Notify {
            op,
            job: Some(job.clone()),
            severity,
            message,
            timeout,
        });
    }
}
