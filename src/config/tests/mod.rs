//! Unit tests of [`parse_str`](super::parse_str) from strings: good configs, and every
//! class of bad input with the message it must produce.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod checkpoints;
mod console;
mod drills;
mod fleet;
mod good;
mod schema;
mod services;
mod ssh;
mod workspace;

use super::{parse_str, Config, Problem};
use std::path::Path;

/// A small valid config that tests edit: one host with two GPUs, one job on GPU 0.
pub const BASE: &str = r#"[[host]]
name = "pc1"
address = "192.168.1.10"
gpus = 2

[[job]]
name = "train"
host = "pc1"
gpu = 0
workdir = "/w"
launch = "python train.py --resume {checkpoint}"
checkpoint_dir = "/w/ckpt"
standby = ["pc1:1"]

[storage]
nas = "/mnt/nas"
"#;

pub fn ok(text: &str) -> Config {
    match parse_str(text, Path::new("/etc/lifeboat/t.toml")) {
        Ok(c) => c,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

pub fn problems(text: &str) -> Vec<Problem> {
    match parse_str(text, Path::new("t.toml")) {
        Ok(_) => panic!("expected problems, the config was accepted:\n{text}"),
        Err(e) => e.problems().to_vec(),
    }
}

/// The single problem `text` has.
pub fn one(text: &str) -> Problem {
    let p = problems(text);
    assert_eq!(p.len(), 1, "expected exactly one problem, got {p:#?}");
    p.into_iter().next().unwrap()
}

/// `BASE` with `from` replaced by `to` (which must occur).
pub fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

/// `BASE` followed by `extra`.
pub fn with(extra: &str) -> String {
    format!("{BASE}\n{extra}")
}

/// Checks line, key and that message and fix contain the given parts.
#[track_caller]
pub fn check(p: &Problem, line: usize, key: &str, message: &[&str], fix: &[&str]) {
    assert_eq!(p.at.map(|a| a.line), Some(line), "line of {p:#?}");
    assert_eq!(p.key, key, "key of {p:#?}");
    for m in message {
        assert!(p.message.contains(m), "message lacks {m:?}: {p:#?}");
    }
    for f in fix {
        assert!(p.fix.contains(f), "fix lacks {f:?}: {p:#?}");
    }
}
