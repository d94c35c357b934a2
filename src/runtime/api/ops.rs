//! Failovers asked for over the API: each an operation with an id, the job, who asked,
//! its idempotency key, and how it ended in seed 001's shape. One per job at a time; one
//! per key, ever (kept for the daemon's life, the newest `KEEP`).

use serde::Serialize;
use serde_json::Value;

/// Operations kept for lookups by id and by idempotency key.
const KEEP: usize = 1000;

#[derive(Clone, Debug, Serialize)]
pub struct Operation {
    pub id: String,
    pub job: String,
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// `accepted` (asked, not yet answered), `running`, `finished`, `failed` or `refused`.
    pub state: &'static str,
    pub started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

impl Operation {
    pub fn open(&self) -> bool {
        matches!(self.state, "accepted" | "running")
    }
}

#[derive(Default)]
pub struct Ops {
    list: Vec<Operation>,
    next: u64,
}

pub enum Claim {
    /// A new operation, registered: go on and ask for the failover.
    New(Operation),
    /// The key was seen before: its operation, unchanged.
    Again(Operation),
    /// Another operation of this job is open.
    Busy(Operation),
    /// The key belongs to another job's operation.
    KeyElsewhere(Operation),
}

impl Ops {
    /// Registers a failover of `job`, unless its key or the job says otherwise.
    pub fn claim(&mut self, job: &str, by: &str, key: Option<&str>, now: String) -> Claim {
        if let Some(k) = key {
            if let Some(o) = self
                .list
                .iter()
                .find(|o| o.idempotency_key.as_deref() == Some(k))
            {
                return match o.job == job {
                    true => Claim::Again(o.clone()),
                    false => Claim::KeyElsewhere(o.clone()),
                };
            }
        }
        if let Some(o) = self.list.iter().find(|o| o.job == job && o.open()) {
            return Claim::Busy(o.clone());
        }
        self.next += 1;
        let op = Operation {
            id: format!("fo-{}-{}", std::process::id(), self.next),
            job: job.into(),
            by: by.into(),
            idempotency_key: key.map(str::to_string),
            state: "accepted",
            started: now,
            result: None,
        };
        self.list.push(op.clone());
        let excess = self.list.len().saturating_sub(KEEP);
        self.list.drain(..excess);
        Claim::New(op)
    }

    pub fn set(&mut self, id: &str, state: &'static str, result: Option<Value>) {
        if let Some(o) = self.list.iter_mut().find(|o| o.id == id) {
            o.state = state;
            if result.is_some() {
                o.result = result;
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Operation> {
        self.list.iter().find(|o| o.id == id).cloned()
    }

    /// The newest operation of `job`.
    pub fn for_job(&self, job: &crate::core::ids::JobId) -> Option<Operation> {
        self.list
            .iter()
            .rev()
            .find(|o| o.job == job.as_str())
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_open_operation_per_job_and_one_per_key() {
        let mut ops = Ops::default();
        let Claim::New(a) = ops.claim("train", "ci", Some("k1"), "t".into()) else {
            panic!("a first claim is new")
        };
        assert!(
            matches!(ops.claim("train", "ci", None, "t".into()), Claim::Busy(o) if o.id == a.id)
        );
        assert!(
            matches!(ops.claim("train", "ci", Some("k1"), "t".into()), Claim::Again(o) if o.id == a.id)
        );
        assert!(matches!(
            ops.claim("infer", "ci", Some("k1"), "t".into()),
            Claim::KeyElsewhere(_)
        ));
        ops.set(&a.id, "finished", None);
        // The same key still answers with the same, finished, operation.
        assert!(
            matches!(ops.claim("train", "ci", Some("k1"), "t".into()), Claim::Again(o) if o.state == "finished")
        );
        assert!(matches!(
            ops.claim("train", "ci", Some("k2"), "t".into()),
            Claim::New(_)
        ));
    }
}
