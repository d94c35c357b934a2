//! Three real sshd "hosts" on loopback for failover tests: `h1` (primary, one GPU), `h2`
//! (a warm GPU standby) and `h3` (a CPU standby, no GPU); `h1` and `h2` have two GPUs. Each host has its own work
//! folder (`$HOST_DIR/work`) and run folder (`LIFEBOAT_RUN_DIR`), so a checkpoint on the
//! standby is there only because Lifeboat restored it. `nvidia-smi` is a stand-in that
//! replays the H100 fixture (there is no GPU here). The job is `assets/jobs/toy_job.sh`:
//! a step counter that writes a checkpoint every 50 steps.

#![allow(dead_code)]

use super::sshd;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Bed {
    pub hosts: Vec<sshd::Sshd>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub state: PathBuf,
    pub nas: PathBuf,
    pub job: String,
}

/// `strategies` is the job's chain, e.g. `["warm-standby", "cpu-standby", "escalate"]`;
/// the standbys are `h2:0` then `h3`.
pub fn start(name: &str, strategies: &[&str]) -> Bed {
    start_with(name, strategies, &["h2:0", "h3"])
}

/// [`start`] with the job's standby list, e.g. `["h2:0", "h1:1"]` to move back and forth.
pub fn start_with(name: &str, strategies: &[&str], standby: &[&str]) -> Bed {
    start_full(name, strategies, standby, "")
}

/// [`start_with`] plus extra lines for the `[[job]]` table (`prestage = true`, `env = …`).
pub fn start_full(name: &str, strategies: &[&str], standby: &[&str], job_extra: &str) -> Bed {
    start_tuned(name, strategies, standby, job_extra, "")
}

/// [`start_full`] plus top-level tables after the settings (`[detection]` …).
pub fn start_tuned(
    name: &str,
    strategies: &[&str],
    standby: &[&str],
    job_extra: &str,
    tables: &str,
) -> Bed {
    // The hosts run Lifeboat's scripts with `sh -s`: the fence must hold under dash, whose
    // `kill` differs from bash's, as on every Debian and Ubuntu host.
    let sh = std::fs::canonicalize("/bin/sh").unwrap();
    assert!(
        sh.ends_with("dash"),
        "these hosts' sh is {} — the failover tests are meant to run where sh is dash",
        sh.display()
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let gpu_tools = dir.path().join("gpu-standins");
    let cpu_tools = dir.path().join("cpu-standins");
    for d in [&gpu_tools, &cpu_tools] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/nvidia-smi/h100-idle.csv"
    );
    let tool = gpu_tools.join("nvidia-smi");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\n# STAND-IN for nvidia-smi (no GPU here): the H100 fixture as GPUs 0 and 1\n\
             case \"$*\" in *compute-apps*) exit 0 ;; esac\n\
             sed 's/, 1$/, 2/' {fixture}\n\
             sed 's/, 1$/, 2/; s/^0, GPU-3a4bf3b5/1, GPU-3a4bf3b6/; s/00:06[.]0/00:07.0/' {fixture}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let host = |n: &str, tools: &Path| {
        let runs = dir.path().join(format!("runs-{n}"));
        std::fs::create_dir_all(&runs).unwrap();
        std::fs::set_permissions(&runs, std::fs::Permissions::from_mode(0o777)).unwrap();
        sshd::Sshd::with(
            &format!("{name}-{n}"),
            sshd::Options {
                standins: Some(tools.to_path_buf()),
                env: vec![("LIFEBOAT_RUN_DIR".into(), runs.display().to_string())],
                ..sshd::Options::default()
            },
        )
    };
    let hosts = vec![
        host("h1", &gpu_tools),
        host("h2", &gpu_tools),
        host("h3", &cpu_tools),
    ];
    let nas = dir.path().join("nas");
    std::fs::create_dir_all(&nas).unwrap();
    let job = format!("{name}-{}", std::process::id());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/jobs/toy_job.sh");
    let mut text = String::from(
        "[settings]\nprofile = \"lan\"\n\n[recovery]\nrestart_budget = 20\nreturn_after = \"15s\"\n\n[recovery.timeouts]\nverify = \"10s\"\n\n",
    );
    text.push_str(tables);
    for (h, (role, gpus)) in hosts
        .iter()
        .zip([("primary", 2), ("standby", 2), ("cpu-standby", 0)])
    {
        let s = h.spec();
        text.push_str(&format!(
            "[[host]]\nname = \"{n}\"\naddress = \"{a}:{p}\"\nuser = \"{u}\"\nrole = \"{role}\"\n{g}ssh_key = \"{k}\"\nknown_hosts = \"{kh}\"\n\n",
            n = &h.name[name.len() + 1..],
            a = s.address,
            p = s.port,
            u = s.user.clone().unwrap(),
            g = if gpus > 0 { format!("gpus = {gpus}\n") } else { String::new() },
            k = s.ssh_key.clone().unwrap().display(),
            kh = s.ssh.known_hosts.clone().unwrap().display(),
        ));
    }
    let chain: Vec<String> = strategies.iter().map(|s| format!("\"{s}\"")).collect();
    // The job runs with two workers, as a trainer with dataloaders does (one ignores
    // SIGTERM); a caller's own `env` table gets them too.
    let job_extra = if job_extra.contains("env = {") {
        job_extra.replacen("env = {", "env = { TOY_WORKERS = \"2\",", 1)
    } else {
        format!("env = {{ TOY_WORKERS = \"2\" }}\n{job_extra}")
    };
    text.push_str(&format!(
        r#"[[job]]
name = "{job}"
host = "h1"
gpu = 0
workdir = "$HOST_DIR/work"
launch = "sh {script} --resume {{checkpoint}}"
heartbeat = "$HOST_DIR/work/heartbeat"
checkpoint_dir = "$HOST_DIR/work/ckpt"
standby = [{standby}]
strategies = [{chain}]
{job_extra}

[storage]
nas = "{nas}"
"#,
        chain = chain.join(", "),
        standby = standby
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", "),
        nas = nas.display(),
    ));
    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, text).unwrap();
    // The job starts in its work folder on the primary.
    let work = hosts[0].path("host").join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    Bed {
        state: dir.path().join("state"),
        hosts,
        dir,
        config,
        nas,
        job,
    }
}

