//! The per-host failure detector: missed probes, a second channel, hysteresis on the way
//! back, and flap damping. It only judges reachability; GPU verdicts come from `gpu`.

use super::io::{Channel, ChannelStatus};
use super::policy::DetectionProfile;
use super::time::Ts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    #[default]
    Healthy,
    Suspect,
    Failed,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Healthy => "healthy",
            Reach::Suspect => "suspect",
            Reach::Failed => "failed",
        }
    }
}

/// A change of a host's reachability verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub from: Reach,
    pub to: Reach,
    pub reason: String,
    /// Failed on hard evidence (no reconnect can help).
    pub hard: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HostDetector {
    pub state: Reach,
    /// Why the host is in its state, in plain words.
    pub reason: String,
    pub misses: u32,
    pub successes: u32,
    /// Hard evidence in force (provider says gone, driver gone …).
    pub hard: Option<String>,
    pub penalty: f64,
    pub penalty_at: Ts,
    pub damped: bool,
    pub suspect_since: Option<Ts>,
    pub last_ok: Option<Ts>,
    pub channels: BTreeMap<String, (ChannelStatus, Ts)>,
    /// The first probe missed in the current run of misses: channel reports from
    /// before it say nothing about this silence.
    pub first_miss_at: Option<Ts>,
    /// Why the last probe missed.
    pub miss_why: String,
    /// Lost on the word of two channels (see [`HostDetector::lost_verdict`]).
    pub lost: Option<String>,
}

impl HostDetector {
    pub fn new() -> Self {
        Self {
            reason: "no probe yet".into(),
            ..Self::default()
        }
    }

    /// The flap penalty decayed to `now`.
    pub fn penalty_at(&self, now: Ts, p: &DetectionProfile) -> f64 {
        let half = p.flap.half_life.as_secs_f64().max(0.001);
        let dt = now.since(self.penalty_at).as_secs_f64();
        self.penalty * 0.5f64.powf(dt / half)
    }

    /// Re-evaluates damping as the penalty decays; returns true if it changed.
    pub fn refresh_damping(&mut self, now: Ts, p: &DetectionProfile) -> bool {
        let pen = self.penalty_at(now, p);
        let was = self.damped;
        if self.damped && pen < p.flap.reuse {
            self.damped = false;
        } else if !self.damped && pen > p.flap.suppress {
            self.damped = true;
        }
        was != self.damped
    }

    fn corroboration(&self) -> Option<String> {
        self.channels
            .iter()
            .find_map(|(name, (status, _))| match status {
                ChannelStatus::Down(why) => Some(format!("{name} also sees it down ({why})")),
                _ => None,
            })
    }

    /// What `channel` said since the first probe of this run of misses, if anything.
    fn fresh(&self, channel: Channel) -> Option<&ChannelStatus> {
        let since = self.first_miss_at?;
        self.channels
            .get(channel.as_str())
            .filter(|(_, at)| *at >= since)
            .map(|(s, _)| s)
    }

    /// Every channel's word on this run of misses, for reasons people read.
    fn verdicts(&self) -> String {
        let said: Vec<String> = [
            Channel::Port,
            Channel::Peer,
            Channel::Provider,
            Channel::Agent,
        ]
        .into_iter()
        .filter_map(|c| {
            self.fresh(c)
                .map(|s| format!("{}: {}", c.as_str(), s.describe()))
        })
        .collect();
        said.join("; ")
    }

    fn with_verdicts(&self, reason: String) -> String {
        match self.verdicts() {
            v if v.is_empty() => reason,
            v => format!("{reason}; {v}"),
        }
    }

    /// Lost, on the word of two channels: `lost_after` probes missed (at least two),
    /// Lifeboat's own look at the
    /// SSH port found it refused or silent, and a second vantage point (a peer host, the
    /// provider, an agent) sees it down too, while none sees it alive. Such a host fails
    /// at once: no reconnect can help. One channel alone waits, as before.
    pub fn lost_verdict(&self, p: &DetectionProfile) -> Option<String> {
        // One missed probe is a blip whatever the looks say.
        if self.misses < p.lost_after.max(2) {
            return None;
        }
        let all = [
            Channel::Port,
            Channel::Peer,
            Channel::Provider,
            Channel::Agent,
        ];
        if all.iter().any(|c| {
            matches!(
                self.fresh(*c),
                Some(ChannelStatus::Up | ChannelStatus::Reached(_))
            )
        }) {
            return None;
        }
        let Some(ChannelStatus::Down(_)) = self.fresh(Channel::Port) else {
            return None;
        };
        let second = [Channel::Peer, Channel::Provider, Channel::Agent]
            .into_iter()
            .any(|c| matches!(self.fresh(c), Some(ChannelStatus::Down(_))));
        second.then(|| {
            format!(
                "lost: {} probe(s) missed ({}); {}",
                self.misses,
                self.miss_why,
                self.verdicts()
            )
        })
    }

