//! Words of the move dialogs' refusals.

/// `spare-1:gpu0 cannot take the job (busy with llm): choose another target`.
pub fn target_refused(target: &str, why: &str) -> String {
    format!("{target} cannot take the job ({why}): choose another target")
}

/// Whether an error line is a [`target_refused`] one (it clears when the target is fit).
pub fn is_target_refusal(line: &str) -> bool {
    line.ends_with("cannot take the job") || line.contains(" cannot take the job (")
}
