//! Provider verdicts: successive polls of a provider's instance list, turned into channel
//! evidence per instance (pure: no IO, no clock; a poll is the only input).
//!
//! The rules, for an instance a fleet host is mapped to:
//!
//! | the provider says                                  | evidence                          |
//! | -------------------------------------------------- | --------------------------------- |
//! | intended `stopped`/`frozen` (someone meant it)      | `Gone` at once                    |
//! | actual `running`                                   | `Up`                              |
//! | actual `exited`/`offline`/`stopped`, intended running | `Down`, then `Gone` on the 2nd poll in a row |
//! | actual `unknown`/`loading`/`created`/null/anything else | `Down` (corroboration only)  |
//! | not listed at all                                  | `Down`, then `Gone` on the 2nd poll in a row |
//!
//! `stopped` while intended running counts with `exited`: the container is halted although
//! its owner wants it to run (an outbid interruptible instance ends up so), which is no less
//! final for the job. One bad poll is only soft evidence, because Vast computes `offline`
//! from a missed host heartbeat and a single reading can be a blip.
//!
//! Only changes are handed out: a status equal to the last one told for that instance is
//! not repeated, so a steady fleet costs the core nothing. Reasons are worded to follow the
//! detector's "provider says …" (for `Gone`) and "provider also sees it down (…)" (for `Down`).
//! A failed poll is not an input here at all: an API outage is no evidence about hosts.

use super::io::ChannelStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Polls in a row that must show an instance dead (or unlisted) before that is hard evidence.
pub const HARD_AFTER: u32 = 2;

/// One instance as a provider lists it, reduced to what the verdict needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The provider's instance id (Vast: the contract id, a number, kept as text).
    pub id: String,
    /// What the instance is doing now (Vast `actual_status`; empty when the API says null).
    pub actual: String,
    /// What its owner asked for (Vast `intended_status`; empty when the API says null).
    pub intended: String,
    /// The provider's own words about it (Vast `status_msg`), if any.
    pub message: Option<String>,
}

/// What the verdict remembers about one watched instance between polls.
#[derive(Clone, Debug, Default, PartialEq)]
struct Track {
    /// Polls in a row that showed it exited/offline/stopped while meant to run.
    dead: u32,
    /// Polls in a row that did not list it.
    missing: u32,
    /// The last status handed out for it.
    told: Option<ChannelStatus>,
}

/// The verdict for one provider's instances: feed it each successful poll.
#[derive(Clone, Debug, Default)]
pub struct ProviderVerdict {
    tracks: BTreeMap<String, Track>,
}

impl ProviderVerdict {
    pub fn new() -> Self {
        Self::default()
    }

    /// One successful poll. `listing` is everything the provider listed; `watched` the
    /// instance ids that fleet hosts are mapped to. Returns `(instance id, status)` for each
    /// watched instance whose status changed, in `watched` order.
    pub fn handle_listing(
        &mut self,
        listing: &[InstanceStatus],
        watched: &[String],
    ) -> Vec<(String, ChannelStatus)> {
        self.tracks.retain(|id, _| watched.contains(id));
        let mut changed = Vec::new();
        for id in watched {
            let seen = listing.iter().find(|i| &i.id == id);
            let track = self.tracks.entry(id.clone()).or_default();
            let status = judge(track, id, seen);
            if track.told.as_ref() != Some(&status) {
                track.told = Some(status.clone());
                changed.push((id.clone(), status));
            }
        }
        changed
    }

    /// The last status handed out for `id`, if any.
    pub fn last(&self, id: &str) -> Option<&ChannelStatus> {
        self.tracks.get(id).and_then(|t| t.told.as_ref())
    }
}

