//! Renting on Vast.ai: `Provisioner` for `VastClient`, on the calls Vast documents.
//!
//! - Search: `POST /api/v0/bundles/` with the query as the JSON body, each filter an
//!   operator object (`{"gpu_name": {"eq": "RTX 4090"}, "dph_total": {"lte": 1.5},
//!   "geolocation": {"in": ["SE"]}, "order": [["dph_total", "asc"]], ...}`); the answer is
//!   `{"offers": [...]}`. Units as the REST API has them: `cpu_ram` in MB, `disk_space` in
//!   GB. `gpu_name` is sent with spaces (what offers report, and what Vast's CLI sends for
//!   `RTX_4090`). `allocated_storage` makes `dph_total` include the disk we will ask for.
//!   Only verified, rentable, unrented on-demand machines are asked for.
//! - Rent: `PUT /api/v0/asks/{offer}/` with `client_id: "me"`, image, disk, label,
//!   `runtype: "ssh"` and `cancel_unavail: true` (fail now rather than queue on a machine
//!   that cannot start it); the answer is `{"success": true, "new_contract": ID}`. Vast
//!   answers 404 (offer not found) or 410 (no longer available) for an offer gone.
//!   A volume is attached with `volume_info: {"create_new": false, "volume_id": ID,
//!   "mount_path": …}` (the documented create-instance body).
//! - Show: `GET /api/v0/instances/{id}/?owner=me`, answered `{"instances": {...}}`.
//! - Stop: `PUT /api/v0/instances/{id}/` `{"state": "stopped"}` (and `"running"` to start
//!   it again). Destroy:
//!   `DELETE /api/v0/instances/{id}/`.
//! - Volumes: `GET /api/v0/volumes?owner=me&type=all_volume` (what Vast's CLI calls for
//!   `show volumes`), answered `{"volumes": [...]}`. The rows' shape is not documented
//!   field by field; `id`, `label`/`name`, `geolocation`, `machine_id` and `disk_space` are
//!   read when present (design decision, see `Volume`).

use super::criteria::{Criteria, InstanceId, InstanceInfo, LaunchSpec, Offer, Volume, VolumeOffer};
use super::vast::{Reply, VastClient};
use super::vast_query::{create_body, search_body};
use super::{ProviderError, Provisioner};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

const BUNDLES: &str = "/api/v0/bundles/";
const VOLUMES: &str = "/api/v0/volumes?owner=me&type=all_volume";
const ALL_INSTANCES: &str = "/api/v0/instances/?owner=me";

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(Box<T>),
    Null,
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::Many(v) => v,
            OneOrMany::One(t) => vec![*t],
            OneOrMany::Null => Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Number(u64),
    Text(String),
}

