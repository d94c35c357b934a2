//! `ShellTransport`: the `Transport` for real hosts. Every operation is one script (see
//! `scripts`) run through a `Shell` — SSH for remote hosts, plain processes for the local
//! machine — and parsed by the core's parsers.

use super::fence_provider::{self, Provisioners};
use super::scripts;
use super::shell::{Shell, ShellError, ShellOutput, ThroughError};
use super::transport::{FenceOutcome, Progress, Transport};
use crate::core::fleet::{Access, HostSpec, JobSpec};
use crate::core::gpu::parse_xid_lines;
use crate::core::ids::Epoch;
use crate::core::io::{ChannelStatus, CheckpointRef, ProbeError, ProbeReport, FENCE_REACH};
use crate::core::probe_parse::parse_probe;
use crate::core::time::Ts;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Probe output beyond this is cut off (a hostile host cannot flood us).
const PROBE_CAP: usize = 512 * 1024;
const CONTROL_CAP: usize = 64 * 1024;
/// Generous: the core's own deadlines are the real limit.
const CONTROL_LIMIT: Duration = Duration::from_secs(120);
/// SIGTERM, then this long before SIGKILL.
const GRACE_S: u32 = 10;
/// The fence script: SIGTERM, up to `GRACE_S` of grace, SIGKILL. With `FENCE_REACH` it
/// stays inside the default 20 s fence step.
const FENCE_LIMIT: Duration = Duration::from_secs(GRACE_S as u64 + 5);
/// The default fence step, for callers of `fence` that give no budget.
const FENCE_BUDGET: Duration = Duration::from_secs(20);
/// Left of the fence step's budget for the executor to hand the answer back.
const FENCE_MARGIN: Duration = Duration::from_millis(500);

pub struct ShellTransport {
    pub ssh: Arc<dyn Shell>,
    pub local: Arc<dyn Shell>,
    /// Xid lines already seen per host: only new ones are evidence.
    seen_xids: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// `export` lines put before every script (e.g. `LIFEBOAT_RUN_DIR`).
    env: String,
    /// Restores catalogued checkpoints from the stores when staging.
    replicas: Option<Arc<super::replica::Replicator>>,
    /// By `[[provider]]` name: they stop the instance of a host that does not answer a fence.
    provisioners: Provisioners,
}

impl ShellTransport {
    pub fn new(ssh: Arc<dyn Shell>, local: Arc<dyn Shell>) -> Self {
        Self {
            ssh,
            local,
            seen_xids: Mutex::new(BTreeMap::new()),
            env: String::new(),
            replicas: None,
            provisioners: Provisioners::new(),
        }
    }

    /// Fencing a rented host that does not answer also stops its instance through the
    /// provider of that name (`HostSpec.provider`).
    pub fn with_provisioners(mut self, provisioners: Provisioners) -> Self {
        self.provisioners = provisioners;
        self
    }

    /// The host did not answer: its epoch is revoked, and its instance stopped if it has one.
    async fn unreachable(&self, host: &HostSpec, deadline: tokio::time::Instant) -> FenceOutcome {
        FenceOutcome::Unreachable {
            note: fence_provider::stop_instance(&self.provisioners, host, deadline).await,
        }
    }

    /// Stages catalogued checkpoints by restoring them from the NAS or S3.
    pub fn with_replicas(mut self, rep: Arc<super::replica::Replicator>) -> Self {
        self.replicas = Some(rep);
        self
    }

    /// Restores `ck` of `job` onto `host` at `ck.location`, reporting bytes as they move.
    async fn restore(
        &self,
        rep: &super::replica::Replicator,
        host: &HostSpec,
        job: &JobSpec,
        ck: &CheckpointRef,
        progress: &Progress<'_>,
    ) -> Result<super::transport::Staging, String> {
        let meter = Arc::new(super::replica::transfer::Meter::default());
        let work = rep.restore_metered(
            job.id.as_str(),
            Some(&ck.id),
            host.id.as_str(),
            Some(&ck.location),
            Some(meter.clone()),
        );
        tokio::pin!(work);
        loop {
            tokio::select! {
                r = &mut work => {
                    let r = r.map_err(|e| e.to_string())?;
                    progress(r.bytes, r.bytes.max(ck.bytes));
                    return Ok(super::transport::Staging {
                        bytes: r.bytes,
                        from: r.from,
                        sealed: r.sealed,
                    });
                }
                () = tokio::time::sleep(Duration::from_millis(250)) => progress(meter.get(), ck.bytes),
            }
        }
    }