    /// Found lost by looks from elsewhere, with no provider's or GPU's hard word besides:
    /// the partition guard still holds such a host's jobs.
    pub fn lost_only(&self) -> bool {
        self.lost.is_some() && self.hard.is_none()
    }

    /// A peer reached the host since it went quiet and saw its jobs: Lifeboat's own path
    /// to it is what broke (a partition), so misses alone do not fail it.
    fn vetoed(&self) -> Option<String> {
        match self.fresh(Channel::Peer) {
            Some(ChannelStatus::Reached(what)) => Some(what.clone()),
            Some(ChannelStatus::Up) => Some("a peer reaches it".into()),
            _ => None,
        }
    }

    fn go(
        &mut self,
        now: Ts,
        p: &DetectionProfile,
        to: Reach,
        reason: String,
        hard: bool,
    ) -> Option<Transition> {
        self.reason = reason.clone();
        if self.state == to {
            return None;
        }
        let from = self.state;
        if from == Reach::Healthy {
            // A fall from healthy is a flap; damping counts them.
            self.penalty = self.penalty_at(now, p) + p.flap.penalty;
            self.penalty_at = now;
            self.suspect_since = Some(now);
            self.refresh_damping(now, p);
        }
        if to == Reach::Healthy {
            self.suspect_since = None;
        }
        self.state = to;
        Some(Transition {
            from,
            to,
            reason,
            hard,
        })
    }

    /// A probe answered.
    pub fn on_success(&mut self, now: Ts, p: &DetectionProfile) -> Option<Transition> {
        self.misses = 0;
        self.successes = self.successes.saturating_add(1);
        self.last_ok = Some(now);
        self.first_miss_at = None;
        self.lost = None;
        if let Some(h) = &self.hard {
            let reason = format!("answers probes, but {h}");
            return self.go(now, p, Reach::Failed, reason, true);
        }
        match self.state {
            Reach::Healthy => {
                self.reason = "answering probes".into();
                None
            }
            _ if self.successes >= p.recover_after => {
                let reason = format!("{} good probes in a row", self.successes);
                self.go(now, p, Reach::Healthy, reason, false)
            }
            _ => {
                self.reason = format!(
                    "recovering: {} of {} good probes needed",
                    self.successes, p.recover_after
                );
                None
            }
        }
    }

    /// A probe timed out or could not connect.
    pub fn on_miss(&mut self, now: Ts, p: &DetectionProfile, why: &str) -> Option<Transition> {
        self.successes = 0;
        self.misses = self.misses.saturating_add(1);
        if self.misses == 1 {
            self.first_miss_at = Some(now);
        }
        self.miss_why = why.to_string();
        self.judge_misses(now, p)
    }

