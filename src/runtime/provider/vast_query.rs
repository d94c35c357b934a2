//! The JSON bodies of Vast's search and rent calls, built from `Criteria` and
//! `LaunchSpec` (pure; the field names and units are documented in `vast_provision`).

use super::criteria::{Criteria, LaunchSpec};
use serde_json::{json, Map, Value};

/// The search body for `criteria` (pure, so a test can read it).
pub(super) fn search_body(c: &Criteria) -> Value {
    let mut q = Map::new();
    q.insert("verified".into(), json!({"eq": true}));
    q.insert("rentable".into(), json!({"eq": true}));
    q.insert("rented".into(), json!({"eq": false}));
    q.insert("type".into(), json!("on-demand"));
    q.insert("order".into(), json!([["dph_total", "asc"]]));
    q.insert("limit".into(), json!(c.limit.max(1)));
    if let Some(g) = &c.gpu_name {
        q.insert("gpu_name".into(), json!({"eq": g.replace('_', " ")}));
    }
    if let Some(n) = c.num_gpus {
        q.insert("num_gpus".into(), json!({"eq": n}));
    }
    if let Some(p) = c.max_price {
        q.insert("dph_total".into(), json!({"lte": p}));
    }
    if let Some(r) = c.min_ram_gb {
        q.insert("cpu_ram".into(), json!({"gte": r * 1024.0}));
    }
    if let Some(d) = c.min_disk_gb {
        q.insert("disk_space".into(), json!({"gte": d}));
    }
    if let Some(r) = c.min_reliability {
        q.insert("reliability".into(), json!({"gte": r}));
    }
    if !c.regions.is_empty() {
        let codes: Vec<String> = c.regions.iter().map(|r| r.to_uppercase()).collect();
        q.insert("geolocation".into(), json!({ "in": codes }));
    }
    if let Some(d) = c.allocated_disk_gb {
        q.insert("allocated_storage".into(), json!(d));
    }
    Value::Object(q)
}

/// The rent body for `launch` (pure). A volume id that is a number is sent as one.
pub(super) fn create_body(launch: &LaunchSpec) -> Value {
    let mut b = json!({
        "client_id": "me",
        "image": launch.image,
        "disk": launch.disk_gb,
        "label": launch.label,
        "runtype": "ssh",
        "target_state": "running",
        "cancel_unavail": true,
    });
    if let (Some(v), Some(obj)) = (&launch.volume, b.as_object_mut()) {
        let id = v
            .volume
            .parse::<u64>()
            .map_or_else(|_| json!(v.volume), |n| json!(n));
        obj.insert(
            "volume_info".into(),
            json!({"create_new": false, "volume_id": id, "mount_path": v.mount_path}),
        );
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::provider::criteria::VolumeAttach;

    #[test]
    fn search_body_carries_every_filter_in_vast_units() {
        let c = Criteria {
            gpu_name: Some("RTX_4090".into()),
            num_gpus: Some(2),
            max_price: Some(1.5),
            min_ram_gb: Some(32.0),
            min_disk_gb: Some(100.0),
            regions: vec!["se".into(), "NO".into()],
            min_reliability: Some(0.98),
            allocated_disk_gb: Some(64),
            limit: 10,
        };
        let b = search_body(&c);
        assert_eq!(b["gpu_name"], json!({"eq": "RTX 4090"}));
        assert_eq!(b["num_gpus"], json!({"eq": 2}));
        assert_eq!(b["dph_total"], json!({"lte": 1.5}));
        assert_eq!(b["cpu_ram"], json!({"gte": 32768.0}));
        assert_eq!(b["disk_space"], json!({"gte": 100.0}));
        assert_eq!(b["geolocation"], json!({"in": ["SE", "NO"]}));
        assert_eq!(b["reliability"], json!({"gte": 0.98}));
        assert_eq!(b["rentable"], json!({"eq": true}));
        assert_eq!(b["order"], json!([["dph_total", "asc"]]));
        assert_eq!(b["allocated_storage"], json!(64));
    }

    #[test]
    fn create_body_attaches_a_volume_by_number() {
        let l = LaunchSpec {
            image: "pytorch/pytorch:latest".into(),
            disk_gb: 40,
            label: "lifeboat-train-1".into(),
            volume: Some(VolumeAttach {
                volume: "5151".into(),
                mount_path: "/data".into(),
            }),
        };
        let b = create_body(&l);
        assert_eq!(b["client_id"], "me");
        assert_eq!(b["runtype"], "ssh");
        assert_eq!(b["disk"], 40);
        assert_eq!(
            b["volume_info"],
            json!({"create_new": false, "volume_id": 5151, "mount_path": "/data"})
        );
    }
}
