//! A drill's NAS loss, made for real on the machine that reaches the NAS: its folder is
//! moved aside (the store then finds it missing, as when a mount goes away), and a
//! dead-man in the state dir moves it back after the drill's duration even if Lifeboat
//! dies. Never through a link, never a mount point (a drill does not unmount a NAS), and
//! never over a folder that appeared in its place meanwhile. POSIX `sh`.

use super::drill_faults::{dead_man, disarm, quote_path};
use std::path::Path;
use std::time::Duration;

/// Where the NAS's own content waits while it is "lost".
const ASIDE: &str = ".lifeboat-drill-lost";

/// Puts the content back unless something non-empty took its place.
const UNDO: &str = r#"if [ -d "$gone" ]; then
  [ -e "$root" ] && rmdir "$root" 2>/dev/null
  [ -e "$root" ] || mv "$gone" "$root"
fi"#;

fn vars(root: &Path, state_dir: &Path) -> Result<String, String> {
    if !root.is_absolute() {
        return Err(format!("the NAS root {} is not absolute", root.display()));
    }
    Ok(format!(
        "root={r}; gone={r}{ASIDE}; S={s}\n",
        r = quote_path(root)?,
        s = quote_path(state_dir)?
    ))
}

/// Moves the NAS folder aside for `duration` at most.
pub fn lose(root: &Path, state_dir: &Path, duration: Duration) -> Result<String, String> {
    Ok(format!(
        r#"{v}[ -L "$root" ] && {{ echo "@@refused the NAS root $root is a link: a drill never moves what a link points at"; exit 4; }}
[ -d "$root" ] || {{ echo "@@refused the NAS root $root is not a folder here (is the NAS mounted?)"; exit 4; }}
[ -e "$gone" ] && {{ echo "@@refused $gone exists: a drill's NAS loss is already in place"; exit 4; }}
[ "$(stat -c %d "$root")" = "$(stat -c %d "$root/..")" ] || {{ echo "@@refused the NAS root $root is a mount point: a drill does not unmount a NAS; take it away by hand and give it back"; exit 4; }}
mkdir -p "$S" || exit 4
[ -f "$S/.drill-nas.sh" ] && {{ echo "@@refused a drill's NAS loss is already armed ($S/.drill-nas.sh)"; exit 4; }}
mv "$root" "$gone" || {{ echo "@@refused cannot move $root aside"; exit 4; }}
{dm}echo "@@nas-lost $root"
"#,
        v = vars(root, state_dir)?,
        dm = dead_man(
            "$S/.drill-nas",
            &["root", "gone"],
            duration.as_secs(),
            0,
            "",
            UNDO
        ),
    ))
}

/// Gives the NAS folder back now (disarming the dead-man) and says so only when it is.
pub fn give_back(root: &Path, state_dir: &Path) -> Result<String, String> {
    Ok(format!(
        r#"{v}{disarm}{UNDO}
[ -d "$gone" ] && {{ echo "@@refused $root was made again meanwhile and is not empty; the NAS's own content is still at $gone: merge them by hand"; exit 4; }}
[ -d "$root" ] || {{ echo "@@refused the NAS root $root is not there"; exit 4; }}
echo "@@nas-back $n"
"#,
        v = vars(root, state_dir)?,
        disarm = disarm("\"$S\"/.drill-nas", "true"),
    ))
}

/// What a NAS script said.
pub fn said(stdout: &str) -> Result<String, String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("@@"))
        .unwrap_or("")
        .trim_start_matches("@@");
    match line.split_once(' ').unwrap_or((line, "")) {
        ("nas-lost", root) => Ok(format!(
            "moved the NAS folder {root} aside; a dead-man in the state dir gives it back"
        )),
        ("nas-back", n) => Ok(format!("the NAS folder is back ({n} dead-man disarmed)")),
        ("refused", why) => Err(why.to_string()),
        _ => Err(format!(
            "the answer was not understood: {:?}",
            stdout.chars().take(200).collect::<String>()
        )),
    }
}
