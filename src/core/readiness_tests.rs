//! Table-driven tests of `readiness::assess`: one healthy two-standby fleet, each case
//! breaking one fact and saying what the verdict must be.

use super::*;
use crate::core::ids::{HostId, JobId, Target};

const GIB: u64 = 1 << 30;

fn t(host: &str, gpu: Option<u32>) -> Target {
    Target::new(HostId::new(host), gpu)
}

fn subject() -> Subject {
    use StrategyKind::*;
    Subject {
        job: JobId::new("llm"),
        placement: t("a", Some(0)),
        chain: vec![RestartInPlace, WarmStandby, CpuStandby, Escalate],
        standbys: vec![
            (t("b", Some(1)), Some(Role::Standby)),
            (t("cpu", None), Some(Role::CpuStandby)),
        ],
        cpu_launch: Some(true),
        caps: Capabilities::default(),
    }
}

fn healthy(gpus: u32) -> HostFacts {
    HostFacts {
        reach: Ok(()),
        gpus: Ok((0..gpus)
            .map(|index| GpuFact { index, fatal: None })
            .collect()),
        users: Vec::new(),
        apps_checked: true,
        free_bytes: Some(Ok(100 * GIB)),
    }
}

fn facts() -> Facts {
    let mut hosts = BTreeMap::new();
    let mut a = healthy(2);
    a.users.push(GpuUser {
        gpu: Some(0),
        who: "job llm".into(),
        job: Some(JobId::new("llm")),
    });
    hosts.insert(HostId::new("a"), a);
    hosts.insert(HostId::new("b"), healthy(2));
    hosts.insert(HostId::new("cpu"), healthy(0));
    Facts {
        hosts,
        checkpoint: Some(CheckpointFact {
            id: "ck-7".into(),
            step: 7000,
            bytes: 10 * GIB,
            stores: vec!["nas".into(), "s3".into()],
        }),
        checkpoint_note: None,
        unchecked: "not checked here".into(),
    }
}

fn host<'a>(f: &'a mut Facts, name: &str) -> &'a mut HostFacts {
    match f.hosts.get_mut(&HostId::new(name)) {
        Some(h) => h,
        None => panic!("no host {name} in the fixture"),
    }
}

fn down(f: &mut Facts, name: &str) {
    *host(f, name) = HostFacts::unreachable(format!("{name} did not answer: connection refused"));
}

type Case = (
    &'static str,
    fn(&mut Subject, &mut Facts),
    Option<StrategyKind>,
    &'static str,
);

#[test]
fn the_verdict_follows_the_first_ready_strategy() {
    use StrategyKind::*;
    let cases: Vec<Case> = vec![
        (
            "all healthy",
            |_, _| {},
            Some(RestartInPlace),
            "restart-in-place would move llm to a:gpu0, from ck-7",
        ),
        (
            "primary down",
            |_, f| down(f, "a"),
            Some(WarmStandby),
            "to b:gpu1",
        ),
        (
            "primary and standby down",
            |_, f| {
                down(f, "a");
                down(f, "b");
            },
            Some(CpuStandby),
            "to cpu,",
        ),
        (
            "everything down names every host",
            |_, f| {
                for h in ["a", "b", "cpu"] {
                    down(f, h);
                }
            },
            None,
            "warm-standby: b did not answer",
        ),
        (
            "another job on the standby's GPU",
            |_, f| {
                down(f, "a");
                down(f, "cpu");
                host(f, "b").users.push(GpuUser {
                    gpu: Some(1),
                    who: "job other".into(),
                    job: Some(JobId::new("other")),
                });
            },
            None,
            "b:gpu1 (CUDA_VISIBLE_DEVICES=1) is busy: job other",
        ),
        (
            "a stray process on the standby's other GPU is no obstacle",
            |_, f| {
                down(f, "a");
                host(f, "b").users.push(GpuUser {
                    gpu: Some(0),
                    who: "pid 9 python3".into(),
                    job: None,
                });
            },
            Some(WarmStandby),
            "to b:gpu1",
        ),
        (
            "a process on a GPU that cannot be told blocks",
            |_, f| {
                down(f, "a");
                down(f, "cpu");
                host(f, "b").users.push(GpuUser {
                    gpu: None,
                    who: "pid 9 python3".into(),
                    job: None,
                });
            },
            None,
            "busy: pid 9 python3",
        ),
        (
            "the standby's GPU index is not there",
            |s, f| {
                down(f, "a");
                down(f, "cpu");
                s.standbys[0].0 = t("b", Some(5));
            },
            None,
            "gpu5 is not there (GPUs seen: 0, 1)",
        ),
        (
            "a fatal GPU at home falls through to the standby",
            |_, f| {
                host(f, "a").gpus = Ok(vec![GpuFact {
                    index: 0,
                    fatal: Some("Xid 79: fallen off the bus".into()),
                }]);
            },
            Some(WarmStandby),
            "to b:gpu1",
        ),
        (
            "another job on the home GPU blocks a restart in place",
            |s, f| {
                s.chain = vec![RestartInPlace, Escalate];
                host(f, "a").users.push(GpuUser {
                    gpu: Some(0),
                    who: "job squatter".into(),
                    job: Some(JobId::new("squatter")),
                });
            },
            None,
            "restart-in-place: a:gpu0 (CUDA_VISIBLE_DEVICES=0) is busy: job squatter",
        ),
        (
            "too little disk on the standby",
            |_, f| {
                down(f, "a");
                down(f, "cpu");
                host(f, "b").free_bytes = Some(Ok(5 * GIB));
            },
            None,
            "only 5.0 GiB free on b, needs 12.0 GiB (10.0 GiB + 10% + 1 GiB)",
        ),
        (
            "no checkpoint still succeeds, from scratch",
            |_, f| {
                down(f, "a");
                f.checkpoint = None;
            },
            Some(WarmStandby),
            "from scratch: no verified checkpoint",
        ),
        (
            "disk not known here is said, and does not block",
            |_, f| {
                down(f, "a");
                host(f, "b").free_bytes = None;
            },
            Some(WarmStandby),
            "1 check(s) not made here",
        ),
        (
            "a chain of escalate alone",
            |s, _| s.chain = vec![Escalate],
            None,
            "no strategy before escalate",
        ),
        (
            "strategies after escalate are never reached",
            |s, f| {
                down(f, "a");
                s.chain = vec![RestartInPlace, Escalate, WarmStandby];
            },
            None,
            "restart-in-place: a did not answer",
        ),
        (
            "provision without a provider",
            |s, _| s.chain = vec![Provision, Escalate],
            None,
            "no provider able to provision is configured",
        ),
        (
            "provision with a provider",
            |s, _| {
                s.chain = vec![Provision, Escalate];
                s.caps.provision = true;
            },
            Some(Provision),
            "provision would move llm to a new host",
        ),
        (
            "no standby configured",
            |s, f| {
                down(f, "a");
                s.standbys.clear();
            },
            None,
            "no warm standby configured for llm",
        ),
        (
            "a CPU standby that is where the job runs is not called missing",
            |s, _| {
                s.placement = t("cpu", None);
                s.chain = vec![CpuStandby, Escalate];
            },
            None,
            "the only CPU standby of llm, cpu, is where it runs now",
        ),
        (
            "a job with no GPU on a host without GPUs restarts in place",
            |s, _| {
                s.placement = t("cpu", None);
                s.chain = vec![RestartInPlace, Escalate];
            },
            Some(RestartInPlace),
            "to cpu,",
        ),
        (
            "a host never probed",
            |_, f| {
                down(f, "a");
                down(f, "cpu");
                f.hosts.remove(&HostId::new("b"));
            },
            None,
            "b was not probed",
        ),
    ];
    for (name, mutate, first, reason) in cases {
        let mut s = subject();
        let mut f = facts();
        mutate(&mut s, &mut f);
        let r = assess(&s, &f);
        assert_eq!(r.first_ready, first, "{name}: {r:#?}");
        assert_eq!(r.would_succeed, first.is_some(), "{name}");
        assert!(
            r.reason.contains(reason),
            "{name}: reason was {:?}",
            r.reason
        );
    }
}

