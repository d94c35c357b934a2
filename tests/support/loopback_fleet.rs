//! A one-host fleet on a real loopback sshd for end-to-end tests: a stand-in `nvidia-smi`
//! (there is no GPU here) replaying the H100 fixture, the toy job, and a config file.

#![allow(dead_code)]

use super::sshd;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

pub struct LoopbackFleet {
    pub host: sshd::Sshd,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub job: String,
}

pub fn start(name: &str) -> LoopbackFleet {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let standins = dir.path().join("standins");
    std::fs::create_dir_all(&standins).unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/nvidia-smi/h100-idle.csv"
    );
    let tool = standins.join("nvidia-smi");
    std::fs::write(&tool, format!("#!/bin/sh\n# STAND-IN for nvidia-smi\ncase \"$*\" in *compute-apps*) exit 0 ;; esac\ncat {fixture}\n")).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&standins, std::fs::Permissions::from_mode(0o755)).unwrap();
    let host = sshd::Sshd::with(
        name,
        sshd::Options {
            standins: Some(standins),
            ..sshd::Options::default()
        },
    );
    let spec = host.spec();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    let job = format!("{name}-{}", std::process::id());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/jobs/toy_job.sh");
    let text = format!(
        r#"[settings]
profile = "lan"

[[host]]
name = "box"
address = "{addr}:{port}"
user = "{user}"
role = "primary"
gpus = 1
ssh_key = "{key}"
known_hosts = "{kh}"

[[job]]
name = "{job}"
host = "box"
gpu = 0
workdir = "{work}"
launch = "sh {script} --resume {{checkpoint}}"
heartbeat = "{work}/heartbeat"
checkpoint_dir = "{work}/ckpt"
strategies = ["restart-in-place", "escalate"]

[storage]
nas = "{work}/nas"
# These tests prune by hand (and count what is left); auto_prune has its own tests.
auto_prune = false
"#,
        addr = spec.address,
        port = spec.port,
        user = spec.user.clone().unwrap(),
        key = spec.ssh_key.clone().unwrap().display(),
        kh = spec.ssh.known_hosts.clone().unwrap().display(),
        work = work.display(),
    );
    let config = dir.path().join("fleet.toml");
    std::fs::write(&config, text).unwrap();
    LoopbackFleet {
        host,
        dir,
        config,
        job,
    }
}

impl LoopbackFleet {
    /// Where the test user's runs of this fleet's job live on the host.
    pub fn runs(&self) -> PathBuf {
        PathBuf::from("/home/lifeboat-test/.lifeboat/runs").join(&self.job)
    }

    /// Kills every run of the job (by process group), leaving nothing behind.
    pub fn kill_runs(&self) {
        let Ok(rd) = std::fs::read_dir(self.runs()) else {
            return;
        };
        for e in rd.flatten() {
            if e.path().extension().is_none_or(|x| x != "pid") {
                continue;
            }
            let pid = std::fs::read_to_string(e.path()).unwrap_or_default();
            // Only a real job's process group: never 0 or 1, which would hit the test itself.
            if pid.trim().parse::<u32>().is_ok_and(|p| p > 1) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", pid.trim())])
                    .status();
            }
        }
    }
}

impl Drop for LoopbackFleet {
    fn drop(&mut self) {
        self.kill_runs();
        let _ = std::fs::remove_dir_all(self.runs());
    }
}
