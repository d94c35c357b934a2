//! `SimTransport`: the simulator behind the same `Transport` trait SSH uses. Probes read
//! the simulated world (its `nvidia-smi` output goes through the real parser); fence,
//! stage, launch and verify change it, with real checkpoint bytes hashed with SHA-256.

use super::world::{host_dir, nvidia_smi, Condition, SimProc, SimWorld};
use crate::core::fleet::{HostSpec, JobSpec};
use crate::core::gpu::parse_query_gpu;
use crate::core::ids::Epoch;
use crate::core::io::{ChannelStatus, CheckpointRef, JobObservation, ProbeError, ProbeReport};
use crate::core::time::Ts;
use crate::runtime::transport::{Progress, Transport};
use async_trait::async_trait;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long simulated operations take (seed 000 measured seconds; we keep it brisk).
#[derive(Clone, Debug)]
pub struct SimTiming {
    pub probe: Duration,
    pub fence: Duration,
    pub stage: Duration,
    pub launch: Duration,
    pub verify: Duration,
}

impl SimTiming {
    pub fn realistic() -> Self {
        Self {
            probe: Duration::from_millis(4),
            fence: Duration::from_millis(400),
            stage: Duration::from_millis(1200),
            launch: Duration::from_millis(1500),
            verify: Duration::from_millis(800),
        }
    }

    pub fn instant() -> Self {
        Self {
            probe: Duration::ZERO,
            fence: Duration::ZERO,
            stage: Duration::ZERO,
            launch: Duration::ZERO,
            verify: Duration::ZERO,
        }
    }
}

/// The world and where it lives, shared by the transport and the driver.
pub struct Shared {
    pub world: Mutex<SimWorld>,
    pub root: PathBuf,
    pub rng: Mutex<ChaCha8Rng>,
}

