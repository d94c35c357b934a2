//! Cost of one probe cycle over N persistent SSH connections (N = 1, 10, 100, all to one
//! loopback sshd), then over M separate loopback sshd hosts (M = 10, 50, 200: one sshd each,
//! with its own host key, client key and known_hosts, as a fleet is): CPU time of this
//! process per probe, the sshd side's, and probes per second, beside the OpenSSH client
//! doing the same probe with a fresh connection each time (what a cron'd
//! `ssh host sh -s < probe.sh` costs). Run with `cargo bench --bench probe_cost`; under
//! `cargo test` it runs one tiny round as a smoke check.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

#[path = "service/procfs.rs"]
mod procfs;
#[path = "../tests/support/sshd.rs"]
mod sshd;

use lifeboat::core::fleet::HostSpec;
use lifeboat::core::ids::HostId;
use lifeboat::runtime::scripts;
use lifeboat::runtime::shell::Shell;
use lifeboat::runtime::ssh::{SshSettings, SshShell};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// (this process's CPU seconds, its waited-for children's).
fn cpu() -> (f64, f64) {
    let own = procfs::cpu_secs(std::process::id(), false);
    (own, procfs::cpu_secs(std::process::id(), true) - own)
}

/// CPU seconds of the sshd side of `hosts`: each listener, and each connection's
/// process with the commands it ran and reaped.
fn sshd_cpu(hosts: &[sshd::Sshd]) -> f64 {
    hosts
        .iter()
        .map(|h| {
            h.pid().map_or(0.0, |p| procfs::cpu_secs(p, false))
                + h.session_pids()
                    .into_iter()
                    .map(|p| procfs::cpu_secs(p, true))
                    .sum::<f64>()
        })
        .sum()
}

/// Probe cycles against `m` separate sshd hosts, started here and stopped after.
fn separate_hosts(rt: &tokio::runtime::Runtime, m: usize, rounds: usize, script: &str) {
    let hosts: Vec<sshd::Sshd> = (0..m)
        .map(|i| sshd::Sshd::start(&format!("p{i}")))
        .collect();
    let specs: Vec<HostSpec> = hosts.iter().map(sshd::Sshd::spec).collect();
    let shell = Arc::new(SshShell::new(specs.clone(), SshSettings::default()));
    let warm = rt.block_on(cycle(&shell, &specs, script));
    assert_eq!(warm, m, "warm-up: only {warm} of {m} hosts answered");
    let (c0, _) = cpu();
    let s0 = sshd_cpu(&hosts);
    let t0 = Instant::now();
    let mut ok = 0;
    for _ in 0..rounds {
        ok += rt.block_on(cycle(&shell, &specs, script));
    }
    let wall = t0.elapsed().as_secs_f64();
    let (c1, _) = cpu();
    let s1 = sshd_cpu(&hosts);
    let per = |x: f64| x * 1000.0 / ok.max(1) as f64;
    println!(
        "M={m:>3} separate sshd hosts: {ok} probes in {wall:.2} s = {:>6.0} probes/s, lifeboat CPU {:.3} ms per probe, sshd side {:.3} ms per probe",
        ok as f64 / wall,
        per(c1 - c0),
        per(s1 - s0)
    );
}

async fn cycle(shell: &Arc<SshShell>, hosts: &[HostSpec], script: &str) -> usize {
    let mut set = tokio::task::JoinSet::new();
    for h in hosts {
        let (sh, s, h) = (shell.clone(), script.to_string(), h.clone());
        set.spawn(async move {
            sh.run(&h, &s, Duration::from_secs(30), 512 * 1024)
                .await
                .is_ok()
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += usize::from(r.unwrap_or(false));
    }
    ok
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let host = sshd::Sshd::with(
        "bench",
        sshd::Options {
            extra_config: "MaxStartups 300\nMaxSessions 50\n".into(),
            ..sshd::Options::default()
        },
    );
    let base = host.spec();
    let script = scripts::probe(&[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sizes: &[usize] = if bench { &[1, 10, 100] } else { &[1, 3] };
    let rounds = if bench { 20 } else { 2 };
    println!(
        "probe cycle over N persistent connections to one loopback sshd ({rounds} cycles each)"
    );
    for &n in sizes {
        let hosts: Vec<HostSpec> = (0..n)
            .map(|i| HostSpec {
                id: HostId::new(format!("h{i}")),
                ..base.clone()
            })
            .collect();
        let shell = Arc::new(SshShell::new(hosts.clone(), SshSettings::default()));
        let warm = rt.block_on(cycle(&shell, &hosts, &script));
        assert_eq!(warm, n, "warm-up: only {warm} of {n} hosts answered");
        let (c0, _) = cpu();
        let t0 = Instant::now();
        let mut ok = 0;
        for _ in 0..rounds {
            ok += rt.block_on(cycle(&shell, &hosts, &script));
        }
        let wall = t0.elapsed().as_secs_f64();
        let (c1, _) = cpu();
        println!(
            "N={n:>3}: {ok} probes in {wall:.2} s = {:>6.0} probes/s, lifeboat CPU {:.3} ms per probe",
            ok as f64 / wall,
            (c1 - c0) * 1000.0 / ok.max(1) as f64
        );
    }
    let fleets: &[usize] = if bench { &[10, 50, 200] } else { &[2] };
    println!("probe cycle over M separate loopback sshd hosts, one connection each ({rounds} cycles each)");
    for &m in fleets {
        separate_hosts(&rt, m, rounds, &script);
    }
    // The OpenSSH client, a new connection per probe, sequential.
    let k = if bench { 20 } else { 2 };
    let (_, ch0) = cpu();
    let t0 = Instant::now();
    for _ in 0..k {
        let mut child = Command::new("ssh")
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                &format!(
                    "UserKnownHostsFile={}",
                    base.ssh.known_hosts.clone().unwrap().display()
                ),
                "-i",
            ])
            .arg(base.ssh_key.clone().unwrap())
            .args([
                "-p",
                &base.port.to_string(),
                &format!("{}@{}", base.user.clone().unwrap(), base.address),
                "sh",
                "-s",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh client");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        child.wait().unwrap();
    }
    let wall = t0.elapsed().as_secs_f64();
    let (_, ch1) = cpu();
    println!(
        "ssh CLI, new connection each: {k} probes in {wall:.2} s = {:>6.0} probes/s, client CPU {:.3} ms per probe",
        k as f64 / wall,
        (ch1 - ch0) * 1000.0 / k as f64
    );
}
