//! The simulator's clock tick: jobs advance and write real checkpoint files, GPU metrics
//! drift, scheduled faults fire, and the world's own timers (reclaim, repair) run.

use super::chaos::{apply, Fault, FaultKind};
use super::transport::{copy_verified, hex, now_ms, Shared};
use super::world::{host_dir, Condition, Timer, TimerAction};
use crate::core::ids::{Epoch, HostId, JobId};
use crate::core::io::{Channel, ChannelStatus, CheckpointRef, Input};
use crate::core::time::Ts;
use crate::runtime::notice::Notice;
use crate::runtime::supervisor::Feed;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Steps a job makes per second, and how often it checkpoints.
const STEPS_PER_TICK: u64 = 10;
const CHECKPOINT_EVERY: u64 = 50;
const CHECKPOINT_BYTES: usize = 256 * 1024;
const KEEP_FILES: usize = 5;
/// How long a broken host stays broken before the simulator repairs it.
const REPAIR_AFTER: Duration = Duration::from_secs(40);

pub struct Driver {
    pub shared: Arc<Shared>,
    pub schedule: Vec<Fault>,
    pub feed: mpsc::Sender<Feed>,
    pub tick: Duration,
}

impl Driver {
    /// Ticks until shutdown; faults sent on `inject` strike at once.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, mut inject: mpsc::Receiver<Fault>) {
        let mut every = tokio::time::interval(self.tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                Some(f) = inject.recv() => {
                    if let Err(e) = self.inject_now(&f).await {
                        let ts = Ts(now_ms());
                        let n = Notice::FaultInjected { ts, fault: f.kind.as_str().into(), host: None, job: None, detail: e };
                        self.send(Feed::Notice(n)).await;
                    }
                }
                _ = every.tick() => {
                    if let Err(e) = self.step().await {
                        tracing::error!("simulator: {e}");
                    }
                }
            }
        }
    }

    async fn send(&self, f: Feed) {
        let _ = self.feed.send(f).await;
    }

    async fn step(&self) -> Result<(), String> {
        let now = now_ms();
        self.fire_faults(now).await?;
        self.run_timers(now).await?;
        let due = self.shared.mutate(|w| {
            let seed = w.born_ms;
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ now);
            w.drift(|| (rng.next_u32() as f64 / u32::MAX as f64) * 2.0 - 1.0);
            let mut due = Vec::new();
            for (host, h) in w.hosts.iter_mut() {
                for p in h.procs.iter_mut().filter(|p| !p.hung) {
                    p.step += STEPS_PER_TICK;
                    p.heartbeat_ms = now;
                    if h.condition == Condition::Up
                        && p.step >= p.last_checkpoint_step + CHECKPOINT_EVERY
                    {
                        p.last_checkpoint_step = p.step;
                        due.push((host.clone(), p.job.clone(), p.epoch, p.step));
                    }
                }
            }
            due
        })?;
        for (host, job, epoch, step) in due {
            let root = self.shared.root.clone();
            let written =
                super::world_thread::run(move || write_checkpoint(&root, &host, &job, step, now))
                    .await??;
            let input = Input::CheckpointSeen {
                job: JobId::new(written.0),
                epoch: Epoch(epoch),
                checkpoint: written.1,
            };
            self.send(Feed::Input(input)).await;
        }
        Ok(())
    }

    async fn fire_faults(&self, now: u64) -> Result<(), String> {
        // Saved with the rest of the tick by `step`.
        let fired = self.shared.touch(|w| {
            let elapsed = Duration::from_millis(now.saturating_sub(w.born_ms));
            let mut fired = Vec::new();
            for (i, f) in self.schedule.iter().enumerate() {
                if f.at > elapsed || w.injected.contains(&i) {
                    continue;
                }
                w.injected.push(i);
                fired.push((f.kind, strike(w, f, now)));
            }
            fired
        })?;
        self.announce(fired, now).await;
        Ok(())
    }

    /// Injects one fault now (asked for by an operator in the demo console).
    pub async fn inject_now(&self, fault: &Fault) -> Result<(), String> {
        let now = now_ms();
        let outcome = self.shared.mutate(|w| strike(w, fault, now))?;
        if let Err(why) = &outcome {
            return Err(format!("{} not injected: {why}", fault.kind.as_str()));
        }
        self.announce(vec![(fault.kind, outcome)], now).await;
        Ok(())
    }

    async fn announce(&self, fired: Vec<(FaultKind, Struck)>, now: u64) {
        for (kind, outcome) in fired {
            match outcome {
                Ok((host, job, detail)) => {
                    self.send(Feed::Notice(Notice::FaultInjected {
                        ts: Ts(now),
                        fault: kind.as_str().into(),
                        host: Some(host.clone()),
                        job,
                        detail,
                    }))
                    .await;
                    if kind == FaultKind::SpotPreemption {
                        let status = ChannelStatus::Gone(
                            "spot instance preemption notice (reclaimed in 5 s)".into(),
                        );
                        self.send(Feed::Input(Input::ChannelReported {
                            host: HostId::new(host),
                            channel: Channel::Provider,
                            status,
                        }))
                        .await;
                    }
                }
                Err(why) => tracing::info!("chaos: {} skipped: {why}", kind.as_str()),
            }
        }
    }

    async fn run_timers(&self, now: u64) -> Result<(), String> {
        // Saved with the rest of the tick by `step`.
        let due = self.shared.touch(|w| {
            let (due, later): (Vec<Timer>, Vec<Timer>) =
                w.timers.drain(..).partition(|t| t.due_ms <= now);
            w.timers = later;
            let mut done = Vec::new();
            for t in due {
                let Some(h) = w.hosts.get_mut(&t.host) else {
                    continue;
                };
                match t.action {
                    TimerAction::Reclaim => {
                        h.condition = Condition::Down;
                        h.procs.clear();
                        let detail = format!("spot instance {} reclaimed by the provider", t.host);
                        done.push((t, detail));
                    }
                    TimerAction::Heal => {
                        let fault = Fault {
                            at: Duration::ZERO,
                            kind: FaultKind::Heal,
                            aim: super::chaos::Aim::Host(t.host.clone()),
                        };
                        if let Ok((_, _, detail)) = apply(w, &fault, now) {
                            if let Some(h) = w.hosts.get_mut(&t.host) {
                                h.boot_id = format!(
                                    "{}-r{now}",
                                    h.boot_id.split("-r").next().unwrap_or("boot")
                                );
                            }
                            done.push((t, detail));
                        }
                    }
                }
            }
            done
        })?;
        for (t, detail) in due {
            let fault = match t.action {
                TimerAction::Reclaim => "spot-reclaimed",
                TimerAction::Heal => "heal",
            };
            self.send(Feed::Notice(Notice::FaultInjected {
                ts: Ts(now),
                fault: fault.into(),
                host: Some(t.host.clone()),
                job: None,
                detail,
            }))
            .await;
            if t.action == TimerAction::Heal {
                let input = Input::ChannelReported {
                    host: HostId::new(t.host),
                    channel: Channel::Provider,
                    status: ChannelStatus::Up,
                };
                self.send(Feed::Input(input)).await;
            }
        }
        Ok(())
    }
}