/// Applies the rules to one instance's reading and moves its counters.
fn judge(track: &mut Track, id: &str, seen: Option<&InstanceStatus>) -> ChannelStatus {
    let Some(inst) = seen else {
        track.dead = 0;
        track.missing = track.missing.saturating_add(1);
        return if track.missing >= HARD_AFTER {
            ChannelStatus::Gone(format!(
                "it no longer lists instance {id} ({HARD_AFTER} polls in a row)"
            ))
        } else {
            ChannelStatus::Down(format!("the provider no longer lists instance {id}"))
        };
    };
    track.missing = 0;
    let actual = inst.actual.to_ascii_lowercase();
    let intended = inst.intended.to_ascii_lowercase();
    let note = inst
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {}", clip(m)))
        .unwrap_or_default();
    if matches!(intended.as_str(), "stopped" | "frozen") {
        track.dead = 0;
        return ChannelStatus::Gone(format!(
            "instance {id} was {intended} on purpose (intended status '{intended}', actual '{}'){note}",
            shown(&actual)
        ));
    }
    if actual == "running" {
        track.dead = 0;
        return ChannelStatus::Up;
    }
    if intended == "running" && matches!(actual.as_str(), "exited" | "offline" | "stopped") {
        track.dead = track.dead.saturating_add(1);
        let what = dead_phrase(&actual);
        return if track.dead >= HARD_AFTER {
            ChannelStatus::Gone(format!(
                "instance {id} {what} (intended running) twice in a row{note}"
            ))
        } else {
            ChannelStatus::Down(format!(
                "instance {id} {what} (intended running); hard evidence if the next poll agrees{note}"
            ))
        };
    }
    track.dead = 0;
    ChannelStatus::Down(format!(
        "instance {id} is '{}' ({}){note}",
        shown(&actual),
        soft_meaning(&actual)
    ))
}

fn dead_phrase(actual: &str) -> &'static str {
    match actual {
        "exited" => "exited",
        "offline" => "is offline (its host lost touch with the provider)",
        _ => "was stopped",
    }
}

/// What a status that is neither running nor dead means, in Vast's documented words.
fn soft_meaning(actual: &str) -> &'static str {
    match actual {
        "unknown" => "no recent heartbeat from its host",
        "loading" => "image downloading or container starting",
        "created" | "" => "being provisioned",
        "rebooting" => "restarting",
        "frozen" => "paused with memory kept",
        "exited" | "offline" | "stopped" => "not meant to be running either",
        _ => "a status Lifeboat does not know",
    }
}

fn shown(actual: &str) -> &str {
    if actual.is_empty() {
        "null"
    } else {
        actual
    }
}

