//! Executes one effect through the transport and turns the outcome into the input that
//! answers it. Deadlines are applied here, so a timeout is ordinary input to the core.

use super::transport::{FenceOutcome, Notifier, Transport};
use crate::core::fleet::Fleet;
use crate::core::fleet::JobSpec;
use crate::core::ids::HostId;
use crate::core::io::{Channel, ChannelStatus, Effect, Input, ProbeError, StepOutput, Vantage};
use crate::core::time::human;
use std::sync::Arc;
use std::time::Duration;

/// A look's own deadline is the transport's; this much more is for handing it back.
const LOOK_SLACK: Duration = Duration::from_millis(500);

pub struct Executor {
    pub fleet: Fleet,
    pub transport: Arc<dyn Transport>,
    pub notifier: Arc<dyn Notifier>,
    /// Renting machines for `provision` steps; rented hosts are looked up in its book.
    pub renting: Option<Arc<super::renting::Renting>>,
}

impl Executor {
    /// Runs `effect`; progress reports go to `progress` (dropped when it is full).
    pub async fn run(&self, effect: Effect, progress: tokio::sync::mpsc::Sender<Input>) -> Input {
        let op = effect.op();
        let limit = effect.timeout();
        match effect {
            Effect::Probe { host, .. } => {
                let result = match self.find_host(&host) {
                    None => Err(ProbeError::Unreachable(format!(
                        "{host} is not in the fleet"
                    ))),
                    Some(spec) => match tokio::time::timeout(
                        limit,
                        self.transport.probe(&spec, &self.fleet.jobs),
                    )
                    .await
                    {
                        Ok(r) => r,
                        Err(_) => Err(ProbeError::Timeout),
                    },
                };
                Input::ProbeFinished { op, host, result }
            }
            Effect::Look {
                host,
                from,
                timeout,
                ..
            } => {
                let (channel, status) = self.look(&host, &from, timeout).await;
                Input::ChannelReported {
                    host,
                    channel,
                    status,
                }
            }
            other => {
                let report = move |done: u64, total: u64| {
                    let _ = progress.try_send(Input::StepProgress { op, done, total });
                };
                let result = match tokio::time::timeout(limit, self.step(other, &report)).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("timed out after {}", human(limit))),
                };
                Input::StepFinished { op, result }
            }
        }
    }

    /// A second look at `host` from `from`; the transport keeps within `limit`, and a
    /// transport that overruns it is said to have found out nothing.
    async fn look(
        &self,
        host: &HostId,
        from: &Vantage,
        limit: Duration,
    ) -> (Channel, ChannelStatus) {
        let unknown = |why: String| ChannelStatus::Unknown(why);
        let Some(spec) = self.find_host(host) else {
            return (
                Channel::Port,
                unknown(format!("{host} is not in the fleet")),
            );
        };
        let outer = limit + LOOK_SLACK;
        match from {
            Vantage::Here => {
                let seen = tokio::time::timeout(outer, self.transport.port_view(&spec, limit));
                let status = seen.await.unwrap_or_else(|_| {
                    unknown(format!("the port check overran {}", human(outer)))
                });
                (Channel::Port, status)
            }
            Vantage::Peer(peer) => {
                let Some(peer_spec) = self.find_host(peer) else {
                    return (
                        Channel::Peer,
                        unknown(format!("{peer} is not in the fleet")),
                    );
                };
                let jobs: Vec<JobSpec> = self
                    .fleet
                    .jobs
                    .iter()
                    .filter(|j| j.host == *host || j.standbys.iter().any(|t| t.host == *host))
                    .cloned()
                    .collect();
                let seen = self.transport.peer_view(&peer_spec, &spec, &jobs, limit);
                let status = tokio::time::timeout(outer, seen).await.unwrap_or_else(|_| {
                    unknown(format!("{peer} did not answer in {}", human(outer)))
                });
                (Channel::Peer, status)
            }
        }
    }

    /// A host of the config, or one a failover rented.
    fn find_host(&self, id: &crate::core::ids::HostId) -> Option<crate::core::fleet::HostSpec> {
        self.fleet
            .host(id)
            .cloned()
            .or_else(|| self.renting.as_ref().and_then(|r| r.book.get(id)))
    }

    async fn step(
        &self,
        effect: Effect,
        progress: &super::transport::Progress<'_>,
    ) -> Result<StepOutput, String> {
        let host = |id: &crate::core::ids::HostId| {
            self.find_host(id)
                .ok_or_else(|| format!("{id} is not in the fleet"))
        };
        let job = |id: &crate::core::ids::JobId| {
            self.fleet
                .job(id)
                .ok_or_else(|| format!("{id} is not in the fleet"))
        };
        match effect {
            Effect::Probe { .. } | Effect::Look { .. } => Err("not a step".into()),
            Effect::Fence {
                job: j,
                host: h,
                epoch,
                timeout,
                reach,
                ..
            } => {
                let out = self
                    .transport
                    .fence_outcome(&host(&h)?, job(&j)?, epoch, timeout, reach)
                    .await?;
                Ok(match out {
                    FenceOutcome::Stopped => StepOutput::Fenced,
                    FenceOutcome::Unreachable { note: None } => StepOutput::FenceUnreachable,
                    FenceOutcome::Unreachable { note: Some(note) } => {
                        StepOutput::FenceUnreachableNoted { note }
                    }
                    FenceOutcome::Survivors { alive, note } => {
                        StepOutput::FenceSurvivors { alive, note }
                    }
                })
            }
            Effect::Stage {
                job: j,
                target,
                checkpoint,
                ..
            } => {
                let s = self
                    .transport
                    .stage_from(
                        &host(&target.host)?,
                        job(&j)?,
                        checkpoint.as_ref(),
                        progress,
                    )
                    .await?;
                Ok(StepOutput::Staged {
                    bytes: s.bytes,
                    from: s.from,
                    sealed: s.sealed,
                })
            }
            Effect::Launch {
                job: j,
                target,
                epoch,
                checkpoint,
                cpu,
                ..
            } => {
                self.transport
                    .launch(
                        &host(&target.host)?,
                        target.gpu,
                        job(&j)?,
                        epoch,
                        checkpoint.as_ref(),
                        cpu,
                    )
                    .await?;
                Ok(StepOutput::Launched)
            }
            Effect::Verify {
                job: j,
                target,
                epoch,
                ..
            } => match self
                .transport
                .verify(&host(&target.host)?, job(&j)?, epoch)
                .await
            {
                Ok(()) => Ok(StepOutput::Running),
                Err(why) => Ok(StepOutput::NotRunning(why)),
            },
            Effect::SyncWorkspace {
                job: j, from, to, ..
            } => {
                let (files, bytes) = self
                    .transport
                    .sync_workspace(&host(&from)?, &host(&to)?, job(&j)?)
                    .await?;
                Ok(StepOutput::Synced { files, bytes })
            }
            Effect::Provision {
                job: j,
                regional_volume,
                ..
            } => {
                let renting = self
                    .renting
                    .as_ref()
                    .ok_or("no provider is configured to provision instances")?;
                let spec = job(&j)?;
                let home = &host(&spec.host)?;
                let rented = renting.rent(spec, home, regional_volume).await?;
                let target = crate::core::ids::Target::new(rented.id.clone(), spec.gpu.map(|_| 0));
                Ok(StepOutput::Provisioned {
                    target,
                    host: Box::new(rented),
                })
            }
            Effect::DestroyInstance { host: h, .. } => {
                let renting = self.renting.as_ref().ok_or("no provider is configured")?;
                renting.destroy(&host(&h)?).await?;
                Ok(StepOutput::Destroyed)
            }
            Effect::Notify {
                severity, message, ..
            } => {
                self.notifier.notify(severity, &message).await?;
                Ok(StepOutput::Notified)
            }
        }
    }
}
