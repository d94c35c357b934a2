//! What a fleet supplies to the service: a running supervisor and the world around it (the
//! real fleet's replicator and pollers, or the simulator), started through one trait so
//! that live, demo, embedded and daemon runs share every other line.

use crate::core::fleet::Fleet;
use crate::protocol::fault::FaultKind;
use crate::runtime::supervisor::SupervisorHandle;
use std::path::Path;
use std::sync::Arc;

/// The parts of a world that act beside the supervisor.
#[async_trait::async_trait]
pub trait World: Send + Sync {
    /// Deletes the confirmed copies of `job`'s checkpoints; the outcome in words.
    async fn prune(
        &self,
        _job: &str,
        _copies: &[(String, String)],
        _by: &str,
    ) -> Result<String, String> {
        Err("this fleet keeps no checkpoint stores to prune".into())
    }

    /// Streams a checkpoint of `job` from the stores onto `host`, verified there; the
    /// outcome in words. `id` `None` is the newest verified one, `path` `None` the job's
    /// `checkpoint_dir/ID`.
    async fn restore(
        &self,
        _job: &str,
        _id: Option<&str>,
        _host: &str,
        _path: Option<&str>,
    ) -> Result<String, String> {
        Err("this fleet keeps no checkpoint stores to restore from".into())
    }

    /// A volume operation at the config's providers.
    async fn volume(
        &self,
        _op: crate::protocol::volume::VolumeOp,
    ) -> crate::protocol::volume::VolumeAnswer {
        crate::protocol::volume::VolumeAnswer::failed(
            crate::protocol::volume::VolumeFailure::NoProvider,
            "this fleet rents nothing: volumes live at a GPU provider, and only a fleet with a [[provider]] section in its config has one (the demo fleet has none)",
        )
    }

    /// Makes a fault happen now (the simulated fleet only).
    async fn inject(&self, _kind: FaultKind, _target: &str) -> Result<String, String> {
        Err("faults can be injected only into the simulated demo fleet".into())
    }

    /// Set while a drill runs, so the notifications it causes are marked, delivered or
    /// held as the config says (`None`: this fleet sends none of its own).
    fn drill_flag(&self) -> Option<crate::runtime::notify::drill_mark::DrillFlag> {
        None
    }

    /// A drill's fault on `host` (on `job`'s process there, when given); on a real fleet
    /// it undoes itself on the host after `duration` even if Lifeboat dies. The
    /// simulator's faults stand in by default.
    async fn drill_fault(
        &self,
        kind: FaultKind,
        host: &str,
        job: Option<&str>,
        _duration: std::time::Duration,
    ) -> Result<String, String> {
        self.inject(kind, job.unwrap_or(host)).await
    }

    /// Flips one byte in one stored copy of `job`'s newest checkpoint (one with a second
    /// verified copy to repair it from) and has the job's copies scrubbed at once.
    async fn drill_corrupt(&self, job: &str) -> Result<String, String> {
        Err(format!(
            "this fleet's checkpoint stores cannot be corrupted for a drill ({job})"
        ))
    }

    /// After a drill that corrupted a copy of `job`: scrubs and repairs its copies now,
    /// and says whether any is still bad.
    async fn drill_mend(&self, job: &str) -> Result<String, String> {
        Ok(format!("nothing of {job} was corrupted here"))
    }

    /// Takes the NAS store away for `duration` at most (undone by a dead-man even if
    /// Lifeboat dies).
    /// Whether a NAS store is configured that a drill could take away.
    fn drill_has_nas(&self) -> bool {
        false
    }

    async fn drill_nas_lost(&self, _duration: std::time::Duration) -> Result<String, String> {
        Err("this fleet's checkpoint stores cannot be taken away for a drill".into())
    }

    /// Gives the NAS store back after a drill took it away; says so only when it is.
    async fn drill_nas_back(&self) -> Result<String, String> {
        Ok("the NAS was not taken away here".into())
    }

    /// Tells the team (the config's notifiers) what a scheduled drill did.
    async fn drill_tell(&self, message: &str) -> Result<(), String> {
        tracing::info!("drill: {message}");
        Ok(())
    }

    /// Removes the copy a drill's restore test put on `host` at `path`.
    async fn drill_remove_scratch(&self, host: &str, path: &str) -> Result<String, String> {
        Err(format!(
            "this fleet cannot remove {path} on {host}: remove it by hand"
        ))
    }

    /// Undoes a drill's fault now (idempotent: a repeat after a crash is safe). A fault
    /// that cut the host off is undone by its dead-man by `until` (Unix seconds) at the
    /// latest; the heal waits for the host to answer until shortly after.
    async fn drill_heal(
        &self,
        _kind: FaultKind,
        host: &str,
        job: Option<&str>,
        _until: Option<u64>,
    ) -> Result<String, String> {
        let mut said = Vec::new();
        if let Some(j) = job {
            said.push(self.inject(FaultKind::Heal, j).await?);
        }
        said.push(self.inject(FaultKind::Heal, host).await?);
        Ok(said.join("; "))
    }

    /// Stops what runs beside the supervisor (the supervisor is stopped after).
    async fn stop(&self);
}

/// A started fleet.
pub struct Started {
    pub handle: SupervisorHandle,
    pub world: Arc<dyn World>,
    pub fleet: Fleet,
    /// The config file's name, or "demo".
    pub label: String,
    pub demo: bool,
    /// A line for the log and headless output: what is watched, from where.
    pub hello: String,
}

/// Starts a fleet in a state dir; `reload` re-reads its source for SIGHUP.
#[async_trait::async_trait]
pub trait Starter: Send + Sync {
    async fn start(&self, state_dir: &Path) -> Result<Started, String>;

    /// A starter for the source as it is now (the config file re-read and validated), or
    /// why it cannot be used; the running one is kept either way until this succeeds.
    fn reload(&self) -> Result<Arc<dyn Starter>, String>;

    /// Who else the config lets in: the console over SSH and the socket's group (read at
    /// the service's start and on every reload).
    fn access(&self) -> super::access::Access {
        super::access::Access::default()
    }

    /// The team's own runbooks (the config's runbook dir), beside the shipped ones.
    fn runbook_dir(&self) -> Option<std::path::PathBuf> {
        None
    }

    /// The config's `[[drill]]` schedules.
    fn drill_schedules(&self) -> Vec<crate::core::drill::schedule::Schedule> {
        Vec::new()
    }
}
