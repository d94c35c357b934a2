//! Persistent volumes at a GPU provider, as screens and the HTTP API ask about them:
//! what to do (`VolumeOp`) and what comes back (`VolumeAnswer`). The supervisor carries
//! each operation to the `[[provider]]` that holds the volume.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum VolumeOp {
    /// Every volume of every provider.
    List,
    /// The volume `job`'s `[job.provision]` attaches (its regional-volume strategy's).
    Job { job: String },
    /// Creates a volume of `size_gb` in `region` (a two-letter country code) on the
    /// cheapest disk offered there, at `provider` (the only one when `None`).
    Create {
        provider: Option<String>,
        region: String,
        size_gb: u32,
        name: Option<String>,
    },
    /// Deletes volume `id` with its data; refused while an instance uses it.
    Delete { id: String },
    /// Machines to rent in `region`, cheapest first (what a failover onto a volume there
    /// could get).
    Offers {
        region: String,
        max_price: Option<f64>,
        gpu_name: Option<String>,
    },
}

impl VolumeOp {
    /// Whether it changes anything (and so is journaled and needs more than a viewer).
    pub fn changes(&self) -> bool {
        matches!(self, VolumeOp::Create { .. } | VolumeOp::Delete { .. })
    }

    pub fn describe(&self) -> String {
        match self {
            VolumeOp::List => "list volumes".into(),
            VolumeOp::Job { job } => format!("show the volume of {job}"),
            VolumeOp::Create {
                region,
                size_gb,
                name,
                ..
            } => match name {
                Some(n) => format!("create volume {n} ({size_gb} GB in {region})"),
                None => format!("create a {size_gb} GB volume in {region}"),
            },
            VolumeOp::Delete { id } => format!("delete volume {id}"),
            VolumeOp::Offers { region, .. } => format!("search offers in {region}"),
        }
    }
}

/// One volume, with seed 001's field names where they fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VolumeRow {
    /// The `[[provider]]` that holds it.
    pub provider: String,
    pub volume_id: String,
    pub name: Option<String>,
    /// Where it lives as the provider says ("Oslo, NO").
    pub region: Option<String>,
    pub size_gb: Option<f64>,
    /// "attached" while an instance uses it, else the provider's word ("available").
    pub status: String,
    /// The instances using it.
    pub attached_to: Vec<String>,
}

/// A machine to rent, as seed 001's search answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfferRow {
    pub provider: String,
    pub offer_id: String,
    pub gpu_name: String,
    pub num_gpus: u32,
    pub price_per_hour: f64,
    pub reliability: Option<f64>,
    pub geolocation: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VolumeAnswer {
    Volumes {
        volumes: Vec<VolumeRow>,
    },
    Created {
        volume: VolumeRow,
    },
    Deleted {
        volume: VolumeRow,
    },
    Offers {
        offers: Vec<OfferRow>,
    },
    /// Nothing was done, and why.
    Failed {
        failure: VolumeFailure,
        reason: String,
    },
}

/// Why a volume operation did nothing, as a caller acts on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeFailure {
    /// The fleet has no provider to ask.
    NoProvider,
    /// No provider holds that volume.
    NotFound,
    /// An instance uses the volume.
    InUse,
    /// The request cannot be served as asked (a provider not configured, no disk in
    /// that region, several providers and none named).
    Invalid,
    /// The provider's API failed or refused.
    Provider,
}

impl VolumeAnswer {
    pub fn failed(failure: VolumeFailure, reason: impl Into<String>) -> VolumeAnswer {
        VolumeAnswer::Failed {
            failure,
            reason: reason.into(),
        }
    }
}

impl VolumeAnswer {
    pub fn summary(&self) -> String {
        match self {
            VolumeAnswer::Volumes { volumes } => format!("{} volumes", volumes.len()),
            VolumeAnswer::Created { volume } => format!("created volume {}", volume.volume_id),
            VolumeAnswer::Deleted { volume } => format!("deleted volume {}", volume.volume_id),
            VolumeAnswer::Offers { offers } => format!("{} offers", offers.len()),
            VolumeAnswer::Failed { reason, .. } => reason.clone(),
        }
    }
}
