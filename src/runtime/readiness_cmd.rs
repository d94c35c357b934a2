//! `lifeboat failover JOB --dry-run`: gathers the facts a failover of JOB would depend on
//! — one probe of each host its chain could use (in parallel), free space where the
//! checkpoint would land, the newest verified checkpoint in the catalogue — and prints the
//! pure core's verdict. Changes nothing: no fence, no copy, no launch, no provider call.
//! Exit status: 0 a strategy before escalate is ready, 1 none is, 2 usage or config error.

use super::catalogue::Catalogue;
use super::cli_out::err_line;
use super::journal::Journal;
use super::shell::Shell;
use super::shell_transport::ShellTransport;
use super::transport::Transport;
use crate::config::Config;
use crate::core::fleet::{Access, HostSpec, JobSpec, StrategyKind};
use crate::core::ids::{HostId, JobId, Target};
use crate::core::inventory::{CheckpointEntry, CopyState};
use crate::core::readiness::{assess, CheckpointFact, Facts, HostFacts, Readiness, Subject};
use crate::core::readiness_parse::{self as parse, host_facts};
use crate::core::safe_text::escape_line;
use crate::core::snapshot::Snapshot;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// On top of the policy's probe timeout: a dry run opens fresh SSH connections, where the
/// console's probes ride pooled ones.
const CONNECT_ALLOWANCE: Duration = Duration::from_secs(5);
const FACTS_LIMIT: Duration = Duration::from_secs(20);
const FACTS_CAP: usize = 64 * 1024;

pub struct Options {
    pub config: Config,
    pub state_dir: PathBuf,
    pub json: bool,
    pub ssh: Arc<dyn Shell>,
    pub local: Arc<dyn Shell>,
}

/// Runs the dry run for `job`; returns the exit status (0 would succeed, 1 would not,
/// 2 the job is unknown or the output could not be written).
pub async fn run(job: &str, opts: Options, out: &mut (dyn Write + Send)) -> u8 {
    let Some(spec) = opts.config.fleet.job(&JobId::new(job)).cloned() else {
        let names: Vec<&str> = opts
            .config
            .fleet
            .jobs
            .iter()
            .map(|j| j.id.as_str())
            .collect();
        let file = opts
            .config
            .source
            .as_ref()
            .map_or("the config".to_string(), |p| p.display().to_string());
        err_line(&format!(
            "error: no job named \"{job}\" in {file} (jobs: {})",
            names.join(", ")
        ));
        return 2;
    };
    let r = readiness(&spec, &opts).await;
    let written = if opts.json {
        serde_json::to_string(&r)
            .map_err(|e| e.to_string())
            .and_then(|s| writeln!(out, "{s}").map_err(|e| e.to_string()))
    } else {
        write!(out, "{}", render(&r)).map_err(|e| e.to_string())
    };
    if let Err(e) = written {
        err_line(&format!("error: cannot write the result: {e}"));
        return 2;
    }
    if r.would_succeed {
        0
    } else {
        1
    }
}

/// Gathers the facts for `spec` and asks the core.
pub async fn readiness(spec: &JobSpec, opts: &Options) -> Readiness {
    let placement = placement(&opts.state_dir, spec);
    // What live::start gives the supervisor.
    let caps = super::renting::capabilities(&opts.config);
    let subject = Subject::from_fleet(&opts.config.fleet, spec, placement, caps);
    let hosts = hosts_to_check(&subject, opts);
    let transport = ShellTransport::new(opts.ssh.clone(), opts.local.clone());
    let limit = opts.config.policy.detection.probe_timeout + CONNECT_ALLOWANCE;
    let gathered = futures::future::join_all(
        hosts
            .iter()
            .map(|h| gather(&transport, opts, h, spec, limit)),
    )
    .await;
    let (checkpoint, checkpoint_note) = newest_verified(opts, spec.id.as_str());
    let facts = Facts {
        hosts: hosts.iter().map(|h| h.id.clone()).zip(gathered).collect(),
        checkpoint,
        checkpoint_note,
        unchecked: "not checked".into(),
    };
    assess(&subject, &facts)
}

