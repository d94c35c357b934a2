//! `lifeboat history [--since DURATION|RFC3339] [--job J] [--json]`: incidents and
//! operator actions, read from a state dir's journal without changing it. Exit 0 ok,
//! 1 a read error (or rows that could not be read), 2 no journal or no state dir.

use super::cli_out::err_line;
use super::history_out;
use super::history_read;
use super::journal::Journal;
use crate::core::history::fold;
use crate::core::time::Ts;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where `--since` cuts: a span back from now, or a point in time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Since {
    Ago(Duration),
    At(Ts),
}

impl Since {
    pub fn cutoff(self, now: Ts) -> Ts {
        match self {
            Since::Ago(d) => Ts(now
                .0
                .saturating_sub(d.as_millis().min(u128::from(u64::MAX)) as u64)),
            Since::At(t) => t,
        }
    }
}

/// `1h`, `30m`, `2d`, `1h30m` (back from now) or an RFC 3339 time with `Z` or an offset.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let as_duration = match crate::config::duration::parse(text) {
        Ok(d) => return Ok(Since::Ago(d)),
        Err(e) => e,
    };
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => Ok(Since::At(Ts(u64::try_from(t.timestamp_millis()).unwrap_or(0)))),
        Err(as_time) => Err(format!(
            "\"{text}\" is neither a duration back from now ({as_duration}) nor an RFC 3339 time ({as_time}); write e.g. 1h, 30m, 2d, 1h30m or 2026-03-01T12:00:00Z (an offset such as +01:00 also works)"
        )),
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--state-dir`, else the platform data dir (as `lifeboat status`).
    pub state_dir: Option<PathBuf>,
    pub since: Option<Since>,
    pub job: Option<String>,
    pub json: bool,
}

/// Runs the command against the wall clock and stdout (the CLI's arguments, in order).
pub fn main(
    state_dir: Option<PathBuf>,
    since: Option<Since>,
    job: Option<String>,
    json: bool,
) -> u8 {
    let opts = Options {
        state_dir,
        since,
        job,
        json,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut out = super::cli_out::Stdout::default();
    run(&opts, Ts(now), &mut out)
}

pub fn run(opts: &Options, now: Ts, out: &mut dyn Write) -> u8 {
    let dir = match &opts.state_dir {
        Some(d) => d.clone(),
        None => match directories::ProjectDirs::from("", "", "lifeboat") {
            Some(p) => p.data_dir().to_path_buf(),
            None => {
                err_line("error: no home directory to find the state dir in; pass --state-dir DIR");
                return 2;
            }
        },
    };
    let path = dir.join("journal.db");
    if !path.exists() {
        err_line(&format!(
            "error: no journal at {}; pass --state-dir DIR of a console or demo that has run",
            path.display()
        ));
        return 2;
    }
    let read = Journal::open_existing(&path).and_then(|j| {
        let (records, bad) = history_read::read(&j)?;
        Ok((j, records, bad))
    });
    let (journal, records, bad) = match read {
        Ok(r) => r,
        Err(e) => {
            err_line(&format!("error: {e}"));
            return 1;
        }
    };
    for b in &bad {
        err_line(&format!("warning: {b}"));
    }
    let history = fold(&records).select(opts.since.map(|s| s.cutoff(now)), opts.job.as_deref());
    if let Some(job) = &opts.job {
        let empty = history.incidents.is_empty() && history.actions.is_empty();
        match journal.event_jobs() {
            Ok(known) if empty && !known.contains(job) => err_line(&format!(
                "note: no event in {} names job \"{job}\" (jobs there: {})",
                path.display(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )),
            Ok(_) => {}
            Err(e) => {
                err_line(&format!("error: {e}"));
                return 1;
            }
        }
    }
    let lines: Vec<String> = if opts.json {
        history_out::json(&history)
            .iter()
            .map(|v| v.to_string())
            .collect()
    } else {
        history_out::text(&history)
    };
    let written = lines
        .iter()
        .try_for_each(|l| writeln!(out, "{l}"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        err_line(&format!("error: cannot write the output: {e}"));
        return 1;
    }
    u8::from(!bad.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn since_takes_a_span_or_a_time_and_names_both_forms_when_wrong() {
        assert_eq!(
            parse_since("1h").unwrap(),
            Since::Ago(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_since("2d").unwrap().cutoff(Ts(3 * 86_400_000)),
            Ts(86_400_000)
        );
        assert_eq!(
            parse_since("1970-01-01T01:00:00+01:00").unwrap(),
            Since::At(Ts(0))
        );
        assert_eq!(
            parse_since("1970-01-01T00:00:01.5Z").unwrap(),
            Since::At(Ts(1_500))
        );
        let err = parse_since("yesterday").unwrap_err();
        assert!(
            err.contains("\"yesterday\"") && err.contains("30m") && err.contains("RFC 3339"),
            "{err}"
        );
    }

    fn journal_with(dir: &std::path::Path) {
        let j = Journal::open(&dir.join("journal.db")).unwrap();
        let state = |from: &str, to: &str, why: &str| json!({"kind": "recovery_state", "job": "llm", "from": from, "to": to, "reason": why});
        j.append_event(
            1_000,
            "recovery_state",
            Some("llm"),
            &state("RUNNING", "RECONNECTING", "probe \x1b]0;x\x07 missed"),
        )
        .unwrap();
        j.append_event(
            2_000,
            "command_rejected",
            None,
            &json!({"kind": "command_rejected",
            "operator": "alice", "command": "failover llm", "reason": "epoch moved"}),
        )
        .unwrap();
        j.append_event(
            3_000,
            "failover_step",
            Some("llm"),
            &json!({"broken": true}),
        )
        .unwrap();
    }

    #[test]
    fn reads_escapes_and_reports_unreadable_rows_with_exit_1() {
        let dir = tempfile::tempdir().unwrap();
        journal_with(dir.path());
        let opts = Options {
            state_dir: Some(dir.path().into()),
            ..Options::default()
        };
        let mut out = Vec::new();
        assert_eq!(run(&opts, Ts(10_000), &mut out), 1, "one row is unreadable");
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("llm") && text.contains("STILL OPEN (RECONNECTING)"),
            "{text}"
        );
        assert!(text.contains("probe \\x1b]0;x\\x07 missed"), "{text}");
        assert!(!text.contains('\x1b'));
        assert!(
            text.contains("alice: failover llm REJECTED — epoch moved"),
            "{text}"
        );
    }

    #[test]
    fn json_lines_unknown_jobs_and_missing_journals() {
        let dir = tempfile::tempdir().unwrap();
        journal_with(dir.path());
        let mut opts = Options {
            state_dir: Some(dir.path().into()),
            json: true,
            since: Some(Since::Ago(Duration::from_millis(9_000))),
            ..Options::default()
        };
        let mut out = Vec::new();
        run(&opts, Ts(10_000), &mut out);
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // The open incident stays, the action at 2 s is after the cut at 1 s.
        let types: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
        assert_eq!(types, ["incident", "action"]);
        assert_eq!(lines[0]["outcome"], "open");
        assert_eq!(lines[1]["accepted"], false);
        opts.job = Some("nope".into());
        let mut out = Vec::new();
        run(&opts, Ts(10_000), &mut out);
        assert!(out.is_empty());
        opts.state_dir = Some(dir.path().join("missing"));
        assert_eq!(run(&opts, Ts(10_000), &mut Vec::new()), 2);
    }
}
