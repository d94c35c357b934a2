//! The console's own state: which view, what is selected, what overlay is open, and the
//! recent history it keeps for sparklines and the event log. Changed only by `update`.

use super::action::View;
use crate::core::time::Ts;
use std::collections::{BTreeMap, VecDeque};

/// How many points a sparkline keeps.
pub const HISTORY: usize = 120;
/// How many event lines the console keeps (the journal has them all).
pub const EVENT_LOG: usize = 5000;

#[derive(Clone, Debug, Default)]
pub struct UiState {
    pub view: View,
    /// Selected row per view, as an index into that view's visible rows.
    pub selected: BTreeMap<View, usize>,
    /// The host whose detail panel is open (fleet view).
    pub detail: Option<String>,
    /// The checkpoints view's inventory has the keys, with this row (newest first)
    /// selected; `None` while ↑↓ move through the jobs.
    pub ckpt_row: Option<usize>,
    pub filter: Filter,
    pub overlay: Overlay,
    pub events: VecDeque<EventLine>,
    pub history: History,
    pub message: Option<Message>,
    pub settings: UiSettings,
    pub theme_index: usize,
    /// The link to the supervisor; `None` where none is drawn (render tests).
    pub link: Option<crate::protocol::screen::LinkState>,
    /// Wall-clock time, moved on every tick: how old the data is once the link is lost.
    pub wall: Ts,
    /// The drill under way in the supervisor, from its notices: every screen says so.
    pub drill: Option<DrillUnderWay>,
    /// The drills view: runbooks, the plan asked for, the run under way.
    pub drills: super::drills::DrillsState,
}

/// A drill running now, as the console shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrillUnderWay {
    pub runbook: String,
    pub run: String,
    /// The step under way ("4. [observe] Lifeboat notices the job is gone").
    pub step: String,
}

/// The `/` filter: rows whose text contains it (case-insensitive) stay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    pub editing: bool,
}

#[derive(Clone, Debug, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    Palette(Palette),
    Dialog(Box<super::dialog::Dialog>),
    Readiness(Box<super::readiness::ReadinessPanel>),
}

/// The `:` command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Palette {
    pub input: String,
    /// Completions for the word under the cursor.
    pub suggestions: Vec<String>,
    pub error: Option<String>,
}

/// One line of the event log, as the console shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventLine {
    pub ts: Ts,
    pub kind: String,
    pub job: Option<String>,
    pub host: Option<String>,
    pub operator: Option<String>,
    pub text: String,
}

/// Per host and GPU index: recent utilisation and temperature.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub util: BTreeMap<(String, u32), VecDeque<u64>>,
    pub temp: BTreeMap<(String, u32), VecDeque<u64>>,
    /// The snapshot time last sampled, so one snapshot is counted once.
    pub last: Option<Ts>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// A one-line message in the footer (refusals, results).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub text: String,
    pub level: Level,
    pub at: Ts,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UiSettings {
    /// Shows everything, changes nothing.
    pub readonly: bool,
    /// Who is at the keyboard; journaled with every command.
    pub operator: String,
    /// The fleet is the simulator: fault injection is allowed.
    pub demo: bool,
    /// This console's process is the supervisor: quitting stops the watching.
    pub supervisor_here: bool,
    /// Keys the operator rebound, by action name (`failover` → `F`), for the footer.
    pub keys: BTreeMap<String, String>,
}
