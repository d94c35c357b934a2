//! A job's `workspace = { … }`: defaults, every key read, and each mistake with its fix.

use super::*;
use crate::core::workspace::{WorkspaceSync, DEFAULT_EVERY};
use std::time::Duration;

/// `BASE` plus a CPU standby host that the job lists, and `ws` as the job's last key
/// (line 14).
fn with_cpu(ws: &str) -> String {
    edit(
        "standby = [\"pc1:1\"]",
        &format!("standby = [\"pc1:1\", \"cpu-vm\"]\n{ws}"),
    )
    .replacen(
        "[[job]]",
        "[[host]]\nname = \"cpu-vm\"\naddress = \"10.0.0.9\"\nrole = \"cpu-standby\"\n\n[[job]]",
        1,
    )
}

/// The line of `ws` in [`with_cpu`]'s text.
const LINE: usize = 19;

fn workspace(text: &str) -> WorkspaceSync {
    ok(text).fleet.jobs[0].workspace.clone().unwrap()
}

#[test]
fn without_the_key_there_is_no_sync() {
    assert_eq!(ok(&with_cpu("")).fleet.jobs[0].workspace, None);
}

#[test]
fn an_empty_table_syncs_the_workdir_every_minute() {
    let text = with_cpu("workspace = {}");
    assert!(text.lines().nth(LINE - 1).unwrap().starts_with("workspace"));
    assert_eq!(
        workspace(&text),
        WorkspaceSync {
            path: "/w".into(),
            every: DEFAULT_EVERY,
            exclude: Vec::new(),
        }
    );
}

#[test]
fn every_key_is_read_and_patterns_normalised() {
    let ws = workspace(&with_cpu(
        "workspace = { path = \"$HOST_DIR/ws\", every = \"5m\", exclude = [\"./data/\", \"*.tmp\"] }",
    ));
    assert_eq!(ws.path, std::path::PathBuf::from("$HOST_DIR/ws"));
    assert_eq!(ws.every, Duration::from_secs(300));
    assert_eq!(ws.exclude, ["data", "*.tmp"]);
    // The job's checkpoint folder is left out without being listed.
    assert!(ws
        .excludes("${HOST_DIR}/ws/ckpt")
        .excludes("ckpt/step-1.pt"));
    assert!(!ws.excludes("/w/ckpt").excludes("ckpt/step-1.pt"));
    // The longer table form reads the same.
    let long = with_cpu("[job.workspace]\nevery = \"10s\"");
    assert_eq!(workspace(&long).every, Duration::from_secs(10));
}

#[test]
fn a_job_without_a_cpu_standby_cannot_sync_a_workspace() {
    let p = one(&with("").replacen(
        "standby = [\"pc1:1\"]",
        "standby = [\"pc1:1\"]\nworkspace = {}",
        1,
    ));
    check(
        &p,
        14,
        "job \"train\".workspace",
        &["names no cpu-standby host"],
        &["add a [[host]] with role = \"cpu-standby\""],
    );
    // With one in the fleet, the fix names it.
    let text = with_cpu("workspace = {}").replacen(
        "standby = [\"pc1:1\", \"cpu-vm\"]",
        "standby = [\"pc1:1\"]",
        1,
    );
    check(
        &one(&text),
        LINE,
        "job \"train\".workspace",
        &["no cpu-standby"],
        &["standby = [\"pc1:gpu1\", \"cpu-vm\"]"],
    );
}

#[test]
fn syncing_too_often_is_refused() {
    check(
        &one(&with_cpu("workspace = { every = \"5s\" }")),
        LINE,
        "job \"train\".workspace.every",
        &["too often"],
        &["\"10s\" or less often"],
    );
    check(
        &one(&with_cpu("workspace = { every = \"soon\" }")),
        LINE,
        "job \"train\".workspace.every",
        &["not a duration"],
        &["e.g. \"10s\""],
    );
}

#[test]
fn bad_patterns_say_why_and_suggest_a_relative_one() {
    let p = one(&with_cpu(
        "workspace = { exclude = [\"ok\", \"/w/data/raw\"] }",
    ));
    check(
        &p,
        LINE,
        "job \"train\".workspace.exclude[1]",
        &["absolute path"],
        &["\"data/raw\""],
    );
    for bad in ["\"\"", "\"a/../b\"", "\"**/x\"", "\"[ab]\""] {
        let p = one(&with_cpu(&format!("workspace = {{ exclude = [{bad}] }}")));
        assert_eq!(p.key, "job \"train\".workspace.exclude[0]", "{bad}: {p:#?}");
    }
}

#[test]
fn the_path_must_be_absolute_and_not_the_checkpoints_or_root() {
    check(
        &one(&with_cpu("workspace = { path = \"ws\" }")),
        LINE,
        "job \"train\".workspace.path",
        &["not an absolute path"],
        &[],
    );
    check(
        &one(&with_cpu("workspace = { path = \"/w/ckpt/\" }")),
        LINE,
        "job \"train\".workspace.path",
        &["checkpoint_dir"],
        &["code folder"],
    );
    check(
        &one(&with_cpu("workspace = { path = \"/\" }")),
        LINE,
        "job \"train\".workspace.path",
        &["whole file system"],
        &[],
    );
}

#[test]
fn unknown_keys_list_the_allowed_ones() {
    let p = one(&with_cpu("workspace = { interval = \"5m\" }"));
    assert!(p.fix.contains("every"), "{p:#?}");
    assert!(p.fix.contains("exclude"), "{p:#?}");
}

#[test]
fn the_cloud_example_keeps_its_workspace_on_the_cpu_vm() {
    let c = ok(include_str!("../../../assets/examples/cloud-fleet.toml"));
    let job = c
        .fleet
        .jobs
        .iter()
        .find(|j| j.id.as_str() == "llm-sft")
        .unwrap();
    let ws = job.workspace.as_ref().unwrap();
    assert_eq!(ws.every, Duration::from_secs(300));
    let ex = ws.excludes(&job.checkpoint_dir.to_string_lossy());
    assert!(ex.excludes("checkpoints/step-100/model.safetensors"));
    assert!(ex.excludes("src/__pycache__/x.pyc"));
    assert!(!ex.excludes("sft.py"));
}
