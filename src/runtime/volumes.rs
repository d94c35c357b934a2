//! Volume operations at the configured providers (`Request::Volume`): list them all,
//! create one on the cheapest disk offered in a region, delete one that no instance uses
//! (checked again just before: `Volume::deletable`), and search machines in a region.

use super::fence_provider::Provisioners;
use super::provider::{Criteria, Provisioner, Volume};
use crate::protocol::volume::{OfferRow, VolumeAnswer, VolumeFailure, VolumeOp, VolumeRow};
use std::sync::Arc;

/// Why there is nothing to ask.
pub const NO_PROVIDER: &str = "no [[provider]] is configured: volumes live at a GPU provider; add a [[provider]] section (kind = \"vast\") to the config";

type Failed = (VolumeFailure, String);

fn provider_failed(e: impl std::fmt::Display) -> Failed {
    (VolumeFailure::Provider, e.to_string())
}

/// Each job's `[job.provision]`, by job name.
pub type Specs = std::collections::BTreeMap<String, crate::config::ProvisionSpec>;

pub async fn run(provisioners: &Provisioners, specs: &Specs, op: VolumeOp) -> VolumeAnswer {
    match answer(provisioners, specs, op).await {
        Ok(a) => a,
        Err((failure, reason)) => VolumeAnswer::failed(failure, reason),
    }
}

async fn answer(
    provisioners: &Provisioners,
    specs: &Specs,
    op: VolumeOp,
) -> Result<VolumeAnswer, Failed> {
    if provisioners.is_empty() {
        return Err((VolumeFailure::NoProvider, NO_PROVIDER.into()));
    }
    match op {
        VolumeOp::List => {
            let mut volumes = Vec::new();
            for (name, p) in provisioners {
                let found = p.volumes().await.map_err(provider_failed)?;
                volumes.extend(found.iter().map(|v| row(name, v)));
            }
            Ok(VolumeAnswer::Volumes { volumes })
        }
        VolumeOp::Job { job } => {
            let spec = specs.get(&job);
            let Some((spec, wanted)) = spec.and_then(|s| Some((s, s.volume.as_deref()?))) else {
                return Err((
                    VolumeFailure::Invalid,
                    format!("job {job} attaches no volume: its [job.provision] names none (volume = \"NAME\" there gives its regional-volume strategy one)"),
                ));
            };
            let (pname, p) = pick(provisioners, Some(&spec.provider))?;
            let v = super::provider::find_volume(p.as_ref(), wanted)
                .await
                .map_err(|e| match e {
                    super::provider::provision::ProvisionError::VolumeNotFound { .. } => {
                        (VolumeFailure::NotFound, e.to_string())
                    }
                    other => provider_failed(other),
                })?;
            Ok(VolumeAnswer::Volumes {
                volumes: vec![row(pname, &v)],
            })
        }
        VolumeOp::Create {
            provider,
            region,
            size_gb,
            name,
        } => {
            let (pname, p) = pick(provisioners, provider.as_deref())?;
            let offers = p
                .volume_offers(&region, size_gb)
                .await
                .map_err(provider_failed)?;
            let Some(offer) = offers.first() else {
                return Err((
                    VolumeFailure::Invalid,
                    format!("provider \"{pname}\" offers no disk for a {size_gb} GB volume in {region}; try another region or a smaller size"),
                ));
            };
            let v = p
                .create_volume(offer, size_gb, name.as_deref())
                .await
                .map_err(provider_failed)?;
            Ok(VolumeAnswer::Created {
                volume: row(pname, &v),
            })
        }
        VolumeOp::Delete { id } => {
            let (pname, p, v) = find(provisioners, &id).await?;
            v.deletable().map_err(|why| (VolumeFailure::InUse, why))?;
            p.delete_volume(&v.id).await.map_err(provider_failed)?;
            Ok(VolumeAnswer::Deleted {
                volume: row(&pname, &v),
            })
        }
        VolumeOp::Offers {
            region,
            max_price,
            gpu_name,
        } => {
            let criteria = Criteria {
                regions: vec![region],
                max_price,
                gpu_name,
                limit: 16,
                ..Criteria::default()
            };
            let mut offers = Vec::new();
            for (pname, p) in provisioners {
                let found = p.offers(&criteria).await.map_err(provider_failed)?;
                offers.extend(found.into_iter().map(|o| OfferRow {
                    provider: pname.clone(),
                    offer_id: o.id,
                    gpu_name: o.gpu_name,
                    num_gpus: o.num_gpus,
                    price_per_hour: o.price_per_hour,
                    reliability: o.reliability,
                    geolocation: o.region,
                }));
            }
            offers.sort_by(|a, b| a.price_per_hour.total_cmp(&b.price_per_hour));
            Ok(VolumeAnswer::Offers { offers })
        }
    }
}

/// The provider `wanted`, or the only one.
fn pick<'p>(
    provisioners: &'p Provisioners,
    wanted: Option<&str>,
) -> Result<(&'p String, &'p Arc<dyn Provisioner>), Failed> {
    let names = || provisioners.keys().cloned().collect::<Vec<_>>().join(", ");
    let invalid = |why: String| (VolumeFailure::Invalid, why);
    match wanted {
        Some(w) => provisioners.get_key_value(w).ok_or_else(|| {
            invalid(format!(
                "no [[provider]] named \"{w}\"; the config has: {}",
                names()
            ))
        }),
        None if provisioners.len() == 1 => provisioners
            .iter()
            .next()
            .ok_or_else(|| (VolumeFailure::NoProvider, NO_PROVIDER.to_string())),
        None => Err(invalid(format!(
            "several providers are configured ({}); name one in \"provider\"",
            names()
        ))),
    }
}

/// The volume with id `id` at whichever provider holds it.
async fn find(
    provisioners: &Provisioners,
    id: &str,
) -> Result<(String, Arc<dyn Provisioner>, Volume), Failed> {
    for (name, p) in provisioners {
        let volumes = p.volumes().await.map_err(provider_failed)?;
        if let Some(v) = volumes.into_iter().find(|v| v.id == id) {
            return Ok((name.clone(), p.clone(), v));
        }
    }
    Err((
        VolumeFailure::NotFound,
        format!("no provider holds a volume with id {id}"),
    ))
}

pub fn row(provider: &str, v: &Volume) -> VolumeRow {
    VolumeRow {
        provider: provider.to_string(),
        volume_id: v.id.clone(),
        name: v.name.clone(),
        region: v.region.clone(),
        size_gb: v.size_gb,
        status: if v.attached() {
            "attached".into()
        } else {
            v.status.clone().unwrap_or_else(|| "available".into())
        },
        attached_to: v.instances.clone(),
    }
}