/// What a fault did: (host, job, description), or why it could not land.
type Struck = Result<(String, Option<String>, String), String>;

/// Applies a fault and sets the world's own follow-ups: a preempted instance is reclaimed
/// 5 s later, and broken hosts are repaired after a while.
fn strike(w: &mut super::world::SimWorld, f: &Fault, now: u64) -> Struck {
    let outcome = apply(w, f, now);
    if let Ok((host, _, _)) = &outcome {
        if f.kind == FaultKind::SpotPreemption {
            let host = host.clone();
            w.timers.push(Timer {
                due_ms: now + 5_000,
                host,
                action: TimerAction::Reclaim,
            });
        }
        let repair = matches!(
            f.kind,
            FaultKind::SpotPreemption
                | FaultKind::GpuLost
                | FaultKind::UncorrectableEcc
                | FaultKind::HostUnreachable
                | FaultKind::HostHung
        );
        if repair {
            let due_ms = now + REPAIR_AFTER.as_millis() as u64;
            w.timers.push(Timer {
                due_ms,
                host: host.clone(),
                action: TimerAction::Heal,
            });
        }
    }
    outcome
}

/// Writes a checkpoint's real bytes on the host, then copies it to the simulated NAS while
/// hashing, and checks the copy against the hash taken when it was written.
pub fn write_checkpoint(
    root: &Path,
    host: &str,
    job: &str,
    step: u64,
    now: u64,
) -> Result<(String, CheckpointRef), String> {
    let id = format!("step-{step:08}");
    let mut bytes = vec![0u8; CHECKPOINT_BYTES];
    let mut seed = [0u8; 32];
    let digest = Sha256::digest(format!("{job}/{step}").as_bytes());
    seed.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(seed).fill_bytes(&mut bytes);
    let sha = hex(&Sha256::digest(&bytes));
    let src_dir = host_dir(root, host).join(job).join("checkpoints");
    std::fs::create_dir_all(&src_dir)
        .map_err(|e| format!("cannot create {}: {e}", src_dir.display()))?;
    let src = src_dir.join(format!("{id}.ckpt"));
    std::fs::write(&src, &bytes).map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    let nas = root.join("nas").join(job);
    let dst = nas.join(format!("{id}.ckpt"));
    let n = copy_verified(&src, &dst, &sha, Duration::ZERO, &|_, _| {})?;
    prune(&src_dir);
    prune(&nas);
    let ck = CheckpointRef {
        id,
        step,
        created: Ts(now),
        bytes: n,
        sha256: sha,
        location: dst.to_string_lossy().into_owned(),
        verified: true,
    };
    Ok((job.to_string(), ck))
}

/// Keeps the newest few files (names sort by step).
fn prune(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ckpt"))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(KEEP_FILES);
    for p in names.into_iter().take(excess) {
        let _ = std::fs::remove_file(p);
    }
}
