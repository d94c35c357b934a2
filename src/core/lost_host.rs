//! A host that misses a probe is looked at again from elsewhere at once: Lifeboat's own
//! TCP connect to its SSH port, and a probe through a peer host that answers. Two
//! channels that find it down fail it at once (no reconnect attempts); a peer that still
//! reaches it holds the failover back (the cut is between Lifeboat and the host). The
//! detector weighs the answers; this part asks the questions.

use super::detector::Reach;
use super::engine::{Core, GRACE};
use super::ids::{HostId, JobId};
use super::io::{Channel, ChannelStatus, Effect, Vantage, FENCE_REACH};
use super::recovery::RecoveryState;
use std::time::Duration;

impl Core {
    /// After a missed probe of a host that runs a job: look from here and from a peer,
    /// unless a look is still out or the host is already lost.
    pub(super) fn look_again(&mut self, host: &HostId) {
        let now = self.now;
        let runs_a_job = self.d.jobs.values().any(|r| &r.placement.host == host);
        let Some(w) = self.hosts.get(host) else {
            return;
        };
        if !runs_a_job || w.detector.lost.is_some() || w.looking_until.is_some_and(|t| now < t) {
            return;
        }
        let timeout = self.policy.detection.probe_timeout;
        let peer = self.peer_for(host);
        if let Some(w) = self.hosts.get_mut(host) {
            w.looking_until = Some(now.plus(timeout + GRACE));
        }
        let op = self.next_op();
        self.effects.push_back(Effect::Look {
            op,
            host: host.clone(),
            from: Vantage::Here,
            timeout,
        });
        match peer {
            Some(peer) => {
                let op = self.next_op();
                self.effects.push_back(Effect::Look {
                    op,
                    host: host.clone(),
                    from: Vantage::Peer(peer),
                    timeout,
                });
            }
            None => {
                let why = "no other host answers probes to ask".to_string();
                self.handle_channel(host, Channel::Peer, ChannelStatus::Unknown(why));
            }
        }
    }

    /// A look came back: the next miss may ask again.
    pub(super) fn looked(&mut self, host: &HostId, channel: Channel) {
        if channel == Channel::Peer {
            if let Some(w) = self.hosts.get_mut(host) {
                w.looking_until = None;
            }
        }
    }

    /// The host to ask about `host`: a standby of a job on it first (it is also where
    /// the job would go), else any host whose last probe answered.
    fn peer_for(&self, host: &HostId) -> Option<HostId> {
        let answers = |h: &HostId| {
            h != host
                && self.hosts.get(h).is_some_and(|w| {
                    w.detector.state == Reach::Healthy
                        && w.detector.misses == 0
                        && w.last_report_at.is_some()
                })
        };
        let standbys = self
            .fleet
            .jobs
            .iter()
            .filter(|j| {
                self.d
                    .jobs
                    .get(&j.id)
                    .is_some_and(|r| &r.placement.host == host)
            })
            .flat_map(|j| j.standbys.iter().map(|t| &t.host).chain([&j.host]));
        standbys
            .chain(self.hosts.keys())
            .find(|h| answers(h))
            .cloned()
    }

    /// How long the fence of `host` waits for it to answer: one probe timeout when two
    /// channels found it lost (it will not answer; the epoch is revoked either way).
    pub(super) fn fence_reach(&self, host: &HostId) -> Duration {
        let lost = self
            .hosts
            .get(host)
            .is_some_and(|w| w.detector.lost.is_some());
        if lost {
            self.policy.detection.probe_timeout.min(FENCE_REACH)
        } else {
            FENCE_REACH
        }
    }

    /// `host` was failed on misses alone and is now found lost by two channels: jobs
    /// still waiting out reconnect attempts fail over now.
    pub(super) fn skip_reconnects(&mut self, host: &HostId, reason: &str) {
        let waiting: Vec<JobId> = self
            .d
            .jobs
            .iter()
            .filter(|(_, r)| &r.placement.host == host && r.state == RecoveryState::Reconnecting)
            .map(|(id, _)| id.clone())
            .collect();
        for job in waiting {
            let why = format!(
                "host {host} failed: {reason}: skipping the other reconnect attempts, failing over"
            );
            self.start_failover(&job, None, false, false, why);
        }
    }
}
