//! Two sshd hosts (h1 runs the job, h2 is its standby), a NAS folder and a real S3
//! server, with a replicator over them: the bed the checkpoint tests share.

#![allow(dead_code)]

use super::{s3, sshd};
use lifeboat::core::inventory::CopyState;
use lifeboat::runtime::catalogue::Catalogue;
use lifeboat::runtime::replica::Replicator;
use lifeboat::runtime::shell::Shell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::store::{NasStore, S3Store, Store};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

pub const JOB: &str = "train";

pub struct Bed {
    pub h1: sshd::Sshd,
    pub h2: sshd::Sshd,
    pub s3: s3::S3Server,
    pub nas: PathBuf,
    pub _dir: tempfile::TempDir,
    pub rep: Arc<Replicator>,
}

impl Bed {
    pub fn ckpt_dir(&self) -> PathBuf {
        self.h1.path("host").join("ckpt")
    }

    /// Writes a complete checkpoint folder `id` with `files` (name, bytes) and its marker.
    pub fn write_checkpoint(&self, id: &str, files: &[(&str, Vec<u8>)], marked: bool) {
        let d = self.ckpt_dir().join(id);
        for (name, bytes) in files {
            let p = d.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        if marked {
            std::fs::write(d.join("DONE"), b"").unwrap();
        }
    }

    pub fn nas_file(&self, id: &str, path: &str) -> PathBuf {
        self.nas.join(JOB).join(id).join(path)
    }

    pub fn s3_file(&self, id: &str, path: &str) -> PathBuf {
        self.s3.object_file(&format!("lb/{JOB}/{id}/{path}"))
    }

    pub fn state(&self, id: &str, store: &str) -> Option<CopyState> {
        self.rep
            .catalogue
            .entries(Some(JOB))
            .unwrap()
            .into_iter()
            .find(|e| e.id == id)
            .and_then(|e| e.copy(store).map(|c| c.state))
    }
}

pub fn bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub fn sha(b: &[u8]) -> String {
    lifeboat::core::manifest::hex(&Sha256::digest(b))
}

/// Two hosts (h1 runs the job, h2 is its standby), a NAS folder (or `nas`) and S3.
pub fn bed(nas: Option<PathBuf>, keep_last: u32) -> Bed {
    bed_with(nas, keep_last, "")
}

/// [`bed`] with more `[storage]` lines.
pub fn bed_with(nas: Option<PathBuf>, keep_last: u32, storage: &str) -> Bed {
    bed_keyed(nas, keep_last, storage, None)
}

/// [`bed_with`], the replicator holding the team's manifest key `key`.
pub fn bed_keyed(nas: Option<PathBuf>, keep_last: u32, storage: &str, key: Option<&[u8]>) -> Bed {
    bed_standins(nas, keep_last, storage, key, &[])
}

/// [`bed_keyed`], with stand-in commands (name, `sh` script) first on h2's PATH.
pub fn bed_standins(
    nas: Option<PathBuf>,
    keep_last: u32,
    storage: &str,
    key: Option<&[u8]>,
    h2_standins: &[(&str, &str)],
) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let mut h2_opts = sshd::Options::default();
    if !h2_standins.is_empty() {
        // The test user runs them: the folders on the way must let it in.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("h2-bin");
        std::fs::create_dir_all(&bin).unwrap();
        for (name, script) in h2_standins {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        h2_opts.standins = Some(bin);
    }
    let h1 = sshd::Sshd::start("h1");
    let h2 = sshd::Sshd::with("h2", h2_opts);
    let s3 = s3::S3Server::start();
    let nas = nas.unwrap_or_else(|| dir.path().join("nas"));
    std::fs::create_dir_all(&nas).unwrap();
    let ckpt = h1.path("host").join("ckpt");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::set_permissions(&ckpt, std::fs::Permissions::from_mode(0o777)).unwrap();
    let host = |h: &sshd::Sshd, role: &str| {
        let s = h.spec();
        format!(
            "[[host]]\nname = \"{}\"\naddress = \"{}:{}\"\nuser = \"{}\"\nrole = \"{role}\"\ngpus = 1\nssh_key = \"{}\"\nknown_hosts = \"{}\"\n\n",
            h.name,
            s.address,
            s.port,
            s.user.clone().unwrap(),
            s.ssh_key.clone().unwrap().display(),
            s.ssh.known_hosts.clone().unwrap().display()
        )
    };
    let text = format!(
        "{}{}[[job]]\nname = \"{JOB}\"\nhost = \"h1\"\nworkdir = \"{w}\"\nlaunch = \"true\"\ncheckpoint_dir = \"{c}\"\ncheckpoint_marker = \"DONE\"\nstandby = [\"h2\"]\n\n[storage]\nnas = \"{n}\"\nkeep_last = {keep_last}\n{storage}\n\n[storage.s3]\nbucket = \"{b}\"\nregion = \"us-east-1\"\nendpoint = \"{e}\"\npath_style = true\nprefix = \"lb\"\n",
        host(&h1, "primary"),
        host(&h2, "standby"),
        w = h1.path("host").display(),
        c = ckpt.display(),
        n = nas.display(),
        b = s3::BUCKET,
        e = s3.endpoint(),
    );
    let path = dir.path().join("fleet.toml");
    std::fs::write(&path, &text).unwrap();
    let config = lifeboat::config::load_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let ssh: Arc<dyn Shell> = Arc::new(SshShell::new(
        config.fleet.hosts.clone(),
        SshSettings::default(),
    ));
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(NasStore::new(nas.clone())),
        Arc::new(
            S3Store::with_client(s3.client(), s3::BUCKET, "lb").with_multipart(8 << 20, 5 << 20),
        ),
    ];
    let catalogue = Arc::new(Catalogue::open(&dir.path().join("journal.db")).unwrap());
    let rep = Arc::new(
        Replicator::new(
            stores,
            catalogue,
            ssh,
            Arc::new(lifeboat::runtime::local::LocalShell),
            config.fleet.clone(),
            config.storage.clone(),
        )
        .with_manifest_key(key.map(<[u8]>::to_vec)),
    );
    Bed {
        h1,
        h2,
        s3,
        nas,
        _dir: dir,
        rep,
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn one_checkpoint(b: &Bed, rt: &tokio::runtime::Runtime, n: usize) -> Vec<u8> {
    let data = bytes(3, n);
    b.write_checkpoint("step-000010", &[("w.bin", data.clone())], true);
    let got = rt.block_on(b.rep.discover(JOB, "h1", 1)).unwrap();
    assert_eq!(got.len(), 1);
    data
}
