//! Store health: per checkpoint store, the last good write, the last error with its kind
//! (typed, so the header, the views, `status` and scripts agree on what "not mounted"
//! means) and the copies waiting for it. The replicator reports what each store did; the
//! core reduces those reports into the record every snapshot carries, and announces when
//! a store starts or stops failing.

use super::event::EventKind;
use super::time::Ts;
use serde::{Deserialize, Serialize};

/// Why a store failed, as an operator would fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreFault {
    /// The NAS folder is missing: the share is not mounted.
    NotMounted,
    /// Out of space or quota.
    Full,
    /// Mounted read-only, or lifeboat's user may not write there.
    ReadOnly,
    /// S3 refused the credentials.
    Credentials,
    /// The S3 bucket does not exist.
    Bucket,
    /// The S3 endpoint did not answer (wrong URL, server down, network).
    Endpoint,
    Other,
}

impl StoreFault {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreFault::NotMounted => "not mounted",
            StoreFault::Full => "full",
            StoreFault::ReadOnly => "read-only",
            StoreFault::Credentials => "credentials refused",
            StoreFault::Bucket => "no such bucket",
            StoreFault::Endpoint => "unreachable",
            StoreFault::Other => "failing",
        }
    }

    /// The kind of a store error from its message, as the stores word them (the NAS from
    /// its IO errors, S3 from the SDK's answer; see `runtime::store`).
    pub fn classify(message: &str) -> Self {
        let m = message.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
        if has(&["is missing: is the nas mounted", "not mounted"]) {
            StoreFault::NotMounted
        } else if has(&["is full", "no space left", "quota exceeded", "disk quota"]) {
            StoreFault::Full
        } else if has(&[
            "read-only file system",
            "read-only",
            "permission denied",
            "not writable",
        ]) {
            StoreFault::ReadOnly
        } else if has(&[
            "does not exist; create it or fix [storage.s3] bucket",
            "nosuchbucket",
        ]) {
            StoreFault::Bucket
        } else if has(&["refused access", "check the credentials", "credential"]) {
            StoreFault::Credentials
        } else if has(&[
            "s3 is unavailable",
            "connection refused",
            "dispatch failure",
            "dns error",
            "timed out",
        ]) {
            StoreFault::Endpoint
        } else {
            StoreFault::Other
        }
    }
}

impl std::fmt::Display for StoreFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store's last error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreFailure {
    pub kind: StoreFault,
    pub at: Ts,
    /// The store's own words (names the path or bucket and the fix).
    pub detail: String,
}

impl StoreFailure {
    pub fn new(at: Ts, detail: &str) -> Self {
        Self {
            kind: StoreFault::classify(detail),
            at,
            detail: detail.chars().take(400).collect(),
        }
    }
}

/// What the replicator last knew of one store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreReport {
    pub store: String,
    /// The last write that went through.
    pub last_ok: Option<Ts>,
    /// The error the store gives now, if it has not worked since.
    pub error: Option<StoreFailure>,
    /// Copies it should hold that are not verified there yet.
    pub pending: u32,
}

/// One store's health as every view shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    pub store: String,
    pub last_ok: Option<Ts>,
    pub error: Option<StoreFailure>,
    pub pending: u32,
}

impl StoreHealth {
    /// Failing now: its last word was an error.
    pub fn failing(&self) -> bool {
        self.error.is_some()
    }

    /// `nas ✖ not mounted`, for headers and one-line summaries.
    pub fn badge(&self) -> Option<String> {
        self.error
            .as_ref()
            .map(|e| format!("{} ✖ {}", self.store.to_ascii_uppercase(), e.kind))
    }
}

/// Every store's health, in the order the stores were first reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreBook {
    stores: Vec<StoreHealth>,
}