impl RawId {
    fn text(self) -> String {
        match self {
            RawId::Number(n) => n.to_string(),
            RawId::Text(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct Offers {
    offers: OneOrMany<RawOffer>,
}

#[derive(Deserialize)]
struct RawOffer {
    id: Option<RawId>,
    machine_id: Option<u64>,
    gpu_name: Option<String>,
    num_gpus: Option<f64>,
    dph_total: Option<f64>,
    /// MB.
    cpu_ram: Option<f64>,
    disk_space: Option<f64>,
    geolocation: Option<String>,
    reliability2: Option<f64>,
    reliability: Option<f64>,
}

impl RawOffer {
    /// None for an offer that cannot be rented or priced.
    fn convert(self) -> Option<Offer> {
        Some(Offer {
            id: self.id?.text(),
            machine_id: self.machine_id,
            gpu_name: self.gpu_name.unwrap_or_default(),
            num_gpus: self.num_gpus.map_or(0, |n| n.max(0.0) as u32),
            price_per_hour: self.dph_total?,
            ram_gb: self.cpu_ram.map(|mb| mb / 1024.0),
            disk_gb: self.disk_space,
            region: self.geolocation.filter(|g| !g.trim().is_empty()),
            reliability: self.reliability2.or(self.reliability),
        })
    }
}

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    success: Option<bool>,
    new_contract: Option<RawId>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    msg: Option<String>,
}

#[derive(Deserialize)]
struct Shown {
    #[serde(alias = "instance")]
    instances: OneOrMany<RawInstance>,
}

#[derive(Deserialize)]
struct RawInstance {
    id: Option<RawId>,
    actual_status: Option<String>,
    ssh_host: Option<String>,
    ssh_port: Option<u32>,
    public_ipaddr: Option<String>,
    geolocation: Option<String>,
    status_msg: Option<String>,
    label: Option<String>,
}

#[derive(Deserialize)]
struct Volumes {
    volumes: OneOrMany<RawVolume>,
}

#[derive(Deserialize)]
struct RawVolume {
    id: Option<RawId>,
    label: Option<String>,
    name: Option<String>,
    geolocation: Option<String>,
    machine_id: Option<u64>,
    disk_space: Option<f64>,
    status: Option<String>,
    /// The instances using it, where the row lists them.
    #[serde(default)]
    instances: Option<Vec<RawId>>,
}

/// Vast's own words from an error body (`msg`, else `error`), or an excerpt.
fn vast_words(client: &VastClient, reply: &Reply) -> String {
    #[derive(Deserialize)]
    struct Words {
        error: Option<String>,
        msg: Option<String>,
    }
    serde_json::from_slice::<Words>(&reply.body)
        .ok()
        .and_then(|w| w.msg.or(w.error))
        .filter(|w| !w.trim().is_empty())
        .map(|w| client.scrub(w))
        .unwrap_or_else(|| client.scrub(super::excerpt(&reply.body, 120)))
}

impl VastClient {
    /// `PUT /api/v0/instances/{id}/ {"state": STATE}`: stops or starts it.
    async fn set_state(&self, id: &InstanceId, state: &str) -> Result<(), ProviderError> {
        let path = format!("/api/v0/instances/{id}/");
        let what = format!("PUT {path}");
        let body = json!({"state": state});
        let reply = self
            .call(Method::PUT, self.url(&path)?, Some(&body), &what)
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(ProviderError::NoSuchInstance {
                provider: self.provider(),
                instance: id.to_string(),
            });
        }
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Provisioner for VastClient {
    async fn offers(&self, criteria: &Criteria) -> Result<Vec<Offer>, ProviderError> {
        let what = format!("POST {BUNDLES}");
        let body = search_body(criteria);
        let reply = self
            .call(Method::POST, self.url(BUNDLES)?, Some(&body), &what)
            .await?;
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        let found: Offers = self.parse(&what, &reply)?;
        let offers = found
            .offers
            .into_vec()
            .into_iter()
            .filter_map(RawOffer::convert)
            .collect();
        Ok(criteria.select(offers))
    }

    async fn create(
        &self,
        offer: &Offer,
        launch: &LaunchSpec,
    ) -> Result<InstanceId, ProviderError> {
        let path = format!("/api/v0/asks/{}/", offer.id);
        let what = format!("PUT {path}");
        let body = create_body(launch);
        let reply = self
            .call(Method::PUT, self.url(&path)?, Some(&body), &what)
            .await?;
        let gone = |detail: String| ProviderError::OfferUnavailable {
            provider: self.provider(),
            offer: offer.id.clone(),
            detail,
        };
        match reply.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(gone(vast_words(self, &reply)));
            }
            s if s.is_client_error() => {
                return Err(ProviderError::Refused {
                    provider: self.provider(),
                    what,
                    detail: format!("HTTP {}: {}", s.as_u16(), vast_words(self, &reply)),
                });
            }
            s if !s.is_success() => return Err(self.http_error(&what, &reply)),
            _ => {}
        }
        let created: Created = self.parse(&what, &reply)?;
        match (created.success, created.new_contract) {
            (Some(true) | None, Some(id)) => Ok(InstanceId(id.text())),
            _ => Err(gone(
                self.scrub(
                    created
                        .msg
                        .or(created.error)
                        .unwrap_or_else(|| "the answer named no new contract".into()),
                ),
            )),
        }
    }

    async fn instance(&self, id: &InstanceId) -> Result<InstanceInfo, ProviderError> {
        let path = format!("/api/v0/instances/{id}/?owner=me");
        let what = format!("GET /api/v0/instances/{id}/");
        let reply = self
            .call(Method::GET, self.url(&path)?, None, &what)
            .await?;
        let missing = || ProviderError::NoSuchInstance {
            provider: self.provider(),
            instance: id.to_string(),
        };
        if reply.status == StatusCode::NOT_FOUND {
            return Err(missing());
        }
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        let shown: Shown = self.parse(&what, &reply)?;
        let raw = shown
            .instances
            .into_vec()
            .into_iter()
            .next()
            .ok_or_else(missing)?;
        Ok(InstanceInfo {
            id: raw.id.map_or_else(|| id.clone(), |i| InstanceId(i.text())),
            status: raw.actual_status.unwrap_or_default(),
            ssh_host: raw.ssh_host.filter(|h| !h.trim().is_empty()),
            ssh_port: raw.ssh_port.and_then(|p| u16::try_from(p).ok()),
            public_ip: raw.public_ipaddr.filter(|h| !h.trim().is_empty()),
            region: raw.geolocation.filter(|g| !g.trim().is_empty()),
            message: raw.status_msg.filter(|m| !m.trim().is_empty()),
        })
    }

    async fn stop(&self, id: &InstanceId) -> Result<(), ProviderError> {
        self.set_state(id, "stopped").await
    }

    async fn start(&self, id: &InstanceId) -> Result<(), ProviderError> {
        self.set_state(id, "running").await
    }

    async fn destroy(&self, id: &InstanceId) -> Result<(), ProviderError> {
        let path = format!("/api/v0/instances/{id}/");
        let what = format!("DELETE {path}");
        let reply = self
            .call(Method::DELETE, self.url(&path)?, None, &what)
            .await?;
        // Already gone is what destroying wanted.
        if reply.status == StatusCode::NOT_FOUND || reply.status.is_success() {
            return Ok(());
        }
        Err(self.http_error(&what, &reply))
    }

    async fn volumes(&self) -> Result<Vec<Volume>, ProviderError> {
        let what = "GET /api/v0/volumes".to_string();
        let reply = self
            .call(Method::GET, self.url(VOLUMES)?, None, &what)
            .await?;
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        let found: Volumes = self.parse(&what, &reply)?;
        Ok(found
            .volumes
            .into_vec()
            .into_iter()
            .filter_map(|v| {
                Some(Volume {
                    id: v.id?.text(),
                    name: v.label.or(v.name).filter(|n| !n.trim().is_empty()),
                    region: v.geolocation.filter(|g| !g.trim().is_empty()),
                    machine_id: v.machine_id,
                    size_gb: v.disk_space,
                    status: v.status.filter(|s| !s.trim().is_empty()),
                    instances: v
                        .instances
                        .unwrap_or_default()
                        .into_iter()
                        .map(RawId::text)
                        .collect(),
                })
            })
            .collect())
    }

    async fn volume_offers(
        &self,
        region: &str,
        size_gb: u32,
    ) -> Result<Vec<VolumeOffer>, ProviderError> {
        self.search_volume_offers(region, size_gb).await
    }

    async fn create_volume(
        &self,
        offer: &VolumeOffer,
        size_gb: u32,
        name: Option<&str>,
    ) -> Result<Volume, ProviderError> {
        self.put_volume(offer, size_gb, name).await
    }

    async fn delete_volume(&self, id: &str) -> Result<(), ProviderError> {
        self.delete_volume_by_id(id).await
    }

    async fn labelled(&self, label: &str) -> Result<Vec<InstanceId>, ProviderError> {
        let what = "GET /api/v0/instances/".to_string();
        let reply = self
            .call(Method::GET, self.url(ALL_INSTANCES)?, None, &what)
            .await?;
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        let listed: Shown = self.parse(&what, &reply)?;
        Ok(listed
            .instances
            .into_vec()
            .into_iter()
            .filter(|i| i.label.as_deref() == Some(label))
            .filter_map(|i| i.id.map(|id| InstanceId(id.text())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_answers_parse() {
        let offers: Offers = serde_json::from_str(
            r#"{"offers": [{"id": 12345678, "gpu_name": "RTX 4090", "num_gpus": 1,
                "dph_total": 0.41, "cpu_ram": 65536, "disk_space": 2048.5,
                "geolocation": "Oslo, NO", "reliability2": 0.995, "machine_id": 88888},
               {"id": 2, "gpu_name": "RTX 4090"}]}"#,
        )
        .unwrap();
        let got: Vec<Offer> = offers
            .offers
            .into_vec()
            .into_iter()
            .filter_map(RawOffer::convert)
            .collect();
        assert_eq!(got.len(), 1, "an offer without a price is dropped");
        assert_eq!(got[0].id, "12345678");
        assert_eq!(got[0].ram_gb, Some(64.0));
        let shown: Shown = serde_json::from_str(
            r#"{"instances": {"id": 123, "actual_status": "running", "ssh_host": "ssh1.vast.ai",
                "ssh_port": 22, "public_ipaddr": "203.0.113.1"}}"#,
        )
        .unwrap();
        assert_eq!(shown.instances.into_vec().len(), 1);
        let none: Shown = serde_json::from_str(r#"{"instances": null}"#).unwrap();
        assert!(none.instances.into_vec().is_empty());
    }
}