    /// Sets environment variables for every script (names must be shell identifiers).
    pub fn with_env(mut self, vars: &[(&str, &str)]) -> Self {
        for (k, v) in vars {
            if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.env
                    .push_str(&format!("{k}={}; export {k}\n", scripts::quote(v)));
            }
        }
        self
    }

    async fn run(
        &self,
        host: &HostSpec,
        script: &str,
        limit: Duration,
        cap: usize,
    ) -> Result<ShellOutput, ShellError> {
        let full = format!("{}{script}", self.env);
        self.shell(host).run(host, &full, limit, cap).await
    }

    fn shell(&self, host: &HostSpec) -> &dyn Shell {
        match host.access {
            Access::Local => self.local.as_ref(),
            Access::Ssh | Access::Simulated => self.ssh.as_ref(),
        }
    }

    async fn control(&self, host: &HostSpec, script: &str) -> Result<ShellOutput, String> {
        self.run(host, script, CONTROL_LIMIT, CONTROL_CAP)
            .await
            .map_err(|e| format!("{}: {e}", host.id))
    }

    /// Keeps Xid lines not seen before; the first probe of a host only learns the baseline.
    fn new_xids(&self, host: &str, lines: &[String]) -> Vec<u32> {
        let Ok(mut seen) = self.seen_xids.lock() else {
            return Vec::new();
        };
        let first = !seen.contains_key(host);
        let known = seen.entry(host.to_string()).or_default();
        let fresh: Vec<String> = lines
            .iter()
            .filter(|l| known.insert((*l).clone()))
            .cloned()
            .collect();
        if first {
            return Vec::new();
        }
        parse_xid_lines(&fresh.join("\n"))
    }
}

fn now() -> Ts {
    Ts(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64))
}

fn text(out: &ShellOutput) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `@@alive PID STATE NAME` lines of a fence that could not stop everything, as
/// `PID (NAME, STATE)`; at most 20 (the count of the rest is added).
fn survivors(out: &str) -> Vec<String> {
    let all: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("@@alive "))
        .map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                [pid, state, name, ..] => format!("pid {pid} ({name}, state {state})"),
                _ => l.to_string(),
            },
        )
        .collect();
    let mut shown: Vec<String> = all.iter().take(20).cloned().collect();
    if all.len() > shown.len() {
        shown.push(format!("and {} more", all.len() - shown.len()));
    }
    shown
}

/// What a peer's look at a host means: only the host's own failures count against it.
fn peer_verdict(
    peer: &crate::core::ids::HostId,
    limit: Duration,
    seen: Result<Result<ProbeReport, String>, ThroughError>,
) -> ChannelStatus {
    match seen {
        Err(ThroughError::Peer(e) | ThroughError::Refused(e)) => {
            ChannelStatus::Unknown(format!("could not ask {peer}: {e}"))
        }
        Err(ThroughError::Connect(e)) => {
            ChannelStatus::Down(format!("{peer} cannot connect to it: {e}"))
        }
        Err(ThroughError::Silent) => ChannelStatus::Down(format!(
            "silent to {peer} too: no SSH answer in {}",
            crate::core::time::human(limit)
        )),
        Err(ThroughError::Session(e)) => ChannelStatus::Unknown(format!(
            "{peer} reaches its sshd, but the session failed: {e}"
        )),
        Ok(Err(e)) => ChannelStatus::Unknown(format!("through {peer}: unreadable probe: {e}")),
        Ok(Ok(report)) => {
            let running: Vec<String> = report
                .jobs
                .iter()
                .filter(|o| o.running)
                .map(|o| match o.step {
                    Some(step) => format!("{} at step {step}", o.job),
                    None => o.job.to_string(),
                })
                .collect();
            if running.is_empty() {
                ChannelStatus::Down(format!("{peer} reaches it, but no job process runs there"))
            } else {
                ChannelStatus::Reached(format!("{peer} reaches it: {} running", running.join(", ")))
            }
        }
    }
}

