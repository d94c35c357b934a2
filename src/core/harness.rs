//! A deterministic harness for scenario tests of the core: simulated time jumps to the
//! next deadline, and a scripted fleet answers every effect at once. Test-only.

use super::engine::{Capabilities, Core};
use super::event::{Event, EventKind};
use super::fleet::{Fleet, HeartbeatSource, HostSpec, JobSpec, Role, StrategyKind};
use super::gpu::{self, GpuReadout};
use super::ids::{Epoch, HostId, JobId, OpId, Target};
use super::io::{
    Channel, ChannelStatus, Effect, Input, JobObservation, ProbeError, ProbeReport, Severity,
    StepOutput, Vantage,
};
use super::policy::Policy;
use super::recovery::RecoveryState;
use super::time::Ts;
use std::collections::BTreeMap;
use std::time::Duration;

pub const FIXTURE_LINE: &str = "0, GPU-3a4bf3b5-f6d5-6f6e-6ea6-9e95c4b58413, 00000000:00:06.0, NVIDIA H100 80GB HBM3, P0, 0, 0, 0, 81559, 33, 33, 123.98, 700.00, 1980, 0x0000000000000001, Not Active, Not Active, Not Active, Not Active, Not Active, Enabled, 0, 0, 0, [N/A], No, No, 5, 5, 16, 16, None, 1";

/// One scripted host.
#[derive(Clone, Debug, Default)]
pub struct FakeHost {
    pub up: bool,
    pub gpus: u32,
    pub lost_gpu: Option<u32>,
    /// Running processes: job, epoch, step.
    pub procs: Vec<(JobId, Epoch, u64)>,
    /// Launches fail here.
    pub launch_fails: bool,
    /// Fences here leave the old copy running and say so (a process that outlived SIGKILL).
    pub unkillable: bool,
    /// nvidia-smi reads `[Unknown Error]` for this GPU's temperature.
    pub unreadable_gpu: Option<u32>,
    /// Down and refusing connections (a dead sshd), rather than silent.
    pub refuses: bool,
    /// Up, but cut off from Lifeboat (a partition): only peers reach it.
    pub cut_off: bool,
}

pub struct Harness {
    pub core: Core,
    pub now: Ts,
    pub hosts: BTreeMap<HostId, FakeHost>,
    pub events: Vec<Event>,
    /// Effects withheld instead of answered (to test late answers).
    pub held: Vec<Effect>,
    pub hold_probes_of: Option<HostId>,
    /// Hold every non-probe effect instead of answering it.
    pub hold_steps: bool,
    /// Second looks at a host (port, peer) find out nothing, as with no peer to ask.
    pub no_looks: bool,
    /// Every notification asked for: when, how loud, what.
    pub notified: Vec<(Ts, Severity, String)>,
}

pub fn h(s: &str) -> HostId {
    HostId::new(s)
}

pub fn j(s: &str) -> JobId {
    JobId::new(s)
}

pub fn host(name: &str, role: Role, gpus: u32) -> HostSpec {
    HostSpec {
        id: h(name),
        address: "127.0.0.1".into(),
        port: 22,
        user: None,
        role,
        gpus,
        ssh_key: None,
        ssh: Default::default(),
        provider: None,
        access: Default::default(),
    }
}

pub fn job(
    name: &str,
    on: &str,
    standbys: &[(&str, Option<u32>)],
    chain: &[StrategyKind],
) -> JobSpec {
    JobSpec {
        id: j(name),
        host: h(on),
        gpu: Some(0),
        workdir: "/w".into(),
        launch: "train".into(),
        cpu_launch: None,
        stop: None,
        heartbeat: HeartbeatSource::None,
        ready: Default::default(),
        checkpoint_dir: "/w/ck".into(),
        standbys: standbys
            .iter()
            .map(|(h_, g)| Target::new(h(h_), *g))
            .collect(),
        strategies: chain.to_vec(),
        env: Default::default(),
        checkpoint_marker: None,
        prestage: false,
        retention: None,
        workspace: None,
    }
}

/// Two GPU hosts, a standby and a CPU standby; one job on `a`.
pub fn small_fleet() -> Fleet {
    use StrategyKind::*;
    Fleet {
        hosts: vec![
            host("a", Role::Primary, 1),
            host("b", Role::Standby, 1),
            host("c", Role::Standby, 1),
            host("cpu", Role::CpuStandby, 0),
        ],
        jobs: vec![job(
            "train",
            "a",
            &[("b", Some(0)), ("cpu", None)],
            &[RestartInPlace, WarmStandby, CpuStandby, Escalate],
        )],
    }
}

impl Harness {
    pub fn new(fleet: Fleet, policy: Policy) -> Self {
        let mut hs = Self::build(fleet, policy, true);
        hs.input(Input::Tick);
        hs
    }

