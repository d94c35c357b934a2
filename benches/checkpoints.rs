//! Moving checkpoints, side by side with the tools a user would otherwise use: pull from a
//! loopback sshd host into the NAS (Lifeboat vs scp, scp -c aes128-gcm, rsync -e ssh; and
//! Lifeboat into NAS + S3 in parallel or NAS then S3), NAS → S3 (Lifeboat vs aws s3 cp),
//! restore onto a host (Lifeboat vs scp) and SHA-256 (sha2 vs openssl vs sha256sum).
//! Every row is the median of 3 runs over one 1 GiB random file, reported in MiB/s and as
//! a ratio to the best alternative. Run with `cargo bench --bench checkpoints` (needs rsync
//! and awscli; writes its table into BENCHMARKS.md); under `cargo test` it runs one tiny
//! round over a few MiB as a smoke check, skipping rsync and awscli when they are missing.
//!
//! The parts: `measure` times the cases of a step, `rig` holds the sshd host, the S3 server
//! and the commands run against them, `steps` are the steps, `report` writes the table.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "../tests/support/s3.rs"]
mod s3;
#[path = "../tests/support/sshd.rs"]
mod sshd;

#[path = "checkpoints/measure.rs"]
mod measure;
#[path = "service/procfs.rs"]
mod procfs;
#[path = "checkpoints/report.rs"]
mod report;
#[path = "checkpoints/rig.rs"]
mod rig;
#[path = "checkpoints/steps.rs"]
mod steps;

use measure::only;
use rig::{chmod, generate, works, Bench};

const JOB: &str = "train";
const ID: &str = "step-000001";
const FILE: &str = "model.bin";

const PULL: &str = "Pull host → NAS";
const TO_S3: &str = "NAS → S3";

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rsync = works("rsync", "--version");
    let aws = works("aws", "--version");
    if full && !(rsync && aws) {
        eprintln!(
            "the checkpoint benchmark compares against rsync and awscli: {}{}",
            if rsync {
                ""
            } else {
                "rsync is missing (install: apt-get install -y rsync) "
            },
            if aws {
                ""
            } else {
                "awscli is missing (install: pip install awscli)"
            }
        );
        std::process::exit(2);
    }
    let (size, reps) = if full {
        (1u64 << 30, measure::reps())
    } else {
        (4u64 << 20, 1)
    };
    let host = sshd::Sshd::start("bench");
    let s3 = s3::S3Server::start();
    let work = tempfile::Builder::new()
        .prefix("lifeboat-bench-")
        .tempdir()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut b = Bench {
        full,
        size,
        reps,
        host,
        s3,
        work,
        rt,
        sha: String::new(),
        rows: Vec::new(),
        notes: Vec::new(),
        rsync,
        aws,
        s3_pid: sshd::descendants(std::process::id()).into_iter().find(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "s3s-fs")
        }),
        loads: Vec::new(),
    };
    if !full {
        for (ok, what) in [(rsync, "rsync"), (aws, "aws s3 cp")] {
            if !ok {
                println!("smoke: {what} is not installed; its rows are skipped");
            }
        }
    }
    let ckpt = b.ckpt_dir();
    std::fs::create_dir_all(&ckpt).unwrap();
    chmod(&ckpt, 0o755);
    eprintln!("generating {} MiB of random bytes …", size >> 20);
    b.sha = generate(&b.source(), size);
    chmod(&b.source(), 0o644);
    std::fs::write(ckpt.join(ID).join("DONE"), b"").unwrap();
    chmod(&ckpt.join(ID), 0o755);
    b.pull();
    b.nas_to_s3();
    b.restore();
    b.hashing();
    b.by_hand_to_both();
    let table = b.table();
    let command = if full {
        "cargo bench --bench checkpoints"
    } else {
        "cargo test --bench checkpoints"
    };
    let preamble = b.preamble(command);
    println!("\n{preamble}\n{table}");
    for n in &b.notes {
        println!("note: {n}");
    }
    if b.full && only().is_none() {
        b.write_report(&preamble, &table);
    }
}
