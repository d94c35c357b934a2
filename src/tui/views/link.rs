//! The link to the supervisor on screen: a loud banner when it is lost (with how old the
//! data is and when the next try comes), and what the console is attached to.

use crate::core::time::Ts;
use crate::protocol::screen::LinkState;
use crate::tui::state::UiState;
use crate::tui::theme::Theme;
use crate::tui::views::format::dur;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

fn age(ms: u64) -> String {
    dur(std::time::Duration::from_millis(ms))
}

/// The banner's text, when the data on screen is not live.
pub fn banner(ui: &UiState) -> Option<String> {
    let link = ui.link.as_ref()?;
    let data = |since: Ts| match ui.history.last {
        Some(at) => format!(
            "data from {} ago",
            age(ui.wall.0.saturating_sub(at.0.min(since.0)))
        ),
        None => "no data yet".into(),
    };
    match link {
        LinkState::Attached { .. } => None,
        LinkState::Connecting { since } => Some(format!(
            "CONNECTING to the supervisor of this state dir… ({})",
            data(*since)
        )),
        LinkState::Lost {
            since,
            retry_at,
            why,
        } => Some(format!(
            "NO SUPERVISOR — {why}; {}, nothing here is live; retrying in {}",
            data(*since),
            age(retry_at.0.saturating_sub(ui.wall.0).max(1))
        )),
        LinkState::Refused { reason } => Some(format!("REFUSED — {reason}")),
    }
}

pub fn draw_banner(buf: &mut Buffer, area: Rect, text: &str, theme: &Theme) {
    let row = Rect::new(area.x, area.y, area.width, 1);
    buf.set_style(
        row,
        theme
            .danger
            .add_modifier(Modifier::REVERSED | Modifier::BOLD),
    );
    let line = Line::from(Span::styled(
        format!(" {text}"),
        theme
            .danger
            .add_modifier(Modifier::REVERSED | Modifier::BOLD),
    ));
    super::widgets::put(buf, row, 0, &line);
}

/// A short "attached to" label for the header: the supervisor's fleet, pid and host, and
/// how long it has run.
pub fn attached_label(ui: &UiState) -> Option<String> {
    match ui.link.as_ref()? {
        LinkState::Attached { daemon, .. } => {
            let kind = if ui.settings.supervisor_here {
                "supervising here"
            } else if daemon.embedded {
                "console"
            } else {
                "daemon"
            };
            Some(format!(
                "{kind} {}@{} up {}",
                daemon.pid,
                daemon.host,
                age(ui.wall.0.saturating_sub(daemon.started.0))
            ))
        }
        _ => None,
    }
}

/// Lines for the `?` help: everything about the link, the state dir included.
pub fn help_lines(ui: &UiState) -> Vec<(String, String)> {
    match ui.link.as_ref() {
        Some(LinkState::Attached {
            daemon, identity, ..
        }) => vec![
            (
                "attached".into(),
                format!(
                    "{} pid {} on {}, lifeboat {}, fleet {}, up {}",
                    if daemon.embedded { "console" } else { "daemon" },
                    daemon.pid,
                    daemon.host,
                    daemon.version,
                    daemon.fleet,
                    age(ui.wall.0.saturating_sub(daemon.started.0))
                ),
            ),
            ("state dir".into(), daemon.state_dir.display().to_string()),
            (
                "you are".into(),
                format!("{} ({})", identity.name, identity.role),
            ),
        ],
        Some(_) => vec![("supervisor".into(), banner(ui).unwrap_or_default())],
        None => Vec::new(),
    }
}
