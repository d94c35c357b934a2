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

/// The DRILL banner while a drill runs: faults on the fleet are on purpose, and how to
/// stop them.
pub fn drill_banner(ui: &UiState) -> Option<String> {
    let d = ui.drill.as_ref()?;
    let step = if d.step.is_empty() {
        String::new()
    } else {
        format!(" — {}", d.step)
    };
    Some(format!(
        "DRILL {} under way{step} — its faults are on purpose; abort: x in the drills view (6), or lifeboat drill abort",
        d.runbook
    ))
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

#[cfg(test)]
mod tests {
    use crate::core::time::Ts;
    use crate::protocol::notice::Notice;
    use crate::tui::state::UiState;
    use std::borrow::Cow;

    fn drill(run: &str, what: &'static str, detail: &str) -> Notice {
        Notice::Drill {
            ts: Ts(1),
            run: run.into(),
            runbook: "job-crash".into(),
            what: Cow::Borrowed(what),
            detail: detail.into(),
        }
    }

    #[test]
    fn the_drill_banner_shows_from_start_to_finish_with_the_step_under_way() {
        let mut ui = UiState::default();
        assert_eq!(super::drill_banner(&ui), None);
        crate::tui::fold::note(&mut ui, &drill("r1", "started", "root runs it"));
        crate::tui::fold::note(&mut ui, &drill("r1", "step_started", "3. [inject] Kill it"));
        let text = super::drill_banner(&ui).unwrap();
        assert!(
            text.starts_with("DRILL job-crash under way — 3. [inject] Kill it"),
            "{text}"
        );
        assert!(text.contains("lifeboat drill abort"), "{text}");
        // Another run's end does not clear it; its own does.
        crate::tui::fold::note(&mut ui, &drill("r0", "finished", "passed"));
        assert!(super::drill_banner(&ui).is_some());
        crate::tui::fold::note(&mut ui, &drill("r1", "finished", "aborted: Ctrl-C"));
        assert_eq!(super::drill_banner(&ui), None);
        // The drill is not a lost link: nothing is greyed for it.
        assert_eq!(super::banner(&ui), None);
    }
}