impl Shared {
    pub fn new(world: SimWorld, root: PathBuf, seed: u64) -> Arc<Self> {
        Arc::new(Self {
            world: Mutex::new(world),
            root,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x5EED)),
        })
    }

    pub fn world_path(&self) -> PathBuf {
        self.root.join("world.json")
    }

    /// Runs `f` on the world and saves it before returning.
    pub fn mutate<T>(&self, f: impl FnOnce(&mut SimWorld) -> T) -> Result<T, String> {
        let mut w = self
            .world
            .lock()
            .map_err(|_| "simulated world lock poisoned".to_string())?;
        let out = f(&mut w);
        w.save(&self.world_path())?;
        Ok(out)
    }

    /// Runs `f` on the world without saving it: for what the next tick's save may carry
    /// (a probe's reading, a fault's first strike), so a 1,000-host fleet does not write
    /// its whole world a thousand times a second.
    pub fn touch<T>(&self, f: impl FnOnce(&mut SimWorld) -> T) -> Result<T, String> {
        let mut w = self
            .world
            .lock()
            .map_err(|_| "simulated world lock poisoned".to_string())?;
        Ok(f(&mut w))
    }

    pub fn read<T>(&self, f: impl FnOnce(&SimWorld) -> T) -> Result<T, String> {
        let w = self
            .world
            .lock()
            .map_err(|_| "simulated world lock poisoned".to_string())?;
        Ok(f(&w))
    }

    pub fn chance(&self, p: f64) -> bool {
        self.rng
            .lock()
            .map(|mut r| r.gen_bool(p.clamp(0.0, 1.0)))
            .unwrap_or(false)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct SimTransport {
    pub shared: Arc<Shared>,
    pub timing: SimTiming,
}

impl SimTransport {
    fn condition(&self, host: &str) -> Result<Condition, String> {
        self.shared
            .read(|w| w.hosts.get(host).map(|h| h.condition))?
            .ok_or_else(|| format!("no simulated host {host}"))
    }

    async fn reachable(&self, host: &HostSpec) -> Result<(), String> {
        match self.condition(host.id.as_str())? {
            Condition::Up => Ok(()),
            Condition::Down => Err(format!("{}: connection refused", host.id)),
            Condition::Hung => {
                // A hung host takes the caller's whole deadline.
                std::future::pending::<()>().await;
                Err(format!("{}: no answer", host.id))
            }
        }
    }
}

#[async_trait]
impl Transport for SimTransport {
    async fn probe(&self, host: &HostSpec, _jobs: &[JobSpec]) -> Result<ProbeReport, ProbeError> {
        tokio::time::sleep(self.timing.probe).await;
        let now = now_ms();
        let flaky = self
            .shared
            .read(|w| w.hosts.get(host.id.as_str()).and_then(|h| h.flaky_until))
            .ok()
            .flatten();
        if flaky.is_some_and(|until| now < until) && self.shared.chance(0.3) {
            return Err(ProbeError::Timeout);
        }
        if let Err(e) = self.reachable(host).await {
            return Err(ProbeError::Unreachable(e));
        }
        let taken = self.shared.touch(|w| {
            w.hosts.get_mut(host.id.as_str()).map(|h| {
                let (out, code) = nvidia_smi(h);
                let xids = std::mem::take(&mut h.xids);
                (out, code, xids, h.procs.clone(), h.boot_id.clone())
            })
        });
        let Ok(Some((out, code, xids, procs, boot))) = taken else {
            return Err(ProbeError::Unreachable(format!(
                "no simulated host {}",
                host.id
            )));
        };
        let jobs = procs
            .iter()
            .map(|p| JobObservation {
                job: crate::core::ids::JobId::new(p.job.clone()),
                epoch: Epoch(p.epoch),
                gpu: p.gpu,
                running: true,
                step: Some(p.step),
                heartbeat_at: Some(Ts(p.heartbeat_ms)),
            })
            .collect();
        Ok(ProbeReport {
            gpu: parse_query_gpu(&out, code),
            xids,
            jobs,
            boot_id: Some(boot),
            latency: self.timing.probe + Duration::from_micros(now % 900),
        })
    }

    async fn port_view(&self, host: &HostSpec, limit: Duration) -> ChannelStatus {
        tokio::time::sleep(self.timing.probe).await;
        match self.condition(host.id.as_str()) {
            Err(e) => ChannelStatus::Unknown(e),
            Ok(Condition::Up) => ChannelStatus::Up,
            Ok(Condition::Down) => ChannelStatus::Down("refused the connection".into()),
            Ok(Condition::Hung) => {
                tokio::time::sleep(limit).await;
                ChannelStatus::Down("silent: accepts TCP but sends no SSH banner".into())
            }
        }
    }

    async fn peer_view(
        &self,
        peer: &HostSpec,
        host: &HostSpec,
        _jobs: &[JobSpec],
        limit: Duration,
    ) -> ChannelStatus {
        tokio::time::sleep(self.timing.probe).await;
        if self.condition(peer.id.as_str()).ok() != Some(Condition::Up) {
            return ChannelStatus::Unknown(format!("could not ask {}", peer.id));
        }
        let running = self.shared.read(|w| {
            w.hosts.get(host.id.as_str()).map(|h| {
                h.procs
                    .iter()
                    .map(|p| format!("{} at step {}", p.job, p.step))
                    .collect::<Vec<_>>()
            })
        });
        match self.condition(host.id.as_str()) {
            Err(e) => ChannelStatus::Unknown(e),
            Ok(Condition::Up) => match running.ok().flatten().unwrap_or_default() {
                r if r.is_empty() => ChannelStatus::Down(format!(
                    "{} reaches it, but no job process runs there",
                    peer.id
                )),
                r => ChannelStatus::Reached(format!(
                    "{} reaches it: {} running",
                    peer.id,
                    r.join(", ")
                )),
            },
            Ok(Condition::Down) => ChannelStatus::Down(format!(
                "{} cannot connect to it: connection refused",
                peer.id
            )),
            Ok(Condition::Hung) => {
                tokio::time::sleep(limit).await;
                ChannelStatus::Down(format!("silent to {} too", peer.id))
            }
        }
    }

    async fn fence(&self, host: &HostSpec, job: &JobSpec, epoch: Epoch) -> Result<bool, String> {
        tokio::time::sleep(self.timing.fence).await;
        if self.condition(host.id.as_str())? != Condition::Up {
            return Ok(false);
        }
        let j = job.id.to_string();
        self.shared.mutate(|w| {
            if let Some(h) = w.hosts.get_mut(host.id.as_str()) {
                h.procs.retain(|p| !(p.job == j && p.epoch < epoch.0));
            }
        })?;
        Ok(true)
    }

    async fn stage(
        &self,
        host: &HostSpec,
        job: &JobSpec,
        checkpoint: Option<&CheckpointRef>,
        progress: &Progress<'_>,
    ) -> Result<u64, String> {
        self.reachable(host).await?;
        let Some(ck) = checkpoint else {
            tokio::time::sleep(self.timing.stage).await;
            return Ok(0);
        };
        let src = PathBuf::from(&ck.location);
        let dst = host_dir(&self.shared.root, host.id.as_str())
            .join(job.id.as_str())
            .join("restore")
            .join(format!("{}.ckpt", ck.id));
        let want = ck.sha256.clone();
        // The simulated link moves the file in `timing.stage`, chunk by chunk.
        let chunks = ck.bytes.div_ceil(CHUNK as u64).max(1) as u32;
        let pause = self.timing.stage / chunks;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let copy = tokio::task::spawn_blocking(move || {
            copy_verified(&src, &dst, &want, pause, &|done, total| {
                let _ = tx.send((done, total));
            })
        });
        while let Some((done, total)) = rx.recv().await {
            progress(done, total);
        }
        copy.await.map_err(|e| e.to_string())?
    }

    async fn launch(
        &self,
        host: &HostSpec,
        gpu: Option<u32>,
        job: &JobSpec,
        epoch: Epoch,
        checkpoint: Option<&CheckpointRef>,
        _cpu: bool,
    ) -> Result<(), String> {
        tokio::time::sleep(self.timing.launch).await;
        self.reachable(host).await?;
        let j = job.id.to_string();
        let step = checkpoint.map_or(0, |c| c.step);
        let now = now_ms();
        self.shared.mutate(|w| {
            let Some(h) = w.hosts.get_mut(host.id.as_str()) else {
                return Err(format!("no simulated host {}", host.id));
            };
            if let Some(g) = gpu {
                if h.gpus.get(g as usize).is_none_or(|x| x.lost) {
                    return Err(format!("CUDA error: no usable GPU {g} on {}", host.id));
                }
            }
            // Same job, same epoch: already started (launch is idempotent per epoch).
            if !h.procs.iter().any(|p| p.job == j && p.epoch == epoch.0) {
                h.procs.push(SimProc {
                    job: j,
                    epoch: epoch.0,
                    gpu,
                    step,
                    hung: false,
                    heartbeat_ms: now,
                    last_checkpoint_step: step,
                });
            }
            Ok(())
        })?
    }

    async fn verify(&self, host: &HostSpec, job: &JobSpec, epoch: Epoch) -> Result<(), String> {
        tokio::time::sleep(self.timing.verify).await;
        self.reachable(host).await?;
        let j = job.id.as_str();
        let ok = self.shared.read(|w| {
            w.hosts.get(host.id.as_str()).is_some_and(|h| {
                h.procs
                    .iter()
                    .any(|p| p.job == j && p.epoch == epoch.0 && !p.hung)
            })
        })?;
        if ok {
            Ok(())
        } else {
            Err(format!("{j} is not running on {} under {epoch}", host.id))
        }
    }
}

/// Bytes per read while copying.
const CHUNK: usize = 1 << 16;

/// Copies `src` to `dst` while hashing, then checks the hash: one pass, verified. Reports
/// `(done, total)` after every chunk and waits `pause` between chunks (a simulated link).
pub fn copy_verified(
    src: &Path,
    dst: &Path,
    want: &str,
    pause: Duration,
    progress: &dyn Fn(u64, u64),
) -> Result<u64, String> {
    let mut input = std::fs::File::open(src)
        .map_err(|e| format!("cannot read checkpoint {}: {e}", src.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    if let Some(dir) = dst.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = dst.with_extension("partial");
    let mut out =
        std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| format!("reading {}: {e}", src.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
        total += n as u64;
        // The simulated link takes its time per chunk before the chunk counts as moved.
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
        progress(total, size.max(total));
    }
    out.sync_all()
        .map_err(|e| format!("syncing {}: {e}", tmp.display()))?;
    let got = hex(&hasher.finalize());
    if got != want {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "SHA-256 mismatch for {}: expected {want}, got {got}; copy refused",
            src.display()
        ));
    }
    std::fs::rename(&tmp, dst).map_err(|e| format!("cannot rename to {}: {e}", dst.display()))?;
    Ok(total)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_verified_refuses_a_corrupt_source() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.ckpt");
        std::fs::write(&src, b"real bytes").unwrap();
        let good = hex(&Sha256::digest(b"real bytes"));
        let dst = dir.path().join("out/a.ckpt");
        let seen = std::sync::Mutex::new(Vec::new());
        let n = copy_verified(&src, &dst, &good, Duration::ZERO, &|d, t| {
            seen.lock().unwrap().push((d, t))
        })
        .unwrap();
        assert_eq!(n, 10);
        assert_eq!(*seen.lock().unwrap(), vec![(10, 10)]);
        std::fs::write(&src, b"rotten bytes").unwrap();
        let dst2 = dir.path().join("out/b.ckpt");
        let err = copy_verified(&src, &dst2, &good, Duration::ZERO, &|_, _| {}).unwrap_err();
        assert!(
            err.contains("SHA-256 mismatch") && err.contains("refused"),
            "{err}"
        );
        assert!(!dst2.exists() && !dst2.with_extension("partial").exists());
    }
}
