//! The terminal loop: owns the screen, turns keys and mouse into actions, folds in
//! snapshots and the link's updates (a whole batch, then one draw), sends requests, and
//! redraws on change and on a 1 s tick (ages and countdowns move). It never waits on the
//! supervisor.

use super::action::{Action, Request};
use super::keymap::{Context, Keymap};
use super::overlay;
use super::state::{Level, Message};
use super::state::{Overlay, UiState};
use super::theme::Theme;
use super::update::{note, observe, update, Ctx};
use super::views;
use crate::core::snapshot::Snapshot;
use crate::protocol::screen::{LinkState, Update};
use crate::protocol::wire::Outcome;
use crossterm::event::{Event, KeyEventKind, MouseButton, MouseEventKind};
use ratatui::layout::Rect;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The supervisor's side of the console (a link over the state dir's socket).
pub struct ConsoleIo {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub updates: mpsc::Receiver<Update>,
    pub requests: mpsc::Sender<Request>,
}

/// Folds one update from the link into the console's state (`snap`: the world as last
/// seen, for a dialog an answer opens).
pub fn fold_update(ui: &mut UiState, snap: &Snapshot, u: Update) {
    match u {
        Update::Link(state) => {
            if let LinkState::Attached { identity, .. } = &state {
                // The supervisor says who we are. A viewer's keys still ask: the role is
                // enforced (and a refusal journaled) where requests are executed.
                ui.settings.operator = identity.name.clone();
            }
            ui.link = Some(state);
        }
        Update::History(notices) => {
            let keep = ui.message.take();
            ui.events.clear();
            for n in &notices {
                note(ui, n);
            }
            ui.message = keep;
            // (Re)attached: the drills view's runbooks and results may have changed.
            if ui.view == super::action::View::Drills {
                ui.drills.ask(Request::DrillCatalogue);
            }
        }
        Update::Notice(n) => note(ui, &n),
        Update::Missed(count) => {
            ui.message = Some(Message {
                text: format!(
                    "this console fell behind: {count} events skipped (lifeboat history has them)"
                ),
                level: Level::Warn,
                at: ui.wall,
            });
        }
        Update::Outcome(Outcome::Answered { answer }) => {
            super::update_drills::answered(ui, snap, answer);
        }
        Update::Outcome(o) => {
            let (text, level) = match o {
                Outcome::Answered { .. } => return,
                Outcome::Accepted { detail } => (detail, Level::Info),
                Outcome::Refused { reason } => (format!("refused: {reason}"), Level::Error),
                Outcome::Failed { reason } => (format!("failed: {reason}"), Level::Error),
            };
            ui.message = Some(Message {
                text,
                level,
                at: ui.wall,
            });
        }
    }
}

fn wall() -> crate::core::time::Ts {
    crate::core::time::Ts(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    )
}

pub struct Setup {
    pub ui: UiState,
    /// Themes by name, the first being the one to start with.
    pub themes: Vec<Theme>,
    pub keys: Keymap,
}

/// What a mouse event means: tabs on the first line, rows in the body (as the views lay them out).
fn mouse_action(
    kind: MouseEventKind,
    col: u16,
    row: u16,
    snap: &Snapshot,
    ui: &UiState,
    area: Rect,
) -> Option<Action> {
    match kind {
        MouseEventKind::ScrollDown => Some(Action::ScrollDown),
        MouseEventKind::ScrollUp => Some(Action::ScrollUp),
        MouseEventKind::Down(MouseButton::Left) if ui.overlay.is_none() => {
            views::tab_at(area, col, row)
                .map(Action::ClickTab)
                .or_else(|| views::row_at(snap, ui, area, row).map(Action::ClickRow))
        }
        _ => None,
    }
}

impl Overlay {
    pub fn is_none(&self) -> bool {
        matches!(self, Overlay::None)
    }
}

/// Why the console's loop ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The operator quit (or detached).
    Quit,
    /// The caller's `stop` fired.
    Stopped,
    /// The terminal's events ended: it hung up, or the connection dropped.
    InputClosed,
}

