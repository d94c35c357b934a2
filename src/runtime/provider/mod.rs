//! The provider boundary: `Provider` (a rented-GPU provider's API, read as a second
//! opinion on host health), `Provisioner` (the same API renting, watching and giving back
//! machines), their errors, and building both from config.
//!
//! For health, a provider only lists instances; what that means for hosts is decided by the
//! pure `core::provider_verdict`, and `poller` carries the verdicts to the supervisor.
//! Renting is driven by `provision`. Errors never carry an API key: they name the
//! environment variable it came from instead.

pub mod criteria;
pub mod poller;
pub mod provision;
mod ready;
mod regional;
pub mod vast;
mod vast_provision;
mod vast_query;
mod vast_volumes;

use crate::config::ProviderConfig;
use std::sync::Arc;
use std::time::Duration;

pub use crate::core::provider_verdict::InstanceStatus;
pub use criteria::{
    Criteria, InstanceId, InstanceInfo, LaunchSpec, Offer, Volume, VolumeAttach, VolumeOffer,
};
pub use regional::find_volume;
pub use vast::{VastClient, VastOptions};

/// A provider's API, as far as health evidence needs it.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The `[[provider]]` name from the config, which `HostSpec.provider.provider` refers to.
    fn name(&self) -> &str;

    /// Every instance the account holds, with its current and intended status.
    async fn instances(&self) -> Result<Vec<InstanceStatus>, ProviderError>;
}

/// A provider's API as renting needs it: search offers, rent one, watch the instance come
/// up, stop or destroy it. Object-safe (`Arc<dyn Provisioner>`); a `Provisioner` is also a
/// `Provider`, so one client serves both channels.
#[async_trait::async_trait]
pub trait Provisioner: Provider {
    /// Rentable machines that meet `criteria`, cheapest first. Implementations filter the
    /// answer with `Criteria::select` too: a filter the API ignored must not let an offer
    /// over budget through.
    async fn offers(&self, criteria: &Criteria) -> Result<Vec<Offer>, ProviderError>;

    /// Rents `offer` and starts `launch` on it. `OfferUnavailable` or `Refused` mean
    /// nothing was rented; a `Timeout` or `Unreachable` leaves that unknown.
    async fn create(&self, offer: &Offer, launch: &LaunchSpec)
        -> Result<InstanceId, ProviderError>;

    /// The instance as the provider reports it now (`NoSuchInstance` when it has none).
    async fn instance(&self, id: &InstanceId) -> Result<InstanceInfo, ProviderError>;

    /// Waits until the instance runs, reports an SSH address, and that address answers
    /// with an SSH banner; gives up after `timeout`.
    async fn wait_ssh(
        &self,
        id: &InstanceId,
        timeout: Duration,
    ) -> Result<InstanceInfo, ProviderError> {
        provision::wait_ssh(self, id, timeout, &provision::ProvisionOptions::default()).await
    }

    /// Stops the instance (its disk is kept, and billed). `NoSuchInstance` if it is gone.
    async fn stop(&self, id: &InstanceId) -> Result<(), ProviderError>;

    /// Destroys the instance and its disk. Idempotent: an instance already gone is `Ok`.
    async fn destroy(&self, id: &InstanceId) -> Result<(), ProviderError>;

    /// Starts a stopped instance again (a drill's spot preemption is undone so).
    async fn start(&self, _id: &InstanceId) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            provider: self.name().to_string(),
            what: "start a stopped instance".into(),
        })
    }

    /// The account's persistent volumes, with where each lives.
    async fn volumes(&self) -> Result<Vec<Volume>, ProviderError> {
        Err(ProviderError::Unsupported {
            provider: self.name().to_string(),
            what: "list persistent volumes".into(),
        })
    }

    /// Disk offered for new volumes in `region` (a two-letter country code) with room for
    /// `size_gb`, cheapest first.
    async fn volume_offers(
        &self,
        _region: &str,
        _size_gb: u32,
    ) -> Result<Vec<VolumeOffer>, ProviderError> {
        Err(ProviderError::Unsupported {
            provider: self.name().to_string(),
            what: "search volume offers".into(),
        })
    }

    /// Creates a volume of `size_gb` from `offer` and answers it as listed.
    async fn create_volume(
        &self,
        _offer: &VolumeOffer,
        _size_gb: u32,
        _name: Option<&str>,
    ) -> Result<Volume, ProviderError> {
        Err(ProviderError::Unsupported {
            provider: self.name().to_string(),
            what: "create persistent volumes".into(),
        })
    }

    /// Deletes volume `id` and its data. Callers check [`Volume::deletable`] first.
    async fn delete_volume(&self, _id: &str) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            provider: self.name().to_string(),
            what: "delete persistent volumes".into(),
        })
    }

    /// Instances labelled exactly `label`: how a create whose answer was lost is found
    /// (and destroyed) instead of left running. Empty where a provider cannot tell.
    async fn labelled(&self, _label: &str) -> Result<Vec<InstanceId>, ProviderError> {
        Ok(Vec::new())
    }
}

