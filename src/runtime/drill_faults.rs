//! A drill's faults made for real on a host, over SSH, as POSIX `sh` (dash and busybox
//! run them the same): the job's process killed (a crash), or stopped with SIGSTOP (a hang:
//! alive, no progress) under a dead-man timer *on the host* that sends SIGCONT after the
//! drill's duration even if Lifeboat dies or the network goes. A GPU cannot be made to
//! fall off the bus without harm, so a marker is planted that Lifeboat's probe reports as
//! that Xid, labelled injected; it expires by itself. The fault then travels the
//! path a real one does: host → probe → parser → detector.

use super::scripts::quote;
use std::time::Duration;

/// A path quoted for `sh`; one that is not UTF-8 is refused rather than mangled.
pub(crate) fn quote_path(p: &std::path::Path) -> Result<String, String> {
    p.to_str()
        .map(quote)
        .ok_or_else(|| format!("{} is not UTF-8: a drill will not touch it", p.display()))
}

/// Finds the job's running copy on the host: `$pid` and `$ep` (its `eN`), or says `@@none`.
fn find(job: &str) -> String {
    format!(
        r#"LB="${{LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}}"
d="$LB"/{job}
pid=""; ep=""
for f in "$d"/e*.pid; do
  [ -f "$f" ] || continue
  p="$(head -c 20 "$f" | tr -dc 0-9)"
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && {{ pid="$p"; ep="${{f##*/}}"; ep="${{ep%.pid}}"; }}
done
[ -n "$pid" ] || {{ echo "@@none"; exit 3; }}
"#,
        job = quote(job)
    )
}

/// Kills the job's process with SIGKILL, as a crash would (its workers are the fence's).
pub fn crash(job: &str) -> String {
    format!(
        "{}kill -KILL \"$pid\" 2>/dev/null || {{ echo \"@@failed $pid\"; exit 4; }}\necho \"@@killed $pid $ep\"\n",
        find(job)
    )
}

/// A dead-man timer armed on the host as its own detached `sh`: after `secs` it runs
/// `undo`, or at once when it is sent SIGTERM (how a rollback disarms it), and then
/// removes itself. Written to `$at.sh` with its pid in `$at.sh.pid`; the shell variables
/// `vars` are handed to it under the same names. `arm` runs inside it after `delay` seconds
/// (a fault that cuts this very connection must wait until the answer is out).
pub(crate) fn dead_man(
    at: &str,
    vars: &[&str],
    secs: u64,
    delay: u64,
    arm: &str,
    undo: &str,
) -> String {
    let arm = if delay == 0 {
        String::new()
    } else {
        format!("sleep {delay} & s=$!; wait \"$s\"\n{arm}\n")
    };
    format!(
        r#"cat >"{at}.sh" <<'LIFEBOAT_DEADMAN'
{take}s=""
undo() {{
{undo}
}}
trap 'kill "$s" 2>/dev/null; undo; rm -f "$0" "$0.pid"; exit 0' TERM INT
{arm}sleep {secs} & s=$!; wait "$s"
undo; rm -f "$0" "$0.pid"
LIFEBOAT_DEADMAN
nohup sh "{at}.sh" {give} >/dev/null 2>&1 </dev/null &
echo "$!" >"{at}.sh.pid"
"#,
        secs = secs.max(1),
        take = vars
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v}=\"${}\"; ", i + 1))
            .collect::<String>(),
        give = vars
            .iter()
            .map(|v| format!("\"${v}\""))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Disarms every dead-man matching the glob `pattern` (`…/.drill-x.*`): each is sent
