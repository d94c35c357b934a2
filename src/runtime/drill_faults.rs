//! A drill's faults made for real on a host, over SSH, as POSIX `sh` (dash and busybox
//! run them the same): the job's process killed (a crash), or stopped with SIGSTOP (a hang:
//! alive, no progress) under a dead-man timer *on the host* that sends SIGCONT after the
//! drill's duration even if Lifeboat dies or the network goes. A GPU cannot be made to
//! fall off the bus without harm, so a marker is planted that Lifeboat's probe reports as
//! that Xid, labelled injected; it expires by itself. The fault then travels the
//! path a real one does: host → probe → parser → detector.

use super::scripts::quote;
use std::time::Duration;

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

/// Stops the job's process (SIGSTOP) and arms a dead-man on the host that continues it
/// after `duration`; the timer's pid is kept in `$d/.drill-hang.PID` for [`unhang`].
pub fn hang(job: &str, duration: Duration) -> String {
    format!(
        "{}kill -STOP \"$pid\" 2>/dev/null || {{ echo \"@@failed $pid\"; exit 4; }}\n\
         nohup sh -c \"sleep {secs}; kill -CONT $pid\" >/dev/null 2>&1 </dev/null &\n\
         echo \"$!\" >\"$d/.drill-hang.$pid\"\n\
         echo \"@@stopped $pid $ep\"\n",
        find(job),
        secs = duration.as_secs().max(1)
    )
}

/// Continues every process a drill stopped for `job` and disarms its dead-man timers.
pub fn unhang(job: &str) -> String {
    format!(
        r#"LB="${{LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}}"
d="$LB"/{job}
n=0
for f in "$d"/.drill-hang.*; do
  [ -f "$f" ] || continue
  pid="${{f##*.}}"
  kill -CONT "$pid" 2>/dev/null
  t="$(head -c 20 "$f" | tr -dc 0-9)"
  [ -n "$t" ] && kill "$t" 2>/dev/null
  rm -f "$f"; n=$((n+1))
done
echo "@@continued $n"
"#,
        job = quote(job)
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
