//! Moving checkpoints, side by side with the tools a user would otherwise use: pull from a
//! loopback sshd host into the NAS (Lifeboat vs scp, scp -c aes128-gcm, rsync -e ssh; and
//! Lifeboat into NAS + S3 in parallel or NAS then S3), NAS → S3 (Lifeboat vs aws s3 cp),
//! restore onto a host (Lifeboat vs scp) and SHA-256 (sha2 vs openssl vs sha256sum).
//! Every row is the median of 3 runs over one 1 GiB random file, reported in MiB/s and as
//! a ratio to the best alternative. Run with `cargo bench --bench checkpoints` (needs rsync
//! and awscli; writes its table into BENCHMARKS.md); under `cargo test` it runs one tiny
//! round over a few MiB as a smoke check, skipping rsync and awscli when they are missing.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "../tests/support/s3.rs"]
mod s3;
#[path = "../tests/support/sshd.rs"]
mod sshd;

use lifeboat::core::inventory::CopyState;
use lifeboat::runtime::catalogue::Catalogue;
use lifeboat::runtime::replica::transfer::{hash_in_store, to_stores, Meter, Source};
use lifeboat::runtime::replica::Replicator;
use lifeboat::runtime::shell::Shell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use lifeboat::runtime::store::{NasStore, S3Store, Store};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const JOB: &str = "train";
const ID: &str = "step-000001";
const FILE: &str = "model.bin";
const MIB: f64 = 1024.0 * 1024.0;
const SCP_AES: &str = "aes128-gcm@openssh.com";

/// Whether a row is Lifeboat, a tool a user would run, or that tool plus the checks
/// Lifeboat does (not counted as "the best alternative").
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lifeboat,
    Alternative,
    Equivalent,
}

struct Row {
    step: &'static str,
    name: String,
    kind: Kind,
    secs: Vec<f64>,
    /// (this process and its children, sshd + s3s-fs) CPU seconds, per run.
    cpu: Vec<(f64, f64)>,
    /// Not measured but added up from other rows' medians.
    derived: bool,
}

type Step<'a> = Box<dyn FnMut(&Bench, usize) + 'a>;

/// One thing to time: `run` is timed, `after` (checks, clean-up) is not.
struct Case<'a> {
    name: String,
    kind: Kind,
    run: Step<'a>,
    after: Step<'a>,
    /// Runs even when `CHECKPOINTS_BENCH_ONLY` leaves it out (later steps need it).
    always: bool,
}

fn case<'a>(
    name: impl Into<String>,
    kind: Kind,
    run: impl FnMut(&Bench, usize) + 'a,
    after: impl FnMut(&Bench, usize) + 'a,
) -> Case<'a> {
    Case {
        name: name.into(),
        kind,
        run: Box::new(run),
        after: Box::new(after),
        always: false,
    }
}

/// `CHECKPOINTS_BENCH_ONLY=text`: only the rows whose name holds `text` (for profiling).
fn only() -> Option<String> {
    std::env::var("CHECKPOINTS_BENCH_ONLY")
        .ok()
        .filter(|s| !s.is_empty())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

/// utime + stime (and, with `children`, of its waited-for children) of `pid`, in seconds.
fn proc_cpu(pid: u32, children: bool) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<f64> = stat
        .rsplit_once(')')
        .map(|(_, a)| a)
        .unwrap_or("")
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let g = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    g(11) + g(12) + if children { g(13) + g(14) } else { 0.0 }
}