/// Where the job runs now as the last console saw it; its configured home otherwise.
fn placement(state_dir: &Path, spec: &JobSpec) -> Target {
    let path = state_dir.join("journal.db");
    if !path.exists() {
        return spec.home();
    }
    Journal::open_existing(&path)
        .ok()
        .and_then(|j| j.load::<Snapshot>("snapshot").ok().flatten())
        .and_then(|s| s.jobs.into_iter().find(|j| j.id == spec.id))
        .map_or_else(|| spec.home(), |j| j.placement)
}

/// Every host the chain could use before escalate, once each, in chain order.
fn hosts_to_check(s: &Subject, opts: &Options) -> Vec<HostSpec> {
    let mut ids: Vec<HostId> = Vec::new();
    for kind in s.chain.iter().take_while(|k| **k != StrategyKind::Escalate) {
        match kind {
            StrategyKind::RestartInPlace => ids.push(s.placement.host.clone()),
            StrategyKind::WarmStandby | StrategyKind::CpuStandby => {
                ids.extend(s.standbys.iter().map(|(t, _)| t.host.clone()))
            }
            _ => {}
        }
    }
    let mut seen = Vec::new();
    ids.into_iter()
        .filter_map(|id| opts.config.fleet.host(&id).cloned())
        .filter(|h| {
            let fresh = !seen.contains(&h.id);
            seen.push(h.id.clone());
            fresh
        })
        .collect()
}

/// One probe of `host`, then its free space and GPU processes through the same shell.
async fn gather(
    transport: &ShellTransport,
    opts: &Options,
    host: &HostSpec,
    spec: &JobSpec,
    limit: Duration,
) -> HostFacts {
    let probe = tokio::time::timeout(limit, transport.probe(host, std::slice::from_ref(spec)));
    let report = match probe.await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return HostFacts::unreachable(format!("{} did not answer: {e}", host.id)),
        Err(_) => {
            return HostFacts::unreachable(format!(
                "{} did not answer within {} ms",
                host.id,
                limit.as_millis()
            ))
        }
    };
    let shell = match host.access {
        Access::Local => &opts.local,
        Access::Ssh | Access::Simulated => &opts.ssh,
    };
    let script = facts_script(&spec.checkpoint_dir.to_string_lossy());
    let (free, apps) = match shell.run(host, &script, FACTS_LIMIT, FACTS_CAP).await {
        Ok(o) => parse::parse_facts(&String::from_utf8_lossy(&o.stdout)),
        Err(e) => (Err(e.to_string()), None),
    };
    host_facts(&report, host.gpus, apps.as_deref(), free)
}

/// `df -Pk` of the checkpoint dir (or its nearest existing parent: a standby may not have
/// it yet), then the GPUs' compute processes by UUID, between the parser's markers.
fn facts_script(dir: &str) -> String {
    format!(
        r#"d={dir}
while [ ! -e "$d" ] && [ "$d" != / ] && [ "$d" != . ]; do d=$(dirname "$d"); done
echo {df}; df -Pk "$d" 2>&1; echo "{df_end} $?"
if command -v nvidia-smi >/dev/null 2>&1; then
  echo {apps}; timeout -k 2 10 nvidia-smi --query-compute-apps=gpu_uuid,pid,process_name --format=csv,noheader 2>&1; echo "{apps_end} $?"
fi
"#,
        dir = super::scripts::quote_path(dir),
        df = parse::DF_BEGIN,
        df_end = parse::DF_END,
        apps = parse::APPS_BEGIN,
        apps_end = parse::APPS_END,
    )
}

/// The newest restorable checkpoint in the catalogue, or why none could be looked up.
fn newest_verified(opts: &Options, job: &str) -> (Option<CheckpointFact>, Option<String>) {
    let storage = &opts.config.storage;
    if storage.nas.is_none() && storage.s3.is_none() {
        return (
            None,
            Some("no checkpoint store is configured ([storage] nas or s3)".into()),
        );
    }
    let path = opts.state_dir.join("journal.db");
    if !path.exists() {
        return (
            None,
            Some(format!(
                "no catalogue at {} yet (has a console run with this --state-dir?)",
                path.display()
            )),
        );
    }
    let entries = match Catalogue::open(&path).and_then(|c| c.entries(Some(job))) {
        Ok(e) => e,
        Err(e) => return (None, Some(format!("catalogue unreadable: {e}"))),
    };
    let newest = entries
        .into_iter()
        .filter(CheckpointEntry::restorable)
        .max_by_key(|e| (e.step, e.created));
    let fact = newest.map(|e| CheckpointFact {
        stores: e
            .copies
            .iter()
            .filter(|c| c.state == CopyState::Verified)
            .map(|c| c.store.clone())
            .collect(),
        id: e.id,
        step: e.step,
        bytes: e.bytes,
    });
    (fact, None)
}

