//! What provisioning asks for and gets back, independent of any one provider: the search
//! `Criteria`, the `Offer`s found, the `LaunchSpec` of a new instance, and what an
//! instance and a volume look like afterwards. Pure: the filter and the price order live
//! here so a provider's answer is checked the same way whatever the provider did with the
//! query (an API that ignores a filter must not rent a machine over budget).

use crate::config::ProvisionSpec;
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;

/// A provider's instance id (Vast: the contract id, a number, kept as text).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct InstanceId(pub String);

impl InstanceId {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which rentable machines will do. Every `None` or empty field is "any".
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Criteria {
    /// GPU model; compared ignoring case and the `_`/space difference ("RTX_4090").
    pub gpu_name: Option<String>,
    /// Exactly this many GPUs.
    pub num_gpus: Option<u32>,
    /// At most this many dollars per hour, all in.
    pub max_price: Option<f64>,
    /// At least this much system RAM, GiB.
    pub min_ram_gb: Option<f64>,
    /// At least this much free disk, GB.
    pub min_disk_gb: Option<f64>,
    /// Two-letter country codes; an offer must be in one of them.
    pub regions: Vec<String>,
    /// At least this reliability score (0..=1).
    pub min_reliability: Option<f64>,
    /// Disk the instance will be given, GB: the provider prices storage into the offer.
    pub allocated_disk_gb: Option<u32>,
    /// Offers kept after filtering, cheapest first.
    pub limit: usize,
}

impl Criteria {
    /// Offers asked for and kept when nothing else is said.
    pub const DEFAULT_LIMIT: usize = 64;

    /// The search for a job's `[job.provision]`: the machine must have room for the disk
    /// the instance will be given, whatever `min_disk_gb` says.
    pub fn from_spec(spec: &ProvisionSpec) -> Self {
        let min_disk = spec.min_disk_gb.unwrap_or(0).max(spec.disk_gb);
        Self {
            gpu_name: spec.gpu_name.clone(),
            num_gpus: spec.num_gpus,
            max_price: spec.max_price,
            min_ram_gb: spec.min_ram_gb.map(f64::from),
            min_disk_gb: (min_disk > 0).then_some(f64::from(min_disk)),
            regions: spec.regions.clone(),
            min_reliability: spec.min_reliability,
            allocated_disk_gb: Some(spec.disk_gb),
            limit: Self::DEFAULT_LIMIT,
        }
    }

    /// Whether `offer` meets every criterion (a missing offer value fails a criterion
    /// that needs it: unknown is not good enough to pay for).
    pub fn admits(&self, offer: &Offer) -> bool {
        let at_least = |want: Option<f64>, have: Option<f64>| {
            want.is_none_or(|w| have.is_some_and(|h| h + 1e-9 >= w))
        };
        self.gpu_name
            .as_deref()
            .is_none_or(|g| same_gpu(g, &offer.gpu_name))
            && self.num_gpus.is_none_or(|n| offer.num_gpus == n)
            && self
                .max_price
                .is_none_or(|p| offer.price_per_hour.is_finite() && offer.price_per_hour <= p)
            && at_least(self.min_ram_gb, offer.ram_gb)
            && at_least(self.min_disk_gb, offer.disk_gb)
            && at_least(self.min_reliability, offer.reliability)
            && (self.regions.is_empty()
                || offer
                    .region
                    .as_deref()
                    .is_some_and(|r| self.regions.iter().any(|want| in_region(r, want))))
    }

    /// The admitted offers, cheapest first (ties: more reliable first, then by id, so
    /// the order is the same on every run), at most `limit` of them.
    pub fn select(&self, offers: Vec<Offer>) -> Vec<Offer> {
        let mut kept: Vec<Offer> = offers.into_iter().filter(|o| self.admits(o)).collect();
        kept.sort_by(|a, b| {
            a.price_per_hour
                .total_cmp(&b.price_per_hour)
                .then_with(|| {
                    let (ra, rb) = (a.reliability.unwrap_or(0.0), b.reliability.unwrap_or(0.0));
                    rb.total_cmp(&ra)
                })
                .then_with(|| cmp_ids(&a.id, &b.id))
        });
        kept.truncate(self.limit.max(1));
        kept
    }

