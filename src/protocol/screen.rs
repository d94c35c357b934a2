//! What a screen hears from its link to the supervisor, besides the latest snapshot: the
//! link's own state (attached to whom, or lost since when), notices, the history it gets on
//! attaching, and the outcomes of its requests.

use super::notice::Notice;
use super::wire::{DaemonInfo, Outcome};
use crate::core::identity::Identity;
use crate::core::time::Ts;

#[derive(Clone, Debug, PartialEq)]
pub enum LinkState {
    /// Not yet attached.
    Connecting { since: Ts },
    Attached {
        daemon: DaemonInfo,
        identity: Identity,
        at: Ts,
    },
    /// The supervisor went away (or none is running): the data shown is as old as the
    /// last snapshot, and the link tries again at `retry_at`.
    Lost {
        since: Ts,
        retry_at: Ts,
        why: String,
    },
    /// The supervisor would not take this screen (another protocol version …).
    Refused { reason: String },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    Link(LinkState),
    /// The recent events, sent on every (re)attach: they replace what the screen had.
    History(Vec<Notice>),
    Notice(Notice),
    /// This many notices were skipped because the screen fell behind.
    Missed(u64),
    Outcome(Outcome),
}
