//! `[[host]]` tables → [`HostSpec`]s: unique names, addresses and ports, roles, GPU
//! counts, key paths, provider references and SSH options (known_hosts, host key
//! policy, key passphrase variable, jump hosts without loops).

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::{RawHost, Str};
use crate::config::secret;
use crate::config::suggest;
use crate::config::ProviderConfig;
use crate::core::fleet::Access;
use crate::core::fleet::{HostKeyPolicy, HostSpec, ProviderRef, Role, SshOptions};
use crate::core::ids::HostId;

const ROLES: &[&str] = &["primary", "standby", "cpu-standby"];
const POLICIES: &[&str] = &["strict", "accept-new"];

pub fn build(ctx: &mut Ctx<'_>, raw: &[RawHost], providers: &[ProviderConfig]) -> Vec<HostSpec> {
    let names: Vec<&str> = raw.iter().map(|h| h.name.get_ref().as_str()).collect();
    let labels = values::labels(&names);
    let hosts: Vec<HostSpec> = raw
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let k = KeyPath::at("host").named(i, labels[i]);
            if let Some(first) = raw[..i]
                .iter()
                .find(|o| o.name.get_ref() == h.name.get_ref())
            {
                let line = ctx.line_of(&first.name);
                ctx.report_at(
                    &h.name,
                    &KeyPath::at("host").index(i).key("name"),
                    format!(
                        "duplicate host name {}; the first one is at line {line}",
                        quote(h.name.get_ref())
                    ),
                    "give each [[host]] its own name, or delete the second one",
                );
            }
            host(ctx, &k, h, providers)
        })
        .collect();
    proxy_jumps(ctx, raw, &hosts, &labels);
    hosts
}

fn host(ctx: &mut Ctx<'_>, k: &KeyPath, h: &RawHost, providers: &[ProviderConfig]) -> HostSpec {
    values::name(ctx, &k.clone().key("name"), &h.name, "host");
    let (address, port) = address(ctx, &k.clone().key("address"), &h.address);
    let user = h.user.as_ref().map(|u| {
        let v = u.get_ref();
        if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '@' || c == ':') {
            ctx.report_at(
                u,
                &k.clone().key("user"),
                format!("{} is not an SSH user name", quote(v)),
                "write just the login name, e.g. user = \"trainer\"",
            );
        }
        v.clone()
    });
    let role = match &h.role {
        None => Role::Primary,
        Some(r) => match values::choice(ctx, &k.clone().key("role"), r, ROLES, "role") {
            Some("standby") => Role::Standby,
            Some("cpu-standby") => Role::CpuStandby,
            _ => Role::Primary,
        },
    };
    let gpus = gpus(ctx, k, h, role);
    let ssh_key = h.ssh_key.as_ref().map(|s| {
        let key = k.clone().key("ssh_key");
        if secret::looks_like_secret(s.get_ref()) {
            ctx.report_at(
                s,
                &key,
                format!("{} is the key itself; secrets never live in the config file", quote(s.get_ref())),
                "write the path to the private key file, e.g. ssh_key = \"/home/you/.ssh/id_ed25519\", or leave ssh_key out to use the SSH agent",
            );
            s.get_ref().into()
        } else {
            values::local_abs_path(ctx, &key, s)
        }
    });
    let provider = provider_ref(ctx, k, h, providers);
    let access = match &h.access {
        None => Access::Ssh,
        Some(a) => match values::choice(
            ctx,
            &k.clone().key("access"),
            a,
            &["ssh", "local"],
            "access",
        ) {
            Some("local") => Access::Local,
            _ => Access::Ssh,
        },
    };
    HostSpec {
        id: HostId::new(h.name.get_ref().clone()),
        address,
        port,
        user,
        role,
        gpus,
        ssh_key,
        ssh: ssh_options(ctx, k, h),
        provider,
        access,
    }
}

/// known_hosts, host_key_policy and key_passphrase_env (proxy_jump is checked once
/// every host is known, in [`proxy_jumps`]).
fn ssh_options(ctx: &mut Ctx<'_>, k: &KeyPath, h: &RawHost) -> SshOptions {
    let known_hosts = h
        .known_hosts
        .as_ref()
        .map(|s| values::local_abs_path(ctx, &k.clone().key("known_hosts"), s));
    let host_key_policy = match &h.host_key_policy {
        None => HostKeyPolicy::Strict,
        Some(p) => {
            let key = k.clone().key("host_key_policy");
            match values::choice(ctx, &key, p, POLICIES, "host_key_policy") {
                Some("accept-new") => HostKeyPolicy::AcceptNew,
                _ => HostKeyPolicy::Strict,
            }
        }
    };
    let key_passphrase_env = h.key_passphrase_env.as_ref().map(|s| {
        let key = k.clone().key("key_passphrase_env");
        let v = s.get_ref();
        let example = "key_passphrase_env = \"PC1_KEY_PASSPHRASE\"";
        if secret::looks_like_secret(v) || !secret::is_env_name(v) {
            // Never echo it: a value that is not a variable name may be the passphrase.
            ctx.report_at(
                s,
                &key,
                "key_passphrase_env must be the name of an environment variable, and this value is not one (it is not repeated here in case it is the passphrase itself); secrets never live in the config file",
                format!("put the passphrase in an environment variable and write its name here, e.g. {example}"),
            );
        } else if h.ssh_key.is_none() {
            ctx.report_at(
                s,
                &key,
                "key_passphrase_env is set but ssh_key is missing, so there is no key file to unlock",
                "add ssh_key = \"/home/you/.ssh/id_ed25519\" (the passphrase-protected key), or remove key_passphrase_env (keys in ssh-agent are unlocked by the agent)",
            );
        }
        v.clone()
    });
    SshOptions {
        known_hosts,
        host_key_policy,
        key_passphrase_env,
        proxy_jump: h
            .proxy_jump
            .as_ref()
            .map(|s| HostId::new(s.get_ref().clone())),
    }
}

