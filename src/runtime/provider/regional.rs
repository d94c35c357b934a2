//! The regional-volume strategy's half of provisioning: find the volume a launch names
//! (by id, else by name) and narrow the search to the country it lives in, since a volume
//! can only be attached next to where it is.

use super::criteria::{in_region, Criteria, Volume};
use super::provision::ProvisionError;
use super::Provisioner;

/// The account's volume with id `wanted`, else the first named `wanted`.
pub async fn find_volume(
    provider: &dyn Provisioner,
    wanted: &str,
) -> Result<Volume, ProvisionError> {
    let all = provider.volumes().await?;
    let found = all
        .iter()
        .find(|v| v.id == wanted)
        .or_else(|| all.iter().find(|v| v.name.as_deref() == Some(wanted)));
    match found {
        Some(v) => Ok(v.clone()),
        None => {
            let known: Vec<String> = all.iter().map(Volume::label).collect();
            Err(ProvisionError::VolumeNotFound {
                provider: provider.name().to_string(),
                volume: wanted.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            })
        }
    }
}

/// Narrows the search to the volume's country; refuses a volume outside `regions`.
pub(super) fn narrow_to_volume(
    provider: &str,
    criteria: &mut Criteria,
    v: &Volume,
) -> Result<(), ProvisionError> {
    let label = v.name.clone().unwrap_or_else(|| v.id.clone());
    let location = v
        .region
        .as_deref()
        .ok_or_else(|| ProvisionError::VolumeRegionUnknown {
            provider: provider.to_string(),
            volume: label.clone(),
        })?;
    let code = location
        .rsplit(',')
        .next()
        .unwrap_or(location)
        .trim()
        .to_string();
    if !criteria.regions.is_empty() && !criteria.regions.iter().any(|r| in_region(location, r)) {
        return Err(ProvisionError::VolumeOutsideRegions {
            provider: provider.to_string(),
            volume: label,
            region: code,
            regions: criteria.regions.join(", "),
        });
    }
    criteria.regions = vec![code];
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(region: Option<&str>) -> Volume {
        Volume {
            id: "77".into(),
            name: Some("ckpt".into()),
            region: region.map(str::to_string),
            machine_id: None,
            size_gb: Some(50.0),
            status: None,
            instances: Vec::new(),
        }
    }

    #[test]
    fn volume_narrows_the_search_to_its_country() {
        let mut c = Criteria::default();
        narrow_to_volume("vast", &mut c, &volume(Some("Oslo, NO"))).unwrap();
        assert_eq!(c.regions, ["NO"]);
        let mut c = Criteria {
            regions: vec!["SE".into()],
            ..Criteria::default()
        };
        let err = narrow_to_volume("vast", &mut c, &volume(Some("Oslo, NO"))).unwrap_err();
        assert!(err.to_string().contains("outside regions = [SE]"), "{err}");
        let err = narrow_to_volume("vast", &mut c, &volume(None)).unwrap_err();
        assert!(matches!(err, ProvisionError::VolumeRegionUnknown { .. }));
    }
}

#[cfg(test)]
mod deletable {
    use super::Volume;

    #[test]
    fn an_attached_volume_is_not_deletable() {
        let mut v = Volume {
            id: "77".into(),
            name: Some("ckpt".into()),
            region: None,
            machine_id: None,
            size_gb: None,
            status: Some("available".into()),
            instances: Vec::new(),
        };
        assert!(v.deletable().is_ok());
        v.instances.push("7001".into());
        let err = v.deletable().unwrap_err();
        assert!(err.contains("attached to instance 7001"), "{err}");
        assert!(err.contains("\"ckpt\" (77)"), "{err}");
        v.instances.clear();
        v.status = Some("in_use".into());
        assert!(v.deletable().unwrap_err().contains("in_use"));
    }
}