impl Bed {
    /// A machine a provider rents out: a fresh sshd with its own run dir that knows the
    /// fleet's client key (a provider puts the account's key on every instance it rents).
    /// Its job copies are killed when it is dropped (the bed only knows its own hosts).
    pub fn rented_machine(&self, name: &str) -> Rented {
        let runs = self.dir.path().join(format!("runs-{name}"));
        std::fs::create_dir_all(&runs).unwrap();
        std::fs::set_permissions(&runs, std::fs::Permissions::from_mode(0o777)).unwrap();
        let sshd = sshd::Sshd::with(
            name,
            sshd::Options {
                standins: Some(self.dir.path().join("gpu-standins")),
                env: vec![("LIFEBOAT_RUN_DIR".into(), runs.display().to_string())],
                ..sshd::Options::default()
            },
        );
        let key = std::fs::read_to_string(self.host(1).path("client_key.pub")).unwrap();
        let mut keys = std::fs::read_to_string(sshd.path("authorized_keys")).unwrap();
        keys.push_str(&key);
        std::fs::write(sshd.path("authorized_keys"), keys).unwrap();
        Rented {
            job_runs: runs.join(&self.job),
            runs,
            sshd,
        }
    }

    pub fn host(&self, n: usize) -> &sshd::Sshd {
        &self.hosts[n - 1]
    }

    pub fn host_mut(&mut self, n: usize) -> &mut sshd::Sshd {
        &mut self.hosts[n - 1]
    }

