//! Probes wherever a runbook names one (`[[precondition]] probe`, an observe step's
//! `until`, a verify step's `check`), with the parameters some of them take.

use super::raw::Str;
use crate::config::keypath::KeyPath;
use crate::config::validate::values;
use crate::config::validate::Ctx;
use crate::core::drill::runbook::Probe;
use std::time::Duration;

/// The parameter keys written beside a probe's name.
pub struct Params<'r> {
    pub max_age: Option<&'r Str>,
    pub within: Option<&'r Str>,
}

/// The probes that take a parameter: (probe, key, example, what it means).
const PARAMETERS: [(&str, &str, &str, &str); 2] = [
    (
        "checkpoint-fresh",
        "max_age",
        "max_age = \"30m\"",
        "how old the newest verified checkpoint may be",
    ),
    (
        "heartbeat-advancing",
        "within",
        "within = \"2m\"",
        "how recently the job's step must have advanced",
    ),
];

/// The probe `name` names; `table` holds it (`step[2]`) under `key` (`until`).
pub fn probe(
    ctx: &mut Ctx<'_>,
    table: &KeyPath,
    key: &str,
    name: &Str,
    params: Params<'_>,
) -> Option<Probe> {
    let word = values::choice(ctx, &table.clone().key(key), name, &Probe::NAMES, "probe")?;
    let wanted = PARAMETERS.iter().find(|(p, ..)| *p == word);
    for (pkey, given) in [("max_age", params.max_age), ("within", params.within)] {
        let Some(given) = given else { continue };
        if wanted.is_some_and(|(_, k, ..)| *k == pkey) {
            continue;
        }
        let owner = PARAMETERS
            .iter()
            .find(|(_, k, ..)| *k == pkey)
            .map_or("", |(p, ..)| *p);
        ctx.report_at(
            given,
            &table.clone().key(pkey),
            format!("\"{pkey}\" is a parameter of the probe \"{owner}\", not of \"{word}\""),
            format!("remove {pkey} here (only {key} = \"{owner}\" takes it)"),
        );
    }
    let param = match wanted {
        None => None,
        Some((_, pkey, example, meaning)) => {
            let given = if *pkey == "max_age" {
                params.max_age
            } else {
                params.within
            };
            match given {
                Some(v) => Some(values::positive_duration(ctx, &table.clone().key(pkey), v)?),
                None => {
                    ctx.report_at(
                        name,
                        &table.clone().key(pkey),
                        format!("the probe \"{word}\" needs {pkey}: {meaning}"),
                        format!("add {example} beside {key} = \"{word}\""),
                    );
                    return None;
                }
            }
        }
    };
    from_name(word, param)
}

/// The probe called `word`, with its parameter when it takes one.
fn from_name(word: &str, param: Option<Duration>) -> Option<Probe> {
    Some(match word {
        "readiness" => Probe::Readiness,
        "checkpoint-fresh" => Probe::CheckpointFresh { max_age: param? },
        "heartbeat-advancing" => Probe::HeartbeatAdvancing { within: param? },
        "stores-reachable" => Probe::StoresReachable,
        "job-running" => Probe::JobRunning,
        "job-moved" => Probe::JobMoved,
        "failover-finished" => Probe::FailoverFinished,
        "fault-detected" => Probe::FaultDetected,
        "no-failover" => Probe::NoFailover,
        "automation-frozen" => Probe::AutomationFrozen,
        "hosts-healthy" => Probe::HostsHealthy,
        "copies-verified" => Probe::CopiesVerified,
        "restore-verified" => Probe::RestoreVerified,
        "failover-underway" => Probe::FailoverUnderway,
        "failed-over-once" => Probe::FailedOverOnce,
        "restored-from-store" => Probe::RestoredFromStore,
        _ => return None,
    })
}

/// The probes that need an injection, quoted: for messages.
pub fn after_injection() -> String {
    let names: Vec<&str> = Probe::NAMES
        .iter()
        .copied()
        .filter(|n| from_name(n, Some(Duration::ZERO)).is_some_and(|p| p.needs_injection()))
        .collect();
    crate::config::suggest::quoted_list(&names)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_name_makes_the_probe_of_that_name() {
        for n in Probe::NAMES {
            let p = from_name(n, Some(Duration::from_secs(1))).unwrap();
            assert_eq!(p.name(), n);
        }
        assert_eq!(from_name("checkpoint-fresh", None), None);
        assert_eq!(
            after_injection(),
            "\"job-moved\", \"failover-finished\", \"fault-detected\", \"no-failover\", \"automation-frozen\", \"failover-underway\", \"failed-over-once\", \"restored-from-store\""
        );
    }
}