/// Keeps a provider message short enough for a status line.
fn clip(m: &str) -> String {
    const MAX: usize = 120;
    if m.chars().count() <= MAX {
        m.to_string()
    } else {
        let head: String = m.chars().take(MAX).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(id: &str, actual: &str, intended: &str) -> InstanceStatus {
        InstanceStatus {
            id: id.into(),
            actual: actual.into(),
            intended: intended.into(),
            message: None,
        }
    }

    fn w(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn one(v: &mut ProviderVerdict, listing: &[InstanceStatus]) -> Option<ChannelStatus> {
        let mut out = v.handle_listing(listing, &w(&["42"]));
        assert!(out.len() <= 1, "{out:?}");
        out.pop().map(|(id, s)| {
            assert_eq!(id, "42");
            s
        })
    }

    fn is_down(s: &Option<ChannelStatus>) -> bool {
        matches!(s, Some(ChannelStatus::Down(_)))
    }

    fn gone_text(s: Option<ChannelStatus>) -> String {
        match s {
            Some(ChannelStatus::Gone(why)) => why,
            other => panic!("expected Gone, got {other:?}"),
        }
    }

    #[test]
    fn running_as_intended_is_up_once() {
        let mut v = ProviderVerdict::new();
        let l = [inst("42", "running", "running")];
        assert_eq!(one(&mut v, &l), Some(ChannelStatus::Up));
        assert_eq!(one(&mut v, &l), None, "no repeat of an unchanged status");
        assert_eq!(v.last("42"), Some(&ChannelStatus::Up));
    }

    #[test]
    fn exited_while_intended_running_is_soft_then_hard() {
        let mut v = ProviderVerdict::new();
        one(&mut v, &[inst("42", "running", "running")]);
        let l = [inst("42", "exited", "running")];
        assert!(is_down(&one(&mut v, &l)));
        let why = gone_text(one(&mut v, &l));
        assert!(
            why.contains("instance 42 exited (intended running) twice in a row"),
            "{why}"
        );
        assert_eq!(one(&mut v, &l), None, "a third poll says nothing new");
    }

    #[test]
    fn offline_and_stopped_count_like_exited() {
        for actual in ["offline", "stopped", "EXITED"] {
            let mut v = ProviderVerdict::new();
            let l = [inst("42", actual, "running")];
            assert!(is_down(&one(&mut v, &l)), "{actual}");
            gone_text(one(&mut v, &l));
        }
    }

    #[test]
    fn hard_needs_consecutive_polls() {
        let mut v = ProviderVerdict::new();
        let dead = [inst("42", "exited", "running")];
        assert!(is_down(&one(&mut v, &dead)));
        assert_eq!(
            one(&mut v, &[inst("42", "running", "running")]),
            Some(ChannelStatus::Up)
        );
        assert!(is_down(&one(&mut v, &dead)), "the count started over");
        // A soft status in between also breaks the run.
        assert!(is_down(&one(&mut v, &[inst("42", "unknown", "running")])));
        assert!(is_down(&one(&mut v, &dead)));
        gone_text(one(&mut v, &dead));
    }

    #[test]
    fn unknown_loading_and_null_are_corroboration_only() {
        for actual in [
            "unknown",
            "loading",
            "created",
            "",
            "rebooting",
            "frozen",
            "weird",
        ] {
            let mut v = ProviderVerdict::new();
            let l = [inst("42", actual, "running")];
            for _ in 0..3 {
                let s = v.handle_listing(&l, &w(&["42"]));
                assert!(
                    s.iter().all(|(_, s)| matches!(s, ChannelStatus::Down(_))),
                    "{actual}: {s:?}"
                );
            }
            assert!(matches!(v.last("42"), Some(ChannelStatus::Down(_))));
        }
        let mut v = ProviderVerdict::new();
        match one(&mut v, &[inst("42", "unknown", "running")]) {
            Some(ChannelStatus::Down(why)) => {
                assert!(why.contains("no recent heartbeat"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exited_without_intent_to_run_is_only_soft() {
        let mut v = ProviderVerdict::new();
        let l = [inst("42", "exited", "")];
        assert!(is_down(&one(&mut v, &l)));
        assert_eq!(one(&mut v, &l), None);
        assert!(is_down(&v.last("42").cloned()));
    }

    #[test]
    fn stopped_on_purpose_is_hard_at_once() {
        for intended in ["stopped", "frozen"] {
            let mut v = ProviderVerdict::new();
            let why = gone_text(one(&mut v, &[inst("42", "running", intended)]));
            assert!(why.contains("on purpose"), "{why}");
            assert!(
                why.contains(&format!("intended status '{intended}'")),
                "{why}"
            );
        }
    }

    #[test]
    fn missing_instance_is_soft_then_hard() {
        let mut v = ProviderVerdict::new();
        one(&mut v, &[inst("42", "running", "running")]);
        let other = [inst("7", "running", "running")];
        match one(&mut v, &other) {
            Some(ChannelStatus::Down(why)) => {
                assert_eq!(why, "the provider no longer lists instance 42")
            }
            s => panic!("{s:?}"),
        }
        let why = gone_text(one(&mut v, &other));
        assert!(why.contains("no longer lists instance 42"), "{why}");
        assert_eq!(one(&mut v, &[]), None);
        assert_eq!(
            one(&mut v, &[inst("42", "running", "running")]),
            Some(ChannelStatus::Up),
            "listed and running again"
        );
    }

    #[test]
    fn back_to_running_after_gone_is_up() {
        let mut v = ProviderVerdict::new();
        let dead = [inst("42", "offline", "running")];
        one(&mut v, &dead);
        gone_text(one(&mut v, &dead));
        assert_eq!(
            one(&mut v, &[inst("42", "running", "running")]),
            Some(ChannelStatus::Up)
        );
    }

    #[test]
    fn provider_message_is_kept_and_clipped() {
        let mut v = ProviderVerdict::new();
        let mut i = inst("42", "exited", "running");
        i.message = Some(format!("Error response from daemon: {}", "x".repeat(500)));
        match one(&mut v, &[i]) {
            Some(ChannelStatus::Down(why)) => {
                assert!(why.contains(": Error response from daemon"), "{why}");
                assert!(why.chars().count() < 250, "{why}");
            }
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn only_watched_instances_are_judged_and_each_separately() {
        let mut v = ProviderVerdict::new();
        let watched = w(&["1", "2"]);
        let l = [
            inst("1", "running", "running"),
            inst("2", "exited", "running"),
            inst("3", "exited", "running"),
        ];
        let out = v.handle_listing(&l, &watched);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], ("1".to_string(), ChannelStatus::Up));
        assert!(matches!(out[1], (ref id, ChannelStatus::Down(_)) if id == "2"));
        let out = v.handle_listing(&l, &watched);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(matches!(out[0], (ref id, ChannelStatus::Gone(_)) if id == "2"));
        assert_eq!(v.last("3"), None);
    }

    #[test]
    fn an_instance_no_longer_watched_is_forgotten() {
        let mut v = ProviderVerdict::new();
        let l = [inst("42", "exited", "running")];
        one(&mut v, &l);
        v.handle_listing(&l, &[]);
        assert_eq!(v.last("42"), None);
        assert!(is_down(&one(&mut v, &l)), "starts from scratch");
    }
}