    /// The job's run folder on host `n` (pid, log and gpu files per epoch).
    pub fn runs(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("runs-h{n}")).join(&self.job)
    }

    /// The job's work folder on host `n`.
    pub fn work(&self, n: usize) -> PathBuf {
        self.host(n).path("host").join("work")
    }

    /// `(epoch, pid)` of every run of the job on host `n` whose process is alive.
    pub fn alive(&self, n: usize) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.runs(n)) else {
            return out;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(epoch) = name
                .strip_prefix('e')
                .and_then(|s| s.strip_suffix(".pid"))
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            let pid = std::fs::read_to_string(e.path()).unwrap_or_default();
            let Ok(pid) = pid.trim().parse::<u32>() else {
                continue;
            };
            if pid > 1 && alive(pid) {
                out.push((epoch, pid));
            }
        }
        out
    }

    /// `(epoch, pid)` of every live process, on any host, that belongs to a run of the
    /// job (it carries the run's `LIFEBOAT_RUN` marker, workers included), found in /proc
    /// independently of Lifeboat's pid files.
    pub fn run_processes(&self) -> Vec<(u64, u32)> {
        // The marker's value: `<job>:<epoch>:<run-folder key>:`.
        sshd::with_env(&format!("LIFEBOAT_RUN={}:", self.job))
            .into_iter()
            .filter_map(|(pid, rest)| Some((rest.split(':').next()?.parse().ok()?, pid)))
            .collect()
    }

    /// Every live run of the job, on any host: `(host, epoch, pid)`.
    pub fn all_alive(&self) -> Vec<(usize, u64, u32)> {
        (1..=self.hosts.len())
            .flat_map(|n| self.alive(n).into_iter().map(move |(e, p)| (n, e, p)))
            .collect()
    }

    /// Signals the process group of every run of the job on host `n`.
    pub fn signal_runs(&self, n: usize, sig: &str) {
        for (_, pid) in self.alive(n) {
            let _ = Command::new("kill")
                .args([&format!("-{sig}"), "--", &format!("-{pid}")])
                .status();
        }
    }

    /// The step in the job's heartbeat on host `n`.
    pub fn step(&self, n: usize) -> Option<u64> {
        let hb = std::fs::read_to_string(self.work(n).join("heartbeat")).ok()?;
        hb.split_whitespace().next()?.parse().ok()
    }

    /// What the run of `epoch` on host `n` printed.
    pub fn log(&self, n: usize, epoch: u64) -> String {
        std::fs::read_to_string(self.runs(n).join(format!("e{epoch}.log"))).unwrap_or_default()
    }

    /// Starts `lifeboat --headless --json` on this bed.
    pub fn console(&self, duration: &str) -> Console {
        self.console_in(duration, &self.state)
    }

    /// [`console`] with a state folder of its own (a second Lifeboat, or one whose state
    /// was lost).
    pub fn console_in(&self, duration: &str, state: &Path) -> Console {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(["--headless", "--json", "--duration", duration, "--config"])
            .arg(&self.config)
            .arg("--state-dir")
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.dir.path().join("console.err")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&l) {
                    let _ = tx.send(v);
                }
            }
        });
        Console {
            child,
            lines,
            seen: Vec::new(),
            stderr: self.dir.path().join("console.err"),
        }
    }

    /// The effects journaled as started but not finished (what a crash interrupted).
    pub fn open_intents(&self) -> Vec<String> {
        let db = rusqlite::Connection::open(self.state.join("journal.db")).unwrap();
        let mut q = db
            .prepare("SELECT effect FROM intents WHERE done_ts IS NULL ORDER BY op")
            .unwrap();
        let rows = q
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows
    }

    /// Events of `kind` in the journal, oldest first.
    pub fn journal(&self, kind: &str) -> Vec<Value> {
        let db = rusqlite::Connection::open(self.state.join("journal.db")).unwrap();
        let mut q = db
            .prepare("SELECT body FROM events WHERE kind = ?1 ORDER BY seq")
            .unwrap();
        let rows = q
            .query_map([kind], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
            .collect();
        rows
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for n in 1..=self.hosts.len() {
            self.signal_runs(n, "CONT");
            self.signal_runs(n, "KILL");
        }
        // Whatever the job became (workers, orphans), wherever it went: by its folders,
        // and by the run marker every process of the job carries.
        sshd::kill_until_gone(|| sshd::processes_under(self.dir.path()));
        sshd::kill_until_gone(|| self.run_processes().iter().map(|(_, p)| *p).collect());
    }
}

/// Polls `f` for up to `secs`; panics naming `what` if it never holds.
pub fn eventually(secs: u64, what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: still not so after {secs}s");
}

pub fn alive(pid: u32) -> bool {
    sshd::running(pid)
}

/// A running `lifeboat --headless --json` and the events it printed.
pub struct Console {
    pub child: Child,
    lines: mpsc::Receiver<Value>,
    pub seen: Vec<Value>,
    stderr: PathBuf,
}

impl Console {
    /// Waits up to `secs` for an event matching `want`; panics with what was seen.
    pub fn wait(&mut self, secs: u64, want: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Ok(v) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(v.clone());
                if want(&v) {
                    return v;
                }
            }
        }
        panic!(
            "not seen in {secs}s; stderr: {}\nsaw:\n{}",
            std::fs::read_to_string(&self.stderr).unwrap_or_default(),
            self.seen
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Like [`Console::wait`], but an event seen before counts too.
    pub fn seen_or_wait(&mut self, secs: u64, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| want(v)) {
            return v.clone();
        }
        self.wait(secs, want)
    }

    /// Takes in every event the console printed so far.
    pub fn drain(&mut self) {
        while let Ok(v) = self.lines.try_recv() {
            self.seen.push(v);
        }
    }

    /// Events seen so far that match `want`.
    pub fn count(&self, want: impl Fn(&Value) -> bool) -> usize {
        self.seen.iter().filter(|v| want(v)).count()
    }

    /// Kills the console hard (SIGKILL), as a crash would.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.crash();
    }
}

/// A rented machine from [`Bed::rented_machine`].
pub struct Rented {
    pub sshd: sshd::Sshd,
    pub runs: PathBuf,
    job_runs: PathBuf,
}

impl Drop for Rented {
    fn drop(&mut self) {
        let Ok(dir) = std::fs::read_dir(&self.job_runs) else {
            return;
        };
        for e in dir.flatten() {
            if e.path().extension().is_some_and(|x| x == "pid") {
                if let Ok(pid) = std::fs::read_to_string(e.path()) {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{}", pid.trim())])
                        .status();
                }
            }
        }
    }
}
