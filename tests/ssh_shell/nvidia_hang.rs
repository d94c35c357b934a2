//! A hung nvidia-smi on a real sshd host: the probe whose deadline passed leaves its query
//! behind (GNU `timeout` leads its own process group; a closed channel signals nothing),
//! so later probes must not start another one each, and nothing may outlive the hang.

use super::*;
use lifeboat::core::gpu::{GpuFailure, GpuReadout};
use lifeboat::core::probe_parse::parse_probe;
use lifeboat::core::time::Ts;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

/// Ignores SIGTERM like a wedged driver call, so only `timeout`'s KILL ends it.
const HANGING: &str = "#!/bin/sh\n# STAND-IN for nvidia-smi: hangs\necho $$ >> \"$HOST_DIR/nvidia-smi.started\"\ntrap '' TERM\nwhile :; do sleep 1; done\n";

/// Processes started for this host's sessions, orphans included: they carry its
/// `HOST_DIR` in their environment.
fn host_processes(mark: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(env) = fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|v| v == mark.as_bytes()) {
            let cmd = fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            out.push((pid, cmd));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_nvidia_smi_runs_once_across_probes_and_leaves_nothing_behind() {
    let standins = tempfile::tempdir().unwrap();
    let tool = standins.path().join("nvidia-smi");
    fs::write(&tool, HANGING).unwrap();
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(standins.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let runs = tempfile::tempdir().unwrap();
    fs::set_permissions(runs.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let h = Sshd::with(
        "wedged",
        sshd::Options {
            standins: Some(standins.path().to_path_buf()),
            // Its own run dir: the test user's home is shared with every other test host.
            env: vec![("LIFEBOAT_RUN_DIR".into(), runs.path().display().to_string())],
            ..sshd::Options::default()
        },
    );
    let spec = h.spec();
    let sh = shell(&spec);
    let script = lifeboat::runtime::scripts::probe(&[]);
    let mark = format!("HOST_DIR={}", h.path("host").display());
    // The first probe's nvidia-smi hangs past the probe's deadline.
    let limit = Duration::from_secs(1);
    assert_eq!(
        sh.run(&spec, &script, limit, CAP).await,
        Err(ShellError::Timeout(limit))
    );
    // Later probes find it still running: they answer "hung" and start no other.
    for round in 0..3 {
        let out = sh
            .run(&spec, &script, Duration::from_secs(20), CAP)
            .await
            .unwrap_or_else(|e| panic!("probe {round}: {e}"));
        let (report, _) = parse_probe(&text(&out.stdout), Ts(0), Duration::ZERO).unwrap();
        assert!(
            matches!(
                report.gpu,
                GpuReadout::Failed {
                    failure: GpuFailure::Timeout,
                    ..
                }
            ),
            "probe {round}: {:?}\n{}",
            report.gpu,
            text(&out.stdout)
        );
    }
    let started = fs::read_to_string(h.path("host/nvidia-smi.started")).unwrap_or_default();
    assert_eq!(started.lines().count(), 1, "nvidia-smi started: {started}");
    // Once `timeout` kills the hung query, nothing of any probe is left on the host.
    let until = Instant::now() + Duration::from_secs(60);
    let mut left = host_processes(&mark);
    while !left.is_empty() && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = host_processes(&mark);
    }
    if !left.is_empty() {
        let pids: Vec<String> = left.iter().map(|(p, _)| p.to_string()).collect();
        let _ = Command::new("kill").arg("-9").args(&pids).status();
        panic!("left behind on the host: {left:?}");
    }
}
