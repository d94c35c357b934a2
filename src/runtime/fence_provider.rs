//! The provider half of a fence: when the old host does not answer, its epoch is revoked
//! and, if it is a rented instance whose provider we hold a key for, the instance is
//! stopped through the provider's API, so a host that comes back cannot keep a second copy
//! running. Stopped, not destroyed: its disk may hold the only copy of recent work.

use super::provider::{InstanceId, ProviderError, Provisioner};
use crate::core::fleet::HostSpec;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Provisioners by `[[provider]]` name (what `HostSpec.provider.provider` names).
pub type Provisioners = BTreeMap<String, Arc<dyn Provisioner>>;

/// The longest one stop request may take.
const STOP_LIMIT: Duration = Duration::from_secs(8);
/// Between a failed stop and its one retry.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Less time than this left: a request would only be cut off, leaving its effect unknown.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// Asks `host`'s provider to stop its instance, giving up at `deadline`; one retry after
/// an error that may pass. Returns the note for the fence step's detail, or `None` when the
/// host is not a provider's instance or no provisioner is configured under that name.
pub async fn stop_instance(
    provisioners: &Provisioners,
    host: &HostSpec,
    deadline: Instant,
) -> Option<String> {
    let r = host.provider.as_ref()?;
    let p = provisioners.get(&r.provider)?;
    let id = InstanceId::new(r.instance.clone());
    let (name, instance) = (&r.provider, &r.instance);
    let mut last = String::new();
    for attempt in 0..2 {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left < MIN_ATTEMPT {
            if attempt == 0 {
                last = "no time was left in the fence step".into();
            }
            break;
        }
        let limit = left.min(STOP_LIMIT);
        match tokio::time::timeout(limit, p.stop(&id)).await {
            Ok(Ok(())) => {
                tracing::warn!(host = %host.id, "fence: instance {instance} stopped through {name}");
                return Some(format!("instance {instance} stopped through {name}"));
            }
            Ok(Err(e)) => {
                last = e.to_string();
                if !passing(&e) {
                    break;
                }
            }
            Err(_) => last = format!("no answer within {}", humantime::format_duration(limit)),
        }
    }
    tracing::warn!(host = %host.id, "fence: stopping instance {instance} through {name} failed: {last}");
    Some(format!(
        "stopping instance {instance} through {name} failed: {last}; its epoch is revoked"
    ))
}

/// Whether asking again may go better.
fn passing(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Timeout { .. }
            | ProviderError::Unreachable { .. }
            | ProviderError::Http { .. }
            | ProviderError::Malformed { .. }
    )
}
