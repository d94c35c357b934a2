//! The live console keeps checkpoints: `lifeboat --config` on a real loopback sshd host
//! replicates a job's new checkpoints into the NAS and says so; killed with SIGKILL in the
//! middle of a replication, it resumes on restart and finishes it, with nothing lost and
//! no half-written file left behind.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn console(config: &Path, state: &Path) -> (Child, mpsc::Receiver<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .args(["--headless", "--json"])
        .env("LIFEBOAT_LOG", "lifeboat=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    (child, rx)
}

fn replicated(rx: &mpsc::Receiver<Value>, id: &str, secs: u64) -> Value {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    while Instant::now() < end {
        if let Ok(v) = rx.recv_timeout(Duration::from_millis(200)) {
            if v["kind"] == "checkpoint" && v["what"] == "replicated" && v["id"] == id {
                return v;
            }
            seen.push(v);
        }
    }
    panic!(
        "{id} not replicated in {secs}s; saw:\n{}",
        seen.iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Temp files the NAS store is writing (or left) anywhere under `dir`.
fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().contains(".lifeboat-tmp-") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn the_console_replicates_and_resumes_after_sigkill_mid_replication() {
    let fleet = loopback_fleet::start("ckl");
    let work = fleet.dir.path().join("work");
    let ckpt = work.join("ckpt");
    let nas = work.join("nas");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::create_dir_all(&nas).unwrap();
    // A big checkpoint already on the host: big enough to catch its replication midway.
    let id = "step-00900000.ckpt";
    let big: Vec<u8> = (0..300u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(ckpt.join(id), &big).unwrap();
    let want = lifeboat::core::manifest::hex(&Sha256::digest(&big));
    drop(big);
    let state = fleet.dir.path().join("state");

    let (mut first, rx1) = console(&fleet.config, &state);
    let end = Instant::now() + Duration::from_secs(40);
    loop {
        let t = temps(&nas);
        if t.iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        {
            break;
        }
        if Instant::now() > end {
            let seen: Vec<String> = rx1.try_iter().map(|v| v.to_string()).collect();
            let logs: String = std::fs::read_dir(state.join("logs"))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("log"))
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect();
            panic!(
                "the replication never started; saw:\n{}\nlogs:\n{logs}",
                seen.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let dest = nas.join(&fleet.job).join(id);
    assert!(
        !dest.join("manifest.json").exists(),
        "killed before the manifest, so not complete"
    );

    let (mut second, rx) = console(&fleet.config, &state);
    let v = replicated(&rx, id, 180);
    assert!(
        v["detail"].as_str().unwrap().contains("314572800 bytes"),
        "{v}"
    );
    second.kill().unwrap();
    second.wait().unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["files"][0]["sha256"], want.as_str());
    let copy = std::fs::read(dest.join(id)).unwrap();
    assert_eq!(lifeboat::core::manifest::hex(&Sha256::digest(&copy)), want);
    assert_eq!(
        temps(&nas),
        Vec::<PathBuf>::new(),
        "half-written files left behind"
    );
    // The toy job's own checkpoints were replicated too.
    let jobs_dir = nas.join(&fleet.job);
    let count = std::fs::read_dir(&jobs_dir).unwrap().count();
    assert!(count >= 1, "{count}");
    // The catalogue says so, from the CLI, and nothing restorable lacks a manifest.
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .arg("--config")
            .arg(&fleet.config)
            .arg("--state-dir")
            .arg(&state)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let json_lines = |out: &std::process::Output| -> Vec<Value> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let rows = json_lines(&cli(&["checkpoints", "list", "--json"]));
    let row = rows.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(row["restorable"], true);
    assert_eq!(row["bytes"], 314_572_800u64);
    for r in &rows {
        let m = jobs_dir
            .join(r["id"].as_str().unwrap())
            .join("manifest.json");
        assert!(m.is_file(), "{r} listed without a manifest");
    }

    // Verify hashes every copy again.
    let v = &json_lines(&cli(&["checkpoints", "verify", "--json"]))[0];
    assert_eq!(v["checked"].as_u64().unwrap(), rows.len() as u64, "{v}");
    assert_eq!(v["bad"], serde_json::json!([]));
    // Restore onto the host somewhere else; it lands verified.
    let to = work.join("restored.ckpt");
    let out = cli(&[
        "checkpoints",
        "restore",
        "--job",
        &fleet.job,
        "--id",
        id,
        "--host",
        "box",
        "--path",
        to.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = std::fs::read(&to).unwrap();
    assert_eq!(
        lifeboat::core::manifest::hex(&Sha256::digest(&restored)),
        want
    );
    // Prune: the dry run explains, --readonly refuses, --yes deletes what it said.
    let plan = json_lines(&cli(&["checkpoints", "prune", "--dry-run", "--json"]));
    assert!(plan
        .iter()
        .all(|r| !r["reasons"].as_array().unwrap().is_empty()));
    let removals: Vec<&Value> = plan.iter().filter(|r| r["keep"] == false).collect();
    let out = cli(&["--readonly", "checkpoints", "prune", "--yes"]);
    if !removals.is_empty() {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--readonly"));
    }
    let out = cli(&["checkpoints", "prune"]);
    if !removals.is_empty() {
        assert!(
            !out.status.success(),
            "a prune without --yes on a pipe must not delete"
        );
    }
    assert_eq!(
        json_lines(&cli(&["checkpoints", "list", "--json"])).len(),
        rows.len()
    );
    let out = cli(&["checkpoints", "prune", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = json_lines(&cli(&["checkpoints", "list", "--json"]));
    assert_eq!(after.len(), rows.len() - removals.len());
    for r in &removals {
        assert!(!jobs_dir
            .join(r["id"].as_str().unwrap())
            .join("manifest.json")
            .exists());
    }
    // A job the config does not have is named in the error.
    let out = cli(&["checkpoints", "restore", "--job", "nope", "--host", "box"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"nope\""));
}

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