/// The human table: each strategy and target, each check, then the verdict line.
/// The table for people; details quote hosts' own words, so they are escaped.
pub fn render(r: &Readiness) -> String {
    let e = |v: &dyn std::fmt::Display| escape_line(&v.to_string()).into_owned();
    let mut s = format!(
        "Failover dry run of {} (nothing was changed)\n\n",
        e(&r.job)
    );
    s.push_str(&format!("{:<18} {:<24} READY\n", "STRATEGY", "TARGET"));
    for row in &r.strategies {
        let target = row
            .target
            .as_ref()
            .map_or_else(|| "-".to_string(), |t| e(t));
        let ready = match (row.strategy, row.ready) {
            (StrategyKind::Escalate, _) => "-",
            (_, true) => "yes",
            (_, false) => "no",
        };
        s.push_str(&format!(
            "{:<18} {target:<24} {ready}\n",
            row.strategy.as_str()
        ));
        for c in &row.checks {
            s.push_str(&format!(
                "    {:<4} {:<10} {}\n",
                c.state.as_str(),
                e(&c.name),
                e(&c.detail)
            ));
        }
    }
    let verdict = if r.would_succeed { "yes" } else { "no" };
    s.push_str(&format!("\nwould_succeed: {verdict} — {}\n", e(&r.reason)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::readiness::{Check, CheckState, StrategyReadiness};

    #[test]
    fn the_facts_script_quotes_the_dir_and_marks_its_sections() {
        let s = facts_script("/ck/it's here");
        assert!(s.starts_with(r"d='/ck/it'\''s here'"), "{s}");
        assert!(s.contains("echo @@df; df -Pk \"$d\""));
        assert!(s.contains("echo \"@@appsexit $?\""));
    }

    #[test]
    fn the_table_lists_each_check_and_ends_with_the_verdict() {
        let r = Readiness {
            job: JobId::new("llm"),
            would_succeed: false,
            first_ready: None,
            first_target: None,
            reason: "nothing before escalate is ready — warm-standby: b did not answer".into(),
            strategies: vec![
                StrategyReadiness {
                    strategy: StrategyKind::WarmStandby,
                    target: Some(Target::new(HostId::new("b"), Some(0))),
                    ready: false,
                    checks: vec![Check {
                        name: "reachable".into(),
                        ok: false,
                        state: CheckState::Fail,
                        detail: "b did not answer".into(),
                    }],
                },
                StrategyReadiness {
                    strategy: StrategyKind::Escalate,
                    target: None,
                    ready: false,
                    checks: Vec::new(),
                },
            ],
        };
        let text = render(&r);
        let want = "Failover dry run of llm (nothing was changed)\n\n\
STRATEGY           TARGET                   READY\n\
warm-standby       b:gpu0                   no\n    \
FAIL reachable  b did not answer\n\
escalate           -                        -\n\n\
would_succeed: no — nothing before escalate is ready — warm-standby: b did not answer\n";
        assert_eq!(text, want);
    }

    #[test]
    fn hosts_words_reach_the_table_escaped() {
        let r = Readiness {
            job: JobId::new("llm"),
            would_succeed: false,
            first_ready: None,
            first_target: None,
            reason: "b: df: \x1b]0;title\x07".into(),
            strategies: vec![StrategyReadiness {
                strategy: StrategyKind::WarmStandby,
                target: Some(Target::new(HostId::new("b"), Some(0))),
                ready: false,
                checks: vec![Check {
                    name: "space".into(),
                    ok: false,
                    state: CheckState::Fail,
                    detail: "df said \x1b]52;c;cm0gLXJm\x07\nFAKE ok".into(),
                }],
            }],
        };
        let text = render(&r);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(
            text.contains("FAIL space      df said \\x1b]52;c;cm0gLXJm\\x07\\nFAKE ok\n"),
            "{text}"
        );
        assert!(text.ends_with("— b: df: \\x1b]0;title\\x07\n"), "{text}");
    }
}