impl StoreBook {
    /// Folds in a report; returns the event to announce when the store started or
    /// stopped failing (or fails differently now), and whether anything changed.
    pub fn reduce(&mut self, r: StoreReport) -> (bool, Option<EventKind>) {
        let next = StoreHealth {
            store: r.store.clone(),
            last_ok: r.last_ok,
            error: r.error,
            pending: r.pending,
        };
        let Some(at) = self.stores.iter().position(|s| s.store == r.store) else {
            let event = next.error.as_ref().map(|e| EventKind::StoreHealthChanged {
                store: r.store.clone(),
                ok: false,
                fault: Some(e.kind),
                detail: e.detail.clone(),
            });
            self.stores.push(next);
            return (true, event);
        };
        let before = &self.stores[at];
        if *before == next {
            return (false, None);
        }
        let was = before.error.as_ref().map(|e| e.kind);
        let now = next.error.as_ref().map(|e| e.kind);
        let event = (was != now).then(|| EventKind::StoreHealthChanged {
            store: r.store.clone(),
            ok: now.is_none(),
            fault: now,
            detail: next
                .error
                .as_ref()
                .map_or_else(|| "writes go through again".into(), |e| e.detail.clone()),
        });
        self.stores[at] = next;
        (true, event)
    }

    pub fn all(&self) -> &[StoreHealth] {
        &self.stores
    }
}

impl super::engine::Core {
    pub(super) fn handle_store(&mut self, report: StoreReport) {
        let (changed, event) = self.stores.reduce(report);
        if changed {
            // Every screen must see it: a new epoch publishes it.
            self.bump();
        }
        if let Some(kind) = event {
            self.emit(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stores_words_map_to_their_kind() {
        let cases = [
            ("NAS folder /mnt/nas is missing: is the NAS mounted?", StoreFault::NotMounted),
            ("cannot write file /mnt/nas/j/x: the NAS is full (No space left on device (os error 28)); free space", StoreFault::Full),
            ("cannot create folder /mnt/nas/j: Read-only file system (os error 30); check that the NAS is mounted read-write", StoreFault::ReadOnly),
            ("cannot create folder /mnt/nas/j: Permission denied (os error 13); check", StoreFault::ReadOnly),
            ("PUT s3://b/k: bucket \"b\" does not exist; create it or fix [storage.s3] bucket", StoreFault::Bucket),
            ("PUT s3://b/k: S3 refused access to bucket \"b\" (InvalidAccessKeyId: x); check the credentials: …", StoreFault::Credentials),
            ("PUT s3://b/k: S3 is unavailable (dispatch failure: io error: Connection refused)", StoreFault::Endpoint),
            ("something else", StoreFault::Other),
        ];
        for (text, kind) in cases {
            assert_eq!(StoreFault::classify(text), kind, "{text}");
        }
    }

    fn report(error: Option<&str>, last_ok: Option<u64>, pending: u32) -> StoreReport {
        StoreReport {
            store: "nas".into(),
            last_ok: last_ok.map(Ts),
            error: error.map(|e| StoreFailure::new(Ts(5), e)),
            pending,
        }
    }

    #[test]
    fn a_store_that_starts_and_stops_failing_is_announced_once_each() {
        let mut book = StoreBook::default();
        assert_eq!(book.reduce(report(None, Some(1), 0)), (true, None));
        assert_eq!(book.reduce(report(None, Some(1), 0)), (false, None));
        let missing = "NAS folder /mnt/nas is missing: is the NAS mounted?";
        let (changed, event) = book.reduce(report(Some(missing), Some(1), 2));
        assert!(changed);
        assert!(matches!(
            event,
            Some(EventKind::StoreHealthChanged {
                ok: false,
                fault: Some(StoreFault::NotMounted),
                ..
            })
        ));
        assert_eq!(book.all()[0].badge().as_deref(), Some("NAS ✖ not mounted"));
        assert_eq!(book.all()[0].pending, 2);
        // The same failure again: more pending copies, no new announcement.
        assert_eq!(book.reduce(report(Some(missing), Some(1), 3)), (true, None));
        let (_, event) = book.reduce(report(None, Some(9), 0));
        assert!(matches!(
            event,
            Some(EventKind::StoreHealthChanged {
                ok: true,
                fault: None,
                ..
            })
        ));
        assert!(!book.all()[0].failing());
    }
}
