//! `[[job]]` tables → [`JobSpec`]s: the home host and GPU, remote paths, commands,
//! heartbeat, standby targets and the strategy chain, checked against the hosts (the
//! checkpoint keys are in `checkpoint.rs`).

use super::values::{self, quote};
use super::{checkpoint, strategies, workspace, Ctx};
use crate::config::keypath::KeyPath;
use crate::config::raw::{RawHeartbeat, RawJob, Str};
use crate::config::suggest;
use crate::core::fleet::{HeartbeatSource, HostSpec, JobSpec, Readiness, Role};
use crate::core::ids::{HostId, JobId, Target};

pub fn build(
    ctx: &mut Ctx<'_>,
    raw: &[RawJob],
    hosts: &[HostSpec],
    has_providers: bool,
) -> Vec<JobSpec> {
    let names: Vec<&str> = raw.iter().map(|j| j.name.get_ref().as_str()).collect();
    let labels = values::labels(&names);
    raw.iter()
        .enumerate()
        .map(|(i, j)| {
            let k = KeyPath::at("job").named(i, labels[i]);
            if let Some(first) = raw[..i]
                .iter()
                .find(|o| o.name.get_ref() == j.name.get_ref())
            {
                let line = ctx.line_of(&first.name);
                ctx.report_at(
                    &j.name,
                    &KeyPath::at("job").index(i).key("name"),
                    format!(
                        "duplicate job name {}; the first one is at line {line}",
                        quote(j.name.get_ref())
                    ),
                    "give each [[job]] its own name, or delete the second one",
                );
            }
            job(ctx, &k, j, hosts, has_providers)
        })
        .collect()
}

fn job(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    j: &RawJob,
    hosts: &[HostSpec],
    has_providers: bool,
) -> JobSpec {
    values::name(ctx, &k.clone().key("name"), &j.name, "job");
    let home = find_host(ctx, &k.clone().key("host"), &j.host, hosts);
    if let Some(h) = home.filter(|h| h.role == Role::CpuStandby) {
        ctx.report_at(
            &j.host,
            &k.clone().key("host"),
            format!(
                "host {} is a cpu-standby; jobs run on primary or standby GPU hosts",
                quote(h.id.as_str())
            ),
            format!(
                "run the job on a GPU host, and list {} in standby to fail over to it",
                quote(h.id.as_str())
            ),
        );
    }
    let gpu = j.gpu.as_ref().map(|g| {
        if let Some(h) = home.filter(|h| h.role != Role::CpuStandby) {
            check_gpu(ctx, *g.get_ref(), h, |ctx, m, f| {
                ctx.report_at(g, &k.clone().key("gpu"), m, f)
            });
        }
        *g.get_ref()
    });
    let workdir = values::remote_abs_path(ctx, &k.clone().key("workdir"), &j.workdir);
    let checkpoint_dir =
        values::remote_abs_path(ctx, &k.clone().key("checkpoint_dir"), &j.checkpoint_dir);
    let launch = command(
        ctx,
        &k.clone().key("launch"),
        &j.launch,
        "python train.py --resume {checkpoint}",
    );
    let cpu_launch = j.cpu_launch.as_ref().map(|c| {
        command(
            ctx,
            &k.clone().key("cpu_launch"),
            c,
            "python serve.py --cpu --checkpoint {checkpoint}",
        )
    });
    let stop = j
        .stop
        .as_ref()
        .map(|c| command(ctx, &k.clone().key("stop"), c, "pkill -f train.py"));
    let heartbeat = heartbeat(ctx, &k.clone().key("heartbeat"), j.heartbeat.as_ref());
    let ready = ready(ctx, &k.clone().key("ready"), j.ready.as_ref(), &heartbeat);
    let home_target = Target::new(HostId::new(j.host.get_ref().clone()), gpu);
    let standbys = standbys(ctx, k, j, hosts, &home_target);
    let strategies = strategies::build(ctx, k, j, hosts, &standbys, has_providers);
    let ckpt = checkpoint::build(ctx, k, j, hosts);
    let standbys: Vec<Target> = standbys.into_iter().flatten().collect();
    let workspace = workspace::build(ctx, k, j, hosts, &standbys, &workdir, &checkpoint_dir);
    let mut env = std::collections::BTreeMap::new();
    for (name, value) in j.env.iter().flatten() {
        let key = k.clone().key("env").key(name);
        if !crate::config::secret::is_env_name(name) {
            ctx.report_at(
                value,
                &key,
                format!("\"{name}\" is not an environment variable name"),
                "use letters, digits and _ , e.g. NCCL_DEBUG = \"WARN\"".to_string(),
            );
        } else if name.starts_with("LIFEBOAT_") || name == "CUDA_VISIBLE_DEVICES" {
            // Lifeboat sets these at launch; the fence finds a run's processes by them.
            ctx.report_at(
                value,
                &key,
                format!("\"{name}\" is set by Lifeboat for every run"),
                "remove it; pin GPUs with `gpu` and the standby targets instead".to_string(),
            );
        } else if crate::config::secret::looks_like_secret(value.get_ref())
            || crate::config::secret::is_secret_key(name)
        {
            ctx.report_at(
                value,
                &key,
                "this looks like a secret; secrets never live in the config file".to_string(),
                format!("set {name} in the environment of the job's host (e.g. its shell profile) instead"),
            );
        } else {
            env.insert(name.clone(), value.get_ref().clone());
        }
    }
    JobSpec {
        id: JobId::new(j.name.get_ref().clone()),
        host: home_target.host,
        gpu,
        workdir,
        launch,
        cpu_launch,
        stop,
        heartbeat,
        ready,
        checkpoint_dir,
        standbys,
        strategies,
        env,
        checkpoint_marker: ckpt.marker,
        prestage: ckpt.prestage,
        retention: ckpt.retention,
        workspace,
    }
}

