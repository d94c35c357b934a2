//! Real OpenSSH `sshd` hosts on loopback for integration tests (see shared TESTBED.md):
//! each [`Sshd`] has its own temp dir, host key, client key, authorized_keys and a
//! known_hosts for the client, runs `/usr/sbin/sshd -D -e` on a free port, logs in the
//! `lifeboat-test` user, and is killed by PID (with its session processes) on drop.
//! Faults: [`Sshd::pause`] (SIGSTOP), [`Sshd::kill`], [`Sshd::regenerate_host_key`].
//!
//! Include it with `#[path = "support/sshd.rs"] mod sshd;`.

#![allow(dead_code, clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use lifeboat::core::fleet::{Access, HostKeyPolicy, HostSpec, Role, SshOptions};
use lifeboat::core::ids::HostId;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";
pub const USER: &str = "lifeboat-test";

/// How to set up one host.
#[derive(Clone, Debug)]
pub struct Options {
    /// `ssh-keygen -t` of the host key.
    pub host_key_type: &'static str,
    /// `ssh-keygen -t` of the client key.
    pub client_key_type: &'static str,
    /// Encrypts the client key with this passphrase.
    pub client_passphrase: Option<String>,
    /// Directory put first on the session's PATH (stand-ins such as `nvidia-smi`).
    pub standins: Option<PathBuf>,
    /// Extra sshd_config lines.
    pub extra_config: String,
    /// Extra session variables (sshd takes only its first `SetEnv` line, so they go there).
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            host_key_type: "ed25519",
            client_key_type: "ed25519",
            client_passphrase: None,
            standins: None,
            extra_config: String::new(),
            env: Vec::new(),
        }
    }
}

/// One sshd "host" on 127.0.0.1.
pub struct Sshd {
    pub name: String,
    pub address: String,
    pub port: u16,
    /// Holds keys, config, logs and `host/` (the host's writable work dir, `$HOST_DIR`).
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

fn run(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Creates the test user (once per process; tolerates other processes doing it too).
pub fn ensure_user() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (scripts/test.sh does)"
        );
        let _ = fs::create_dir_all("/run/sshd");
        let _ = fs::set_permissions("/run/sshd", fs::Permissions::from_mode(0o755));
        if !run(Command::new("id").arg("-u").arg(USER)) {
            let _ = run(Command::new("useradd").args(["-m", "-s", "/bin/bash", USER]));
            assert!(
                run(Command::new("id").arg("-u").arg(USER)),
                "cannot create user {USER} (tests must run as root)"
            );
        }
        // sshd without PAM refuses locked accounts; '*' = no password, not locked.
        assert!(run(Command::new("usermod").args(["-p", "*", USER])));
    });
}

/// Lets the test user change the firewall through passwordless sudo, as an ops account
/// on a real host may: the drills' host faults cut a host's SSH port with iptables.
/// Like the user, the rule stays for later runs.
#[allow(dead_code)]
pub fn allow_firewall() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        ensure_user();
        for tool in ["/usr/bin/sudo", "/usr/sbin/iptables"] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install sudo and iptables (scripts/test.sh does)"
            );
        }
        let rule = format!("{USER} ALL=(root) NOPASSWD: /usr/sbin/iptables, /usr/sbin/ip6tables\n");
        let path = Path::new("/etc/sudoers.d/lifeboat-test-firewall");
        if fs::read_to_string(path).ok().as_deref() != Some(rule.as_str()) {
            let tmp = path.with_extension("tmp");
            fs::write(&tmp, &rule).expect("write the sudoers rule");
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o440)).expect("chmod 0440");
            fs::rename(&tmp, path).expect("install the sudoers rule");
        }
    });
}

/// `ssh-keygen` a key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path, kind: &str, passphrase: &str) {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(path.with_extension("pub"));
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", passphrase, "-C", "", "-f"])
        .arg(path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    assert!(run(&mut cmd), "ssh-keygen -t {kind} failed");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The first line of a `.pub` file, without its comment: `type base64`.
pub fn public_key(path: &Path) -> String {
    let text = fs::read_to_string(path).expect("public key");
    let mut f = text.split_whitespace();
    format!("{} {}", f.next().unwrap_or(""), f.next().unwrap_or(""))
}

/// PIDs of every descendant of `pid`, from /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(pp) = ppid {
                parents.push((p, pp));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (c, _) in parents.iter().filter(|(_, pp)| *pp == p) {
            out.push(*c);
            frontier.push(*c);
        }
    }
    out
}