    /// A fleet whose jobs are not running yet: their first start is up to the core.
    pub fn unstarted(fleet: Fleet, policy: Policy) -> Self {
        let mut hs = Self::build(fleet, policy, false);
        hs.input(Input::Tick);
        hs
    }

    /// `new` before the core's first tick: no probe sent yet, so a test can set the
    /// scene (copies already running elsewhere) before the core sees anything.
    pub fn new_unstarted(fleet: Fleet, policy: Policy) -> Self {
        Self::build(fleet, policy, true)
    }

    fn build(fleet: Fleet, policy: Policy, started: bool) -> Self {
        let now = Ts(1_700_000_000_000);
        let mut hosts = BTreeMap::new();
        for hs in &fleet.hosts {
            hosts.insert(
                hs.id.clone(),
                FakeHost {
                    up: true,
                    gpus: hs.gpus,
                    ..FakeHost::default()
                },
            );
        }
        for js in fleet.jobs.iter().filter(|_| started) {
            if let Some(fh) = hosts.get_mut(&js.host) {
                fh.procs.push((js.id.clone(), Epoch(1), 0));
            }
        }
        let core = Core::new(fleet, policy, Capabilities::default(), now);
        Self {
            core,
            now,
            hosts,
            events: Vec::new(),
            held: Vec::new(),
            hold_probes_of: None,
            hold_steps: false,
            no_looks: false,
            notified: Vec::new(),
        }
    }

    pub fn fake(&mut self, name: &str) -> &mut FakeHost {
        self.hosts.entry(h(name)).or_default()
    }

    pub fn input(&mut self, input: Input) {
        self.core.handle(self.now, input);
        self.drain();
    }

    fn drain(&mut self) {
        loop {
            while let Some(e) = self.core.poll_event() {
                self.events.push(e);
            }
            let Some(effect) = self.core.poll_effect() else {
                break;
            };
            if let Effect::Notify {
                severity, message, ..
            } = &effect
            {
                self.notified.push((self.now, *severity, message.clone()));
            }
            let hold = match &effect {
                Effect::Probe { host, .. } | Effect::Look { host, .. } => {
                    self.hold_probes_of.as_ref() == Some(host)
                }
                _ => self.hold_steps,
            };
            if hold {
                self.held.push(effect);
                continue;
            }
            let answer = self.answer(&effect);
            self.core.handle(self.now, answer);
        }
    }

    pub fn report(&self, host: &HostId) -> Result<ProbeReport, ProbeError> {
        let Some(fh) = self.hosts.get(host) else {
            return Err(ProbeError::Unreachable("no such host".into()));
        };
        if !fh.up || fh.cut_off {
            return Err(ProbeError::Timeout);
        }
        let mut lines = Vec::new();
        for i in 0..fh.gpus {
            if fh.lost_gpu == Some(i) {
                lines.push(format!(
                    "Unable to determine the device handle for GPU0000:0{i}:00.0: Unknown Error"
                ));
            } else {
                let line = FIXTURE_LINE.replacen("0, ", &format!("{i}, "), 1);
                lines.push(if fh.unreadable_gpu == Some(i) {
                    line.replacen(", 33, 33,", ", [Unknown Error], 33,", 1)
                } else {
                    line
                });
            }
        }
        let gpu = if fh.gpus == 0 {
            GpuReadout::NotInstalled
        } else {
            gpu::parse_query_gpu(&lines.join("\n"), 0)
        };
        // Ten steps a second since the harness began.
        let secs = self.now.since(Ts(1_700_000_000_000)).as_secs() * 10;
        let jobs = fh
            .procs
            .iter()
            .map(|(job, epoch, step)| JobObservation {
                job: job.clone(),
                epoch: *epoch,
                gpu: Some(0),
                running: true,
                step: Some(step + secs),
                heartbeat_at: Some(self.now),
            })
            .collect();
        Ok(ProbeReport {
            gpu,
            xids: Vec::new(),
            jobs,
            boot_id: Some("boot".into()),
            latency: Duration::from_millis(3),
        })
    }