/// Why a provider could not be built or asked. No variant holds an API key.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(
        "provider \"{provider}\": environment variable {var} is not set (or is empty); \
         export {var} with the provider's API key, or change api_key_env in the config"
    )]
    KeyMissing { provider: String, var: String },

    #[error(
        "provider \"{provider}\": the API refused the key from environment variable {var} \
         (HTTP {status}); check that {var} holds a current API key for this account"
    )]
    Auth {
        provider: String,
        var: String,
        status: u16,
    },

    #[error("provider \"{provider}\": {what} answered HTTP {status}: {excerpt}")]
    Http {
        provider: String,
        what: String,
        status: u16,
        excerpt: String,
    },

    #[error("provider \"{provider}\": {what} sent malformed JSON ({detail}); it began: {excerpt}")]
    Malformed {
        provider: String,
        what: String,
        detail: String,
        excerpt: String,
    },

    #[error("provider \"{provider}\": {what} gave no answer within {}", humantime::format_duration(*.timeout))]
    Timeout {
        provider: String,
        what: String,
        timeout: Duration,
    },

    #[error("provider \"{provider}\": {what} could not be reached: {detail}")]
    Unreachable {
        provider: String,
        what: String,
        detail: String,
    },

    #[error(
        "provider \"{provider}\": unknown kind \"{kind}\"; the kinds Lifeboat knows are: vast"
    )]
    UnknownKind { provider: String, kind: String },

    #[error("provider \"{provider}\": {detail}")]
    Setup { provider: String, detail: String },

    #[error("provider \"{provider}\": offer {offer} cannot be rented any more ({detail})")]
    OfferUnavailable {
        provider: String,
        offer: String,
        detail: String,
    },

    #[error("provider \"{provider}\": {what} was refused: {detail}")]
    Refused {
        provider: String,
        what: String,
        detail: String,
    },

    #[error("provider \"{provider}\": the account has no instance {instance}")]
    NoSuchInstance { provider: String, instance: String },

    #[error(
        "provider \"{provider}\": instance {instance} was not reachable over SSH within {}; last seen: {last}",
        humantime::format_duration(*.timeout)
    )]
    NotReady {
        provider: String,
        instance: String,
        timeout: Duration,
        last: String,
    },

    #[error(
        "provider \"{provider}\": instance {instance} is {status} and will not come up: {detail}"
    )]
    InstanceFailed {
        provider: String,
        instance: String,
        status: String,
        detail: String,
    },

    #[error("provider \"{provider}\": cannot {what} with this provider")]
    Unsupported { provider: String, what: String },
}

/// The provisioning side of a `[[provider]]` (the key is read from its variable now).
pub fn provisioner_from_config(c: &ProviderConfig) -> Result<Arc<dyn Provisioner>, ProviderError> {
    match c.kind.as_str() {
        "vast" => VastClient::from_env(&c.name, &c.api_key_env, vast_options(c))
            .map(|v| Arc::new(v) as Arc<dyn Provisioner>),
        other => Err(ProviderError::UnknownKind {
            provider: c.name.clone(),
            kind: other.to_string(),
        }),
    }
}

/// The client options a `[[provider]]` section asks for.
fn vast_options(c: &ProviderConfig) -> VastOptions {
    let mut o = VastOptions::default();
    if let Some(u) = &c.api_url {
        o.base_url = u.clone();
    }
    o
}

/// Builds one provider per `[[provider]]` section, reading each API key from its
/// environment variable now (so a missing key is a start-up error, not a silent channel).
pub fn from_config(configs: &[ProviderConfig]) -> Result<Vec<Arc<dyn Provider>>, ProviderError> {
    configs
        .iter()
        .map(|c| match c.kind.as_str() {
            "vast" => VastClient::from_env(&c.name, &c.api_key_env, vast_options(c))
                .map(|v| Arc::new(v) as Arc<dyn Provider>),
            other => Err(ProviderError::UnknownKind {
                provider: c.name.clone(),
                kind: other.to_string(),
            }),
        })
        .collect()
}

/// The first `max` characters of a response body, on one line, for an error message.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.is_empty() {
        return "(empty body)".into();
    }
    if flat.chars().count() <= max {
        format!("{flat:?}")
    } else {
        let head: String = flat.chars().take(max).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_short_and_one_line() {
        assert_eq!(excerpt(b"", 10), "(empty body)");
        assert_eq!(excerpt(b"<html>\nhi", 40), "\"<html> hi\"");
        let long = excerpt(&[b'a'; 500], 10);
        assert_eq!(long, "\"aaaaaaaaaa\"…");
    }

    #[test]
    fn unknown_kind_is_refused_with_the_known_ones() {
        let cfg = ProviderConfig {
            name: "lambda".into(),
            kind: "lambda-labs".into(),
            poll_every: std::time::Duration::from_secs(15),
            api_url: None,
            api_key_env: "LIFEBOAT_TEST_UNUSED".into(),
        };
        let err = from_config(&[cfg]).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("unknown kind \"lambda-labs\""), "{err}");
        assert!(err.contains("vast"), "{err}");
    }

    #[test]
    fn missing_key_names_the_variable() {
        let cfg = ProviderConfig {
            name: "vast".into(),
            kind: "vast".into(),
            poll_every: std::time::Duration::from_secs(15),
            api_url: None,
            api_key_env: "LIFEBOAT_TEST_SURELY_UNSET_KEY_VAR".into(),
        };
        let err = from_config(&[cfg]).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("LIFEBOAT_TEST_SURELY_UNSET_KEY_VAR"), "{err}");
        assert!(err.contains("not set"), "{err}");
    }
}
