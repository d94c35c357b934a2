//! The checkpoint CLI against what Lifeboat did not write, on a real loopback sshd host:
//! `checkpoints verify` names links and FIFOs planted in the NAS and refuses them, lists a
//! planted checkpoint as found, `restore` never picks it, `adopt` (refused in --readonly,
//! journaled with every file checked) makes it restorable, and with the team's key a
//! signed manifest is trusted at once while a forged mac is refused.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Stdio};

/// A checkpoint dropped into the NAS folder by someone else: a file and a valid manifest,
/// signed with `key` when given.
fn plant(nas: &Path, job: &str, id: &str, data: &[u8], key: Option<&[u8]>) {
    use lifeboat::core::manifest::{Manifest, ManifestFile, FORMAT};
    let mut m = Manifest {
        format: FORMAT,
        job: job.into(),
        id: id.into(),
        step: lifeboat::core::discovery::step_of(id),
        created: 1_700_000_000_000,
        source_host: "stranger".into(),
        epoch: 1,
        single_file: false,
        files: vec![ManifestFile {
            path: "w.bin".into(),
            size: data.len() as u64,
            sha256: lifeboat::core::manifest::hex(&Sha256::digest(data)),
            mode: None,
        }],
        mac: None,
    };
    if let Some(k) = key {
        m.sign(k);
    }
    let d = nas.join(job).join(id);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("w.bin"), data).unwrap();
    std::fs::write(d.join("manifest.json"), m.to_bytes()).unwrap();
}

#[test]
fn the_cli_refuses_links_and_restores_a_planted_checkpoint_only_once_adopted() {
    use std::os::unix::fs::PermissionsExt;
    let fleet = loopback_fleet::start("ckad");
    let work = fleet.dir.path().join("work");
    let (ckpt, nas, state) = (
        work.join("ckpt"),
        work.join("nas"),
        fleet.dir.path().join("state"),
    );
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::create_dir_all(&nas).unwrap();
    let cli = |config: &Path, envs: &[(&str, &str)], args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .arg("--config")
            .arg(config)
            .arg("--state-dir")
            .arg(&state)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let run = |args: &[&str]| cli(&fleet.config, &[], args);
    // The job's own checkpoint, private to its user, replicated by Lifeboat.
    let ours: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let file = ckpt.join("step-00000100.ckpt");
    std::fs::write(&file, &ours).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(Command::new("chown")
        .args([sshd::USER])
        .arg(&file)
        .status()
        .unwrap()
        .success());
    let out = run(&["checkpoints", "replicate", "--job", &fleet.job]);
    assert!(out.status.success(), "{}", text(&out));
    // Planted: a higher step with a valid manifest; a link out of the root; a FIFO.
    let theirs = b"a checkpoint nobody here wrote".to_vec();
    plant(&nas, &fleet.job, "step-99000000", &theirs, None);
    let outside = work.join("console-secret");
    std::fs::write(&outside, b"secret").unwrap();
    plant(&nas, &fleet.job, "step-99000001", b"secret", None);
    let linked = nas.join(&fleet.job).join("step-99000001").join("w.bin");
    std::fs::remove_file(&linked).unwrap();
    std::os::unix::fs::symlink(&outside, &linked).unwrap();
    plant(&nas, &fleet.job, "step-99000002", b"", None);
    let fifo = nas.join(&fleet.job).join("step-99000002").join("w.bin");
    std::fs::remove_file(&fifo).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());

    let out = run(&["checkpoints", "verify"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("FOUND {}/step-99000000 [nas]", fleet.job)),
        "{said}"
    );
    assert!(
        said.contains(&format!("REFUSED {}/step-99000001 [nas]", fleet.job))
            && said.contains(&format!("{}: it is a symbolic link", linked.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!("{}: it is not a regular file", fifo.display()))
            || said.contains("not a regular file"),
        "{said}"
    );
    let out = run(&["checkpoints", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let planted = rows.iter().find(|r| r["id"] == "step-99000000").unwrap();
    assert_eq!(
        (&planted["restorable"], &planted["provenance"]),
        (&Value::Bool(false), &Value::from("found"))
    );
    assert!(rows
        .iter()
        .all(|r| r["id"] != "step-99000001" && r["id"] != "step-99000002"));
    let out = run(&["checkpoints", "list"]);
    assert!(
        text(&out).contains("needs `checkpoints adopt`"),
        "{}",
        text(&out)
    );

    // A restore takes Lifeboat's own, with the job's mode (0600), not the planted one.
    let r1 = work.join("r1.ckpt");
    let out = run(&[
        "checkpoints",
        "restore",
        "--job",
        &fleet.job,
        "--host",
        "box",
        "--path",
        r1.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&r1).unwrap(), ours);
    assert_eq!(
        std::fs::metadata(&r1).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(std::fs::read(&outside).unwrap(), b"secret");

    // Adopting is refused in --readonly, then done, journaled with what was checked.
    let out = run(&[
        "--readonly",
        "checkpoints",
        "adopt",
        &fleet.job,
        "step-99000000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("--readonly"), "{}", text(&out));
    let out = run(&["checkpoints", "adopt", &fleet.job, "step-99000000"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("adopted"), "{}", text(&out));
    let db = rusqlite::Connection::open(state.join("journal.db")).unwrap();
    let body: String = db
        .query_row(
            "SELECT body FROM events WHERE kind = 'checkpoint_adopted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let sha = lifeboat::core::manifest::hex(&Sha256::digest(&theirs));
    assert!(
        body.contains(&sha) && body.contains("\"size\":30") && body.contains("operator"),
        "{body}"
    );
    let r2 = work.join("r2");
    let out = run(&[
        "checkpoints",
        "restore",
        "--job",
        &fleet.job,
        "--host",
        "box",
        "--path",
        r2.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(r2.join("w.bin")).unwrap(), theirs);

    // With the team's key: a signed checkpoint is trusted at once, a forged mac refused,
    // and a key variable that is named but unset is a clear error.
    let keyed = fleet.dir.path().join("keyed.toml");
    let mut conf = std::fs::read_to_string(&fleet.config).unwrap();
    conf.push_str("manifest_key_env = \"LB_TEST_MANIFEST_KEY\"\n");
    std::fs::write(&keyed, conf).unwrap();
    let out = cli(&keyed, &[], &["checkpoints", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("LB_TEST_MANIFEST_KEY, which is not set"),
        "{}",
        text(&out)
    );
    let key = [("LB_TEST_MANIFEST_KEY", "s3cret-team-key")];
    plant(
        &nas,
        &fleet.job,
        "step-99000010",
        b"signed",
        Some(b"s3cret-team-key"),
    );
    plant(
        &nas,
        &fleet.job,
        "step-99000011",
        b"forged",
        Some(b"guessed"),
    );
    let out = cli(&keyed, &key, &["checkpoints", "verify"]);
    let said = text(&out);
    assert!(
        said.contains(&format!("REFUSED {}/step-99000011 [nas]", fleet.job))
            && said.contains("mac does not verify"),
        "{said}"
    );
    assert!(!said.contains("s3cret-team-key"), "{said}");
    let r3 = work.join("r3");
    let out = cli(
        &keyed,
        &key,
        &[
            "checkpoints",
            "restore",
            "--job",
            &fleet.job,
            "--host",
            "box",
            "--path",
            r3.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(r3.join("w.bin")).unwrap(), b"signed");
}