/// SIGTERM, so it undoes its fault now and removes itself; one that does not within 2 s
/// is killed and `fallback PATH` run for it. Counts them in `$n`.
pub(crate) fn disarm(pattern: &str, fallback: &str) -> String {
    format!(
        r#"n=0
for f in {pattern}.sh; do
  [ -f "$f" ] || continue
  t="$(head -c 20 "$f.pid" 2>/dev/null | tr -dc 0-9)"
  [ -n "$t" ] && kill -TERM "$t" 2>/dev/null
  i=0
  while [ -f "$f" ] && [ $i -lt 20 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done
  if [ -f "$f" ]; then
    [ -n "$t" ] && kill -KILL "$t" 2>/dev/null
    {fallback} "$f"
    rm -f "$f" "$f.pid"
  fi
  n=$((n+1))
done
"#
    )
}

/// Signals the run's whole process group (a job launched by Lifeboat leads its own), or
/// the one process when it leads none: dash spells a group `-- -PID`, busybox `-PID`.
const GROUP: &str = r#"group() { kill -"$1" -- -"$2" 2>/dev/null || kill -"$1" -"$2" 2>/dev/null || kill -"$1" "$2" 2>/dev/null; }"#;

/// Stops the job's processes (SIGSTOP to its process group) and arms a dead-man on the
/// host that continues them after `duration` (`$d/.drill-hang.PID.sh`, disarmed by
/// [`unhang`]).
pub fn hang(job: &str, duration: Duration) -> String {
    format!(
        "{}{GROUP}\ngroup STOP \"$pid\" || {{ echo \"@@failed $pid\"; exit 4; }}\n{}echo \"@@stopped $pid $ep\"\n",
        find(job),
        dead_man(
            "$d/.drill-hang.$pid",
            &["pid"],
            duration.as_secs(),
            0,
            "",
            &format!("{GROUP}\ngroup CONT \"$pid\"")
        )
    )
}

/// Continues every process a drill stopped for `job` and disarms its dead-man timers.
pub fn unhang(job: &str) -> String {
    format!(
        "LB=\"${{LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}}\"\nd=\"$LB\"/{job}\n{}echo \"@@continued $n\"\n",
        disarm(
            "\"$d\"/.drill-hang.*",
            &format!("{GROUP}\ncont() {{ p=\"${{1%.sh}}\"; group CONT \"${{p##*.}}\"; }}; cont")
        ),
        job = quote(job)
    )
}

/// How a cut host answers: not at all (a hang: packets dropped) or with a refusal (a
/// host that is down: connections reset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    Hang,
    Refuse,
}

/// The firewall rule a cut adds, for the SSH port in `$port`; tagged so nobody takes it
/// for the host's own and so [`net_restore`] finds every one.
fn rule(cut: Cut) -> &'static str {
    match cut {
        Cut::Hang => "-p tcp --dport \"$port\" -m comment --comment lifeboat-drill -j DROP",
        Cut::Refuse => "-p tcp --dport \"$port\" -m comment --comment lifeboat-drill -j REJECT --reject-with tcp-reset",
    }
}

/// Deletes every drill rule on `$port`, both kinds, in iptables and ip6tables (as `$su`).
const UNCUT: &str = r#"for ipt in iptables ip6tables; do
  command -v $ipt >/dev/null 2>&1 || continue
  i=0
  while [ $i -lt 50 ] && { $su $ipt -D INPUT -p tcp --dport "$port" -m comment --comment lifeboat-drill -j DROP 2>/dev/null || $su $ipt -D INPUT -p tcp --dport "$port" -m comment --comment lifeboat-drill -j REJECT --reject-with tcp-reset 2>/dev/null; }; do i=$((i+1)); done
done"#;