/// The host named by `s`, or a problem listing the known hosts.
fn find_host<'h>(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    s: &Str,
    hosts: &'h [HostSpec],
) -> Option<&'h HostSpec> {
    find_host_named(ctx, key, s, s.get_ref(), hosts)
}

fn find_host_named<'h>(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    s: &Str,
    name: &str,
    hosts: &'h [HostSpec],
) -> Option<&'h HostSpec> {
    if let Some(h) = hosts.iter().find(|h| h.id.as_str() == name) {
        return Some(h);
    }
    let names: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
    let known = match names.len() {
        0 => "there are no [[host]] tables".to_string(),
        n if n <= 12 => format!("known hosts: {}", suggest::quoted_list(&names)),
        n => format!(
            "known hosts: {} and {} more",
            suggest::quoted_list(&names[..12]),
            n - 12
        ),
    };
    let fix = match suggest::closest(name, &names) {
        Some(c) => format!(
            "did you mean \"{c}\"? Otherwise add a [[host]] with name = {}",
            quote(name)
        ),
        None => format!(
            "use one of the known hosts, or add a [[host]] with name = {}",
            quote(name)
        ),
    };
    ctx.report_at(
        s,
        key,
        format!("no host named {}; {known}", quote(name)),
        fix,
    );
    None
}