/// CPU time of the server side while a run goes: sshd, every process under it, and
/// s3s-fs. sshd's session processes are not reliably reaped by sshd itself (their CPU
/// does not show in its children's time), so a thread samples each one every 50 ms
/// and keeps its last reading; a session loses at most its last 50 ms.
struct ServerMeter {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl ServerMeter {
    fn start(sshd: Option<u32>, s3s: Option<u32>) -> Self {
        let read = move || -> Vec<(u32, f64)> {
            let mut pids: Vec<u32> = s3s.into_iter().collect();
            if let Some(p) = sshd {
                pids.push(p);
                pids.extend(sshd::descendants(p));
            }
            pids.into_iter().map(|p| (p, proc_cpu(p, false))).collect()
        };
        let base: std::collections::HashMap<u32, f64> = read().into_iter().collect();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut last = base.clone();
            loop {
                let done = flag.load(std::sync::atomic::Ordering::Relaxed);
                for (p, c) in read() {
                    // A reading of 0 is a process already gone.
                    if c > 0.0 {
                        last.insert(p, c);
                    }
                }
                if done {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            last.iter()
                .map(|(p, c)| c - base.get(p).copied().unwrap_or(0.0))
                .sum()
        });
        Self { stop, thread }
    }

    /// The server side's CPU seconds since `start`.
    fn stop(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(f64::NAN)
    }
}

/// The 1-minute load average now.
fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// CPU seconds of this process and the tools it ran.
fn client_cpu() -> f64 {
    proc_cpu(std::process::id(), true)
}

impl Row {
    fn median(&self) -> f64 {
        median(&self.secs)
    }
}

struct Bench {
    full: bool,
    size: u64,
    reps: usize,
    host: sshd::Sshd,
    s3: s3::S3Server,
    work: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    sha: String,
    rows: Vec<Row>,
    notes: Vec<String>,
    rsync: bool,
    aws: bool,
    /// s3s-fs, found among this process's children.
    s3_pid: Option<u32>,
    /// The 1-minute load average before each timed run (other work on the machine).
    loads: Vec<f64>,
}

fn ok(cmd: &mut Command) {
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

fn works(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// First line of a command's output (stdout, else stderr), for the machine notes.
fn version(program: &str, args: &[&str]) -> String {
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

fn sync() {
    ok(&mut Command::new("sync"));
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn remove(p: &Path) {
    if p.is_dir() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        let _ = std::fs::remove_file(p);
    }
}

/// Writes `size` pseudo-random bytes (ChaCha8) to `path` and returns their SHA-256.
fn generate(path: &Path, size: u64) -> String {
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

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Bench {
    fn ckpt_dir(&self) -> PathBuf {
        self.host.path("host").join("ckpt")
    }

    fn source(&self) -> PathBuf {
        self.ckpt_dir().join(ID).join(FILE)
    }

    fn remote(&self, path: &Path) -> String {
        format!("{}@{}:{}", sshd::USER, self.host.address, path.display())
    }

    /// `-o` options every OpenSSH client call gets: the test key, its known_hosts, no prompts.
    fn ssh_opts(&self) -> Vec<String> {
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

    fn scp(&self, cipher: Option<&str>, from: &str, to: &str) -> Command {
        let mut c = Command::new("scp");
        c.arg("-q").args(self.ssh_opts());
        if let Some(cipher) = cipher {
            c.args(["-c", cipher]);
        }
        c.args(["-P", &self.host.port.to_string(), from, to]);
        c
    }

    fn ssh(&self, remote_cmd: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(self.ssh_opts())
            .args(["-p", &self.host.port.to_string()])
            .arg(format!("{}@{}", sshd::USER, self.host.address))
            .arg(remote_cmd);
        c
    }

    fn aws(&self, args: &[&str]) -> Command {
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

    /// Times every case of `step` `reps` times, interleaved (round `i` runs each case
    /// once, in an order rotated by `i`, so load from elsewhere on the machine lands on
    /// all of them alike), with a `sync` before each timed run so no earlier write-back
    /// lands in it. `after` checks and cleans up, untimed. CPU is counted for this
    /// process and its children, and for sshd and s3s-fs (once their sessions ended).
    fn measure(&mut self, step: &'static str, mut cases: Vec<Case<'_>>) {
        if let Some(only) = only() {
            cases.retain(|c| c.always || c.name.contains(&only));
        }
        let n = cases.len();
        let mut secs = vec![Vec::new(); n];
        let mut cpu = vec![Vec::new(); n];
        for i in 0..self.reps {
            for j in 0..n {
                let k = (j + i) % n;
                let case = &mut cases[k];
                sync();
                self.loads.push(load1());
                let c0 = client_cpu();
                let server = ServerMeter::start(self.host.pid(), self.s3_pid);
                let t0 = Instant::now();
                (case.run)(self, i);
                secs[k].push(t0.elapsed().as_secs_f64());
                (case.after)(self, i);
                self.settle();
                cpu[k].push((client_cpu() - c0, server.stop()));
            }
        }
        for (k, case) in cases.into_iter().enumerate() {
            eprintln!(
                "  {step} | {}: {}",
                case.name,
                secs[k]
                    .iter()
                    .map(|s| format!("{s:.2} s"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.rows.push(Row {
                step,
                name: case.name,
                kind: case.kind,
                secs: std::mem::take(&mut secs[k]),
                cpu: std::mem::take(&mut cpu[k]),
                derived: false,
            });
        }
    }

    /// Waits (up to 3 s) until sshd has no sessions left, so their CPU is counted.
    fn settle(&self) {
        let until = Instant::now() + std::time::Duration::from_secs(3);
        while !self.host.session_pids().is_empty() && Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
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
    fn replicator(
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

    fn nas(&self, tag: &str, i: usize) -> PathBuf {
        self.work.path().join(format!("nas-{tag}-{i}"))
    }

    fn clean_nas(&self, tag: &str, i: usize) {
        let nas = self.nas(tag, i);
        remove(&nas.with_extension("db"));
        for ext in ["db-wal", "db-shm"] {
            remove(&nas.with_extension(ext));
        }
        remove(&nas);
    }

    fn clean_s3(&self, prefix: &str) {
        remove(&self.s3.data_dir().join(s3::BUCKET).join(prefix));
    }

    /// One `discover` pass, checked: one checkpoint, the right hash, every copy verified.
    fn pull_once(&self, tag: &str, i: usize, order: &str, s3: bool) {
        let prefix = format!("{tag}-{i}");
        let rep = self.replicator(tag, &self.nas(tag, i), order, s3.then_some(prefix.as_str()));
        let got = self.rt.block_on(rep.discover(JOB, "h1", 1)).unwrap();
        assert_eq!(got.len(), 1, "{tag}: expected one checkpoint replicated");
        assert_eq!(got[0].files[0].sha256, self.sha, "{tag}: wrong hash");
        let entry = rep
            .catalogue
            .entries(Some(JOB))
            .unwrap()
            .into_iter()
            .find(|e| e.id == ID)
            .unwrap();
        let stores: &[&str] = if s3 { &["nas", "s3"] } else { &["nas"] };
        for s in stores {
            assert_eq!(
                entry.copy(s).map(|c| c.state),
                Some(CopyState::Verified),
                "{tag}: the {s} copy is not verified: {:?}",
                entry.copy(s).map(|c| c.detail.clone())
            );
        }
    }

    fn pull(&mut self) {
        let dest = |b: &Bench, i: usize| b.work.path().join(format!("pulled-{i}"));
        let check = move |b: &Bench, i: usize| {
            let d = dest(b, i);
            let f = if d.is_dir() { d.join(FILE) } else { d.clone() };
            assert_eq!(file_size(&f), b.size, "{} has the wrong size", f.display());
            remove(&d);
        };
        let mut cases = vec![
            Case {
                always: true,
                ..case(
                    "**Lifeboat** → NAS (SHA-256 while streaming, fsync, manifest)",
                    Kind::Lifeboat,
                    |b, i| b.pull_once("pull", i, "parallel", false),
                    |b, i| {
                        // The last one is kept: the restore, NAS → S3 and hashing rows read it.
                        if i + 1 < b.reps {
                            b.clean_nas("pull", i);
                        }
                    },
                )
            },
            case(
                "**Lifeboat** → NAS + S3, `order = \"parallel\"`",
                Kind::Lifeboat,
                |b, i| b.pull_once("par", i, "parallel", true),
                |b, i| {
                    b.clean_nas("par", i);
                    b.clean_s3(&format!("par-{i}"));
                },
            ),
            case(
                "**Lifeboat** → NAS, then S3 from the NAS, `order = \"nas-then-s3\"`",
                Kind::Lifeboat,
                |b, i| b.pull_once("seq", i, "nas-then-s3", true),
                |b, i| {
                    b.clean_nas("seq", i);
                    b.clean_s3(&format!("seq-{i}"));
                },
            ),
            case(
                "`scp` (default cipher)",
                Kind::Alternative,
                move |b, i| {
                    ok(&mut b.scp(None, &b.remote(&b.source()), dest(b, i).to_str().unwrap()))
                },
                check,
            ),
            case(
                format!("`scp -c {SCP_AES}`"),
                Kind::Alternative,
                move |b, i| {
                    ok(&mut b.scp(
                        Some(SCP_AES),
                        &b.remote(&b.source()),
                        dest(b, i).to_str().unwrap(),
                    ))
                },
                check,
            ),
        ];
        if self.rsync {
            cases.push(case(
                "`rsync -e ssh`",
                Kind::Alternative,
                move |b, i| {
                    let d = dest(b, i);
                    std::fs::create_dir_all(&d).unwrap();
                    let e = format!("ssh -p {} {}", b.host.port, b.ssh_opts().join(" "));
                    ok(Command::new("rsync")
                        .args(["-e", &e])
                        .arg(b.remote(&b.source()))
                        .arg(format!("{}/", d.display())));
                },
                check,
            ));
        }
        cases.push(case(
            format!("`scp -c {SCP_AES}`, then `openssl dgst -sha256` and `sync` (Lifeboat's checks by hand)"),
            Kind::Equivalent,
            move |b, i| {
                let d = dest(b, i);
                ok(&mut b.scp(Some(SCP_AES), &b.remote(&b.source()), d.to_str().unwrap()));
                ok(Command::new("openssl").args(["dgst", "-sha256"]).arg(&d));
                sync();
            },
            check,
        ));
        self.measure(PULL, cases);
    }

    /// The NAS copy the restore, NAS → S3 and hashing rows read.
    fn nas_copy(&self) -> (NasStore, PathBuf) {
        let root = self.nas("pull", self.reps - 1);
        let file = root.join(JOB).join(ID).join(FILE);
        assert_eq!(file_size(&file), self.size);
        (NasStore::new(root), file)
    }

    /// Whether s3s-fs takes `aws s3 cp --checksum-algorithm SHA256`; a note if not.
    fn aws_sha256_works(&mut self) -> bool {
        let probe = self.work.path().join("probe.bin");
        std::fs::write(&probe, b"probe").unwrap();
        let url = format!("s3://{}/probe/{FILE}", s3::BUCKET);
        let out = self
            .aws(&[
                "s3",
                "cp",
                probe.to_str().unwrap(),
                &url,
                "--checksum-algorithm",
                "SHA256",
            ])
            .output()
            .unwrap();
        self.clean_s3("probe");
        if !out.status.success() {
            self.notes.push(format!(
                "`aws s3 cp --checksum-algorithm SHA256` failed against s3s-fs, so it is not measured: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        out.status.success()
    }

    fn nas_to_s3(&mut self) {
        let (nas, file) = self.nas_copy();
        let (nas, file) = (&nas, file.to_str().unwrap().to_string());
        let url = |tag: &str, i: usize| format!("s3://{}/{tag}-{i}/{FILE}", s3::BUCKET);
        let check = |tag: &'static str| {
            move |b: &Bench, i: usize| {
                assert_eq!(
                    file_size(&b.s3.object_file(&format!("{tag}-{i}/{FILE}"))),
                    b.size
                );
                b.clean_s3(&format!("{tag}-{i}"));
            }
        };
        let mut cases = vec![case(
            "**Lifeboat** `S3Store::put` fed by `NasStore::get` (SHA-256 per part and whole, HEAD check)",
            Kind::Lifeboat,
            move |b, i| {
                let s3 = S3Store::with_client(b.s3.client(), s3::BUCKET, format!("n2s-{i}"));
                let fan = b.rt.block_on(async {
                    let src = Source::Store {
                        store: nas,
                        job: JOB,
                        id: ID,
                        path: FILE,
                    };
                    to_stores(src, &[&s3 as &dyn Store], JOB, ID, FILE, b.size, &Meter::default()).await
                });
                fan.source.unwrap();
                let w = fan.written.into_iter().next().unwrap().unwrap();
                assert_eq!((w.bytes, w.sha256.as_str()), (b.size, b.sha.as_str()));
            },
            |b, i| {
                assert_eq!(file_size(&b.s3.object_file(&format!("n2s-{i}/{JOB}/{ID}/{FILE}"))), b.size);
                b.clean_s3(&format!("n2s-{i}"));
            },
        )];
        if self.aws {
            let f = file.clone();
            cases.push(case(
                "`aws s3 cp` (default)",
                Kind::Alternative,
                move |b, i| ok(&mut b.aws(&["s3", "cp", &f, &url("awsd", i)])),
                check("awsd"),
            ));
            if self.aws_sha256_works() {
                let f = file.clone();
                cases.push(case(
                    "`aws s3 cp --checksum-algorithm SHA256`",
                    Kind::Alternative,
                    move |b, i| {
                        ok(&mut b.aws(&[
                            "s3",
                            "cp",
                            &f,
                            &url("awss", i),
                            "--checksum-algorithm",
                            "SHA256",
                        ]))
                    },
                    check("awss"),
                ));
            }
        }
        self.measure(TO_S3, cases);
    }

    fn restore(&mut self) {
        let root = self.nas("pull", self.reps - 1);
        let (_, file) = self.nas_copy();
        let (root, file) = (&root, file.to_str().unwrap());
        let dest = |b: &Bench, tag: &str, i: usize| b.host.path("host").join(format!("{tag}-{i}"));
        let check = move |tag: &'static str, in_dir: bool| {
            move |b: &Bench, i: usize| {
                let d = dest(b, tag, i);
                let f = if in_dir { d.join(FILE) } else { d.clone() };
                assert_eq!(file_size(&f), b.size);
                remove(&d);
            }
        };
        let cases = vec![
            case(
                "**Lifeboat** `restore` (SHA-256 while sending, hashed on the host as it writes, atomic move, sync)",
                Kind::Lifeboat,
                move |b, i| {
                    // A fresh client over the same NAS and catalogue: its connection is timed too.
                    let rep = b.replicator("pull", root, "parallel", None);
                    let d = dest(b, "restored", i);
                    let r = b
                        .rt
                        .block_on(rep.restore(JOB, Some(ID), "h1", Some(d.to_str().unwrap())))
                        .unwrap();
                    assert_eq!((r.bytes, r.from.as_deref()), (b.size, Some("nas")));
                },
                check("restored", true),
            ),
            case(
                "`scp` (default cipher)",
                Kind::Alternative,
                move |b, i| ok(&mut b.scp(None, file, &b.remote(&dest(b, "scpd", i)))),
                check("scpd", false),
            ),
            case(
                format!("`scp -c {SCP_AES}`"),
                Kind::Alternative,
                move |b, i| ok(&mut b.scp(Some(SCP_AES), file, &b.remote(&dest(b, "scpa", i)))),
                check("scpa", false),
            ),
            case(
                format!("`scp -c {SCP_AES}`, then `ssh host 'openssl dgst -sha256 … && sync'` (Lifeboat's checks by hand)"),
                Kind::Equivalent,
                move |b, i| {
                    let d = dest(b, "scpv", i);
                    ok(&mut b.scp(Some(SCP_AES), file, &b.remote(&d)));
                    ok(&mut b.ssh(&format!("openssl dgst -sha256 {} && sync", d.display())));
                },
                check("scpv", false),
            ),
        ];
        self.measure("Restore NAS → host", cases);
    }

    fn hashing(&mut self) {
        let (nas, file) = self.nas_copy();
        let (nas, file) = (&nas, &file);
        // Warm the page cache, as every earlier row already read the file from it.
        ok(Command::new("cat").arg(file).stdout(Stdio::null()));
        let none = |_: &Bench, _: usize| {};
        let cases = vec![
            case(
                "**Lifeboat** `sha2` over 1 MiB reads",
                Kind::Lifeboat,
                move |b, _| {
                    let mut f = std::fs::File::open(file).unwrap();
                    let mut buf = vec![0u8; 1 << 20];
                    let mut h = Sha256::new();
                    loop {
                        let n = f.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                    assert_eq!(lifeboat::core::manifest::hex(&h.finalize()), b.sha);
                },
                none,
            ),
            case(
                "**Lifeboat** `NasStore::get` + `transfer::hash_in_store` (scrub's path)",
                Kind::Lifeboat,
                move |b, _| {
                    let (n, sha) = b.rt.block_on(hash_in_store(nas, JOB, ID, FILE)).unwrap();
                    assert_eq!((n, sha.as_str()), (b.size, b.sha.as_str()));
                },
                none,
            ),
            case(
                "`openssl dgst -sha256`",
                Kind::Alternative,
                move |_, _| ok(Command::new("openssl").args(["dgst", "-sha256"]).arg(file)),
                none,
            ),
            case(
                "`sha256sum`",
                Kind::Alternative,
                move |_, _| ok(Command::new("sha256sum").arg(file)),
                none,
            ),
        ];
        self.measure("SHA-256 of the NAS copy", cases);
    }

    /// What NAS + S3 costs by hand: the best pull alternative, then the best `aws s3 cp`
    /// (the sum of their medians), beside Lifeboat's NAS + S3 rows.
    fn by_hand_to_both(&mut self) {
        let best = |step: &str| {
            self.rows
                .iter()
                .filter(|r| r.step == step && r.kind == Kind::Alternative)
                .min_by(|a, b| a.median().total_cmp(&b.median()))
                .map(|r| {
                    let cpu = |f: fn(&(f64, f64)) -> f64| {
                        median(&r.cpu.iter().map(f).collect::<Vec<_>>())
                    };
                    (r.name.clone(), r.median(), cpu(|c| c.0), cpu(|c| c.1))
                })
        };
        let (Some(pull), Some(up)) = (best(PULL), best(TO_S3)) else {
            return;
        };
        self.rows.push(Row {
            step: PULL,
            name: format!(
                "{}, then {} (by hand to both: sum of the two medians)",
                pull.0, up.0
            ),
            kind: Kind::Equivalent,
            secs: vec![pull.1 + up.1],
            cpu: vec![(pull.2 + up.2, pull.3 + up.3)],
            derived: true,
        });
    }

    /// The markdown table: one row per measurement, with the ratio of its rate to the
    /// fastest plain alternative of the same step (> 1 is faster).
    fn table(&self) -> String {
        let mut t = String::from(
            "| Step | Tool | Runs (s) | Median (s) | MiB/s | × best alternative | CPU s, ours + server |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
        );
        let mut steps: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !steps.contains(&r.step) {
                steps.push(r.step);
            }
        }
        let mib = self.size as f64 / MIB;
        for step in steps {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.step == step).collect();
            let best = rows
                .iter()
                .filter(|r| r.kind == Kind::Alternative)
                .map(|r| r.median())
                .fold(f64::INFINITY, f64::min);
            for r in rows {
                let m = r.median();
                let ratio = if best.is_finite() {
                    let x = best / m;
                    if r.kind == Kind::Alternative && m == best {
                        format!("{x:.2} (best)")
                    } else {
                        format!("{x:.2}")
                    }
                } else {
                    "—".into()
                };
                let runs = if r.derived {
                    "(sum)".to_string()
                } else {
                    r.secs
                        .iter()
                        .map(|s| format!("{s:.2}"))
                        .collect::<Vec<_>>()
                        .join(" / ")
                };
                let ours = median(&r.cpu.iter().map(|c| c.0).collect::<Vec<_>>());
                let server = median(&r.cpu.iter().map(|c| c.1).collect::<Vec<_>>());
                t.push_str(&format!(
                    "| {step} | {} | {runs} | {m:.2} | {:.0} | {ratio} | {ours:.1} + {server:.1} |\n",
                    r.name,
                    mib / m
                ));
            }
        }
        t
    }

    /// What was measured, where and how: the lines above the table.
    fn preamble(&self, command: &str) -> String {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let mem = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .next()
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
            .map_or(0, |k| k / (1024 * 1024));
        let loads = &self.loads;
        let (lo, hi) = loads.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
        let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        format!(
            "Command: `{command}` — date: {date} — machine: {cores} cores (`nproc`), {cpu}, {mem} GiB RAM; \
             1-minute load average before the timed runs {lo:.1}–{hi:.1} (median {med:.1}).\n\
             Tools: {ssh}; {rsync}; {aws}; {openssl}; s3s-fs 0.14.1; all on loopback, all files in the page cache.\n\n\
             One {mib:.0} MiB random file. Each row: {reps} run(s), interleaved with the other rows of its step (so \
             load from elsewhere falls on all alike), the median reported; MiB/s = 2^20 bytes per second of wall \
             time, connection set-up and tool start-up included. \"× best alternative\" is the row's rate over the \
             fastest plain alternative of the same step (above 1 is faster). \"CPU s\" is the median CPU time of \
             one run: this process and the tools it ran, + sshd and s3s-fs (the server side).\n",
            med = median(loads),
            ssh = version("ssh", &["-V"]),
            rsync = version("rsync", &["--version"]),
            aws = version("aws", &["--version"]),
            openssl = version("openssl", &["version"]),
            mib = self.size as f64 / MIB,
            reps = self.reps,
        )
    }

    /// Replaces the generated part of the "Checkpoints (issue 5)" section of
    /// BENCHMARKS.md (between its markers), keeping everything else.
    fn write_report(&self, preamble: &str, table: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
        let mut gen = format!("{MARK_BEGIN}\n{preamble}\n{table}");
        for n in &self.notes {
            gen.push_str(&format!("\nNote: {n}\n"));
        }
        gen.push_str(MARK_END);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let new = match (old.find(MARK_BEGIN), old.find(MARK_END)) {
            (Some(a), Some(z)) if a < z => {
                format!("{}{gen}{}", &old[..a], &old[z + MARK_END.len()..])
            }
            _ => {
                let mut s = if old.is_empty() {
                    "# Benchmarks\n".to_string()
                } else {
                    old.trim_end().to_string() + "\n"
                };
                s.push_str(&format!("\n## {HEADING}\n\n{gen}\n"));
                s
            }
        };
        std::fs::write(&path, new).unwrap();
        println!("(table written to {})", path.display());
    }
}

const PULL: &str = "Pull host → NAS";
const TO_S3: &str = "NAS → S3";
const HEADING: &str = "Checkpoints (issue 5)";
const MARK_BEGIN: &str =
    "<!-- checkpoints bench: generated by `cargo bench --bench checkpoints`, begin -->";
const MARK_END: &str = "<!-- checkpoints bench: end -->";

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
        (1u64 << 30, 3)
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