/// Each `proxy_jump` names another SSH host, and following them never loops.
fn proxy_jumps(ctx: &mut Ctx<'_>, raw: &[RawHost], hosts: &[HostSpec], labels: &[Option<&str>]) {
    let names: Vec<&str> = raw.iter().map(|h| h.name.get_ref().as_str()).collect();
    let index = |n: &str| names.iter().position(|m| *m == n);
    let jump_of = |i: usize| raw[i].proxy_jump.as_ref().map(|s| s.get_ref().as_str());
    for (i, h) in raw.iter().enumerate() {
        let Some(pj) = &h.proxy_jump else { continue };
        let key = KeyPath::at("host").named(i, labels[i]).key("proxy_jump");
        let v = pj.get_ref().as_str();
        let Some(j) = index(v) else {
            let others: Vec<&str> = names.iter().copied().filter(|n| *n != names[i]).collect();
            let known = if others.is_empty() {
                "there is no other [[host]]".to_string()
            } else {
                format!("known hosts: {}", suggest::quoted_list(&others))
            };
            ctx.report_at(
                pj,
                &key,
                format!("no host named {}{}; {known}", quote(v), suggest::did_you_mean(v, &others)),
                format!("add a [[host]] for the jump host (name = {}, address = \"bastion.example.com\"), or fix the name", quote(v)),
            );
            continue;
        };
        if j == i {
            ctx.report_at(
                pj,
                &key,
                format!("host {} cannot jump through itself", quote(v)),
                "set proxy_jump to another [[host]] (the bastion in front of this one), or remove it",
            );
        } else if hosts[i].access == Access::Local {
            ctx.report_at(
                pj,
                &key,
                "proxy_jump has no effect on an access = \"local\" host",
                "remove proxy_jump, or set access = \"ssh\" if this host is reached over SSH",
            );
        } else if hosts[j].access == Access::Local {
            ctx.report_at(
                pj,
                &key,
                format!("jump host {} is access = \"local\"; a jump host is reached over SSH", quote(v)),
                "remove proxy_jump: from the machine Lifeboat runs on, this host is reached directly",
            );
        } else if let Some(cycle) = loop_from(i, &index, &jump_of) {
            // Report a loop once, at its first host in the file.
            if cycle.iter().all(|&c| c >= i) {
                let path: Vec<&str> = cycle.iter().chain([&i]).map(|&c| names[c]).collect();
                ctx.report_at(
                    pj,
                    &key,
                    format!("proxy_jump makes a loop: {}", path.join(" → ")),
                    "end the chain at a host Lifeboat reaches directly (one without proxy_jump)",
                );
            }
        }
    }
}

/// The hosts on the jump chain from `start` when it comes back to `start`.
fn loop_from<'n>(
    start: usize,
    index: &dyn Fn(&str) -> Option<usize>,
    jump_of: &dyn Fn(usize) -> Option<&'n str>,
) -> Option<Vec<usize>> {
    let mut path = vec![start];
    let mut cur = start;
    while let Some(next) = jump_of(cur).and_then(index) {
        if next == start {
            return Some(path);
        }
        if path.contains(&next) {
            return None; // a loop further on, reported at its own hosts
        }
        path.push(next);
        cur = next;
    }
    None
}

