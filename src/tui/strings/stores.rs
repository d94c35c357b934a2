//! Words for checkpoint stores' health in the Checkpoints view.

/// `✖ not mounted`.
pub fn store_fault(kind: &str) -> String {
    format!("✖ {kind}")
}

pub const STORE_OK: &str = "✓";

/// `last good write 5m ago`, or that there has been none.
pub fn last_good_write(age: Option<&str>) -> String {
    match age {
        Some(a) => format!("last good write {a} ago"),
        None => "no good write yet".into(),
    }
}

/// `3 copies pending`.
pub fn pending_copies(n: u32) -> String {
    let copies = if n == 1 { "copy" } else { "copies" };
    format!("{n} {copies} pending")
}
