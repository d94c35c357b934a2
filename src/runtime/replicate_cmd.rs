//! `lifeboat checkpoints replicate`: one pass that pulls each job's new complete
//! checkpoints into the stores, repairs, prunes by retention when `auto_prune` allows, and
//! says how every store fared. Exits 1 when a store failed, so cron and scripts notice a
//! NAS that is not mounted or S3 credentials that stopped working.

use super::checkpoints_cmd::human_bytes;
use super::replica::Replicator;
use crate::core::fleet::Fleet;
use std::collections::BTreeMap;
use std::io::Write;

pub struct Options<'a> {
    pub fleet: &'a Fleet,
    pub json: bool,
    pub readonly: bool,
}

fn line(out: &mut (dyn Write + Send), text: &str) -> Result<(), String> {
    writeln!(out, "{text}").map_err(|e| e.to_string())
}

fn emit(out: &mut (dyn Write + Send), v: &serde_json::Value) -> Result<(), String> {
    line(out, &v.to_string())
}

/// The pass; `placements` says where each job runs now and under which epoch.
pub async fn replicate(
    rep: &Replicator,
    job: Option<String>,
    opts: &Options<'_>,
    placements: &BTreeMap<String, (String, u64)>,
    out: &mut (dyn Write + Send),
) -> Result<u8, String> {
    let jobs: Vec<_> = opts
        .fleet
        .jobs
        .iter()
        .filter(|j| job.as_ref().is_none_or(|n| j.id.as_str() == n))
        .collect();
    if jobs.is_empty() {
        return Err(format!(
            "no job named \"{}\" in the config",
            job.unwrap_or_default()
        ));
    }
    let mut total = 0;
    for j in jobs {
        // Where the job runs now (its home before any console has run).
        let (host, epoch) = placements
            .get(j.id.as_str())
            .cloned()
            .unwrap_or_else(|| (j.host.to_string(), 1));
        // Two passes: without a marker a checkpoint is complete once it held still.
        let mut got = rep
            .discover(j.id.as_str(), &host, epoch)
            .await
            .map_err(|e| e.to_string())?;
        if j.checkpoint_marker.is_none() {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            got.extend(
                rep.discover(j.id.as_str(), &host, epoch)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        for m in &got {
            if opts.json {
                emit(
                    out,
                    &serde_json::json!({"job": m.job, "id": m.id, "step": m.step, "bytes": m.total_bytes(), "digest": m.digest()}),
                )?;
            } else {
                line(
                    out,
                    &format!(
                        "replicated {}/{} (step {}, {})",
                        crate::core::safe_text::escape_line(&m.job),
                        crate::core::safe_text::escape_line(&m.id),
                        m.step,
                        human_bytes(m.total_bytes())
                    ),
                )?;
            }
        }
        total += got.len();
        if !opts.readonly {
            let ids: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
            let pruned = rep
                .prune_after_replication(j.id.as_str(), &ids)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(p) = pruned {
                if opts.json {
                    emit(out, &serde_json::json!({"auto_prune": p}))?;
                } else {
                    line(out, &format!("auto prune: {}", p.summary()))?;
                }
            }
        }
    }
    rep.repair().await.map_err(|e| e.to_string())?;
    if !opts.json {
        line(out, &format!("{total} new checkpoint(s) replicated"))?;
    }
    stores(rep, opts.json, out).await
}

/// Says how each store fared; 1 when one is failing.
async fn stores(rep: &Replicator, json: bool, out: &mut (dyn Write + Send)) -> Result<u8, String> {
    rep.look_at_stores().await;
    let reports = rep.store_reports().map_err(|e| e.to_string())?;
    let mut code = 0;
    for r in &reports {
        if json {
            emit(out, &serde_json::json!({"store": r}))?;
        }
        if let Some(e) = &r.error {
            code = 1;
            super::cli_out::err_line(&format!(
                "error: store {} ✖ {}: {} ({} cop{} pending)",
                r.store,
                e.kind,
                e.detail,
                r.pending,
                if r.pending == 1 { "y" } else { "ies" }
            ));
        }
    }
    Ok(code)
}
