//! A job's first start under this core: it resumes from what the checkpoint stores hold,
//! never from step 0 while they may hold something. With stores configured it waits until
//! they were read once; if they hold checkpoints of the job newer than any it may restore
//! from, but that this Lifeboat did not record and cannot authenticate, a human decides.

use super::engine::Core;
use super::ids::JobId;

impl Core {
    /// The stores were read once: what they hold that may be restored was reported.
    pub(super) fn handle_stores_read(&mut self, unadopted: Vec<(JobId, u64)>) {
        self.stores_read = true;
        self.unadopted = unadopted.into_iter().collect();
        self.bump();
        // Held incidents go on (`proceed` weighs what nobody adopted); a first start
        // waiting without one is looked at again at its host's next probe, which goes
        // now rather than a whole probe interval later.
        self.continue_held();
        let waiting: Vec<_> = self
            .d
            .jobs
            .values()
            .filter(|r| r.never_ran())
            .map(|r| r.placement.host.clone())
            .collect();
        for host in waiting {
            self.probe_soon(&host);
        }
    }

    /// Why the first start of `job` must wait, if it must.
    pub(super) fn first_start_hold(&self, job: &JobId) -> Option<String> {
        let rec = self.d.jobs.get(job)?;
        if !rec.never_ran() || !self.caps.stores {
            return None;
        }
        if !self.stores_read {
            return Some(format!(
                "waiting for the checkpoint stores to be read before the first start of {job}, so it resumes from what they hold"
            ));
        }
        None
    }

    /// Checkpoints of a never-started `job` in the stores, newer than any it may restore
    /// from, that wait for adoption: starting would throw their work away.
    pub(super) fn unadopted_hold(&self, job: &JobId) -> Option<String> {
        let rec = self.d.jobs.get(job)?;
        if !rec.never_ran() || !self.stores_read {
            return None;
        }
        let found = *self.unadopted.get(job)?;
        let trusted = rec
            .checkpoints
            .iter()
            .filter(|c| c.verified)
            .map(|c| c.step)
            .max();
        if trusted.is_some_and(|t| t >= found) {
            return None;
        }
        Some(format!(
            "the stores hold checkpoints of {job} up to step {found} that this Lifeboat did not record and cannot authenticate; starting now would {}: adopt one (`lifeboat checkpoints adopt {job} ID`) or start it by hand",
            match trusted {
                Some(t) => format!("resume from step {t} instead"),
                None => "start from step 0".to_string(),
            }
        ))
    }
}
