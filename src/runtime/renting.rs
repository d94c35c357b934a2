//! The `provision` and `regional-volume` failover steps: rent a machine for a job through
//! its `[job.provision]` provider, wait until it answers SSH, and hand it to the core as a
//! new host (reached like the job's home host: same user and key, its new host key
//! trusted on first use). Also destroys a failed rented instance once a new one replaced it.
//!
//! Rented hosts live in a [`HostBook`] that every part resolving hosts by name consults
//! after the config (the executor, the replicator), so a job restored onto one is found.

use super::fence_provider::Provisioners;
use super::provider::provision::{self, ProvisionOptions};
use super::provider::{Criteria, InstanceId, LaunchSpec};
use crate::config::ProvisionSpec;
use crate::core::fleet::{HostKeyPolicy, HostSpec, JobSpec, ProviderRef, Role};
use crate::core::ids::HostId;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// What the config lets failovers rent: `provision` for jobs with a provision table,
/// `regional-volume` for those whose table names a volume.
pub fn capabilities(config: &crate::config::Config) -> crate::core::engine::Capabilities {
    crate::core::engine::Capabilities {
        provision: !config.provision.is_empty(),
        regional_volume: config.provision.values().any(|s| s.volume.is_some()),
        stores: config.storage.nas.is_some() || config.storage.s3.is_some(),
    }
}

/// Hosts that are not in the config: machines failovers rented.
#[derive(Clone, Default)]
pub struct HostBook(Arc<RwLock<BTreeMap<HostId, HostSpec>>>);

impl HostBook {
    pub fn get(&self, id: &HostId) -> Option<HostSpec> {
        self.0.read().ok()?.get(id).cloned()
    }

    pub fn add(&self, host: HostSpec) {
        if let Ok(mut m) = self.0.write() {
            m.insert(host.id.clone(), host);
        }
    }
}

pub struct Renting {
    pub provisioners: Provisioners,
    pub specs: BTreeMap<String, ProvisionSpec>,
    pub book: HostBook,
    /// How long a new instance may take to answer SSH.
    pub ssh_timeout: Duration,
    pub options: ProvisionOptions,
}

impl Renting {
    /// Rents a machine for `job`, modelled on `home` (its SSH user, key and options).
    pub async fn rent(
        &self,
        job: &JobSpec,
        home: &HostSpec,
        regional_volume: bool,
    ) -> Result<HostSpec, String> {
        let spec = self.specs.get(job.id.as_str()).ok_or_else(|| {
            format!(
                "{} has no [job.provision] table: nothing says what to rent",
                job.id
            )
        })?;
        if regional_volume && spec.volume.is_none() {
            return Err(format!(
                "{}: regional-volume needs `volume` in its [job.provision]",
                job.id
            ));
        }
        let provider = self.provisioners.get(&spec.provider).ok_or_else(|| {
            format!(
                "{}: provider \"{}\" is not configured",
                job.id, spec.provider
            )
        })?;
        let criteria = Criteria::from_spec(spec);
        // A label unique to this attempt: a lost answer to the rent is found by it.
        let label = format!(
            "lifeboat-{}-{}",
            job.id,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        );
        let mut launch = LaunchSpec::from_spec(spec, label);
        if !regional_volume {
            launch.volume = None;
        }
        let got = provision::provision_with(
            provider.as_ref(),
            &criteria,
            &launch,
            self.ssh_timeout,
            &self.options,
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut host = home.clone();
        host.id = HostId::new(format!("{}-{}", spec.provider, got.instance.id.0));
        host.address = got.address;
        host.port = got.port;
        host.role = Role::Standby;
        host.gpus = got.offer.num_gpus;
        host.provider = Some(ProviderRef {
            provider: spec.provider.clone(),
            instance: got.instance.id.0.clone(),
        });
        // A machine rented a minute ago has a key nobody has seen: trust it once, refuse
        // it if it ever changes.
        host.ssh.host_key_policy = HostKeyPolicy::AcceptNew;
        self.book.add(host.clone());
        Ok(host)
    }

    /// Destroys the instance behind `host` through its provider.
    pub async fn destroy(&self, host: &HostSpec) -> Result<(), String> {
        let r = host
            .provider
            .as_ref()
            .ok_or_else(|| format!("{} is not a rented instance", host.id))?;
        let p = self
            .provisioners
            .get(&r.provider)
            .ok_or_else(|| format!("provider \"{}\" is not configured", r.provider))?;
        p.destroy(&InstanceId(r.instance.clone()))
            .await
            .map_err(|e| e.to_string())
    }
}
