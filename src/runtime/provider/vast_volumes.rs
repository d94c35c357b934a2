//! Vast.ai volumes beyond listing them, on the calls Vast's CLI makes:
//!
//! - Offers: `POST /api/v0/volumes/search/` with a query like the machine search
//!   (`{"geolocation": {"in": ["NO"]}, "disk_space": {"gte": 50}, "verified": {"eq":
//!   true}, "order": [["storage_cost", "asc"]]}`), answered `{"offers": [...]}` with
//!   `id`, `geolocation`, `disk_space` and `storage_cost` ($/GB/month).
//! - Create: `PUT /api/v0/volumes/` `{"size": GB, "id": OFFER, "name": …}`. The answer's
//!   shape is not documented; the new volume is read back from the list (by the id the
//!   answer gives, else by its name).
//! - Delete: `DELETE /api/v0/volumes/?id=ID` (the id in the query, as Vast's CLI sends it).

use super::criteria::{in_region, Volume, VolumeOffer};
use super::vast::VastClient;
use super::{ProviderError, Provisioner};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

const SEARCH: &str = "/api/v0/volumes/search/";
const VOLUMES: &str = "/api/v0/volumes/";

#[derive(Deserialize)]
struct Offers {
    #[serde(default)]
    offers: Vec<RawOffer>,
}

#[derive(Deserialize)]
struct RawOffer {
    id: Option<Value>,
    geolocation: Option<String>,
    disk_space: Option<f64>,
    storage_cost: Option<f64>,
}

/// An id as Vast sends it: a number or a string.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl VastClient {
    pub(super) async fn search_volume_offers(
        &self,
        region: &str,
        size_gb: u32,
    ) -> Result<Vec<VolumeOffer>, ProviderError> {
        let what = format!("POST {SEARCH}");
        let body = json!({
            "verified": {"eq": true},
            "geolocation": {"in": [region]},
            "disk_space": {"gte": size_gb},
            "order": [["storage_cost", "asc"]],
        });
        let reply = self
            .call(Method::POST, self.url(SEARCH)?, Some(&body), &what)
            .await?;
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        let found: Offers = self.parse(&what, &reply)?;
        // The answer is checked as the machine search's is: a filter ignored by the API
        // must not put a volume in another country.
        let mut offers: Vec<VolumeOffer> = found
            .offers
            .into_iter()
            .filter_map(|o| {
                Some(VolumeOffer {
                    id: id_text(o.id.as_ref()?)?,
                    region: o.geolocation.filter(|g| !g.trim().is_empty()),
                    size_gb: o.disk_space?,
                    price_gb_month: o.storage_cost,
                })
            })
            .filter(|o| o.size_gb + 1e-9 >= f64::from(size_gb))
            .filter(|o| o.region.as_deref().is_some_and(|r| in_region(r, region)))
            .collect();
        offers.sort_by(|a, b| {
            let price = |o: &VolumeOffer| o.price_gb_month.unwrap_or(f64::INFINITY);
            price(a).total_cmp(&price(b)).then_with(|| a.id.cmp(&b.id))
        });
        Ok(offers)
    }

    pub(super) async fn put_volume(
        &self,
        offer: &VolumeOffer,
        size_gb: u32,
        name: Option<&str>,
    ) -> Result<Volume, ProviderError> {
        let what = format!("PUT {VOLUMES}");
        let offer_id = offer
            .id
            .parse::<u64>()
            .map_or_else(|_| json!(offer.id), |n| json!(n));
        let mut body = json!({"size": size_gb, "id": offer_id});
        if let Some(n) = name {
            body["name"] = json!(n);
        }
        let reply = self
            .call(Method::PUT, self.url(VOLUMES)?, Some(&body), &what)
            .await?;
        if reply.status.is_client_error() {
            return Err(ProviderError::Refused {
                provider: self.provider(),
                what: format!("creating a {size_gb} GB volume on offer {}", offer.id),
                detail: self.scrub(super::excerpt(&reply.body, 160)),
            });
        }
        if !reply.status.is_success() {
            return Err(self.http_error(&what, &reply));
        }
        let answer: Value = self.parse(&what, &reply)?;
        let new_id = ["volume_id", "id", "new_contract"]
            .iter()
            .find_map(|k| answer.get(*k).and_then(id_text));
        let all = self.volumes().await?;
        let found = all.into_iter().find(|v| match (&new_id, name) {
            (Some(id), _) => &v.id == id,
            (None, Some(n)) => v.name.as_deref() == Some(n),
            (None, None) => false,
        });
        found.ok_or_else(|| ProviderError::Malformed {
            provider: self.provider(),
            what,
            detail: "the new volume is not in the account's list".into(),
            excerpt: self.scrub(super::excerpt(&reply.body, 80)),
        })
    }

    pub(super) async fn delete_volume_by_id(&self, id: &str) -> Result<(), ProviderError> {
        let mut url = self.url(VOLUMES)?;
        url.query_pairs_mut().append_pair("id", id);
        let what = format!("DELETE {VOLUMES}?id={id}");
        let reply = self.call(Method::DELETE, url, None, &what).await?;
        match reply.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(ProviderError::Refused {
                provider: self.provider(),
                what: format!("deleting volume {id}"),
                detail: "the account has no such volume".into(),
            }),
            s if s.is_client_error() => Err(ProviderError::Refused {
                provider: self.provider(),
                what: format!("deleting volume {id}"),
                detail: self.scrub(super::excerpt(&reply.body, 160)),
            }),
            _ => Err(self.http_error(&what, &reply)),
        }
    }
}
