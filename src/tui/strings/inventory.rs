//! The words of the checkpoint inventory (stores, copies, the prune plan), of the
//! replication work in the Tasks view, and of the prune dialog. Re-exported by `strings`.

use crate::core::inventory::CopyState;

// Checkpoints view, when the runtime fills the inventory.
pub const STORES: &str = "stores";
pub const NEVER_SCRUBBED: &str = "never scrubbed";
pub const INV_ID: &str = "ID";
pub const INV_STEP: &str = "STEP";
pub const INV_AGE: &str = "AGE";
pub const INV_CREATED: &str = "CREATED";
pub const INV_SIZE: &str = "SIZE";
pub const INV_FILES: &str = "FILES";
pub const INV_RESTORE: &str = "RESTORE";
pub const INV_FROM: &str = "FROM";
pub const INV_EPOCH: &str = "EPOCH";
pub const INV_SHA: &str = "SHA-256";
pub const INV_PRUNE: &str = "PRUNE PLAN";
pub const YES: &str = "yes";
pub const NO: &str = "no";
/// Restorable column of a checkpoint found in a store, waiting for `checkpoints adopt`.
pub const ADOPT: &str = "adopt?";
pub const NO_COPY: &str = "—";
pub const NOT_PLANNED: &str = "—";
pub const KEEP: &str = "keep";
pub const REMOVE: &str = "remove";
pub const NO_INVENTORY: &str = "No checkpoints catalogued for this job yet.";

pub fn last_scrub(age: &str) -> String {
    format!("last scrub {age} ago")
}

/// A store's column title: its name in capitals.
pub fn store_col(name: &str) -> String {
    name.to_uppercase()
}

pub fn copy_state(state: CopyState) -> &'static str {
    state.as_str()
}

/// One part of a prune verdict: `remove nas: no rule keeps it`, `keep: keep_last 3`.
pub fn verdict(keep: bool, stores: Option<&str>, reasons: &str) -> String {
    let verb = if keep { KEEP } else { REMOVE };
    match (stores, reasons.is_empty()) {
        (Some(st), true) => format!("{verb} {st}"),
        (Some(st), false) => format!("{verb} {st}: {reasons}"),
        (None, true) => verb.to_string(),
        (None, false) => format!("{verb}: {reasons}"),
    }
}

/// Between the parts of a detail line.
pub const SEP: &str = " · ";

/// The parts of the selected checkpoint's identity line, most useful first.
pub fn ckpt_ident(
    id: &str,
    step: &str,
    digest: &str,
    host: &str,
    epoch: u64,
    files: usize,
) -> Vec<String> {
    vec![
        id.to_string(),
        format!("step {step}"),
        format!("SHA-256 {digest}"),
        format!("from {host}"),
        format!("epoch {epoch}"),
        format!("{files} files"),
    ]
}

/// A store's last error, after its name and location.
pub fn store_error(e: &str) -> String {
    format!("✗ {e}")
}

/// What follows a copy's store and state in the detail line:
/// `(checked 3m ago) — sha256 mismatch in shard-3`.
pub fn copy_tail(checked: Option<&str>, detail: &str) -> String {
    let mut parts = Vec::new();
    if let Some(c) = checked {
        parts.push(format!("(checked {c} ago)"));
    }
    if !detail.is_empty() {
        parts.push(format!("— {detail}"));
    }
    parts.join(" ")
}

pub fn inventory_hint() -> &'static str {
    " ⏎ picks a checkpoint "
}

// Tasks view: checkpoint work.
pub const REPLICA_COLS: [&str; 7] = [
    "JOB", "WHAT", "TO", "STARTED", "ELAPSED", "PROGRESS", "LEFT",
];
pub const WAITING: &str = "waiting";
pub const NO_PROGRESS: &str = "—";
pub const RETRY_NOW: &str = "retrying now";

pub fn replica_title(n: usize) -> String {
    format!(" Checkpoint work · {n} ")
}

pub fn replica_what(kind: &str, id: &str) -> String {
    format!("{kind} {id}")
}

pub fn retry_in(t: &str) -> String {
    format!("retry in {t}")
}

/// The line under a task that waits to be retried.
pub fn replica_error(error: &str, retry: Option<&str>) -> String {
    match retry {
        Some(r) => format!("↳ {error} · {r}"),
        None => format!("↳ {error}"),
    }
}

// Prune.
pub const KEY_PRUNE: (&str, &str) = ("D", "prune");
pub const KEY_COPIES: (&str, &str) = ("⏎", "copies");
pub const KEY_BACK: (&str, &str) = ("Esc", "jobs");

pub fn prune_title(job: &str) -> String {
    format!("Prune the checkpoints of {job}")
}

/// `2 from nas (ck-0000, ck-0001)`.
pub fn prune_from(n: usize, store: &str, ids: &[&str], more: usize) -> String {
    let mut list = ids.join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    format!("{n} from {store} ({list})")
}

pub fn prune_summary(job: &str, n: usize, parts: &[String]) -> String {
    let copies = if n == 1 { "copy" } else { "copies" };
    format!(
        "Retention removes {n} {copies} of {job}'s checkpoints: {}.",
        parts.join(", ")
    )
}

pub fn prune_keeps_newest(newest: Option<(&str, u64)>) -> String {
    match newest {
        Some((id, step)) => format!(
            "The newest verified checkpoint ({id}, step {step}) is never removed, nor the last good copy of one that is kept."
        ),
        None => "The newest verified checkpoint is never removed, nor the last good copy of one that is kept.".into(),
    }
}

pub const PRUNE_FINAL: &str =
    "Deleted copies cannot be brought back. Exactly the copies listed go; checkpoints that arrive meanwhile wait for the next prune.";

/// Said when a prune is confirmed; its outcome follows as its own message.
pub fn prune_started(title: &str, n: usize) -> String {
    let copies = if n == 1 { "copy" } else { "copies" };
    format!("{title}: deleting {n} {copies}; the outcome follows")
}

pub fn prune_nothing_now(job: &str) -> String {
    format!("Retention removes nothing from {job} now.")
}

pub fn nothing_to_prune(job: &str) -> String {
    format!("nothing to prune for {job}: retention keeps every copy")
}

pub const PRUNE_NO_STORES: &str =
    "nothing to prune: no checkpoint stores are configured for this console";

pub fn prune_plan_changed(job: &str) -> String {
    format!("Retention now keeps a copy this listed for {job}. Read again.")
}