/// The first `@@` line of a control script's output, and what came after it.
fn marker(out: &ShellOutput) -> (String, String) {
    let t = text(out);
    let mut lines = t.lines();
    let first = lines
        .find(|l| l.starts_with("@@"))
        .unwrap_or("")
        .trim_start_matches("@@")
        .to_string();
    let rest: String = lines.collect::<Vec<_>>().join("\n");
    (
        first,
        rest.chars()
            .rev()
            .take(400)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    )
}

#[async_trait]
impl Transport for ShellTransport {
    async fn probe(&self, host: &HostSpec, jobs: &[JobSpec]) -> Result<ProbeReport, ProbeError> {
        let started = Instant::now();
        let script = scripts::probe(jobs);
        let out = self
            .run(host, &script, Duration::from_secs(30), PROBE_CAP)
            .await
            .map_err(|e| match e {
                ShellError::Timeout(_) => ProbeError::Timeout,
                other => ProbeError::Unreachable(other.to_string()),
            })?;
        let (mut report, extras) =
            parse_probe(&text(&out), now(), started.elapsed()).map_err(ProbeError::Unreachable)?;
        report.xids = self.new_xids(host.id.as_str(), &extras.xid_lines);
        Ok(report)
    }

    async fn port_view(&self, host: &HostSpec, limit: Duration) -> ChannelStatus {
        match (&host.access, &host.ssh.proxy_jump) {
            (Access::Ssh, None) => {
                super::port_look::port_view(&host.address, host.port, limit).await
            }
            (Access::Ssh, Some(jump)) => ChannelStatus::Unknown(format!(
                "reached through jump host {jump}: no direct route to look at"
            )),
            _ => ChannelStatus::Unknown(format!("{} is not reached over SSH", host.id)),
        }
    }

    async fn peer_view(
        &self,
        peer: &HostSpec,
        host: &HostSpec,
        jobs: &[JobSpec],
        limit: Duration,
    ) -> ChannelStatus {
        let started = Instant::now();
        let script = format!("{}{}", self.env, scripts::probe(jobs));
        let seen = self
            .ssh
            .run_through(peer, host, &script, limit, PROBE_CAP)
            .await;
        peer_verdict(
            &peer.id,
            limit,
            seen.map(|out| parse_probe(&text(&out), now(), started.elapsed()).map(|(r, _)| r)),
        )
    }

    async fn fence(&self, host: &HostSpec, job: &JobSpec, epoch: Epoch) -> Result<bool, String> {
        match self
            .fence_outcome(host, job, epoch, FENCE_BUDGET, FENCE_REACH)
            .await?
        {
            FenceOutcome::Stopped => Ok(true),
            FenceOutcome::Unreachable { .. } => Ok(false),
            FenceOutcome::Survivors { alive, .. } => Err(format!(
                "{}: still alive after SIGKILL: {}",
                host.id,
                alive.join(", ")
            )),
        }
    }

    async fn fence_outcome(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        epoch: Epoch,
        budget: Duration,
        reach: Duration,
    ) -> Result<FenceOutcome, String> {
        // The provider is asked within the step's budget: a step that ran out would
        // escalate a failover that revoking the epoch already made safe.
        let deadline = tokio::time::Instant::now() + budget.saturating_sub(FENCE_MARGIN);
        // A frozen host accepts TCP and then says nothing: ask it something trivial first,
        // briefly, so its epoch is revoked in seconds instead of at the step's deadline.
        match self.run(host, "echo @@up\n", reach, 256).await {
            Ok(_) => {}
            Err(ShellError::Timeout(_) | ShellError::Unreachable(_)) => {
                return Ok(self.unreachable(host, deadline).await)
            }
            Err(e) => return Err(format!("{}: {e}", host.id)),
        }
        match self
            .run(
                host,
                &scripts::fence(job, epoch, GRACE_S),
                FENCE_LIMIT,
                CONTROL_CAP,
            )
            .await
        {
            Ok(out) if text(&out).contains("@@fenced") => Ok(FenceOutcome::Stopped),
            Ok(out) => {
                let alive = survivors(&text(&out));
                if alive.is_empty() {
                    return Err(format!(
                        "{}: fence did not finish: {}",
                        host.id,
                        marker(&out).1
                    ));
                }
                // Not fenced: as for a host that did not answer, its instance is stopped.
                let note = fence_provider::stop_instance(&self.provisioners, host, deadline).await;
                Ok(FenceOutcome::Survivors { alive, note })
            }
            // A host that cannot be reached cannot run the old copy's writes past its epoch.
            Err(ShellError::Timeout(_) | ShellError::Unreachable(_)) => {
                Ok(self.unreachable(host, deadline).await)
            }
            Err(e) => Err(format!("{}: {e}", host.id)),
        }
    }

