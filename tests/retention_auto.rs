//! Retention against real stores (a loopback sshd host and a NAS folder): it runs by
//! itself after a verified replication and keeps exactly the policy, journaled like a
//! manual prune; `auto_prune = false` opts out; and a prune confirmed in a dialog deletes
//! exactly the copies it listed while the job keeps writing new checkpoints, with one
//! `pruned` notice (what the journal records) per listed copy. Through the binary,
//! `checkpoints replicate` prunes by itself and the journal says so.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "support/sshd.rs"]
mod sshd;

#[path = "support/loopback_fleet.rs"]
mod loopback_fleet;

use lifeboat::runtime::catalogue::Catalogue;
use lifeboat::runtime::notice::Notice;
use lifeboat::runtime::replica::Replicator;
use lifeboat::runtime::shell::Shell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::store::{NasStore, Store};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

const JOB: &str = "train";

struct Bed {
    h1: sshd::Sshd,
    nas: PathBuf,
    _dir: tempfile::TempDir,
    rep: Arc<Replicator>,
    notices: mpsc::Receiver<Notice>,
}

fn bed(keep_last: u32, storage: &str) -> Bed {
    let h1 = sshd::Sshd::start("h1");
    let dir = tempfile::tempdir().unwrap();
    let nas = dir.path().join("nas");
    std::fs::create_dir_all(&nas).unwrap();
    let ckpt = h1.path("host").join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::set_permissions(&ckpt, std::fs::Permissions::from_mode(0o777)).unwrap();
    let s = h1.spec();
    let text = format!(
        "[[host]]\nname = \"h1\"\naddress = \"{}:{}\"\nuser = \"{}\"\ngpus = 1\nssh_key = \"{}\"\nknown_hosts = \"{}\"\n\n[[job]]\nname = \"{JOB}\"\nhost = \"h1\"\nworkdir = \"{w}\"\nlaunch = \"true\"\ncheckpoint_dir = \"{c}\"\ncheckpoint_marker = \"DONE\"\n\n[storage]\nnas = \"{n}\"\nkeep_last = {keep_last}\n{storage}\n",
        s.address,
        s.port,
        s.user.clone().unwrap(),
        s.ssh_key.clone().unwrap().display(),
        s.ssh.known_hosts.clone().unwrap().display(),
        w = h1.path("host").display(),
        c = ckpt.display(),
        n = nas.display(),
    );
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, &text).unwrap();
    let config = lifeboat::config::load_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let ssh: Arc<dyn Shell> = Arc::new(SshShell::new(
        config.fleet.hosts.clone(),
        SshSettings::default(),
    ));
    let stores: Vec<Arc<dyn Store>> = vec![Arc::new(NasStore::new(nas.clone()))];
    let catalogue = Arc::new(Catalogue::open(&dir.path().join("journal.db")).unwrap());
    let (tx, notices) = mpsc::channel(4096);
    let rep = Replicator::new(
        stores,
        catalogue,
        ssh,
        Arc::new(lifeboat::runtime::local::LocalShell),
        config.fleet.clone(),
        config.storage.clone(),
    )
    .with_notices(tx);
    Bed {
        h1,
        nas,
        _dir: dir,
        rep: Arc::new(rep),
        notices,
    }
}