/// Where the console draws: the local terminal, or an SSH session's frames.
pub trait Surface {
    fn draw(&mut self, render: &mut dyn FnMut(&mut ratatui::Frame<'_>)) -> std::io::Result<()>;
    /// The drawn area, for mouse hit-testing.
    fn area(&self) -> Rect;
    /// The terminal changed size (an SSH window change; a local terminal follows itself).
    fn resize(&mut self, _cols: u16, _rows: u16) {}
}

impl Surface for ratatui::DefaultTerminal {
    fn draw(&mut self, render: &mut dyn FnMut(&mut ratatui::Frame<'_>)) -> std::io::Result<()> {
        ratatui::Terminal::draw(self, |f| render(f)).map(|_| ())
    }

    fn area(&self) -> Rect {
        let size = self.size().unwrap_or_default();
        Rect::new(0, 0, size.width, size.height)
    }
}

/// Runs the console in the local terminal until the operator quits or `stop` fires (the
/// terminal hung up, or SIGTERM). The terminal is restored on return and on panic.
pub async fn run(
    io: ConsoleIo,
    setup: Setup,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<Exit> {
    let mut terminal = ratatui::try_init()?;
    crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    let (tx, input) = mpsc::channel::<Event>(64);
    // crossterm's reader blocks; it lives on its own thread and dies with the process.
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            if tx.blocking_send(ev).is_err() {
                break;
            }
        }
    });
    let result = run_on(io, setup, input, &mut terminal, stop).await;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
    result
}

/// The console's loop on any surface, fed by any source of terminal events (the local
/// terminal's, or an SSH channel's parsed bytes). Ends on quit, on `stop`, or when the
/// events end (the connection dropped).
pub async fn run_on(
    mut io: ConsoleIo,
    setup: Setup,
    mut input: mpsc::Receiver<Event>,
    surface: &mut (dyn Surface + Send),
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<Exit> {
    tokio::pin!(stop);
    let Setup {
        mut ui,
        themes,
        keys,
    } = setup;
    let names: Vec<String> = themes.iter().map(|t| t.name.clone()).collect();
    let fallback = Theme::default();
    let mut snap = io.snapshots.borrow().clone();
    ui.wall = wall();
    observe(&mut ui, &snap);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // Mouse motion and key releases change nothing: they skip the next draw.
    let mut redraw = true;
    let result = loop {
        if !redraw {
            redraw = true;
        } else {
            let theme = themes
                .get(ui.theme_index % themes.len().max(1))
                .unwrap_or(&fallback);
            let mut help = views::link::help_lines(&ui);
            help.extend(keys.help_lines(overlay::help_context(&ui), ui.view));
            if let Err(e) = surface.draw(&mut |f| {
                views::draw(f, &snap, &ui, theme);
                overlay::draw(f, &ui, theme, &help);
            }) {
                break Err(e);
            }
        }
        tokio::select! {
            ev = input.recv() => {
                let Some(ev) = ev else { break Ok(Exit::InputClosed) };
                if let Event::Resize(w, h) = ev {
                    surface.resize(w, h);
                }
                let action = match ev {
                    Event::Key(k) if k.kind != KeyEventKind::Release => keys.action(Context::of(&ui), ui.view, k),
                    Event::Mouse(m) => mouse_action(m.kind, m.column, m.row, &snap, &ui, surface.area()),
                    _ => None,
                };
                redraw = action.is_some() || matches!(ev, Event::Resize(..));
                if let Some(action) = action {
                    let cx = Ctx { snap: &snap, themes: &names };
                    let req = update(&mut ui, &cx, action);
                    if req == Some(Request::Quit) {
                        break Ok(Exit::Quit);
                    }
                    if let Some(req) = req {
                        // The link is gone: nothing left to run the console for.
                        if io.requests.send(req).await.is_err() {
                            break Ok(Exit::Quit);
                        }
                    }
                }
            }
            Ok(()) = io.snapshots.changed() => {
                snap = io.snapshots.borrow_and_update().clone();
                observe(&mut ui, &snap);
            }
            Some(u) = io.updates.recv() => {
                fold_update(&mut ui, &snap, u);
                // Drain what else is queued, then draw once.
                while let Ok(u) = io.updates.try_recv() {
                    fold_update(&mut ui, &snap, u);
                }
                // What the drills view needs next (a fresh catalogue, a plan) is asked now.
                let mut gone = false;
                for req in std::mem::take(&mut ui.drills.want) {
                    gone |= io.requests.send(req).await.is_err();
                }
                if gone {
                    break Ok(Exit::Quit);
                }
            }
            _ = tick.tick() => ui.wall = wall(),
            () = &mut stop => break Ok(Exit::Stopped),
        }
    };
    result
}
