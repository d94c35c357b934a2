//! The probe side of `Core`: folds probe answers and channel reports into each host's
//! detector, GPU health and badge, trips or thaws the partition guard, and checks the jobs
//! placed on a host that answered.

use super::detector::{Reach, Transition};
use super::engine::{Chore, Core};
use super::event::{Event, EventKind};
use super::gpu::{self, GpuReadout};
use super::ids::{HostId, JobId, OpId};
use super::io::{Channel, ChannelStatus, Effect, ProbeError, ProbeReport};
use super::recovery::{PendingKind, RecoveryState};
use super::time::Ts;
use std::collections::{BTreeMap, BTreeSet};

impl Core {
    pub(super) fn handle_probe(
        &mut self,
        op: OpId,
        host: &HostId,
        result: Result<ProbeReport, ProbeError>,
    ) {
        let reconnecting: Vec<JobId> = self
            .d
            .jobs
            .iter()
            .filter(|(_, r)| {
                r.pending()
                    .is_some_and(|p| p.op == op && p.kind == PendingKind::Reconnect)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let regular = self
            .hosts
            .get(host)
            .is_some_and(|w| w.probe_op.map(|(o, _)| o) == Some(op));
        if !regular && reconnecting.is_empty() {
            // An answer to a superseded op: whatever it says is history.
            return;
        }
        if regular {
            if let Some(w) = self.hosts.get_mut(host) {
                w.probe_op = None;
            }
        }
        let p = self.policy.detection.clone();
        let transition = match &result {
            Ok(report) => {
                let now = self.now;
                if let Some(w) = self.hosts.get_mut(host) {
                    w.up_since.get_or_insert(now);
                }
                let tr = self.absorb_report(host, report);
                let w = self.hosts.get_mut(host);
                let ok = w.map(|w| w.detector.on_success(self.now, &p));
                tr.or(ok.flatten())
            }
            Err(e) => {
                let why = e.to_string();
                if let Some(w) = self.hosts.get_mut(host) {
                    w.up_since = None;
                }
                self.hosts
                    .get_mut(host)
                    .and_then(|w| w.detector.on_miss(self.now, &p, &why))
            }
        };
        if let Some(tr) = transition {
            self.host_transition(host, tr);
        }
        self.refresh_badge(host);
        match &result {
            Ok(report) => self.check_jobs_on(host, report),
            Err(_) => self.look_again(host),
        }
        for job in reconnecting {
            self.reconnect_answered(&job, &result);
        }
        // A job held until its standbys answered may go on now.
        self.continue_held();
        self.consider_returns();
    }

    /// Records a probe's GPU and job facts; returns a transition if they are hard evidence.
    fn absorb_report(&mut self, host: &HostId, report: &ProbeReport) -> Option<Transition> {
        let expected = self.host_spec(host).map_or(0, |h| h.gpus);
        let under_load = self
            .d
            .jobs
            .values()
            .any(|r| &r.placement.host == host && r.state == RecoveryState::Running);
        let p = self.policy.detection.clone();
        let now = self.now;
        let w = self.hosts.get_mut(host)?;
        let assessment = gpu::assess(&report.gpu, expected, &w.samples, &report.xids, under_load);
        let mut fatal_gpus = BTreeSet::new();
        for (i, h) in assessment.per_gpu.iter().enumerate() {
            if matches!(h, gpu::GpuHealth::Fatal(_)) {
                let idx = match &report.gpu {
                    GpuReadout::Gpus(s) => s.get(i).and_then(|s| s.index).unwrap_or(i as u32),
                    _ => i as u32,
                };
                fatal_gpus.insert(idx);
            }
        }
        let present: BTreeSet<u32> = match &report.gpu {
            GpuReadout::Gpus(s) => s.iter().filter_map(|s| s.index).collect(),
            _ => BTreeSet::new(),
        };
        if let GpuReadout::Gpus(_) = &report.gpu {
            // A GPU missing from the output has fallen off the bus.
            for g in 0..expected {
                if !present.contains(&g) {
                    fatal_gpus.insert(g);
                }
            }
        }
        let host_fatal = if !assessment.fatal.is_empty() && fatal_gpus.is_empty() {
            Some(assessment.fatal.join("; "))
        } else {
            None
        };
        let mut health = BTreeMap::new();
        if let GpuReadout::Gpus(s) = &report.gpu {
            // Merge by index: a GPU missing now keeps its last good sample, shown stale.
            for (i, sample) in s.iter().enumerate() {
                let idx = sample.index.unwrap_or(i as u32);
                let h = assessment
                    .per_gpu
                    .get(i)
                    .cloned()
                    .unwrap_or(gpu::GpuHealth::Healthy);
                health.insert(idx, h);
                match w.samples.iter_mut().find(|x| x.index == Some(idx)) {
                    Some(old) => *old = sample.clone(),
                    None => w.samples.push(sample.clone()),
                }
            }
            w.samples.sort_by_key(|x| x.index);
        }
        for g in &fatal_gpus {
            if !matches!(health.get(g), Some(gpu::GpuHealth::Fatal(_))) {
                health.insert(
                    *g,
                    gpu::GpuHealth::Fatal(vec![format!(
                        "GPU {g} missing from nvidia-smi (fallen off the bus?)"
                    )]),
                );
            }
        }
        if let Some(why) = &host_fatal {
            for sample in &w.samples {
                if let Some(idx) = sample.index {
                    health.insert(idx, gpu::GpuHealth::Fatal(vec![why.clone()]));
                }
            }
        }
        w.gpu_health = health;
        w.assessment = assessment;
        w.fatal_gpus = fatal_gpus;
        w.latency = Some(report.latency);
        w.last_report_at = Some(now);
        w.observations = report.jobs.clone();
        if let (Some(old), Some(new)) = (&w.boot_id, &report.boot_id) {
            if old != new {
                self.events.push_back(Event {
                    ts: now,
                    kind: EventKind::Decision {
                        job: None,
                        reason: format!("{host} rebooted (boot id changed)"),
                    },
                });
            }
        }
        w.boot_id = report.boot_id.clone().or(w.boot_id.take());
        let was_gpu_hard = w.gpu_host_fatal.is_some();
        w.gpu_host_fatal = host_fatal.clone();
        match host_fatal {
            Some(why) => w.detector.on_hard(now, &p, format!("GPU: {why}")),
            None => {
                if was_gpu_hard
                    && w.detector
                        .hard
                        .as_deref()
                        .is_some_and(|h| h.starts_with("GPU:"))
                {
                    w.detector.clear_hard();
                }
                None
            }
        }
    }

    pub(super) fn handle_channel(
        &mut self,
        host: &HostId,
        channel: Channel,
        status: ChannelStatus,
    ) {
        let p = self.policy.detection.clone();
        let now = self.now;
        self.looked(host, channel);
        let tr = self
            .hosts
            .get_mut(host)
            .and_then(|w| w.detector.on_channel(now, &p, channel, status));
        if let Some(tr) = tr {
            self.host_transition(host, tr);
        }
        self.refresh_badge(host);
    }

    pub(super) fn refresh_badge(&mut self, host: &HostId) {
        let Some(w) = self.hosts.get_mut(host) else {
            return;
        };
        let d = &w.detector;
        let (badge, reason) = match d.state {
            Reach::Failed => ("failed", d.reason.clone()),
            Reach::Suspect => ("suspect", d.reason.clone()),
            Reach::Healthy if !w.fatal_gpus.is_empty() || !w.assessment.degraded.is_empty() => {
                let mut why = w.assessment.fatal.clone();
                why.extend(w.assessment.degraded.iter().cloned());
                ("degraded", why.join("; "))
            }
            Reach::Healthy => ("healthy", d.reason.clone()),
        };
        if w.badge != badge {
            let from = std::mem::replace(&mut w.badge, badge.to_string());
            self.emit(EventKind::HealthChanged {
                host: host.clone(),
                from,
                to: badge.into(),
                reason,
            });
        }
    }

    /// A host changed reachability: maybe the partition guard trips, maybe jobs are hit.
    fn host_transition(&mut self, host: &HostId, tr: Transition) {
        self.partition_guard();
        if tr.from == Reach::Failed && tr.to == Reach::Failed && tr.hard {
            self.skip_reconnects(host, &tr.reason);
            return;
        }
        if tr.to == Reach::Failed {
            let hit: Vec<JobId> = self
                .d
                .jobs
                .iter()
                .filter(|(_, r)| &r.placement.host == host)
                .map(|(id, _)| id.clone())
                .collect();
            let lost = tr.hard && self.hosts.get(host).is_some_and(|w| w.detector.lost_only());
            for job in hit {
                let cause = format!("host {host} failed: {}", tr.reason);
                self.interrupted(&job, cause, tr.hard);
                let inc = self.d.jobs.get_mut(&job).and_then(|r| r.incident.as_mut());
                if let Some(inc) = inc.filter(|i| lost && i.hard && i.failover.is_none()) {
                    inc.lost = true;
                }
            }
        }
    }

    /// Freezes automatic failover when `share` or more of the fleet turns suspect at once,
    /// and thaws it when fewer than that are down again.
    fn partition_guard(&mut self) {
        let g = self.policy.detection.partition.clone();
        let total = self.hosts.len();
        if total < g.min_hosts as usize || total == 0 {
            return;
        }
        let since = Ts(self.now.0.saturating_sub(g.window.as_millis() as u64));
        let down = self
            .hosts
            .values()
            .filter(|w| w.detector.state != Reach::Healthy);
        let down_now = down.clone().count();
        let recent = down
            .filter(|w| w.detector.suspect_since.is_some_and(|t| t >= since))
            .count();
        if self.frozen.is_none() && g.reached(recent, total) {
            let reason = format!(
                "automatic failover frozen: {down_now} of {total} hosts are down, {recent} of them \
                 went suspect within {}s (the partition guard trips at {}% of the fleet); \
                 this console's own network is the likelier fault (resume to override)",
                g.window.as_secs(),
                g.percent()
            );
            self.frozen = Some(reason.clone());
            self.bump();
            self.emit(EventKind::AutomationChanged {
                job: None,
                active: false,
                reason,
            });
        } else if self.frozen.is_some() && !g.reached(down_now, total) {
            self.thaw(format!(
                "{down_now} of {total} hosts down now; automatic failover resumes"
            ));
        }
    }

    pub(super) fn thaw(&mut self, reason: String) {
        self.frozen = None;
        self.bump();
        self.emit(EventKind::AutomationChanged {
            job: None,
            active: true,
            reason,
        });
        self.continue_held();
    }

    /// Job-level evidence from a host that answered.
    fn check_jobs_on(&mut self, host: &HostId, report: &ProbeReport) {
        let hang = self.policy.detection.heartbeat_hang_timeout;
        let now = self.now;
        let placed: Vec<JobId> = self
            .d
            .jobs
            .iter()
            .filter(|(_, r)| &r.placement.host == host)
            .map(|(id, _)| id.clone())
            .collect();
        for job in placed {
            let Some(rec) = self.d.jobs.get_mut(&job) else {
                continue;
            };
            let obs = report
                .jobs
                .iter()
                .find(|o| o.job == job && o.epoch == rec.epoch && o.running);
            if let Some(o) = obs {
                rec.seen_at = Some(now);
                if o.step.is_some() && o.step != rec.last_step {
                    rec.last_step = o.step;
                    // Judged by our clock, not the host's: a skewed host clock must not fake a hang.
                    rec.progress_at = Some(now);
                } else if rec.progress_at.is_none() {
                    rec.progress_at = Some(now);
                }
            }
            let state = rec.state;
            let epoch = rec.epoch;
            let progress_at = rec.progress_at;
            let gpu = rec.placement.gpu;
            match state {
                RecoveryState::Running => {
                    let gpu_dead = gpu.is_some_and(|g| {
                        self.hosts
                            .get(host)
                            .is_some_and(|w| w.fatal_gpus.contains(&g))
                    });
                    if gpu_dead {
                        let why = self
                            .hosts
                            .get(host)
                            .map(|w| w.assessment.fatal.join("; "))
                            .unwrap_or_default();
                        let g = gpu.unwrap_or(0);
                        self.interrupted(&job, format!("GPU {g} on {host} is dead: {why}"), true);
                    } else if obs.is_none() {
                        self.interrupted(
                            &job,
                            format!("job process gone on {host} (no running copy under {epoch})"),
                            true,
                        );
                    } else if progress_at.is_some_and(|t| now.since(t) > hang) {
                        let quiet = super::time::human(now.since(progress_at.unwrap_or(now)));
                        // The fault is as old as the last progress, not the detection.
                        self.interrupted_since(
                            &job,
                            progress_at,
                            format!(
                                "job hung: no progress for {quiet} (hang timeout {})",
                                super::time::human(hang)
                            ),
                            true,
                        );
                    } else if let Some(rec) = self.d.jobs.get_mut(&job) {
                        rec.reason = format!("running on {}", rec.placement);
                    }
                }
                RecoveryState::Escalating => self.escalated_seen(&job, host, obs.is_some()),
                RecoveryState::InterruptionDetected if obs.is_some() => {
                    let healthy = self
                        .hosts
                        .get(host)
                        .is_some_and(|w| w.detector.state == Reach::Healthy);
                    let no_failover = self
                        .d
                        .jobs
                        .get(&job)
                        .and_then(|r| r.incident.as_ref())
                        .is_none_or(|i| i.failover.is_none());
                    if healthy && no_failover {
                        self.resolved(&job, format!("job seen running again on {host}"));
                    }
                }
                _ => {}
            }
        }
        // A copy under a newer epoch is followed, never fenced with an older one.
        for o in report.jobs.iter().filter(|o| o.running) {
            if self.d.jobs.get(&o.job).is_some_and(|r| o.epoch > r.epoch) {
                self.newer_copy_seen(host, o);
            }
        }
        // Any copy under an older epoch, or of a job placed elsewhere, must not keep writing.
        for o in report.jobs.iter().filter(|o| o.running) {
            let Some(rec) = self.d.jobs.get(&o.job) else {
                continue;
            };
            if o.epoch > rec.epoch {
                continue;
            }
            let target_of_run = rec
                .incident
                .as_ref()
                .and_then(|i| i.failover.as_ref())
                .and_then(|f| f.target.as_ref())
                .is_some_and(|t| &t.host == host);
            // A failover that has not fenced yet will stop this copy itself.
            let fence_pending = rec
                .incident
                .as_ref()
                .and_then(|i| i.failover.as_ref())
                .is_some_and(|f| !f.fenced && &rec.placement.host == host);
            let elsewhere = &rec.placement.host != host && !target_of_run;
            let stale = !fence_pending && (o.epoch < rec.epoch || elsewhere);
            let fencing = self.chores.values().any(|c| {
                c == &Chore::StaleFence {
                    job: o.job.clone(),
                    host: host.clone(),
                }
            });
            if stale && !fencing {
                // The fence stops runs older than the epoch it is given: on a host where the
                // job does not belong, that must include one under the current epoch.
                let current = rec.epoch;
                let epoch = if elsewhere { current.next() } else { current };
                let op = self.next_op();
                let timeout = self.policy.recovery.step_timeouts.fence;
                self.chores.insert(
                    op,
                    Chore::StaleFence {
                        job: o.job.clone(),
                        host: host.clone(),
                    },
                );
                self.emit(EventKind::Decision {
                    job: Some(o.job.clone()),
                    reason: format!(
                        "stale copy of {} ({}) found on {host}; fencing it (current {current})",
                        o.job, o.epoch
                    ),
                });
                self.effects.push_back(Effect::Fence {
                    op,
                    job: o.job.clone(),
                    host: host.clone(),
                    epoch,
                    timeout,
                    reach: super::io::FENCE_REACH,
                });
            }
        }
    }
}
