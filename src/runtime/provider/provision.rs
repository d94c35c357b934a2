//! Renting a machine for a job: search offers, rent the cheapest that will rent, wait until
//! it answers SSH, and give back whatever was rented when that fails, so a failed attempt
//! never leaves a paid instance running.
//!
//! With a volume in the launch (the regional-volume strategy) the volume is looked up
//! first and the search narrowed to its region (the country code of its location), since
//! a volume can only be attached next to where it lives.
//!
//! An offer that will not rent (gone, refused) moves on to the next, up to
//! `ProvisionOptions::max_attempts`. A rent whose answer was lost (timeout, cut
//! connection, garbage) may have rented something: the instances carrying that attempt's
//! unique label are destroyed, and provisioning stops there rather than risk a second one.

use super::criteria::{Criteria, InstanceId, InstanceInfo, LaunchSpec, Offer, Volume};
use super::regional::{find_volume, narrow_to_volume};
use super::{ProviderError, Provisioner};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use super::ready::wait_ssh;

/// How hard provisioning tries.
#[derive(Clone, Debug)]
pub struct ProvisionOptions {
    /// Offers tried to rent before giving up.
    pub max_attempts: usize,
    /// Between two looks at a new instance.
    pub poll_every: Duration,
    /// For the TCP connect and the SSH banner of one check.
    pub connect_timeout: Duration,
    /// Destroy calls made for an instance that failed before giving up on it.
    pub destroy_attempts: u32,
}

impl Default for ProvisionOptions {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            poll_every: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            destroy_attempts: 3,
        }
    }
}

/// A rented machine that answers SSH.
#[derive(Clone, Debug, PartialEq)]
pub struct Provisioned {
    pub instance: InstanceInfo,
    /// Where its SSH server answered.
    pub address: String,
    pub port: u16,
    pub offer: Offer,
    /// The volume attached, if the launch asked for one.
    pub volume: Option<Volume>,
}

/// What became of an instance rented by an attempt that failed.
#[derive(Debug)]
pub enum Cleanup {
    Destroyed,
    /// Destroying failed too: the instance may still be billed.
    Failed(Box<ProviderError>),
}

impl fmt::Display for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cleanup::Destroyed => f.write_str("it was destroyed"),
            Cleanup::Failed(e) => write!(
                f,
                "destroying it failed too ({e}): it may still be billed, so destroy it in the provider's console"
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Provider(#[from] ProviderError),

    #[error(
        "provider \"{provider}\": no offer matches {criteria}; widen the search \
         (max_price, regions, gpu_name, num_gpus) or try again later"
    )]
    NoOffers { provider: String, criteria: String },

    #[error("provider \"{provider}\": none of {tried} offer(s) could be rented; the last answer: {last}")]
    AllOffersFailed {
        provider: String,
        tried: usize,
        last: Box<ProviderError>,
    },

    #[error(
        "provider \"{provider}\": the account has no volume named or numbered \"{volume}\" \
         (it has: {known}); create it first, or fix volume in [job.provision]"
    )]
    VolumeNotFound {
        provider: String,
        volume: String,
        known: String,
    },

    #[error(
        "provider \"{provider}\": volume \"{volume}\" reports no location, so no offer can \
         be searched next to it"
    )]
    VolumeRegionUnknown { provider: String, volume: String },

    #[error(
        "provider \"{provider}\": volume \"{volume}\" is in {region}, outside regions = [{regions}]; \
         add \"{region}\" to regions or remove the key"
    )]
    VolumeOutsideRegions {
        provider: String,
        volume: String,
        region: String,
        regions: String,
    },

    #[error("instance {instance} was rented but did not come up: {source}; {cleanup}")]
    NotReady {
        instance: InstanceId,
        #[source]
        source: Box<ProviderError>,
        cleanup: Cleanup,
    },

    #[error("renting offer {offer} got no clear answer ({source}); {swept}")]
    CreateUnknown {
        offer: String,
        #[source]
        source: Box<ProviderError>,
        swept: String,
    },

    #[error("instance {instance}: {cleanup}")]
    DestroyFailed {
        instance: InstanceId,
        cleanup: Cleanup,
    },
}