    /// The criteria in a few words, for messages ("RTX 4090 x1, ≤ $1.50/h, in SE, NO").
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match (&self.gpu_name, self.num_gpus) {
            (Some(g), Some(n)) => parts.push(format!("{g} x{n}")),
            (Some(g), None) => parts.push(g.clone()),
            (None, Some(n)) => parts.push(format!("{n} GPU(s)")),
            (None, None) => parts.push("any GPU".into()),
        }
        if let Some(p) = self.max_price {
            parts.push(format!("≤ ${p:.2}/h"));
        }
        if let Some(r) = self.min_ram_gb {
            parts.push(format!("≥ {r} GiB RAM"));
        }
        if let Some(d) = self.min_disk_gb {
            parts.push(format!("≥ {d} GB disk"));
        }
        if let Some(r) = self.min_reliability {
            parts.push(format!("reliability ≥ {r}"));
        }
        if !self.regions.is_empty() {
            parts.push(format!("in {}", self.regions.join(", ")));
        }
        parts.join(", ")
    }
}

/// GPU names the same model: case and `_`/space/`-` differences do not count.
pub fn same_gpu(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    norm(a) == norm(b)
}

/// Whether a provider location (Vast: "Oslo, NO", "Sweden, SE" or just "SE") is in the
/// region `want` (a country code, or the whole location string).
pub fn in_region(location: &str, want: &str) -> bool {
    let loc = location.trim();
    let code = loc.rsplit(',').next().unwrap_or(loc).trim();
    code.eq_ignore_ascii_case(want.trim()) || loc.eq_ignore_ascii_case(want.trim())
}

/// Numeric ids in number order, others as text.
fn cmp_ids(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// One rentable machine as a search found it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Offer {
    /// What `create` rents (Vast: the ask id).
    pub id: String,
    pub machine_id: Option<u64>,
    pub gpu_name: String,
    pub num_gpus: u32,
    /// Dollars per hour, all in (Vast `dph_total`).
    pub price_per_hour: f64,
    pub ram_gb: Option<f64>,
    pub disk_gb: Option<f64>,
    /// Where the machine is (Vast `geolocation`, e.g. "Oslo, NO").
    pub region: Option<String>,
    pub reliability: Option<f64>,
}

/// What a new instance runs and carries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LaunchSpec {
    pub image: String,
    /// Disk given to the instance, GB.
    pub disk_gb: u32,
    /// A label to find the instance by in the provider's console (and after a lost answer).
    pub label: String,
    /// A persistent volume to attach.
    pub volume: Option<VolumeAttach>,
}

impl LaunchSpec {
    /// The launch for a job's `[job.provision]`, labelled `label`.
    pub fn from_spec(spec: &ProvisionSpec, label: impl Into<String>) -> Self {
        Self {
            image: spec.image.clone(),
            disk_gb: spec.disk_gb,
            label: label.into(),
            volume: spec.volume.as_ref().map(|v| VolumeAttach {
                volume: v.clone(),
                mount_path: spec.mount_path.clone(),
            }),
        }
    }
}

/// A volume to attach: by name or id until `provision` resolves it, by id at `create`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumeAttach {
    pub volume: String,
    pub mount_path: String,
}

/// An instance as the provider reports it now.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InstanceInfo {
    pub id: InstanceId,
    /// What it is doing (Vast `actual_status`; empty while the API says null).
    pub status: String,
    /// Where to reach its SSH server (Vast: the SSH proxy host and port).
    pub ssh_host: Option<String>,
    pub ssh_port: Option<u16>,
    pub public_ip: Option<String>,
    pub region: Option<String>,
    /// The provider's own words about it.
    pub message: Option<String>,
}

impl InstanceInfo {
    /// Running, with an SSH address given.
    pub fn ssh_endpoint(&self) -> Option<(&str, u16)> {
        if self.status != "running" {
            return None;
        }
        let host = self.ssh_host.as_deref().filter(|h| !h.is_empty())?;
        let port = self.ssh_port.filter(|p| *p != 0)?;
        Some((host, port))
    }
}

/// A persistent volume the account holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Volume {
    pub id: String,
    pub name: Option<String>,
    /// Where it lives (Vast `geolocation`); instances that attach it must be there.
    pub region: Option<String>,
    pub machine_id: Option<u64>,
    pub size_gb: Option<f64>,
    /// The provider's word for it ("available", "in_use", …), when it gives one.
    pub status: Option<String>,
    /// Instances it is attached to now.
    pub instances: Vec<String>,
}

