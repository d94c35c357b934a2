//! `lifeboat checkpoints adopt JOB ID`: an operator trusts a checkpoint found in a store
//! that this Lifeboat did not write, after every file of it is hashed in every store that
//! holds it. Refused in `--readonly`; journaled with the operator and each file's size and
//! SHA-256, so what was checked can be read back later.

use super::{emit, human_bytes, Options};
use crate::runtime::journal::Journal;
use crate::runtime::replica::{self, Replicator};
use std::io::Write;

pub async fn run(
    rep: &Replicator,
    job: &str,
    id: &str,
    opts: &Options,
    journal: &Journal,
    out: &mut (dyn Write + Send),
) -> Result<u8, String> {
    let w = |e: std::io::Error| e.to_string();
    if opts.readonly {
        return Err("refused: adopt makes a checkpoint restorable, and this is --readonly".into());
    }
    let a = rep
        .adopt_checkpoint(job, id)
        .await
        .map_err(|e| e.to_string())?;
    if !a.already {
        let body = serde_json::json!({
            "operator": opts.operator, "job": a.job, "id": a.id, "step": a.step,
            "digest": a.digest, "stores": a.stores, "files": a.files,
        });
        journal
            .append_event(replica::now().0, "checkpoint_adopted", Some(job), &body)
            .map_err(|e| format!("not recorded in the journal: {e}"))?;
    }
    if opts.json {
        emit(out, &a)?;
    } else if a.already {
        writeln!(
            out,
            "{job}/{id} is already trusted (restorable); nothing changed"
        )
        .map_err(w)?;
    } else {
        writeln!(
            out,
            "adopted {job}/{id} (step {}): {} file(s), {}, hashed in {}; it may now be restored",
            a.step,
            a.files.len(),
            human_bytes(a.files.iter().map(|f| f.size).sum()),
            a.stores.join(", ")
        )
        .map_err(w)?;
    }
    Ok(0)
}
