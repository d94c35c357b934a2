//! Executes one effect through the transport and turns the outcome into the input that
//! answers it. Deadlines are applied here, so a timeout is ordinary input to the core.

use super::transport::{FenceOutcome, Notifier, Transport};
use crate::core::fleet::Fleet;
use crate::core::io::{Effect, Input, ProbeError, StepOutput};
use crate::core::time::human;
use std::sync::Arc;

pub struct Executor {
    pub fleet: Fleet,
    pub transport: Arc<dyn Transport>,
    pub notifier: Arc<dyn Notifier>,
}

impl Executor {
    /// Runs `effect`; progress reports go to `progress` (dropped when it is full).
    pub async fn run(&self, effect: Effect, progress: tokio::sync::mpsc::Sender<Input>) -> Input {
        let op = effect.op();
        let limit = effect.timeout();
        match effect {
            Effect::Probe { host, .. } => {
                let result = match self.fleet.host(&host) {
                    None => Err(ProbeError::Unreachable(format!(
                        "{host} is not in the fleet"
                    ))),
                    Some(spec) => match tokio::time::timeout(
                        limit,
                        self.transport.probe(spec, &self.fleet.jobs),
                    )
                    .await
                    {
                        Ok(r) => r,
                        Err(_) => Err(ProbeError::Timeout),
                    },
                };
                Input::ProbeFinished { op, host, result }
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

    async fn step(
        &self,
        effect: Effect,
        progress: &super::transport::Progress<'_>,
    ) -> Result<StepOutput, String> {
        let host = |id: &crate::core::ids::HostId| {
            self.fleet
                .host(id)
                .ok_or_else(|| format!("{id} is not in the fleet"))
        };
        let job = |id: &crate::core::ids::JobId| {
            self.fleet
                .job(id)
                .ok_or_else(|| format!("{id} is not in the fleet"))
        };
        match effect {
            Effect::Probe { .. } => Err("probe is not a step".into()),
            Effect::Fence {
                job: j,
                host: h,
                epoch,
                timeout,
                ..
            } => {
                let out = self
                    .transport
                    .fence_outcome(host(&h)?, job(&j)?, epoch, timeout)
                    .await?;
                Ok(match out {
                    FenceOutcome::Stopped => StepOutput::Fenced,
                    FenceOutcome::Unreachable { note: None } => StepOutput::FenceUnreachable,
                    FenceOutcome::Unreachable { note: Some(note) } => {
                        StepOutput::FenceUnreachableNoted { note }
                    }
                })
            }
            Effect::Stage {
                job: j,
                target,
                checkpoint,
                ..
            } => {
                let bytes = self
                    .transport
                    .stage(host(&target.host)?, job(&j)?, checkpoint.as_ref(), progress)
                    .await?;
                Ok(StepOutput::Staged { bytes })
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
                        host(&target.host)?,
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
                .verify(host(&target.host)?, job(&j)?, epoch)
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
                    .sync_workspace(host(&from)?, host(&to)?, job(&j)?)
                    .await?;
                Ok(StepOutput::Synced { files, bytes })
            }
            Effect::Provision { .. } => {
                Err("no provider is configured to provision instances".into())
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