/// Rents a machine that meets `criteria` and runs `launch`, waiting at most `ssh_timeout`
/// for it to answer SSH. Default options.
pub async fn provision(
    provider: &dyn Provisioner,
    criteria: &Criteria,
    launch: &LaunchSpec,
    ssh_timeout: Duration,
) -> Result<Provisioned, ProvisionError> {
    provision_with(
        provider,
        criteria,
        launch,
        ssh_timeout,
        &ProvisionOptions::default(),
    )
    .await
}

/// [`provision`] with the retry and polling options given.
pub async fn provision_with(
    provider: &dyn Provisioner,
    criteria: &Criteria,
    launch: &LaunchSpec,
    ssh_timeout: Duration,
    opts: &ProvisionOptions,
) -> Result<Provisioned, ProvisionError> {
    let name = provider.name().to_string();
    let mut criteria = criteria.clone();
    let mut launch = launch.clone();
    let volume = match &launch.volume {
        None => None,
        Some(attach) => {
            let v = find_volume(provider, &attach.volume).await?;
            narrow_to_volume(&name, &mut criteria, &v)?;
            Some(v)
        }
    };
    if let (Some(v), Some(attach)) = (&volume, launch.volume.as_mut()) {
        attach.volume = v.id.clone();
    }
    let offers = criteria.select(provider.offers(&criteria).await?);
    if offers.is_empty() {
        return Err(ProvisionError::NoOffers {
            provider: name,
            criteria: criteria.describe(),
        });
    }
    let base_label = launch.label.clone();
    let mut last = None;
    let mut tried = 0;
    for (attempt, offer) in offers.iter().take(opts.max_attempts.max(1)).enumerate() {
        tried += 1;
        launch.label = unique_label(&base_label, attempt);
        let id = match provider.create(offer, &launch).await {
            Ok(id) => id,
            Err(e) => match classify(&e) {
                CreateFailure::NextOffer => {
                    tracing::info!(provider = %name, offer = %offer.id, "offer not rented, trying the next: {e}");
                    last = Some(e);
                    continue;
                }
                CreateFailure::Unknown => {
                    let swept = sweep(provider, &launch.label, opts).await;
                    return Err(ProvisionError::CreateUnknown {
                        offer: offer.id.clone(),
                        source: Box::new(e),
                        swept,
                    });
                }
                CreateFailure::Fatal => return Err(e.into()),
            },
        };
        tracing::info!(provider = %name, offer = %offer.id, instance = %id, "rented; waiting for SSH");
        return match wait_ssh(provider, &id, ssh_timeout, opts).await {
            Ok(info) => {
                let (address, port) = match info.ssh_endpoint() {
                    Some((h, p)) => (h.to_string(), p),
                    None => (String::new(), 0),
                };
                Ok(Provisioned {
                    instance: info,
                    address,
                    port,
                    offer: offer.clone(),
                    volume,
                })
            }
            Err(source) => {
                let cleanup = destroy_quietly(provider, &id, opts).await;
                Err(ProvisionError::NotReady {
                    instance: id,
                    source: Box::new(source),
                    cleanup,
                })
            }
        };
    }
    Err(ProvisionError::AllOffersFailed {
        provider: name.clone(),
        tried,
        last: Box::new(last.unwrap_or(ProviderError::Refused {
            provider: name,
            what: "renting".into(),
            detail: "no offer was tried".into(),
        })),
    })
}