    fn judge_misses(&mut self, now: Ts, p: &DetectionProfile) -> Option<Transition> {
        let m = self.misses;
        let why = self.miss_why.clone();
        if self.lost.is_none() {
            if let Some(lost) = self.lost_verdict(p) {
                self.lost = Some(lost.clone());
                // Already failed on misses alone: the upgrade tells jobs still waiting
                // out reconnect attempts that none can help.
                if self.state == Reach::Failed {
                    self.reason = lost.clone();
                    return Some(Transition {
                        from: Reach::Failed,
                        to: Reach::Failed,
                        reason: lost,
                        hard: true,
                    });
                }
                return self.go(now, p, Reach::Failed, lost, true);
            }
        }
        if self.state == Reach::Failed {
            return None;
        }
        if let Some(seen) = self.vetoed() {
            let reason = format!(
                "{m} probe(s) missed ({why}), but peer {seen}: Lifeboat's own path to it \
                 looks cut (a partition), so it is not failed"
            );
            return self.go(now, p, Reach::Suspect, reason, false);
        }
        if m >= p.fail_ceiling {
            let reason = self.with_verdicts(format!(
                "{m} probes missed in a row ({why}); ceiling is {}",
                p.fail_ceiling
            ));
            return self.go(now, p, Reach::Failed, reason, false);
        }
        if m >= p.fail_after {
            if let Some(c) = self.corroboration() {
                let reason = format!("{m} probes missed in a row ({why}) and {c}");
                return self.go(now, p, Reach::Failed, reason, false);
            }
        }
        if m >= p.suspect_after {
            let need = if m >= p.fail_after {
                format!(
                    "no second channel agrees; failing at {} misses without one",
                    p.fail_ceiling
                )
            } else {
                format!("fails at {} misses with a second channel", p.fail_after)
            };
            let reason = format!("{m} probe(s) missed ({why}); {need}");
            return self.go(now, p, Reach::Suspect, reason, false);
        }
        self.reason = format!(
            "{m} probe(s) missed ({why}); suspect at {}",
            p.suspect_after
        );
        None
    }

    /// Hard evidence: fail at once.
    pub fn on_hard(&mut self, now: Ts, p: &DetectionProfile, reason: String) -> Option<Transition> {
        self.hard = Some(reason.clone());
        self.go(now, p, Reach::Failed, reason, true)
    }

    /// Hard evidence no longer holds (the provider says the instance runs again …).
    pub fn clear_hard(&mut self) {
        self.hard = None;
    }

