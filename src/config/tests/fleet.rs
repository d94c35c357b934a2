//! Hosts and jobs: names, references, GPUs, roles, paths, standbys and strategy chains.

use super::*;

const VM: &str = "[[host]]\nname = \"vm\"\naddress = \"10.0.0.9\"\nrole = \"cpu-standby\"\n";

#[test]
fn a_config_needs_hosts() {
    let p = one("");
    assert_eq!(p.at, None);
    assert_eq!(p.key, "host");
    assert!(p.fix.contains("add a [[host]]"));
}

#[test]
fn duplicate_names_point_at_the_second_and_mention_the_first() {
    let p = one(&with(
        "[[host]]\nname = \"pc1\"\naddress = \"10.0.0.2\"\ngpus = 1\n",
    ));
    check(
        &p,
        19,
        "host[1].name",
        &["duplicate host name \"pc1\"", "first one is at line 2"],
        &["own name"],
    );
    let job2 = "[[job]]\nname = \"train\"\nhost = \"pc1\"\ngpu = 1\nworkdir = \"/w2\"\nlaunch = \"x\"\ncheckpoint_dir = \"/c\"\n";
    let p = one(&with(job2));
    check(
        &p,
        19,
        "job[1].name",
        &["duplicate job name \"train\"", "first one is at line 7"],
        &[],
    );
}

#[test]
fn bad_names_are_refused() {
    let p = one(&edit("name = \"pc1\"", "name = \"pc 1\"").replace("\"pc1", "\"pc 1"));
    check(
        &p,
        2,
        "host \"pc 1\".name",
        &["\"pc 1\" is not a valid host name"],
        &["no spaces or ':'", "name = \"pc-1\""],
    );
}

#[test]
fn unknown_hosts_list_the_known_ones() {
    let p = one(&edit("host = \"pc1\"", "host = \"pc2\""));
    check(
        &p,
        8,
        "job \"train\".host",
        &["no host named \"pc2\"", "known hosts: \"pc1\""],
        &["did you mean \"pc1\"?"],
    );
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1:1\", \"cpu-vm\"]"));
    check(
        &p,
        13,
        "job \"train\".standby[1]",
        &["no host named \"cpu-vm\"", "known hosts: \"pc1\""],
        &["add a [[host]] with name = \"cpu-vm\""],
    );
}

#[test]
fn standby_on_the_jobs_own_place_is_refused() {
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1:0\"]"));
    check(
        &p,
        13,
        "job \"train\".standby[0]",
        &["\"pc1:0\" is the job's own place (pc1:gpu0)"],
        &["another GPU", "\"pc1:1\""],
    );
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1\"]"));
    check(
        &p,
        13,
        "job \"train\".standby[0]",
        &["\"pc1\" overlaps the job's own place"],
        &[],
    );
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1:1\", \"pc1:gpu1\"]"));
    check(&p, 13, "job \"train\".standby[1]", &["listed twice"], &[]);
}

#[test]
fn gpu_indices_must_exist() {
    let p = one(&edit("gpu = 0", "gpu = 2"));
    check(
        &p,
        9,
        "job \"train\".gpu",
        &["GPU 2 does not exist on host \"pc1\", which has 2 GPUs (indices 0 to 1)"],
        &["raise gpus"],
    );
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1:7\"]"));
    check(
        &p,
        13,
        "job \"train\".standby[0]",
        &["GPU 7 does not exist"],
        &[],
    );
    let p = one(&edit("[\"pc1:1\"]", "[\"pc1:one\"]"));
    check(
        &p,
        13,
        "job \"train\".standby[0]",
        &["\"pc1:one\" is not a standby target"],
        &["\"HOST:GPU\""],
    );
}

#[test]
fn roles_and_gpu_counts_agree() {
    let p = one(&edit("gpus = 2", "gpus = 2\nrole = \"primry\""));
    check(
        &p,
        5,
        "host \"pc1\".role",
        &["unknown role \"primry\"", "did you mean \"primary\"?"],
        &["\"cpu-standby\""],
    );
    let p = one(&edit("gpus = 2\n", ""));
    check(
        &p,
        1,
        "host \"pc1\"",
        &["missing required key \"gpus\" for a primary host"],
        &["gpus = 2"],
    );
    let p = one(&with(
        "[[host]]\nname = \"vm\"\naddress = \"10.0.0.9\"\nrole = \"cpu-standby\"\ngpus = 1\n",
    ));
    check(
        &p,
        22,
        "host \"vm\".gpus",
        &["a cpu-standby host has no GPUs"],
        &[],
    );
    let p = one(&edit("gpus = 2", "gpus = 0")
        .replace("gpu = 0\n", "")
        .replace("[\"pc1:1\"]", "[]"));
    check(
        &p,
        4,
        "host \"pc1\".gpus",
        &["needs at least one GPU"],
        &["role = \"cpu-standby\""],
    );
}

