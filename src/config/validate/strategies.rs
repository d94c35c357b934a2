//! A job's strategy chain: known names, no repeats, nothing after `escalate`, and each
//! strategy backed by something it can use (a GPU standby, a cpu-standby, a provider).
//! Without a `strategies` key the default chain applies, less what the job can't use.

use super::values::{self, quote};
use super::Ctx;
use crate::config::keypath::KeyPath;
use crate::config::raw::RawJob;
use crate::core::fleet::{HostSpec, Role, StrategyKind};
use crate::core::ids::Target;

pub fn build(
    ctx: &mut Ctx<'_>,
    k: &KeyPath,
    j: &RawJob,
    hosts: &[HostSpec],
    standbys: &[Option<Target>],
    has_providers: bool,
) -> Vec<StrategyKind> {
    let role = |t: &Target| hosts.iter().find(|h| h.id == t.host).map(|h| h.role);
    let has_gpu_standby = standbys
        .iter()
        .flatten()
        .any(|t| role(t).is_some_and(|r| r != Role::CpuStandby));
    let has_cpu_standby = standbys
        .iter()
        .flatten()
        .any(|t| role(t) == Some(Role::CpuStandby));
    let all_targets_ok = standbys.iter().all(Option::is_some);
    let usable = |s: StrategyKind| match s {
        StrategyKind::WarmStandby => has_gpu_standby,
        StrategyKind::CpuStandby => has_cpu_standby,
        StrategyKind::Provision | StrategyKind::RegionalVolume => {
            has_providers && j.provision.is_some()
        }
        StrategyKind::RestartInPlace | StrategyKind::Escalate => true,
    };
    let Some(list) = &j.strategies else {
        // The default chain, less the steps this job has nothing for.
        return StrategyKind::default_chain()
            .into_iter()
            .filter(|s| usable(*s))
            .collect();
    };
    let key = k.clone().key("strategies");
    if list.get_ref().is_empty() {
        ctx.report_at(list, &key, "the strategy list is empty, so nothing would happen when the job fails", "list at least one, e.g. strategies = [\"restart-in-place\", \"escalate\"], or remove the key to use the default chain");
        return Vec::new();
    }
    let names: Vec<&str> = StrategyKind::ALL.iter().map(|s| s.as_str()).collect();
    let mut out: Vec<StrategyKind> = Vec::new();
    for (i, s) in list.get_ref().iter().enumerate() {
        let key = key.clone().index(i);
        let Some(kind) =
            values::choice(ctx, &key, s, &names, "strategy").and_then(StrategyKind::parse)
        else {
            continue;
        };
        if out.contains(&kind) {
            ctx.report_at(
                s,
                &key,
                format!("{} is listed twice", quote(kind.as_str())),
                "list each strategy once, in the order to try them",
            );
        } else if out.contains(&StrategyKind::Escalate) {
            ctx.report_at(
                s,
                &key,
                format!(
                    "{} comes after \"escalate\", so it is never reached",
                    quote(kind.as_str())
                ),
                "move \"escalate\" to the end of the list",
            );
        } else if !usable(kind)
            && (all_targets_ok
                || kind == StrategyKind::Provision
                || kind == StrategyKind::RegionalVolume)
        {
            let fix = match kind {
                StrategyKind::WarmStandby => "add a GPU target to standby, e.g. standby = [\"pc1:1\"], or remove \"warm-standby\"",
                StrategyKind::CpuStandby => "add a cpu-standby host to standby, e.g. standby = [\"cpu-vm\"], or remove \"cpu-standby\"",
                _ if has_providers => "add a provision table saying what to rent, e.g. provision = { provider = \"vast\", gpu_name = \"RTX_4090\", max_price = 1.0, image = \"pytorch/pytorch\" }, or remove the strategy",
                _ => "add a [[provider]] (name = \"vast\", kind = \"vast\", api_key_env = \"VAST_API_KEY\"), or remove the strategy",
            };
            let why = match kind {
                StrategyKind::WarmStandby => "there is no GPU standby in standby",
                StrategyKind::CpuStandby => "there is no cpu-standby host in standby",
                _ if has_providers => "the job has no [job.provision] table saying what to rent",
                _ => "there is no [[provider]] to rent an instance from",
            };
            ctx.report_at(
                s,
                &key,
                format!("strategy {} cannot work: {why}", quote(kind.as_str())),
                fix,
            );
        }
        out.push(kind);
    }
    out
}