    pub fn on_channel(
        &mut self,
        now: Ts,
        p: &DetectionProfile,
        channel: Channel,
        status: ChannelStatus,
    ) -> Option<Transition> {
        let name = channel.as_str();
        self.channels
            .insert(name.to_string(), (status.clone(), now));
        match status {
            ChannelStatus::Gone(why) => self.on_hard(now, p, format!("{name} says {why}")),
            ChannelStatus::Up | ChannelStatus::Reached(_) => {
                if self.hard.as_deref().is_some_and(|h| h.starts_with(name)) {
                    self.clear_hard();
                }
                (self.misses > 0)
                    .then(|| self.judge_misses(now, p))
                    .flatten()
            }
            ChannelStatus::Down(_) | ChannelStatus::Unknown(_) if self.misses > 0 => {
                self.judge_misses(now, p)
            }
            ChannelStatus::Down(_) | ChannelStatus::Unknown(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: u64) -> Ts {
        Ts(s * 1000)
    }

    #[test]
    fn lan_fails_after_three_misses() {
        let p = DetectionProfile::lan();
        let mut d = HostDetector::new();
        assert_eq!(
            d.on_miss(t(1), &p, "timeout").map(|t| t.to),
            Some(Reach::Suspect)
        );
        assert!(d.on_miss(t(2), &p, "timeout").is_none());
        let tr = d.on_miss(t(3), &p, "timeout").map(|t| t.to);
        assert_eq!(tr, Some(Reach::Failed));
    }

    #[test]
    fn cloud_needs_second_channel_or_ceiling() {
        let p = DetectionProfile::cloud();
        let mut d = HostDetector::new();
        for i in 0..(p.fail_ceiling - 1) {
            d.on_miss(t(u64::from(i)), &p, "timeout");
            assert_ne!(d.state, Reach::Failed, "failed after {} misses", i + 1);
        }
        let status = ChannelStatus::Down("instance unreachable".into());
        let tr = d.on_channel(t(100), &p, Channel::Provider, status);
        assert_eq!(tr.map(|t| t.to), Some(Reach::Failed));
    }

    fn down(why: &str) -> ChannelStatus {
        ChannelStatus::Down(why.into())
    }

    #[test]
    fn two_misses_with_the_port_and_a_peer_down_fail_at_once_and_hard() {
        let p = DetectionProfile::lan();
        let mut d = HostDetector::new();
        d.on_miss(t(1), &p, "refused");
        assert!(d
            .on_channel(t(1), &p, Channel::Port, down("refused"))
            .is_none());
        let tr = d.on_channel(t(1), &p, Channel::Peer, down("refused"));
        assert!(tr.is_none(), "one miss is a blip whatever the looks say");
        let tr = d.on_miss(t(2), &p, "refused").expect("lost");
        assert_eq!((tr.to, tr.hard), (Reach::Failed, true));
        assert!(
            tr.reason
                .contains("port: down: refused; peer: down: refused"),
            "{}",
            tr.reason
        );
        // Not a provider's hard word: the host's recovery is not blocked.
        assert!(d.hard.is_none());
        d.on_success(t(3), &p);
        assert!(d.lost.is_none());
    }

    #[test]
    fn verdicts_from_before_the_misses_and_unknowns_say_nothing() {
        let p = DetectionProfile::lan();
        let mut d = HostDetector::new();
        d.on_channel(t(1), &p, Channel::Peer, down("old news"));
        d.on_miss(t(2), &p, "timeout");
        d.on_channel(t(2), &p, Channel::Port, down("silent"));
        d.on_miss(t(3), &p, "timeout");
        assert!(d.lost.is_none(), "the peer's word predates the misses");
        d.on_channel(
            t(3),
            &p,
            Channel::Peer,
            ChannelStatus::Unknown("cannot ask".into()),
        );
        assert!(d.lost.is_none());
        let tr = d.on_channel(t(3), &p, Channel::Peer, down("silent"));
        assert_eq!(tr.map(|t| t.hard), Some(true));
    }

    #[test]
    fn a_peer_that_sees_the_job_holds_a_host_past_its_ceiling() {
        let p = DetectionProfile::lan();
        let mut d = HostDetector::new();
        d.on_miss(t(1), &p, "timeout");
        d.on_channel(t(1), &p, Channel::Port, down("silent"));
        let seen = ChannelStatus::Reached("h2 reaches it: train at step 9 running".into());
        d.on_channel(t(1), &p, Channel::Peer, seen);
        for i in 2..30 {
            d.on_miss(t(i), &p, "timeout");
        }
        assert_eq!(d.state, Reach::Suspect);
        assert!(
            d.reason.contains("a partition") && d.reason.contains("step 9"),
            "{}",
            d.reason
        );
        // The peer loses sight of it too: now it is lost.
        let tr = d.on_channel(t(30), &p, Channel::Peer, down("silent"));
        assert_eq!(tr.map(|t| (t.to, t.hard)), Some((Reach::Failed, true)));
    }

    #[test]
    fn cloud_fails_at_ceiling_alone() {
        let p = DetectionProfile::cloud();
        let mut d = HostDetector::new();
        for i in 0..p.fail_ceiling {
            d.on_miss(t(u64::from(i)), &p, "timeout");
        }
        assert_eq!(d.state, Reach::Failed);
    }

    #[test]
    fn recovery_needs_m_successes() {
        let p = DetectionProfile::lan();
        let mut d = HostDetector::new();
        for i in 0..3 {
            d.on_miss(t(i), &p, "timeout");
        }
        assert!(d.on_success(t(10), &p).is_none());
        assert!(d.on_success(t(11), &p).is_none());
        assert_eq!(d.on_success(t(12), &p).map(|t| t.to), Some(Reach::Healthy));
    }

    #[test]
    fn flapping_host_is_damped_then_reused() {
        let p = DetectionProfile::lan();
        let mut d = HostDetector::new();
        let mut now = 0;
        for _ in 0..4 {
            d.on_miss(t(now), &p, "timeout");
            for _ in 0..3 {
                now += 1;
                d.on_success(t(now), &p);
            }
        }
        assert!(d.damped, "penalty {}", d.penalty_at(t(now), &p));
        let later = t(now).plus(Duration::from_secs(600));
        assert!(d.refresh_damping(later, &p));
        assert!(!d.damped);
    }

    #[test]
    fn hard_evidence_fails_at_once_and_blocks_recovery() {
        let p = DetectionProfile::cloud();
        let mut d = HostDetector::new();
        let tr = d.on_channel(
            t(1),
            &p,
            Channel::Provider,
            ChannelStatus::Gone("preempted".into()),
        );
        assert!(tr.is_some_and(|t| t.hard && t.to == Reach::Failed));
        for i in 0..5 {
            d.on_success(t(2 + i), &p);
        }
        assert_eq!(d.state, Reach::Failed);
        d.on_channel(t(10), &p, Channel::Provider, ChannelStatus::Up);
        for i in 0..3 {
            d.on_success(t(11 + i), &p);
        }
        assert_eq!(d.state, Reach::Healthy);
    }
}