/// Finds the SSH port this connection came in on (`$port`) and how the firewall may be
/// changed here: directly (root or CAP_NET_ADMIN) or through passwordless sudo (`$su`).
const FIREWALL: &str = r#"LB="${LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}"
port="${SSH_CONNECTION##* }"
PATH="$PATH:/usr/sbin:/sbin"; export PATH
case "$port" in ''|*[!0-9]*) echo "@@refused SSH_CONNECTION does not name the port this host is reached on"; exit 4;; esac
command -v iptables >/dev/null 2>&1 || { echo "@@refused iptables is not installed on this host (apt install iptables)"; exit 4; }
if iptables -S INPUT >/dev/null 2>&1; then su=""
elif command -v sudo >/dev/null 2>&1 && sudo -n iptables -S INPUT >/dev/null 2>&1; then su="sudo -n"
else echo "@@refused the firewall cannot be changed as $(id -un 2>/dev/null || id -u): a host fault needs root, CAP_NET_ADMIN or passwordless sudo for iptables on the host"; exit 4
fi
"#;

/// Cuts the host off on the SSH port Lifeboat reaches it on (from `$SSH_CONNECTION`),
/// with the host's own firewall: every packet to it dropped (a hang) or refused. The
/// established connection is cut too, as a real fault would; the answer goes out first
/// (the rule lands a second later), and the dead-man lifts the rule after `duration`
/// whatever becomes of Lifeboat. Needs iptables and root, CAP_NET_ADMIN or passwordless
/// sudo for it on the host; without them it says so and changes nothing.
pub fn net_cut(cut: Cut, duration: Duration) -> String {
    let r = rule(cut);
    let arm = format!(
        "$su iptables -I INPUT {r} || {{ rm -f \"$0\" \"$0.pid\"; exit 1; }}\ncommand -v ip6tables >/dev/null 2>&1 && $su ip6tables -I INPUT {r} 2>/dev/null"
    );
    format!(
        r#"{FIREWALL}mkdir -p "$LB" || exit 4
[ -f "$LB/.drill-net.$port.sh" ] && {{ echo "@@refused a drill's cut of port $port is already armed ($LB/.drill-net.$port.sh)"; exit 4; }}
{dm}echo "@@cut $port {how}"
"#,
        dm = dead_man(
            "$LB/.drill-net.$port",
            &["port", "su"],
            duration.as_secs(),
            1,
            &arm,
            UNCUT
        ),
        how = match cut {
            Cut::Hang => "hang",
            Cut::Refuse => "refuse",
        }
    )
}

/// Lifts every drill cut on the port this connection came in on (run once the host
/// answers again) and disarms its dead-man.
pub fn net_restore() -> String {
    format!(
        "{FIREWALL}{}{UNCUT}\necho \"@@lifted $n $port\"\n",
        disarm("\"$LB\"/.drill-net.\"$port\"", "true")
    )
}

/// The kernel-log line a planted GPU fault shows as: Xid 79 as the driver writes it, and
/// labelled as a drill's, so nobody takes it for a real one.
pub const GPU_LOST_LINE: &str =
    "NVRM: Xid (PCI:0000:00:00): 79, pid=0, LIFEBOAT DRILL (injected): GPU has fallen off the bus.";

/// Plants a GPU-off-the-bus marker that Lifeboat's own probe reports (its Xid section) for
/// `duration`; past it the probe removes the marker, so it undoes itself on the host.
pub fn gpu_lost(duration: Duration) -> String {
    format!(
        r#"LB="${{LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}}"
mkdir -p "$LB" || exit 4
f="$LB/.drill-xid.$$"
printf '%s %s
' "$(( $(date +%s) + {secs} ))" {line} >"$f.tmp" && mv "$f.tmp" "$f" || {{ echo "@@failed marker"; exit 4; }}
echo "@@planted $f"
"#,
        secs = duration.as_secs().max(1),
        line = quote(GPU_LOST_LINE)
    )
}

/// Removes every planted GPU marker now.
pub fn gpu_restore() -> String {
    r#"LB="${LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}"
n=0
for f in "$LB"/.drill-xid.*; do [ -f "$f" ] && rm -f "$f" && n=$((n+1)); done
echo "@@removed $n"
"#
    .to_string()
}

/// Where a restore test puts its copy: under this prefix only, so removing it can never
/// reach anything else.
pub const SCRATCH_PREFIX: &str = "/tmp/lifeboat-restore-test-";