impl Volume {
    /// Whether an instance uses it: by the instances listed, or by the provider's status.
    pub fn attached(&self) -> bool {
        !self.instances.is_empty()
            || self
                .status
                .as_deref()
                .is_some_and(|s| matches!(s, "in_use" | "attached" | "mounted"))
    }

    /// Deleting a volume an instance uses would pull its disk from under a running job:
    /// refused, naming the instances, until they are gone.
    pub fn deletable(&self) -> Result<(), String> {
        if !self.attached() {
            return Ok(());
        }
        let on = if self.instances.is_empty() {
            format!(
                "the provider says it is {}",
                self.status.as_deref().unwrap_or("in use")
            )
        } else {
            format!("attached to instance {}", self.instances.join(", "))
        };
        Err(format!(
            "volume {} is {on}; destroy or detach the instance first (its data goes with the volume)",
            self.label()
        ))
    }

    /// Its name with its id, or the id.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("\"{n}\" ({})", self.id),
            None => self.id.clone(),
        }
    }
}

/// Disk a provider offers for a new volume.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumeOffer {
    pub id: String,
    pub region: Option<String>,
    /// Free space it can give, GB.
    pub size_gb: f64,
    /// Dollars per GB per month, when the provider says.
    pub price_gb_month: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, price: f64, region: &str) -> Offer {
        Offer {
            id: id.into(),
            machine_id: None,
            gpu_name: "RTX 4090".into(),
            num_gpus: 1,
            price_per_hour: price,
            ram_gb: Some(64.0),
            disk_gb: Some(500.0),
            region: Some(region.into()),
            reliability: Some(0.99),
        }
    }

    #[test]
    fn select_filters_and_sorts_by_price() {
        let c = Criteria {
            gpu_name: Some("rtx_4090".into()),
            max_price: Some(1.0),
            regions: vec!["SE".into(), "NO".into()],
            limit: 10,
            ..Criteria::default()
        };
        let got = c.select(vec![
            offer("3", 0.9, "Oslo, NO"),
            offer("1", 1.2, "Sweden, SE"),
            offer("2", 0.4, "Sweden, SE"),
            offer("4", 0.3, "Texas, US"),
            offer("5", f64::NAN, "SE"),
        ]);
        let ids: Vec<&str> = got.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"]);
    }

    #[test]
    fn unknown_values_fail_the_criteria_that_need_them() {
        let c = Criteria {
            min_ram_gb: Some(32.0),
            ..Criteria::default()
        };
        let mut o = offer("1", 0.5, "SE");
        assert!(c.admits(&o));
        o.ram_gb = None;
        assert!(!c.admits(&o));
        o.ram_gb = Some(31.0);
        assert!(!c.admits(&o));
    }

    #[test]
    fn names_and_regions_compare_loosely() {
        assert!(same_gpu("RTX_4090", "RTX 4090"));
        assert!(same_gpu("h100 sxm", "H100_SXM"));
        assert!(!same_gpu("RTX 4090", "RTX 4080"));
        assert!(in_region("Oslo, NO", "no"));
        assert!(in_region("SE", "SE"));
        assert!(!in_region("Texas, US", "SE"));
    }

    #[test]
    fn from_spec_needs_room_for_the_allocated_disk() {
        let spec = ProvisionSpec {
            provider: "vast".into(),
            gpu_name: Some("RTX 4090".into()),
            num_gpus: Some(1),
            max_price: Some(0.8),
            min_ram_gb: Some(32),
            min_disk_gb: Some(20),
            min_reliability: None,
            regions: vec!["SE".into()],
            image: "pytorch/pytorch:latest".into(),
            disk_gb: 64,
            volume: Some("ckpt".into()),
            mount_path: "/data".into(),
        };
        let c = Criteria::from_spec(&spec);
        assert_eq!(c.min_disk_gb, Some(64.0));
        assert_eq!(c.allocated_disk_gb, Some(64));
        let l = LaunchSpec::from_spec(&spec, "lifeboat-train");
        assert_eq!(l.volume.as_ref().map(|v| v.volume.as_str()), Some("ckpt"));
        assert!(c.describe().contains("≤ $0.80/h"), "{}", c.describe());
    }
}