#[test]
fn jobs_do_not_run_on_cpu_standbys() {
    let text = with(VM).replace("host = \"pc1\"\ngpu = 0", "host = \"vm\"");
    let p = one(&text);
    check(
        &p,
        8,
        "job \"train\".host",
        &["host \"vm\" is a cpu-standby"],
        &["list \"vm\" in standby"],
    );
    let p = one(&with(VM).replace("[\"pc1:1\"]", "[\"vm:0\"]"));
    check(
        &p,
        13,
        "job \"train\".standby[0]",
        &["host \"vm\" has no GPUs"],
        &["write just \"vm\""],
    );
}

#[test]
fn addresses_are_checked() {
    let addr = |a: &str| one(&edit("\"192.168.1.10\"", &format!("\"{a}\"")));
    check(
        &addr("pc1:70000"),
        3,
        "host \"pc1\".address",
        &["port 70000 in \"pc1:70000\" is out of range"],
        &["1 to 65535"],
    );
    check(&addr("pc1:0"), 3, "host \"pc1\".address", &["port 0"], &[]);
    check(
        &addr("pc1:ssh"),
        3,
        "host \"pc1\".address",
        &["\"ssh\" is not a port number"],
        &[],
    );
    check(
        &addr("ssh://gpu.example.com:2222"),
        3,
        "host \"pc1\".address",
        &["ssh:// prefix"],
        &["address = \"gpu.example.com:2222\""],
    );
    check(
        &addr("root@10.0.0.1"),
        3,
        "host \"pc1\".address",
        &["user name in it"],
        &["user = \"root\""],
    );
    check(
        &addr("10.0.0.1 22"),
        3,
        "host \"pc1\".address",
        &["not a host address"],
        &[],
    );
}

#[test]
fn providers_must_exist_and_come_with_an_instance() {
    let p = one(&edit(
        "gpus = 2",
        "gpus = 2\nprovider = \"vast\"\ninstance = \"1\"",
    ));
    check(
        &p,
        5,
        "host \"pc1\".provider",
        &["no provider named \"vast\"", "no [[provider]] tables"],
        &["add a [[provider]]"],
    );
    let p = one(&edit("gpus = 2", "gpus = 2\ninstance = \"1\""));
    check(
        &p,
        5,
        "host \"pc1\".instance",
        &["provider is missing"],
        &["provider = \"vast\""],
    );
}

#[test]
fn remote_and_local_paths_must_be_absolute() {
    let p = one(&edit("workdir = \"/w\"", "workdir = \"runs/x\""));
    check(
        &p,
        10,
        "job \"train\".workdir",
        &["\"runs/x\" is not an absolute path"],
        &["workdir = \"/home/you/runs/x\""],
    );
    let p = one(&edit(
        "checkpoint_dir = \"/w/ckpt\"",
        "checkpoint_dir = \"ckpt\"",
    ));
    check(
        &p,
        12,
        "job \"train\".checkpoint_dir",
        &["\"ckpt\" is not an absolute path"],
        &[],
    );
    let p = one(&edit(
        "gpus = 2",
        "gpus = 2\nssh_key = \"~/.ssh/id_ed25519\"",
    ));
    check(
        &p,
        5,
        "host \"pc1\".ssh_key",
        &["not an absolute path"],
        &["\"~\" is not expanded", "/home/you/.ssh/id_ed25519"],
    );
    let p = one(&edit("gpu = 0", "gpu = 0\nheartbeat = \"hb\""));
    check(
        &p,
        10,
        "job \"train\".heartbeat",
        &["\"hb\" is not an absolute path"],
        &[],
    );
    let p = one(&edit("gpu = 0", "gpu = 0\nheartbeat = { mtime = \"log\" }"));
    check(
        &p,
        10,
        "job \"train\".heartbeat.mtime",
        &["\"log\" is not an absolute path"],
        &[],
    );
    let p = one(&edit("nas = \"/mnt/nas\"", "nas = \"nas\""));
    check(
        &p,
        16,
        "storage.nas",
        &["\"nas\" is not an absolute path"],
        &[],
    );
    let p = one(&with("[settings]\nstate_dir = \"state\"\n"));
    check(
        &p,
        19,
        "settings.state_dir",
        &["\"state\" is not an absolute path"],
        &[],
    );
}

#[test]
fn commands_must_not_be_empty_and_placeholders_must_be_spelt_right() {
    let p = one(&edit("\"python train.py --resume {checkpoint}\"", "\"  \""));
    check(&p, 11, "job \"train\".launch", &["cannot be empty"], &[]);
    let p = one(&edit("{checkpoint}", "{chekpoint}"));
    check(
        &p,
        11,
        "job \"train\".launch",
        &[
            "unknown placeholder \"{chekpoint}\"",
            "did you mean \"{checkpoint}\"?",
        ],
        &[],
    );
    // Other braces are the shell's business.
    ok(&edit("{checkpoint}", "{checkpoint} && echo ${HOME} {a,b}"));
}

