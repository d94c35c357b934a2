//! A drill's rollbacks, carried out: the faults it made healed, automation resumed, the
//! restore test's copy accounted for. Used by a running drill and, after a crash, by the
//! supervisor that starts next.

use crate::core::drill::runbook::Rollback;
use crate::core::identity::Identity;
use crate::runtime::service::world::World;
use crate::runtime::supervisor::Feed;
use tokio::sync::mpsc;

/// What the rollbacks act on.
pub struct Undo<'a> {
    /// The faults the drill made.
    pub injected: &'a [super::report::Injected],
    /// Where the restore test put its copy (host, path).
    pub scratch: Option<&'a (String, String)>,
    /// Jobs one of whose stored copies the drill corrupted.
    pub corrupted: &'a [String],
    /// Whether the drill took the NAS away.
    pub nas_lost: bool,
    pub world: &'a dyn World,
    pub feed: &'a mpsc::Sender<Feed>,
    pub by: &'a Identity,
}

impl Undo<'_> {
    pub async fn run(&self, action: Rollback) -> Result<String, String> {
        match action {
            Rollback::ClearFaults => self.clear().await,
            Rollback::ResumeAutomation => self.resume().await,
            // "Removed" only when the host says nothing of it is left.
            Rollback::RemoveScratch => match self.scratch {
                None => Ok("nothing was restored".to_string()),
                Some((host, path)) => self.world.drill_remove_scratch(host, path).await,
            },
        }
    }

    /// Undoes every fault the drill made; idempotent, so a repeat after a crash is safe.
    async fn clear(&self) -> Result<String, String> {
        if self.injected.is_empty() && self.corrupted.is_empty() && !self.nas_lost {
            return Ok("nothing was injected".into());
        }
        let mut healed = Vec::new();
        let mut failed = Vec::new();
        // The NAS first: a corrupted copy in it is mended only once it is back.
        if self.nas_lost {
            match self.world.drill_nas_back().await {
                Ok(said) => healed.push(format!("nas-lost ({said})")),
                Err(e) => failed.push(format!("nas-lost: {e}")),
            }
        }
        for job in self.corrupted {
            match self.world.drill_mend(job).await {
                Ok(said) => healed.push(format!("corrupt-copy of {job} ({said})")),
                Err(e) => failed.push(format!("corrupt-copy of {job}: {e}")),
            }
        }
        for i in self.injected {
            let what = format!(
                "{} on {}",
                i.fault.as_str(),
                i.job.as_deref().unwrap_or(&i.host)
            );
            match self
                .world
                .drill_heal(i.fault, &i.host, i.job.as_deref(), i.until)
                .await
            {
                Ok(said) => healed.push(format!("{what} ({said})")),
                Err(e) => failed.push(format!("{what}: {e}")),
            }
        }
        let detail = format!("undone: {}", healed.join("; "));
        if failed.is_empty() {
            Ok(detail)
        } else {
            Err(format!("{detail}; not healed: {}", failed.join("; ")))
        }
    }

    async fn resume(&self) -> Result<String, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self
            .feed
            .send(Feed::Command {
                by: self.by.clone(),
                command: crate::core::io::Command::Resume { job: None },
                reply: Some(tx),
            })
            .await;
        match (sent, rx.await) {
            (Ok(()), Ok(Ok(()))) => Ok("automation resumed".to_string()),
            (Ok(()), Ok(Err(why))) => Ok(format!("nothing to resume ({why})")),
            _ => Err("the supervisor did not answer".to_string()),
        }
    }
}