    async fn stage(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        checkpoint: Option<&CheckpointRef>,
        progress: &Progress<'_>,
    ) -> Result<u64, String> {
        self.stage_from(host, job, checkpoint, progress)
            .await
            .map(|s| s.bytes)
    }

    async fn stage_from(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        checkpoint: Option<&CheckpointRef>,
        progress: &Progress<'_>,
    ) -> Result<super::transport::Staging, String> {
        let Some(ck) = checkpoint else {
            return Ok(Default::default());
        };
        if let Some(rep) = &self.replicas {
            let known = rep
                .catalogue
                .manifest(job.id.as_str(), &ck.id)
                .map_err(|e| e.to_string())?;
            if known.is_some() {
                return self.restore(rep, host, job, ck, progress).await;
            }
        }
        // Not catalogued: it must already be readable there (its own disk or a shared NAS).
        let out = self
            .control(host, &scripts::check_file(&ck.location, &ck.sha256))
            .await?;
        match marker(&out)
            .0
            .split_whitespace()
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["ok", size] => {
                let n = size.parse().unwrap_or(ck.bytes);
                progress(n, n);
                Ok(super::transport::Staging {
                    bytes: n,
                    ..Default::default()
                })
            }
            ["missing"] => Err(format!(
                "{}: checkpoint {} is not readable at {}",
                host.id, ck.id, ck.location
            )),
            ["mismatch", got] => Err(format!(
                "{}: checkpoint {} at {} hashes to {got}, expected {}; refused",
                host.id, ck.id, ck.location, ck.sha256
            )),
            _ => Err(format!("{}: could not check {}", host.id, ck.location)),
        }
    }

    async fn launch(
        &self,
        host: &HostSpec,
        gpu: Option<u32>,
        job: &JobSpec,
        epoch: Epoch,
        checkpoint: Option<&CheckpointRef>,
        cpu: bool,
    ) -> Result<(), String> {
        let template = if cpu {
            job.cpu_launch.as_deref().unwrap_or(&job.launch)
        } else {
            &job.launch
        };
        let ck = checkpoint.map_or(String::new(), |c| c.location.clone());
        let command = template.replace("{checkpoint}", &scripts::quote_path(&ck));
        let out = self
            .control(host, &scripts::launch(job, epoch, gpu, &command))
            .await?;
        let (m, rest) = marker(&out);
        if m.starts_with("started") || m.starts_with("already") {
            Ok(())
        } else {
            Err(format!(
                "{}: {} did not start ({m}): {rest}",
                host.id, job.id
            ))
        }
    }

    async fn verify(&self, host: &HostSpec, job: &JobSpec, epoch: Epoch) -> Result<(), String> {
        let out = self.control(host, &scripts::verify(job, epoch)).await?;
        let (m, rest) = marker(&out);
        if m.starts_with("running") {
            Ok(())
        } else {
            Err(format!(
                "{} is not running on {} under {epoch}: {rest}",
                job.id, host.id
            ))
        }
    }

    async fn sync_workspace(
        &self,
        from: &HostSpec,
        to: &HostSpec,
        job: &JobSpec,
    ) -> Result<(u64, u64), String> {
        let shells = super::workspace::Shells {
            ssh: self.ssh.clone(),
            local: self.local.clone(),
        };
        super::workspace::sync(&shells, from, to, job)
            .await
            .map(|r| (r.files as u64, r.bytes))
            .map_err(|e| e.to_string())
    }
}