fn check_gpu(
    ctx: &mut Ctx<'_>,
    gpu: u32,
    h: &HostSpec,
    report: impl FnOnce(&mut Ctx<'_>, String, String),
) {
    if gpu >= h.gpus && h.gpus > 0 {
        let plural = if h.gpus == 1 { "GPU" } else { "GPUs" };
        report(
            ctx,
            format!(
                "GPU {gpu} does not exist on host {}, which has {} {plural} (indices 0 to {})",
                quote(h.id.as_str()),
                h.gpus,
                h.gpus - 1
            ),
            format!(
                "use a GPU index from 0 to {}, or raise gpus on host {}",
                h.gpus - 1,
                quote(h.id.as_str())
            ),
        );
    }
}

fn command(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str, example: &str) -> String {
    let k = key.last_key().unwrap_or("launch");
    let v = values::non_empty(ctx, key, s, &format!("{k} = \"{example}\""));
    // `{chekpoint}` and friends: a typo of the one placeholder we replace.
    for word in v
        .split('{')
        .skip(1)
        .filter_map(|w| w.split_once('}').map(|(p, _)| p))
    {
        if word != "checkpoint" && suggest::closest(word, &["checkpoint"]).is_some() {
            ctx.report_at(
                s,
                key,
                format!("unknown placeholder \"{{{word}}}\"; did you mean \"{{checkpoint}}\"?"),
                "write {checkpoint}: it is replaced by the path of the restored checkpoint",
            );
        }
    }
    v
}

fn heartbeat(ctx: &mut Ctx<'_>, key: &KeyPath, hb: Option<&RawHeartbeat>) -> HeartbeatSource {
    match hb {
        None => HeartbeatSource::None,
        Some(RawHeartbeat::Path(p)) => HeartbeatSource::File {
            path: values::remote_abs_str(ctx, key, p, None),
        },
        Some(RawHeartbeat::File(p)) => HeartbeatSource::File {
            path: values::remote_abs_path(ctx, &key.clone().key("file"), p),
        },
        Some(RawHeartbeat::Mtime(p)) => HeartbeatSource::Mtime {
            path: values::remote_abs_path(ctx, &key.clone().key("mtime"), p),
        },
    }
}

/// `ready = "heartbeat"` (needs a heartbeat) or an absolute path on the host.
fn ready(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    ready: Option<&Str>,
    heartbeat: &HeartbeatSource,
) -> Readiness {
    let Some(r) = ready else {
        return Readiness::Alive;
    };
    match r.get_ref().as_str() {
        "heartbeat" if *heartbeat == HeartbeatSource::None => {
            ctx.report_at(
                r,
                key,
                "ready = \"heartbeat\", but the job has no heartbeat".to_string(),
                "add heartbeat = \"/abs/heartbeat-file\", or name a file the job creates when ready: ready = \"/abs/ready\"".to_string(),
            );
            Readiness::Alive
        }
        "heartbeat" => Readiness::Heartbeat,
        "alive" => Readiness::Alive,
        p if p.starts_with('/') || p.starts_with('$') => Readiness::File {
            path: values::remote_abs_path(ctx, key, r),
        },
        other => {
            ctx.report_at(
                r,
                key,
                format!("\"{other}\" is not a readiness signal"),
                "use ready = \"heartbeat\", or an absolute path the job creates when ready, e.g. ready = \"/run/train/ready\"".to_string(),
            );
            Readiness::Alive
        }
    }
}

/// Each standby entry as a target (None where it is wrong, so later checks skip it).
fn standbys(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    j: &RawJob,
    hosts: &[HostSpec],
    home: &Target,
) -> Vec<Option<Target>> {
    let Some(list) = &j.standby else {
        return Vec::new();
    };
    let mut out: Vec<Option<Target>> = Vec::new();
    for (i, s) in list.get_ref().iter().enumerate() {
        let key = k.clone().key("standby").index(i);
        let t = target(ctx, &key, s, hosts);
        if let Some(t) = &t {
            if t.host == home.host && (t.gpu == home.gpu || t.gpu.is_none() || home.gpu.is_none()) {
                own_place(ctx, &key, s, t, home, hosts);
                out.push(None);
                continue;
            }
            if out.iter().flatten().any(|o| o == t) {
                ctx.report_at(
                    s,
                    &key,
                    format!("{} is listed twice", quote(s.get_ref())),
                    "list each standby once, in the order to try them",
                );
                out.push(None);
                continue;
            }
        }
        out.push(t);
    }
    out
}

fn own_place(
    ctx: &mut Ctx<'_>,
    key: &KeyPath,
    s: &Str,
    t: &Target,
    home: &Target,
    hosts: &[HostSpec],
) {
    let what = if t == home { "is" } else { "overlaps" };
    // Another GPU on the same host, when the job has one and the host has more.
    let spare_gpu = home.gpu.and_then(|g| {
        hosts
            .iter()
            .find(|h| h.id == home.host && h.gpus >= 2)
            .map(|h| format!("{}:{}", h.id, if g == 0 { 1 } else { 0 }))
    });
    let other_host = hosts
        .iter()
        .find(|h| h.id != home.host)
        .map(|h| h.id.to_string());
    let example = spare_gpu
        .or(other_host)
        .map_or_else(String::new, |e| format!(", e.g. \"{e}\""));
    ctx.report_at(
        s,
        key,
        format!(
            "{} {what} the job's own place ({home}); a standby must be somewhere else",
            quote(s.get_ref())
        ),
        format!("name another GPU or another host{example}"),
    );
}

/// `"host"`, `"host:1"` or `"host:gpu1"`.
fn target(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str, hosts: &[HostSpec]) -> Option<Target> {
    let v = s.get_ref();
    let (name, gpu) = match v.split_once(':') {
        None => (v.as_str(), None),
        Some((h, g)) => match g.strip_prefix("gpu").unwrap_or(g).parse::<u32>() {
            Ok(n) if !h.is_empty() => (h, Some(n)),
            _ => {
                ctx.report_at(s, key, format!("{} is not a standby target", quote(v)), "write \"HOST\" or \"HOST:GPU\", e.g. \"pc1:1\" (GPU 1 of host pc1) or \"cpu-vm\"");
                return None;
            }
        },
    };
    let host = find_host_named(ctx, key, s, name, hosts)?;
    if let Some(g) = gpu {
        // A GPU host with gpus = 0 was already reported where it is defined.
        if host.gpus == 0 && host.role == Role::CpuStandby {
            ctx.report_at(
                s,
                key,
                format!(
                    "{} names GPU {g}, but host {} has no GPUs",
                    quote(v),
                    quote(name)
                ),
                format!("write just \"{name}\""),
            );
            return None;
        }
        let mut bad = false;
        check_gpu(ctx, g, host, |ctx, m, f| {
            bad = true;
            ctx.report_at(s, key, m, f);
        });
        if bad {
            return None;
        }
    }
    Some(Target::new(host.id.clone(), gpu))
}