#[test]
fn each_candidate_gets_its_checks() {
    let r = assess(&subject(), &facts());
    let names = |i: usize| -> Vec<&str> {
        r.strategies[i]
            .checks
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    };
    let kinds: Vec<StrategyKind> = r.strategies.iter().map(|x| x.strategy).collect();
    use StrategyKind::*;
    assert_eq!(kinds, [RestartInPlace, WarmStandby, CpuStandby, Escalate]);
    assert_eq!(names(0), ["reachable", "gpu", "disk", "checkpoint"]);
    assert_eq!(names(1), ["reachable", "gpu free", "disk", "checkpoint"]);
    assert_eq!(names(2), ["reachable", "disk", "checkpoint", "launch"]);
    assert!(!r.strategies[3].ready, "escalate is never 'ready'");
    assert!(r.strategies[..3].iter().all(|x| x.ready));
}

#[test]
fn warnings_and_unchecked_items_pass_but_say_so() {
    let mut s = subject();
    s.cpu_launch = Some(false);
    let mut f = facts();
    f.checkpoint = None;
    f.checkpoint_note = Some("no catalogue at /x/journal.db".into());
    let r = assess(&s, &f);
    let cpu = &r.strategies[2];
    assert!(cpu.ready);
    let launch = &cpu.checks[3];
    assert_eq!((launch.state, launch.ok), (CheckState::Warn, true));
    assert!(launch.detail.contains("no cpu_launch"));
    let ck = &cpu.checks[2];
    assert_eq!(ck.state, CheckState::Warn);
    assert!(ck
        .detail
        .contains("restart from scratch (step 0); no catalogue at /x/journal.db"));
    s.cpu_launch = None;
    let r = assess(&s, &f);
    assert_eq!(r.strategies[2].checks[3].state, CheckState::Unchecked);
    assert_eq!(r.strategies[2].checks[3].detail, "not checked here");
}

#[test]
fn the_standby_it_runs_on_now_is_not_a_candidate() {
    let mut s = subject();
    s.placement = t("b", Some(1));
    let r = assess(&s, &facts());
    let warm: Vec<&StrategyReadiness> = r
        .strategies
        .iter()
        .filter(|x| x.strategy == StrategyKind::WarmStandby)
        .collect();
    assert_eq!(warm.len(), 1);
    assert_eq!(warm[0].target, None);
}

#[test]
fn it_serialises_as_one_readable_object() {
    let r = assess(&subject(), &facts());
    let v = serde_json::to_value(&r).unwrap_or_default();
    assert_eq!(v["would_succeed"], true);
    assert_eq!(v["first_ready"], "restart-in-place");
    assert_eq!(v["strategies"][1]["strategy"], "warm-standby");
    assert_eq!(v["strategies"][1]["target"]["host"], "b");
    assert_eq!(v["strategies"][1]["checks"][0]["state"], "pass");
    assert_eq!(v["strategies"][1]["checks"][0]["ok"], true);
}

#[test]
fn sizes_read_like_the_rest_of_lifeboat() {
    assert_eq!(bytes(812), "812 B");
    assert_eq!(bytes(5 * GIB + GIB / 2), "5.5 GiB");
}