/// Whether `pid` runs: it exists and is not a zombie (/proc/PID/stat's state field).
pub fn running(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z")
}

/// Running processes whose environment holds a variable starting with `prefix` (e.g.
/// `LIFEBOAT_RUN=train:`), each with the rest of that variable's text.
#[allow(dead_code)]
pub fn with_env(prefix: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = fs::read(e.path().join("environ")) else {
            continue;
        };
        let rest = env
            .split(|b| *b == 0)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| v.strip_prefix(prefix).map(str::to_string));
        if let Some(rest) = rest.filter(|_| running(pid)) {
            out.push((pid, rest));
        }
    }
    out
}

/// PIDs of every live process whose working directory lies under `dir`, or whose
/// environment names a path under it: what a test's jobs became, wherever they were
/// re-parented and whatever session they moved to.
#[allow(dead_code)]
pub fn processes_under(dir: &Path) -> Vec<u32> {
    let needle = dir.to_string_lossy().into_owned();
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if p == std::process::id() || !running(p) {
            continue;
        }
        let cwd = fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(dir));
        let env = fs::read(e.path().join("environ"))
            .is_ok_and(|v| v.windows(needle.len()).any(|w| w == needle.as_bytes()));
        if cwd || env {
            out.push(p);
        }
    }
    out
}

/// Kills (frozen ones too) whatever `find` lists until it lists nothing or 5 s have
/// passed; returns what survived.
#[allow(dead_code)]
pub fn kill_until_gone(find: impl Fn() -> Vec<u32>) -> Vec<u32> {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let left = find();
        if left.is_empty() || Instant::now() > end {
            return left;
        }
        signal("CONT", &left);
        signal("KILL", &left);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let mut cmd = Command::new("kill");
    cmd.arg(format!("-{sig}"));
    for p in pids {
        cmd.arg(p.to_string());
    }
    let _ = run(&mut cmd);
}

impl Sshd {
    /// A host with the default options.
    pub fn start(name: &str) -> Self {
        Self::with(name, Options::default())
    }