/// Removes a restore test's scratch copy; refuses a path outside [`SCRATCH_PREFIX`].
pub fn remove_scratch(path: &str) -> Result<String, String> {
    let rest = path.strip_prefix(SCRATCH_PREFIX).unwrap_or("");
    if rest.is_empty()
        || rest.contains('/')
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "refused to remove {path:?}: a scratch copy is only ever {SCRATCH_PREFIX}RUN"
        ));
    }
    Ok(format!(
        "rm -rf -- {p} && [ ! -e {p} ] && echo \"@@scratch-removed\" || echo \"@@failed scratch\"\n",
        p = quote(path)
    ))
}

/// What a fault script's output says, for the drill's log.
pub fn said(stdout: &str) -> Result<String, String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("@@"))
        .unwrap_or("")
        .trim_start_matches("@@");
    let mut w = line.split_whitespace();
    match (w.next(), w.next(), w.next()) {
        (Some("killed"), Some(pid), ep) => Ok(format!(
            "killed pid {pid}{}",
            ep.map(|e| format!(" (run {e})")).unwrap_or_default()
        )),
        (Some("stopped"), Some(pid), ep) => Ok(format!(
            "stopped pid {pid}{} (SIGSTOP), a dead-man on the host continues it",
            ep.map(|e| format!(" (run {e})")).unwrap_or_default()
        )),
        (Some("continued"), Some(n), _) => Ok(format!("continued {n} stopped process(es)")),
        (Some("planted"), Some(f), _) => Ok(format!(
            "planted a GPU-lost marker ({f}) that the probe reports as Xid 79, labelled injected"
        )),
        (Some("removed"), Some(n), _) => Ok(format!("removed {n} GPU marker(s)")),
        (Some("scratch-removed"), ..) => {
            Ok("removed the scratch copy; nothing of it is left".into())
        }
        (Some("cut"), Some(port), how) => {
            Ok(format!(
            "cut SSH port {port} with the host's firewall ({}); a dead-man on the host lifts it",
            if how == Some("refuse") { "connections refused" } else { "packets dropped: a hang" }
        ))
        }
        (Some("lifted"), Some(n), port) => Ok(format!(
            "the host answers again; {n} dead-man(s) disarmed and no drill rule is left on port {}",
            port.unwrap_or("?")
        )),
        (Some("refused"), ..) => Err(line.trim_start_matches("refused").trim().to_string()),
        (Some("none"), ..) => Err("no running copy of the job on that host".into()),
        (Some("failed"), Some(pid), _) => Err(format!("could not signal pid {pid}")),
        _ => Err(format!(
            "the host's answer was not understood: {:?}",
            stdout.chars().take(200).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::said;

    #[test]
    fn the_planted_line_is_read_as_xid_79_by_the_kernel_log_parser() {
        assert_eq!(
            crate::core::xid::parse_xid_lines(super::GPU_LOST_LINE),
            vec![79]
        );
    }

    #[test]
    fn only_a_scratch_copy_can_be_removed() {
        assert!(super::remove_scratch("/tmp/lifeboat-restore-test-2026-x").is_ok());
        for bad in [
            "/",
            "/tmp/lifeboat-restore-test-",
            "/tmp/lifeboat-restore-test-a/../../etc",
            "/tmp/lifeboat-restore-test-a b",
            "/home/x",
        ] {
            assert!(super::remove_scratch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_read_and_anything_else_is_an_error() {
        assert_eq!(said("@@killed 42 e3\n").unwrap(), "killed pid 42 (run e3)");
        assert!(said("@@stopped 42 e3").unwrap().contains("dead-man"));
        assert_eq!(
            said("@@continued 0").unwrap(),
            "continued 0 stopped process(es)"
        );
        assert!(said("@@none").unwrap_err().contains("no running copy"));
        assert!(said("garbage").is_err());
    }
}
