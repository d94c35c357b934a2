//! What the console reads from disk and the environment before it starts: theme files,
//! the keymap overrides, the terminal's colour support, and who the operator is.

use crate::tui::keymap::Keymap;
use crate::tui::run::Setup;
use crate::tui::state::{UiSettings, UiState};
use crate::tui::theme::{resolve_themes, ColorSupport, ThemeChoice};
use std::path::{Path, PathBuf};

/// Where user themes (`themes/*.toml`) and `keys.toml` live.
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lifeboat").map(|p| p.config_dir().to_path_buf())
}

fn var(k: &str) -> Option<String> {
    std::env::var_os(k).map(|v| v.to_string_lossy().into_owned())
}

/// The local user, journaled with every command.
pub fn operator() -> String {
    var("USER")
        .or_else(|| var("LOGNAME"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "operator".into())
}

fn theme_files(dir: Option<&Path>) -> Vec<(String, String)> {
    let Some(dir) = dir else { return Vec::new() };
    let Ok(rd) = std::fs::read_dir(dir.join("themes")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| {
            std::fs::read_to_string(&p)
                .ok()
                .map(|t| (p.display().to_string(), t))
        })
        .collect();
    out.sort();
    out
}

/// What is wrong with the theme `choice` (a name or a path) as the console would load it:
/// an unknown name, an unreadable or broken file. Empty when it loads.
pub fn theme_warnings(choice: &str) -> Vec<String> {
    let mut files = theme_files(config_dir().as_deref());
    if let ThemeChoice::Path(p) = ThemeChoice::parse(choice) {
        match std::fs::read_to_string(p) {
            Ok(t) => files.push((p.to_string(), t)),
            Err(e) => return vec![format!("{p}: cannot read the theme ({e})")],
        }
    }
    resolve_themes(Some(choice), &files, ColorSupport::default()).warnings
}

/// Builds the console's setup; the warnings (bad theme, keymap conflicts) are for stderr
/// before the screen opens and for the console's first message.
pub fn setup(theme: Option<&str>, readonly: bool, demo: bool) -> (Setup, Vec<String>) {
    let support = ColorSupport::detect(
        var("NO_COLOR").as_deref(),
        var("COLORTERM").as_deref(),
        var("TERM").as_deref(),
    );
    setup_with(theme, readonly, demo, support)
}

/// The setup for a terminal that is not this process's own (an SSH session): its colours
/// follow the session's `TERM` and `NO_COLOR`.
pub fn setup_for_session(term: &str, no_color: bool, demo: bool) -> (Setup, Vec<String>) {
    let support = ColorSupport::detect(no_color.then_some("1"), None, Some(term));
    setup_with(None, false, demo, support)
}

fn setup_with(
    theme: Option<&str>,
    readonly: bool,
    demo: bool,
    support: ColorSupport,
) -> (Setup, Vec<String>) {
    let dir = config_dir();
    let mut warnings = Vec::new();
    let mut files = theme_files(dir.as_deref());
    if let Some(ThemeChoice::Path(p)) = theme.map(ThemeChoice::parse) {
        match std::fs::read_to_string(p) {
            Ok(t) => files.push((p.to_string(), t)),
            Err(e) => warnings.push(format!(
                "{p}: cannot read the theme ({e}); using the default"
            )),
        }
    }
    let set = resolve_themes(theme, &files, support);
    warnings.extend(set.warnings.iter().cloned());
    let keys_path = dir.as_ref().map(|d| d.join("keys.toml"));
    let keys = match keys_path.as_ref().map(|p| (p, std::fs::read_to_string(p))) {
        Some((p, Ok(text))) => {
            let (k, w) = Keymap::from_toml(&p.display().to_string(), &text);
            warnings.extend(w);
            k
        }
        _ => Keymap::default(),
    };
    let ui = UiState {
        settings: UiSettings {
            readonly,
            operator: operator(),
            demo,
            supervisor_here: false,
            keys: rebound(&keys),
        },
        ..UiState::default()
    };
    (
        Setup {
            ui,
            themes: set.into_vec(),
            keys,
        },
        warnings,
    )
}

/// The Normal-context keys the operator's keymap changed, by action name, for the footer.
fn rebound(keys: &Keymap) -> std::collections::BTreeMap<String, String> {
    use crate::tui::action::Action;
    use crate::tui::keymap::{action_name, Context};
    let stock = Keymap::default();
    let mut out = std::collections::BTreeMap::new();
    let shown = [
        Action::Help,
        Action::Palette,
        Action::Filter,
        Action::Select,
        Action::Back,
        Action::Failover,
        Action::Switchover,
        Action::PauseJob,
        Action::ResumeJob,
        Action::Cancel,
        Action::InjectFault,
        Action::Prune,
        Action::NextView,
        Action::Quit,
    ];
    let drills = [
        Action::DrillStart,
        Action::DrillRunToEnd,
        Action::DrillAbort,
    ];
    let all = shown
        .into_iter()
        .map(|a| (Context::Normal, a))
        .chain(drills.into_iter().map(|a| (Context::Drills, a)));
    for (ctx, a) in all {
        let (Some(name), Some(mine)) = (action_name(&a), keys.keys(ctx, &a).first()) else {
            continue;
        };
        if stock.keys(ctx, &a).first() != Some(mine) {
            out.insert(name.to_string(), mine.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_keys_are_reported_for_the_footer() {
        let (keys, warnings) = Keymap::from_toml("keys.toml", "[normal]\nfailover = \"F\"\n");
        assert!(warnings.is_empty(), "{warnings:?}");
        let r = rebound(&keys);
        assert_eq!(r.get("failover").map(String::as_str), Some("F"));
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(rebound(&Keymap::default()).is_empty());
        let (keys, _) = Keymap::from_toml("keys.toml", "[drills]\ndrill_abort = \"X\"\n");
        assert_eq!(
            rebound(&keys).get("drill_abort").map(String::as_str),
            Some("X")
        );
    }
}