/// Destroys an instance that a failed provisioning (or a failed job) leaves behind,
/// retrying a few times; an instance already gone counts as destroyed.
pub async fn destroy_failed(
    provider: &dyn Provisioner,
    instance: &InstanceId,
) -> Result<(), ProvisionError> {
    match destroy_quietly(provider, instance, &ProvisionOptions::default()).await {
        Cleanup::Destroyed => Ok(()),
        cleanup => Err(ProvisionError::DestroyFailed {
            instance: instance.clone(),
            cleanup,
        }),
    }
}

enum CreateFailure {
    /// Nothing was rented; another offer may do.
    NextOffer,
    /// Something may have been rented.
    Unknown,
    /// No other offer will do better (a refused key …).
    Fatal,
}

fn classify(e: &ProviderError) -> CreateFailure {
    match e {
        ProviderError::OfferUnavailable { .. } | ProviderError::Refused { .. } => {
            CreateFailure::NextOffer
        }
        // The API answered with an error status: it did not rent.
        ProviderError::Http { .. } => CreateFailure::NextOffer,
        ProviderError::Timeout { .. }
        | ProviderError::Unreachable { .. }
        | ProviderError::Malformed { .. } => CreateFailure::Unknown,
        _ => CreateFailure::Fatal,
    }
}

/// Destroys whatever carries `label` after a rent whose answer was lost; says what it did.
async fn sweep(provider: &dyn Provisioner, label: &str, opts: &ProvisionOptions) -> String {
    match provider.labelled(label).await {
        Ok(ids) if ids.is_empty() => format!(
            "no instance labelled \"{label}\" was found; check the provider's console for one"
        ),
        Ok(ids) => {
            let mut said = Vec::new();
            for id in ids {
                said.push(format!(
                    "instance {id} labelled \"{label}\": {}",
                    destroy_quietly(provider, &id, opts).await
                ));
            }
            said.join("; ")
        }
        Err(e) => format!(
            "looking for an instance labelled \"{label}\" failed ({e}); check the provider's console for one"
        ),
    }
}

async fn destroy_quietly(
    provider: &dyn Provisioner,
    id: &InstanceId,
    opts: &ProvisionOptions,
) -> Cleanup {
    let mut last = None;
    for attempt in 0..opts.destroy_attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(opts.poll_every.min(Duration::from_secs(2)) * attempt).await;
        }
        match provider.destroy(id).await {
            Ok(()) => {
                tracing::info!(provider = provider.name(), instance = %id, "destroyed");
                return Cleanup::Destroyed;
            }
            Err(e @ ProviderError::Auth { .. }) => return Cleanup::Failed(Box::new(e)),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or(ProviderError::Refused {
        provider: provider.name().to_string(),
        what: format!("destroying instance {id}"),
        detail: "no attempt was made".into(),
    });
    tracing::error!(provider = provider.name(), instance = %id, "could not destroy a failed instance: {e}");
    Cleanup::Failed(Box::new(e))
}

/// `base-<attempt>-<time>`: unique to one rent, so a lost answer can be found by label
/// without touching instances rented earlier under the same base.
fn unique_label(base: &str, attempt: usize) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{base}-{attempt}-{:x}", nanos & 0xff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_per_attempt() {
        let a = unique_label("lifeboat-train", 0);
        let b = unique_label("lifeboat-train", 1);
        assert!(a.starts_with("lifeboat-train-0-"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn only_clear_refusals_move_on() {
        let p = "vast".to_string();
        let gone = ProviderError::OfferUnavailable {
            provider: p.clone(),
            offer: "1".into(),
            detail: "x".into(),
        };
        assert!(matches!(classify(&gone), CreateFailure::NextOffer));
        let lost = ProviderError::Timeout {
            provider: p.clone(),
            what: "PUT".into(),
            timeout: Duration::from_secs(1),
        };
        assert!(matches!(classify(&lost), CreateFailure::Unknown));
        let key = ProviderError::Auth {
            provider: p,
            var: "K".into(),
            status: 401,
        };
        assert!(matches!(classify(&key), CreateFailure::Fatal));
    }
}