/// `"host"`, `"host:port"`, `"[v6]:port"` or a bare IPv6 address; port 22 by default.
fn address(ctx: &mut Ctx<'_>, key: &KeyPath, s: &Str) -> (String, u16) {
    let v = s.get_ref().as_str();
    let bad = |ctx: &mut Ctx<'_>, why: String, fix: String| {
        ctx.report_at(s, key, why, fix);
        (v.to_string(), 22)
    };
    if v.is_empty() || v.chars().any(char::is_whitespace) {
        return bad(ctx, format!("{} is not a host address", quote(v)), "write a DNS name or IP address, optionally with :port, e.g. address = \"192.168.1.10\"".into());
    }
    if let Some((scheme, rest)) = v.split_once("://") {
        return bad(
            ctx,
            format!("{} has a {scheme}:// prefix", quote(v)),
            format!(
                "write just the host and port, e.g. address = \"{}\"",
                rest.trim_end_matches('/')
            ),
        );
    }
    if let Some((user, rest)) = v.split_once('@') {
        return bad(
            ctx,
            format!("{} has a user name in it", quote(v)),
            format!("split it: address = \"{rest}\" and user = \"{user}\""),
        );
    }
    let (host, port) = if let Some(inner) = v.strip_prefix('[') {
        match inner.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) if p.starts_with(':') => (h, Some(&p[1..])),
            _ => {
                return bad(
                    ctx,
                    format!("{} is not a valid [IPv6]:port address", quote(v)),
                    "write e.g. address = \"[fd00::10]:22\"".into(),
                )
            }
        }
    } else if v.matches(':').count() == 1 {
        match v.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (v, None),
        }
    } else {
        (v, None) // a name, an IPv4 address, or a bare IPv6 address
    };
    let port = match port {
        None => 22,
        Some(p) => match p.parse::<u64>() {
            Ok(n) if (1..=65_535).contains(&n) => n as u16,
            Ok(n) => {
                return bad(
                    ctx,
                    format!("port {n} in {} is out of range", quote(v)),
                    format!("use a port from 1 to 65535, e.g. address = \"{host}:22\""),
                )
            }
            Err(_) => {
                return bad(
                    ctx,
                    format!("{} is not a port number in {}", quote(p), quote(v)),
                    format!("write host:port with a numeric port, e.g. address = \"{host}:22\""),
                )
            }
        },
    };
    if host.is_empty() {
        return bad(
            ctx,
            format!("{} has no host name", quote(v)),
            "write e.g. address = \"192.168.1.10:22\"".into(),
        );
    }
    (host.to_string(), port)
}

fn gpus(ctx: &mut Ctx<'_>, k: &KeyPath, h: &RawHost, role: Role) -> u32 {
    match (&h.gpus, role) {
        (None, Role::CpuStandby) => 0,
        (None, _) => {
            ctx.report_path(
                k,
                format!("missing required key \"gpus\" for a {} host", role.as_str()),
                "add gpus = N, the number of GPUs the host should report, e.g. gpus = 2 (a CPU-only VM takes role = \"cpu-standby\")",
            );
            0
        }
        (Some(n), Role::CpuStandby) if *n.get_ref() > 0 => {
            ctx.report_at(
                n,
                &k.clone().key("gpus"),
                format!("a cpu-standby host has no GPUs, but gpus = {}", n.get_ref()),
                "remove gpus, or use role = \"standby\" for a GPU host kept ready to take over",
            );
            *n.get_ref()
        }
        (Some(n), _) if *n.get_ref() == 0 => {
            ctx.report_at(
                n,
                &k.clone().key("gpus"),
                format!("a {} host needs at least one GPU, but gpus = 0", role.as_str()),
                "give the number of GPUs, e.g. gpus = 1, or use role = \"cpu-standby\" for a CPU-only VM",
            );
            0
        }
        (Some(n), _) => *n.get_ref(),
    }
}

fn provider_ref(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    h: &RawHost,
    providers: &[ProviderConfig],
) -> Option<ProviderRef> {
    match (&h.provider, &h.instance) {
        (None, None) => None,
        (Some(p), None) => {
            ctx.report_at(
                p,
                &k.clone().key("provider"),
                "provider is set but instance is missing",
                "add the provider's instance id, e.g. instance = \"9876543\"",
            );
            None
        }
        (None, Some(i)) => {
            ctx.report_at(
                i,
                &k.clone().key("instance"),
                "instance is set but provider is missing",
                "name the [[provider]] that rents this host, e.g. provider = \"vast\"",
            );
            None
        }
        (Some(p), Some(i)) => {
            let names: Vec<&str> = providers.iter().map(|x| x.name.as_str()).collect();
            if !names.contains(&p.get_ref().as_str()) {
                let known = if names.is_empty() {
                    "there are no [[provider]] tables".to_string()
                } else {
                    format!("known providers: {}", suggest::quoted_list(&names))
                };
                ctx.report_at(
                    p,
                    &k.clone().key("provider"),
                    format!("no provider named {}{}; {known}", quote(p.get_ref()), suggest::did_you_mean(p.get_ref(), &names)),
                    format!("add a [[provider]] with name = {} (kind = \"vast\", api_key_env = \"VAST_API_KEY\"), or fix the name", quote(p.get_ref())),
                );
            }
            if i.get_ref().trim().is_empty() {
                ctx.report_at(
                    i,
                    &k.clone().key("instance"),
                    "instance is empty",
                    "write the provider's instance id, e.g. instance = \"9876543\"",
                );
            }
            Some(ProviderRef {
                provider: p.get_ref().clone(),
                instance: i.get_ref().clone(),
            })
        }
    }
}