#[test]
fn strategy_chains_are_checked() {
    let chain = |s: &str| {
        one(&edit(
            "standby = [\"pc1:1\"]",
            &format!("standby = [\"pc1:1\"]\nstrategies = {s}"),
        ))
    };
    check(
        &chain("[]"),
        14,
        "job \"train\".strategies",
        &["the strategy list is empty"],
        &["remove the key to use the default chain"],
    );
    check(
        &chain("[\"warm-standy\"]"),
        14,
        "job \"train\".strategies[0]",
        &[
            "unknown strategy \"warm-standy\"",
            "did you mean \"warm-standby\"?",
        ],
        &["\"restart-in-place\""],
    );
    check(
        &chain("[\"escalate\", \"warm-standby\"]"),
        14,
        "job \"train\".strategies[1]",
        &["\"warm-standby\" comes after \"escalate\", so it is never reached"],
        &["move \"escalate\" to the end"],
    );
    check(
        &chain("[\"escalate\", \"escalate\"]"),
        14,
        "job \"train\".strategies[1]",
        &["listed twice"],
        &[],
    );
    check(
        &chain("[\"cpu-standby\"]"),
        14,
        "job \"train\".strategies[0]",
        &["\"cpu-standby\" cannot work", "no cpu-standby host"],
        &["standby = [\"cpu-vm\"]"],
    );
    check(
        &chain("[\"provision\"]"),
        14,
        "job \"train\".strategies[0]",
        &["no [[provider]]"],
        &[],
    );
    // With a provider but nothing saying what to rent.
    let text = format!(
        "{}\n[[provider]]\nname = \"vast\"\nkind = \"vast\"\napi_key_env = \"VAST_API_KEY\"\n",
        edit(
            "standby = [\"pc1:1\"]",
            "standby = [\"pc1:1\"]\nstrategies = [\"provision\"]",
        )
    );
    check(
        &one(&text),
        14,
        "job \"train\".strategies[0]",
        &["no [job.provision] table saying what to rent"],
        &["provision = { provider = \"vast\""],
    );
    let p = one(&edit(
        "standby = [\"pc1:1\"]",
        "strategies = [\"warm-standby\"]",
    ));
    check(
        &p,
        13,
        "job \"train\".strategies[0]",
        &["no GPU standby"],
        &[],
    );
}

#[test]
fn a_jobs_env_is_kept_and_secrets_in_it_are_refused() {
    let text = BASE.replace(
        "standby = [\"pc1:1\"]",
        "standby = [\"pc1:1\"]\nenv = { NCCL_DEBUG = \"WARN\", OMP_NUM_THREADS = \"8\" }",
    );
    let cfg = ok(&text);
    let env = &cfg.fleet.jobs[0].env;
    assert_eq!(env.get("NCCL_DEBUG").map(String::as_str), Some("WARN"));
    assert_eq!(env.len(), 2);
    let text = BASE.replace(
        "standby = [\"pc1:1\"]",
        "standby = [\"pc1:1\"]\nenv = { HF_TOKEN = \"hf_abcdefghijklmnopqrstuvwxyz123456\" }",
    );
    let p = one(&text);
    assert!(p.message.contains("looks like a secret"), "{p:?}");
    assert!(
        !format!("{p:?}").contains("hf_abcdefghijklmnop"),
        "the secret was echoed: {p:?}"
    );
}

#[test]
fn a_jobs_env_cannot_set_what_lifeboat_sets_for_every_run() {
    for name in ["LIFEBOAT_RUN", "LIFEBOAT_EPOCH", "CUDA_VISIBLE_DEVICES"] {
        let text = BASE.replace(
            "standby = [\"pc1:1\"]",
            &format!("standby = [\"pc1:1\"]\nenv = {{ {name} = \"x\" }}"),
        );
        let p = one(&text);
        assert!(p.message.contains("set by Lifeboat"), "{name}: {p:?}");
    }
}

#[test]
fn a_jobs_readiness_signal_is_read_and_checked() {
    use crate::core::fleet::Readiness;
    let c = ok(&edit("gpu = 0", "gpu = 0\nready = \"/run/train/ready\""));
    assert_eq!(
        c.fleet.jobs[0].ready,
        Readiness::File {
            path: "/run/train/ready".into()
        }
    );
    let c = ok(&edit(
        "gpu = 0",
        "gpu = 0\nheartbeat = \"/w/hb\"\nready = \"heartbeat\"",
    ));
    assert_eq!(c.fleet.jobs[0].ready, Readiness::Heartbeat);
    assert_eq!(ok(BASE).fleet.jobs[0].ready, Readiness::Alive);
    let p = one(&edit("gpu = 0", "gpu = 0\nready = \"heartbeat\""));
    check(
        &p,
        10,
        "job \"train\".ready",
        &["the job has no heartbeat"],
        &["heartbeat = "],
    );
    let p = one(&edit("gpu = 0", "gpu = 0\nready = \"port 8080\""));
    check(
        &p,
        10,
        "job \"train\".ready",
        &["\"port 8080\" is not a readiness signal"],
        &["ready = \"heartbeat\""],
    );
    let c = ok(&edit("gpu = 0", "gpu = 0\nready = \"$HOME/ready\""));
    assert!(matches!(c.fleet.jobs[0].ready, Readiness::File { .. }));
}
