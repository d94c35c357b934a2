//! The metrics that count what happened since the daemon started (Prometheus counters and
//! a histogram, which `rate()` and `histogram_quantile()` read across restarts): failovers
//! by strategy and outcome, the failover phases' durations, and drill runs by result. Fed
//! by the notices every console hears; labels are bounded (strategies, outcomes and phases
//! are fixed vocabularies, runbooks the catalogue).

use crate::core::event::EventKind;
use crate::protocol::notice::Notice;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use tokio::sync::{broadcast, watch};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailoverL {
    strategy: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseL {
    phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DrillL {
    runbook: String,
    status: String,
}

type Phases = Family<PhaseL, Histogram, fn() -> Histogram>;

fn phase_histogram() -> Histogram {
    // 50 ms to about 14 min.
    Histogram::new(exponential_buckets(0.05, 2.0, 15))
}

#[derive(Clone)]
pub struct Counters {
    failovers: Family<FailoverL, Counter>,
    phases: Phases,
    drills: Family<DrillL, Counter>,
}

impl Default for Counters {
    fn default() -> Counters {
        Counters {
            failovers: Family::default(),
            phases: Family::new_with_constructor(phase_histogram),
            drills: Family::default(),
        }
    }
}

impl Counters {
    /// Puts these (shared, not copied) into a scrape's registry.
    pub fn register(&self, reg: &mut Registry) {
        reg.register(
            "failovers",
            "Failovers ended since the daemon started, by the strategy that ran last and how they ended",
            self.failovers.clone(),
        );
        reg.register(
            "failover_phase_seconds",
            "How long each phase of a finished failover took (detect, reconnect, fence, stage, launch, verify, notify)",
            self.phases.clone(),
        );
        reg.register(
            "drill_runs",
            "Drill runs ended since the daemon started, by runbook and result",
            self.drills.clone(),
        );
    }

    /// Counts what `n` says happened; `strategy` keeps each job's running strategy.
    pub fn hear(&self, n: &Notice, strategy: &mut BTreeMap<String, String>) {
        match n {
            Notice::Core(e) => match &e.kind {
                EventKind::FailoverStep {
                    job, strategy: s, ..
                } => {
                    strategy.insert(job.to_string(), s.clone());
                }
                EventKind::FailoverFinished {
                    job, ok, breakdown, ..
                } => {
                    let s = strategy
                        .remove(job.as_str())
                        .unwrap_or_else(|| "unknown".into());
                    let outcome = if *ok { "succeeded" } else { "failed" };
                    self.failovers
                        .get_or_create(&FailoverL {
                            strategy: s,
                            outcome: outcome.into(),
                        })
                        .inc();
                    if *ok {
                        for (phase, ms) in breakdown {
                            self.phases
                                .get_or_create(&PhaseL {
                                    phase: phase.clone(),
                                })
                                .observe(*ms as f64 / 1000.0);
                        }
                    }
                }
                EventKind::Escalated { job, .. } => {
                    let s = strategy
                        .remove(job.as_str())
                        .unwrap_or_else(|| "none".into());
                    self.failovers
                        .get_or_create(&FailoverL {
                            strategy: s,
                            outcome: "escalated".into(),
                        })
                        .inc();
                }
                _ => {}
            },
            Notice::Drill {
                runbook,
                what,
                detail,
                ..
            } if what == "finished" => {
                let status = detail.split(':').next().unwrap_or("unknown").trim();
                let status = match status {
                    "passed" | "failed" | "aborted" | "interrupted" => status,
                    _ => "unknown",
                };
                self.drills
                    .get_or_create(&DrillL {
                        runbook: runbook.clone(),
                        status: status.into(),
                    })
                    .inc();
            }
            _ => {}
        }
    }
}

/// Counts every notice until `stop`.
pub async fn collect(
    counters: Counters,
    mut heard: broadcast::Receiver<Notice>,
    mut stop: watch::Receiver<bool>,
) {
    let mut strategy = BTreeMap::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            n = heard.recv() => match n {
                Ok(n) => counters.hear(&n, &mut strategy),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