    fn answer(&mut self, effect: &Effect) -> Input {
        let op = effect.op();
        let step = |r: Result<StepOutput, String>| Input::StepFinished { op, result: r };
        match effect {
            Effect::Probe { host, .. } => Input::ProbeFinished {
                op,
                host: host.clone(),
                result: self.report(host),
            },
            Effect::Look { host, from, .. } => self.look(host, from),
            Effect::Fence {
                job, host, epoch, ..
            } => {
                let fh = self.fake(host.as_str());
                if !fh.up || fh.cut_off {
                    return step(Ok(StepOutput::FenceUnreachable));
                }
                if fh.unkillable && fh.procs.iter().any(|(j_, e, _)| j_ == job && e < epoch) {
                    return step(Ok(StepOutput::FenceSurvivors {
                        alive: vec!["pid 4242 (python, state D)".into()],
                        note: None,
                    }));
                }
                fh.procs.retain(|(j_, e, _)| !(j_ == job && e < epoch));
                step(Ok(StepOutput::Fenced))
            }
            Effect::Stage { .. } => step(Ok(StepOutput::Staged {
                bytes: 0,
                from: None,
                sealed: false,
            })),
            Effect::Launch {
                job, target, epoch, ..
            } => {
                let fh = self.fake(target.host.as_str());
                if !fh.up || fh.launch_fails {
                    return step(Err(format!("{} refused the launch", target.host)));
                }
                if !fh.procs.iter().any(|(j_, e, _)| j_ == job && e == epoch) {
                    fh.procs.push((job.clone(), *epoch, 0));
                }
                step(Ok(StepOutput::Launched))
            }
            Effect::Verify {
                job, target, epoch, ..
            } => {
                let fh = self.fake(target.host.as_str());
                if fh.procs.iter().any(|(j_, e, _)| j_ == job && e == epoch) {
                    step(Ok(StepOutput::Running))
                } else {
                    step(Ok(StepOutput::NotRunning("no process".into())))
                }
            }
            Effect::Provision { .. } => step(Err("no provider".into())),
            Effect::DestroyInstance { .. } => step(Ok(StepOutput::Destroyed)),
            Effect::SyncWorkspace { to, .. } => {
                if self.fake(to.as_str()).up {
                    step(Ok(StepOutput::Synced {
                        files: 3,
                        bytes: 300,
                    }))
                } else {
                    step(Err(format!("{to}: unreachable")))
                }
            }
            Effect::Notify { .. } => step(Ok(StepOutput::Notified)),
        }
    }

    /// A second look at `host`: Lifeboat's port check, or a peer's probe of it.
    fn look(&self, host: &HostId, from: &Vantage) -> Input {
        let fh = self.hosts.get(host).cloned().unwrap_or_default();
        let down = if fh.refuses {
            ChannelStatus::Down("refused the connection".into())
        } else {
            ChannelStatus::Down("silent".into())
        };
        let (channel, status) = match from {
            Vantage::Here if self.no_looks => (
                Channel::Port,
                ChannelStatus::Unknown("reached through a jump host: no direct route".into()),
            ),
            Vantage::Peer(p) if self.no_looks => (
                Channel::Peer,
                ChannelStatus::Unknown(format!("could not ask {p}: forwarding refused")),
            ),
            Vantage::Here if fh.up && !fh.cut_off => (Channel::Port, ChannelStatus::Up),
            Vantage::Here => (Channel::Port, down),
            Vantage::Peer(p) if fh.up && fh.procs.is_empty() => (
                Channel::Peer,
                ChannelStatus::Down(format!("{p} reaches it, but no job process runs there")),
            ),
            Vantage::Peer(p) if fh.up => (
                Channel::Peer,
                ChannelStatus::Reached(format!("{p} reaches it: {} running", fh.procs.len())),
            ),
            Vantage::Peer(_) => (Channel::Peer, down),
        };
        Input::ChannelReported {
            host: host.clone(),
            channel,
            status,
        }
    }

    /// Advances simulated time to `until`, waking at every deadline on the way.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now.plus(d);
        loop {
            let next = self
                .core
                .poll_deadline()
                .unwrap_or(until)
                .min(until)
                .max(self.now);
            self.now = next;
            self.input(Input::Tick);
            if self.now >= until {
                break;
            }
        }
    }

    pub fn state(&self, job: &str) -> RecoveryState {
        self.core
            .durable()
            .jobs
            .get(&j(job))
            .map_or(RecoveryState::Failed, |r| r.state)
    }

    pub fn states(&self, job: &str) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::RecoveryState { job: j_, to, .. } if j_.as_str() == job => {
                    Some(to.clone())
                }
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, kind: &str) -> usize {
        self.events.iter().filter(|e| e.kind.name() == kind).count()
    }

    /// Hosts where a copy of `job` runs.
    pub fn running_on(&self, job: &str) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|(_, fh)| fh.procs.iter().any(|(j_, _, _)| j_.as_str() == job))
            .map(|(id, _)| id.to_string())
            .collect()
    }

    /// Answers every held effect now.
    pub fn release(&mut self) {
        for effect in std::mem::take(&mut self.held) {
            let answer = self.answer(&effect);
            self.core.handle(self.now, answer);
            self.drain();
        }
    }

    pub fn take_held(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.held)
    }

    pub fn late_answer(&mut self, op: OpId, host: &str, result: Result<ProbeReport, ProbeError>) {
        self.input(Input::ProbeFinished {
            op,
            host: h(host),
            result,
        });
    }
}
