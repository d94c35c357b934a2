//! The checkpoint bench's rig: `Bench` (a loopback sshd host, an s3s-fs server, a work
//! dir, the rows so far), the commands a user would run against them (scp, ssh, aws),
//! the fleet config and `Replicator` Lifeboat runs with, the NAS and S3 clean-up, and
//! small file and process helpers.

use super::measure::Row;
use super::{s3, sshd, FILE, ID, JOB};
use lifeboat::runtime::catalogue::Catalogue;
use lifeboat::runtime::replica::Replicator;
use lifeboat::runtime::shell::Shell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::store::{NasStore, S3Store, Store};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

pub(crate) struct Bench {
    pub(crate) full: bool,
    pub(crate) size: u64,
    pub(crate) reps: usize,
    pub(crate) host: sshd::Sshd,
    pub(crate) s3: s3::S3Server,
    pub(crate) work: tempfile::TempDir,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) sha: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) notes: Vec<String>,
    pub(crate) rsync: bool,
    pub(crate) aws: bool,
    /// s3s-fs, found among this process's children.
    pub(crate) s3_pid: Option<u32>,
    /// The 1-minute load average before each timed run (other work on the machine).
    pub(crate) loads: Vec<f64>,
}

pub(crate) fn ok(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn works(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// First line of a command's output (stdout, else stderr), for the machine notes.
pub(crate) fn version(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .unwrap_or_else(|_| "missing".into())
}

pub(crate) fn sync() {
    ok(&mut Command::new("sync"));
}

pub(crate) fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

pub(crate) fn remove(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}

/// Writes `size` pseudo-random bytes (ChaCha8) to `path` and returns their SHA-256.
pub(crate) fn generate(path: &Path, size: u64) -> String {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut buf = vec![0u8; 1 << 20];
    let mut h = Sha256::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        h.update(&buf[..n]);
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.into_inner().unwrap().sync_all().unwrap();
    lifeboat::core::manifest::hex(&h.finalize())
}

pub(crate) fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Bench {
    pub(crate) fn ckpt_dir(&self) -> PathBuf {
        self.host.path("host").join("ckpt")
    }

    pub(crate) fn source(&self) -> PathBuf {
        self.ckpt_dir().join(ID).join(FILE)
    }

    pub(crate) fn remote(&self, path: &Path) -> String {
        format!("{}@{}:{}", sshd::USER, self.host.address, path.display())
    }

    /// `-o` options every OpenSSH client call gets: the test key, its known_hosts, no prompts.
    pub(crate) fn ssh_opts(&self) -> Vec<String> {
        vec![
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!(
                "UserKnownHostsFile={}",
                self.host.path("known_hosts").display()
            ),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-i".into(),
            self.host.path("client_key").display().to_string(),
        ]
    }

    pub(crate) fn scp(&self, cipher: Option<&str>, from: &str, to: &str) -> Command {
        let mut c = Command::new("scp");
        c.arg("-q").args(self.ssh_opts());
        if let Some(cipher) = cipher {
            c.args(["-c", cipher]);
        }
        c.args(["-P", &self.host.port.to_string(), from, to]);
        c
    }

    pub(crate) fn ssh(&self, remote_cmd: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.ssh_opts())
            .args(["-p", &self.host.port.to_string()])
            .arg(format!("{}@{}", sshd::USER, self.host.address))
            .arg(remote_cmd);
        c
    }

    pub(crate) fn aws(&self, args: &[&str]) -> Command {
        let mut c = Command::new("aws");
        let empty = self.work.path().join("aws-config");
        if !empty.exists() {
            std::fs::write(&empty, "").unwrap();
        }
        c.env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)
            .env("AWS_DEFAULT_REGION", s3::REGION)
            .env("AWS_CONFIG_FILE", &empty)
            .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
            .args(args)
            .args(["--endpoint-url", &self.s3.endpoint(), "--only-show-errors"]);
        c
    }

    /// The fleet config: this host, one job whose checkpoints are `ckpt/<id>/` with a
    /// `DONE` marker, the NAS at `nas`, and S3 when `s3_prefix` is given.
    fn config(
        &self,
        tag: &str,
        nas: &Path,
        order: &str,
        s3_prefix: Option<&str>,
    ) -> lifeboat::config::Config {
        let s = self.host.spec();
        let mut text = format!(
            "[[host]]\nname = \"h1\"\naddress = \"{a}:{p}\"\nuser = \"{u}\"\nrole = \"primary\"\ngpus = 1\nssh_key = \"{k}\"\nknown_hosts = \"{kh}\"\n\n\
             [[job]]\nname = \"{JOB}\"\nhost = \"h1\"\nworkdir = \"{w}\"\nlaunch = \"true\"\ncheckpoint_dir = \"{c}\"\ncheckpoint_marker = \"DONE\"\n\n\
             [storage]\nnas = \"{n}\"\norder = \"{order}\"\n",
            a = s.address,
            p = s.port,
            u = sshd::USER,
            k = s.ssh_key.clone().unwrap().display(),
            kh = s.ssh.known_hosts.clone().unwrap().display(),
            w = self.host.path("host").display(),
            c = self.ckpt_dir().display(),
            n = nas.display(),
        );
        if let Some(prefix) = s3_prefix {
            text.push_str(&format!(
                "\n[storage.s3]\nbucket = \"{}\"\nregion = \"{}\"\nendpoint = \"{}\"\npath_style = true\nprefix = \"{prefix}\"\n",
                s3::BUCKET,
                s3::REGION,
                self.s3.endpoint()
            ));
        }
        let path = self.work.path().join(format!("fleet-{tag}.toml"));
        std::fs::write(&path, &text).unwrap();
        lifeboat::config::load_file(&path).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// A replicator with a fresh SSH client (so a run pays for its connection, as scp
    /// does) over the NAS at `nas`, plus S3 under `s3_prefix` when given.
    pub(crate) fn replicator(
        &self,
        tag: &str,
        nas: &Path,
        order: &str,
        s3_prefix: Option<&str>,
    ) -> Replicator {
        std::fs::create_dir_all(nas).unwrap();
        let config = self.config(tag, nas, order, s3_prefix);
        let ssh: Arc<dyn Shell> = Arc::new(SshShell::new(
            config.fleet.hosts.clone(),
            SshSettings::default(),
        ));
        let mut stores: Vec<Arc<dyn Store>> = vec![Arc::new(NasStore::new(nas.to_path_buf()))];
        if let Some(prefix) = s3_prefix {
            stores.push(Arc::new(S3Store::with_client(
                self.s3.client(),
                s3::BUCKET,
                prefix,
            )));
        }
        let catalogue = Arc::new(Catalogue::open(&nas.with_extension("db")).unwrap());
        Replicator::new(
            stores,
            catalogue,
            ssh,
            Arc::new(lifeboat::runtime::local::LocalShell),
            config.fleet.clone(),
            config.storage.clone(),
        )
    }

    pub(crate) fn nas(&self, tag: &str, i: usize) -> PathBuf {
        self.work.path().join(format!("nas-{tag}-{i}"))
    }

    pub(crate) fn clean_nas(&self, tag: &str, i: usize) {
        let nas = self.nas(tag, i);
        remove(&nas.with_extension("db"));
        for ext in ["db-wal", "db-shm"] {
            remove(&nas.with_extension(ext));
        }
        remove(&nas);
    }

    pub(crate) fn clean_s3(&self, prefix: &str) {
        remove(&self.s3.data_dir().join(s3::BUCKET).join(prefix));
    }

    /// The NAS copy the restore, NAS → S3 and hashing rows read.
    pub(crate) fn nas_copy(&self) -> (NasStore, PathBuf) {
        let root = self.nas("pull", self.reps - 1);
        let file = root.join(JOB).join(ID).join(FILE);
        assert_eq!(file_size(&file), self.size);
        (NasStore::new(root), file)
    }
}
