//! What a key means (`Action`), which screen is showing (`View`), and what the console
//! asks of the runtime (`Request`, from the protocol).

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum View {
    #[default]
    Fleet,
    Jobs,
    Checkpoints,
    Tasks,
    Events,
    Drills,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Fleet,
        View::Jobs,
        View::Checkpoints,
        View::Tasks,
        View::Events,
        View::Drills,
    ];

    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    pub fn name(self) -> &'static str {
        match self {
            View::Fleet => "fleet",
            View::Jobs => "jobs",
            View::Checkpoints => "checkpoints",
            View::Tasks => "tasks",
            View::Events => "events",
            View::Drills => "drills",
        }
    }

    pub fn parse(s: &str) -> Option<View> {
        View::ALL
            .into_iter()
            .find(|v| v.name() == s || v.name().starts_with(s) && !s.is_empty())
    }

    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }

    pub fn prev(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

/// Everything a key, a click or a palette command can mean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextView,
    PrevView,
    GoView(View),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter: open the selected row's detail, or confirm a focused dialog button.
    Select,
    /// Esc: close the overlay, the detail, or the filter.
    Back,
    Help,
    Palette,
    Filter,
    /// Move focus between dialog buttons.
    FocusNext,
    FocusPrev,
    /// Fail the selected job over (opens the dialog).
    Failover,
    /// Planned switchover of the selected job (opens the dialog).
    Switchover,
    PauseJob,
    ResumeJob,
    PauseAll,
    ResumeAll,
    /// Cancel the selected job's recovery (opens the dialog).
    Cancel,
    /// Take an escalated job: the selected one if it waits for a human, else the first
    /// in the "needs a human" strip.
    Acknowledge,
    /// Inject a fault into the simulated demo fleet (opens the dialog).
    InjectFault,
    /// Delete what retention removes for the selected job's checkpoints (opens the dialog).
    Prune,
    /// Show whether a failover of the selected job would work now (opens the panel).
    Readiness,
    NextTheme,
    /// Drills view: start the selected runbook guided (its plan, then its name typed).
    DrillStart,
    /// Drills view: the guided drill stops holding and runs to its end.
    DrillRunToEnd,
    /// Drills view: abort the drill under way (opens the dialog); its rollbacks run.
    DrillAbort,
    /// Typed text in the palette, the filter or a dialog.
    Char(char),
    Backspace,
    /// Complete the palette's word.
    Complete,
    ClickTab(View),
    /// A click on a table row: the index of the row in the view's visible rows.
    ClickRow(usize),
    ScrollUp,
    ScrollDown,
}

pub use crate::protocol::request::Request;