    pub fn with(name: &str, opts: Options) -> Self {
        ensure_user();
        let dir = tempfile::Builder::new()
            .prefix(&format!("lifeboat-sshd-{name}-"))
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        // The test user reads authorized_keys and works in host/.
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all(d.join("host")).expect("host dir");
        fs::set_permissions(d.join("host"), fs::Permissions::from_mode(0o777)).expect("chmod");
        // The host's own temp folder: what scripts there leave in $TMPDIR is seen (and
        // removed) with the host, never strewn in this machine's /tmp.
        fs::create_dir_all(d.join("host/tmp")).expect("host tmp");
        fs::set_permissions(d.join("host/tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod");
        keygen(&d.join("host_key"), opts.host_key_type, "");
        keygen(
            &d.join("client_key"),
            opts.client_key_type,
            opts.client_passphrase.as_deref().unwrap_or(""),
        );
        fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).expect("authorized_keys");
        fs::set_permissions(d.join("authorized_keys"), fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let mut path = String::new();
        if let Some(s) = &opts.standins {
            path.push_str(&format!("{}:", s.display()));
        }
        path.push_str("/usr/local/bin:/usr/bin:/bin");
        let mut host = Self {
            name: name.to_string(),
            address: "127.0.0.1".into(),
            port: 0,
            dir,
            child: None,
        };
        for _ in 0..5 {
            host.port = free_port();
            host.write_config(&path, &opts);
            if host.spawn() {
                host.write_known_hosts();
                return host;
            }
        }
        panic!("sshd for {name} did not start:\n{}", host.log());
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn write_config(&self, path: &str, opts: &Options) {
        let d = self.dir.path().display();
        let extra = &opts.extra_config;
        let env: String = opts.env.iter().map(|(k, v)| format!(" {k}={v}")).collect();
        let text = format!(
            "Port {port}\nListenAddress {addr}\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nAllowTcpForwarding yes\nMaxSessions 20\n\
             MaxStartups 100:30:200\nLogLevel VERBOSE\n\
             SetEnv HOST_NAME={name} HOST_DIR={d}/host TMPDIR={d}/host/tmp PATH={path}{env}\n\
             Subsystem sftp internal-sftp\n{extra}\n",
            port = self.port,
            addr = self.address,
            name = self.name,
        );
        fs::write(self.path("sshd_config"), text).expect("sshd_config");
    }

    /// Starts sshd and waits until it listens; false if it exited (e.g. port taken).
    fn spawn(&mut self) -> bool {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("sshd.log"))
            .expect("log");
        let start_len = fs::metadata(self.path("sshd.log"))
            .map(|m| m.len())
            .unwrap_or(0) as usize;
        let mut child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(self.path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn sshd");
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            let log = fs::read(self.path("sshd.log")).unwrap_or_default();
            let fresh = String::from_utf8_lossy(log.get(start_len..).unwrap_or_default());
            if fresh.contains("Server listening on") {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// The client's known_hosts, holding this host's current key.
    pub fn write_known_hosts(&self) {
        let line = format!(
            "[{}]:{} {}\n",
            self.address,
            self.port,
            public_key(&self.path("host_key.pub"))
        );
        fs::write(self.path("known_hosts"), line).expect("known_hosts");
    }

    /// Appends a line to the client's known_hosts.
    pub fn append_known_hosts(&self, line: &str) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path("known_hosts"))
            .expect("known_hosts");
        writeln!(f, "{line}").expect("write known_hosts");
    }

    /// The `HostSpec` the transport needs to reach this host as the test user.
    pub fn spec(&self) -> HostSpec {
        HostSpec {
            id: HostId::new(self.name.clone()),
            address: self.address.clone(),
            port: self.port,
            user: Some(USER.into()),
            role: Role::Primary,
            gpus: 0,
            ssh_key: Some(self.path("client_key")),
            ssh: SshOptions {
                known_hosts: Some(self.path("known_hosts")),
                host_key_policy: HostKeyPolicy::Strict,
                key_passphrase_env: None,
                proxy_jump: None,
            },
            provider: None,
            access: Access::Ssh,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// PIDs of sshd's per-connection processes (and whatever they started).
    pub fn session_pids(&self) -> Vec<u32> {
        self.pid().map(descendants).unwrap_or_default()
    }

    /// Connections sshd is serving now (its direct children).
    pub fn connections(&self) -> usize {
        let Some(pid) = self.pid() else { return 0 };
        let all = descendants(pid);
        all.iter()
            .filter(|p| {
                fs::read_to_string(format!("/proc/{p}/stat"))
                    .ok()
                    .and_then(|s| {
                        s.rsplit_once(')')
                            .and_then(|(_, r)| r.split_whitespace().nth(1).map(str::to_string))
                    })
                    .is_some_and(|pp| pp == pid.to_string())
            })
            .count()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }

    /// Freezes the host: SIGSTOP to sshd and every session process.
    pub fn pause(&self) {
        if let Some(pid) = self.pid() {
            let mut all = vec![pid];
            all.extend(descendants(pid));
            signal("STOP", &all);
        }
    }

    pub fn resume(&self) {
        if let Some(pid) = self.pid() {
            let mut all = vec![pid];
            all.extend(descendants(pid));
            signal("CONT", &all);
        }
    }

    /// Kills sshd and its sessions (SIGKILL, by PID): the host is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let kids = descendants(child.id());
            let _ = child.kill();
            signal("KILL", &kids);
            let _ = child.wait();
        }
    }

    /// Starts sshd again on the same address and port.
    pub fn restart(&mut self) {
        self.kill();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sshd {} did not restart:\n{}", self.name, self.log());
    }

    /// A new host key (the client's known_hosts keeps the old one), then a restart.
    pub fn regenerate_host_key(&mut self) {
        self.kill();
        keygen(&self.path("host_key"), "ed25519", "");
        self.restart();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            // A paused host must be able to die.
            let mut all = vec![pid];
            all.extend(descendants(pid));
            signal("CONT", &all);
        }
        self.kill();
        // A session process forked just after `kill` looked (a pipeline's next stage)
        // outlives sshd: anything still working in, or naming, this host's folder goes too.
        kill_until_gone(|| processes_under(self.dir.path()));
    }
}
