//! One persistent connection per host, shared by every call to it: reused while alive,
//! replaced when it died or the host's settings changed, and — after a failed connect —
//! not retried before the backoff has passed (calls meanwhile fail fast).

use super::connect::Conn;
use crate::core::fleet::HostSpec;
use crate::core::ids::HostId;
use crate::runtime::shell::ShellError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

#[derive(Default)]
pub struct Pool {
    slots: Mutex<HashMap<HostId, Arc<Slot>>>,
}

#[derive(Default)]
struct Slot {
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    conn: Option<Arc<Conn>>,
    /// The settings the connection was made with (address, port, user, key, ssh).
    made_for: String,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<ShellError>,
}

/// What a connection depends on: a change of any of these needs a new one.
fn identity(host: &HostSpec) -> String {
    format!(
        "{}|{}|{:?}|{:?}|{:?}",
        host.address, host.port, host.user, host.ssh_key, host.ssh
    )
}

/// The wait after the `failures`-th failure in a row: the schedule's entry, the last
/// one repeating.
pub fn backoff_after(schedule: &[Duration], failures: u32) -> Duration {
    let i = (failures.max(1) - 1) as usize;
    schedule
        .get(i)
        .or(schedule.last())
        .copied()
        .unwrap_or(Duration::from_secs(1))
}

impl Pool {
    fn slot(&self, id: &HostId) -> Arc<Slot> {
        match self.slots.lock() {
            Ok(mut m) => m.entry(id.clone()).or_default().clone(),
            Err(_) => Arc::new(Slot::default()),
        }
    }

    /// The live connection to `host`, or a new one from `connect` (one attempt at a
    /// time per host; others wait for it). Fails fast while a backoff runs.
    pub async fn get<F, Fut>(
        &self,
        host: &HostSpec,
        deadline: Instant,
        limit: Duration,
        backoff: &[Duration],
        connect: F,
    ) -> Result<Arc<Conn>, ShellError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Conn, ShellError>>,
    {
        let slot = self.slot(&host.id);
        let mut st = timeout_at(deadline, slot.state.lock())
            .await
            .map_err(|_| ShellError::Timeout(limit))?;
        let wanted = identity(host);
        if let Some(c) = &st.conn {
            if c.is_alive() && st.made_for == wanted {
                return Ok(c.clone());
            }
            tracing::debug!(host = %host.id, "SSH connection gone or outdated; reconnecting");
            st.conn = None;
        }
        if st.made_for != wanted {
            // New settings deserve a fresh try.
            st.retry_at = None;
            st.failures = 0;
        }
        let now = Instant::now();
        if let (Some(at), Some(last)) = (st.retry_at, &st.last_error) {
            if now < at {
                return Err(refusal(last, at - now));
            }
        }
        st.made_for = wanted;
        let result = match timeout_at(deadline, connect()).await {
            Ok(r) => r,
            Err(_) => Err(ShellError::Timeout(limit)),
        };
        match result {
            Ok(conn) => {
                let conn = Arc::new(conn);
                st.conn = Some(conn.clone());
                st.failures = 0;
                st.retry_at = None;
                st.last_error = None;
                Ok(conn)
            }
            Err(e) => {
                st.failures = st.failures.saturating_add(1);
                let wait = backoff_after(backoff, st.failures);
                st.retry_at = Some(Instant::now() + wait);
                tracing::debug!(host = %host.id, failures = st.failures, ?wait, "SSH connect failed: {e}");
                st.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Forgets `id`'s connection (it is closed once no call uses it).
    pub async fn forget(&self, id: &HostId) {
        let slot = self.slot(id);
        let mut st = slot.state.lock().await;
        *st = State::default();
    }

    /// Whether a live connection to `id` is pooled now.
    pub fn is_connected(&self, id: &HostId) -> bool {
        let slot = self.slot(id);
        let connected = match slot.state.try_lock() {
            Ok(st) => st.conn.as_ref().is_some_and(|c| c.is_alive()),
            Err(_) => false,
        };
        connected
    }
}

/// The last failure again, saying when the next attempt will be made.
fn refusal(last: &ShellError, left: Duration) -> ShellError {
    let note = format!(
        " (not retried for another {} ms after the last failure)",
        left.as_millis()
    );
    match last {
        ShellError::HostKey(m) => ShellError::HostKey(format!("{m}{note}")),
        ShellError::Auth(m) => ShellError::Auth(format!("{m}{note}")),
        ShellError::Other(m) => ShellError::Other(format!("{m}{note}")),
        ShellError::Unreachable(m) => ShellError::Unreachable(format!("{m}{note}")),
        ShellError::Timeout(d) => ShellError::Unreachable(format!(
            "the last connection attempt got no answer within {d:?}{note}"
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_schedule_then_repeats_the_last() {
        let s = [Duration::from_secs(1), Duration::from_secs(2)];
        assert_eq!(backoff_after(&s, 1), Duration::from_secs(1));
        assert_eq!(backoff_after(&s, 2), Duration::from_secs(2));
        assert_eq!(backoff_after(&s, 9), Duration::from_secs(2));
        assert_eq!(backoff_after(&[], 3), Duration::from_secs(1));
    }

    #[test]
    fn refusals_keep_the_kind_of_the_last_failure() {
        let r = refusal(
            &ShellError::HostKey("changed".into()),
            Duration::from_millis(1500),
        );
        assert!(
            matches!(r, ShellError::HostKey(m) if m.contains("changed") && m.contains("1500 ms"))
        );
        let r = refusal(
            &ShellError::Timeout(Duration::from_secs(3)),
            Duration::from_secs(1),
        );
        assert!(matches!(r, ShellError::Unreachable(_)));
    }
}