impl Bed {
    /// A complete checkpoint `step-NNNNNN` (its marker written last).
    fn write(&self, step: u32) {
        let d = self
            .h1
            .path("host")
            .join("ckpt")
            .join(format!("step-{step:06}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("model.bin"), vec![step as u8; 2048]).unwrap();
        std::fs::write(d.join("DONE"), b"").unwrap();
    }

    /// The checkpoints the NAS holds complete (with a manifest), sorted.
    fn on_nas(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.nas.join(JOB))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("manifest.json").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        ids
    }

    /// `(what, id)` of every checkpoint notice so far.
    fn drain(&mut self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        while let Ok(n) = self.notices.try_recv() {
            if let Notice::Checkpoint {
                what, id, detail, ..
            } = n
            {
                out.push((what.to_string(), id, detail));
            }
        }
        out
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn ids(steps: &[u32]) -> Vec<String> {
    steps.iter().map(|s| format!("step-{s:06}")).collect()
}

#[test]
fn retention_runs_after_a_verified_replication_and_keeps_exactly_the_policy() {
    let mut b = bed(2, "");
    let rt = rt();
    for step in [100, 200, 300, 400, 500] {
        b.write(step);
    }
    let got = rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(b.on_nas().len(), 5);
    let replicated: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    let out = rt
        .block_on(b.rep.prune_after_replication(JOB, &replicated))
        .unwrap()
        .expect("keep_last = 2 with 5 verified: it prunes");
    assert_eq!(out.deleted.len(), 3, "{out:?}");
    assert!(out.ok(), "{out:?}");
    assert_eq!(b.on_nas(), ids(&[400, 500]), "exactly keep_last = 2 stay");
    // Journaled as a manual prune is: one `pruned` per copy, by retention, then the outcome.
    let notes = b.drain();
    let pruned: Vec<&(String, String, String)> =
        notes.iter().filter(|(w, _, _)| w == "pruned").collect();
    assert_eq!(pruned.len(), 3, "{notes:?}");
    assert!(pruned
        .iter()
        .all(|(_, _, d)| d.contains("retention (auto_prune)")));
    let done: Vec<&(String, String, String)> = notes
        .iter()
        .filter(|(w, _, _)| w == "prune_finished")
        .collect();
    assert_eq!(done.len(), 1, "{notes:?}");
    assert!(done[0].2.contains("deleted 3 of 3"), "{:?}", done[0]);
    // The next pass replicates one more: again exactly two stay.
    b.write(600);
    let got = rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    let replicated: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    assert_eq!(replicated, ids(&[600]), "pruned ones are not pulled again");
    rt.block_on(b.rep.prune_after_replication(JOB, &replicated))
        .unwrap()
        .expect("prunes again");
    assert_eq!(b.on_nas(), ids(&[500, 600]));
    // A pass that replicated nothing new does not prune.
    assert_eq!(
        rt.block_on(b.rep.prune_after_replication(JOB, &[]))
            .unwrap(),
        None
    );
}

#[test]
fn auto_prune_false_leaves_pruning_to_the_operator() {
    let b = bed(2, "auto_prune = false");
    let rt = rt();
    for step in [100, 200, 300] {
        b.write(step);
    }
    let got = rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    let replicated: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        rt.block_on(b.rep.prune_after_replication(JOB, &replicated))
            .unwrap(),
        None
    );
    assert_eq!(b.on_nas(), ids(&[100, 200, 300]));
}

#[test]
fn a_confirmed_prune_deletes_exactly_what_its_dialog_listed_while_checkpoints_keep_coming() {
    let mut b = bed(2, "auto_prune = false");
    let rt = rt();
    for step in [100, 200, 300, 400] {
        b.write(step);
    }
    rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    // What the dialog lists: the plan's removals when it opened.
    let listed: Vec<(String, String)> = b
        .rep
        .plan_prune(Some(JOB))
        .unwrap()
        .removals()
        .map(|r| (r.id.clone(), r.store.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("step-000100".to_string(), "nas".to_string()),
            ("step-000200".to_string(), "nas".to_string())
        ]
    );
    // The job checkpoints on while the operator types: each new one makes the plan
    // remove one more.
    for step in [500, 600, 700] {
        b.write(step);
        rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    }
    assert_eq!(b.rep.plan_prune(Some(JOB)).unwrap().removals().count(), 5);
    b.drain();
    let out = rt
        .block_on(b.rep.prune_listed(JOB, &listed, "alice"))
        .unwrap();
    assert_eq!(out.listed, 2);
    assert_eq!(
        out.deleted,
        ["train/step-000100 [nas]", "train/step-000200 [nas]"]
    );
    assert!(out.kept.is_empty() && out.failed.is_empty(), "{out:?}");
    assert_eq!(b.on_nas(), ids(&[300, 400, 500, 600, 700]));
    // The journal count equals the dialog's count.
    let notes = b.drain();
    let pruned: Vec<&String> = notes
        .iter()
        .filter(|(w, _, _)| w == "pruned")
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(pruned, ["step-000100", "step-000200"], "{notes:?}");
    assert!(notes
        .iter()
        .any(|(w, _, d)| w == "prune_finished" && d == "deleted 2 of 2 listed copies of train"));
}

#[test]
fn a_listed_copy_the_plan_keeps_now_stays_and_the_outcome_says_so() {
    let b = bed(2, "auto_prune = false");
    let rt = rt();
    for step in [100, 200, 300] {
        b.write(step);
    }
    rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    // A stale dialog that listed the newest checkpoint: it is never deleted.
    let listed = vec![
        ("step-000100".to_string(), "nas".to_string()),
        ("step-000300".to_string(), "nas".to_string()),
    ];
    let out = rt
        .block_on(b.rep.prune_listed(JOB, &listed, "alice"))
        .unwrap();
    assert_eq!(out.deleted, ["train/step-000100 [nas]"]);
    assert_eq!(out.kept.len(), 1, "{out:?}");
    assert!(
        out.kept[0].starts_with("train/step-000300 [nas]: "),
        "{out:?}"
    );
    assert!(!out.ok());
    assert!(out
        .summary()
        .starts_with("deleted 1 of 2 listed copies of train; kept "));
    assert_eq!(b.on_nas(), ids(&[200, 300]));
}

#[test]
fn checkpoints_replicate_prunes_by_itself_and_the_journal_says_so() {
    let fleet = loopback_fleet::start("rta");
    let text = std::fs::read_to_string(&fleet.config).unwrap();
    assert!(text.contains("auto_prune = false"));
    std::fs::write(
        &fleet.config,
        text.replace("auto_prune = false", "keep_last = 2"),
    )
    .unwrap();
    let work = fleet.dir.path().join("work");
    let ckpt = work.join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::create_dir_all(work.join("nas")).unwrap();
    for step in [100, 200, 300, 400, 500] {
        std::fs::write(
            ckpt.join(format!("step-{step:08}.ckpt")),
            vec![step as u8; 1024],
        )
        .unwrap();
    }
    let state = fleet.dir.path().join("state");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(&fleet.config)
        .arg("--state-dir")
        .arg(&state)
        .args(["checkpoints", "replicate"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "auto prune: deleted 3 of 3 listed copies of {}",
            fleet.job
        )),
        "{stdout}"
    );
    let mut left: Vec<String> = std::fs::read_dir(work.join("nas").join(&fleet.job))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("manifest.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["step-00000400.ckpt", "step-00000500.ckpt"]);
    // Journaled like a manual prune: one `pruned` per copy, by retention, and the outcome.
    let db = rusqlite::Connection::open(state.join("journal.db")).unwrap();
    let mut q = db
        .prepare("SELECT body FROM events WHERE kind = 'checkpoint' ORDER BY seq")
        .unwrap();
    let bodies: Vec<serde_json::Value> = q
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
        .collect();
    let pruned: Vec<&serde_json::Value> = bodies.iter().filter(|b| b["what"] == "pruned").collect();
    assert_eq!(pruned.len(), 3, "{bodies:?}");
    assert!(pruned.iter().all(|b| b["detail"]
        .as_str()
        .unwrap()
        .contains("retention (auto_prune)")));
    assert!(
        bodies.iter().any(|b| b["what"] == "prune_finished"),
        "{bodies:?}"
    );
}

#[test]
fn the_live_console_prunes_by_itself_after_it_replicates() {
    use std::io::BufRead;
    let fleet = loopback_fleet::start("rtl");
    let text = std::fs::read_to_string(&fleet.config).unwrap();
    std::fs::write(
        &fleet.config,
        text.replace("auto_prune = false", "keep_last = 2"),
    )
    .unwrap();
    let work = fleet.dir.path().join("work");
    let ckpt = work.join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::create_dir_all(work.join("nas")).unwrap();
    for step in [10, 20, 30, 40] {
        std::fs::write(
            ckpt.join(format!("step-{step:08}.ckpt")),
            vec![step as u8; 1024],
        )
        .unwrap();
    }
    let state = fleet.dir.path().join("state");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("--config")
        .arg(&fleet.config)
        .arg("--state-dir")
        .arg(&state)
        .args(["--headless", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let end = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut pruned = Vec::new();
    let done = loop {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no prune_finished; pruned so far: {pruned:?}");
        }
        let Ok(v) = rx.recv_timeout(std::time::Duration::from_millis(200)) else {
            continue;
        };
        if v["kind"] == "checkpoint" && v["what"] == "pruned" {
            pruned.push(v.clone());
        }
        if v["kind"] == "checkpoint" && v["what"] == "prune_finished" {
            break v;
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let detail = done["detail"].as_str().unwrap().to_string();
    assert!(detail.starts_with("deleted "), "{detail}");
    let n = pruned.len();
    assert!(n >= 2, "four checkpoints, keep_last = 2: {pruned:?}");
    assert!(
        detail.starts_with(&format!("deleted {n} of {n} listed copies")),
        "{detail} after {pruned:?}"
    );
    assert!(pruned.iter().all(|v| v["detail"]
        .as_str()
        .unwrap()
        .contains("retention (auto_prune)")));
    // The oldest went first: step 10 is gone from the NAS.
    let nas = work.join("nas").join(&fleet.job);
    assert!(!nas
        .join("step-00000010.ckpt")
        .join("manifest.json")
        .exists());
}
