//! One rendering per snapshot: `/hosts`, `/jobs` and the fleet's part of `/metrics` are
//! encoded once for each picture the supervisor publishes, and every request until the
//! next picture gets the same bytes. At 1,000 hosts an encoding costs tens of
//! milliseconds, so encoding per request capped those endpoints at a few dozen requests a
//! second; the cache keeps the snapshot it was made from (an `Arc`), so a new picture is
//! never mistaken for the old one.

use crate::core::snapshot::Snapshot;
use bytes::Bytes;
use std::sync::{Arc, Mutex};

/// The encoding of the latest snapshot some request asked for.
#[derive(Default)]
pub struct PerSnapshot(Mutex<Option<(Arc<Snapshot>, Bytes)>>);

impl PerSnapshot {
    /// `make(snap)`, or what it gave for this very snapshot before.
    pub fn get<E>(
        &self,
        snap: &Arc<Snapshot>,
        make: impl FnOnce(&Snapshot) -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        if let Some((s, b)) = self.lock().as_ref() {
            if Arc::ptr_eq(s, snap) {
                return Ok(b.clone());
            }
        }
        // Encoded outside the lock: a request for an older picture never waits on it.
        let b = make(snap)?;
        *self.lock() = Some((snap.clone(), b.clone()));
        Ok(b)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Arc<Snapshot>, Bytes)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The caches of one API.
#[derive(Default)]
pub struct Caches {
    pub hosts: PerSnapshot,
    pub jobs: PerSnapshot,
    pub metrics: PerSnapshot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_picture_is_encoded_once_and_a_new_one_again() {
        let c = PerSnapshot::default();
        let a = Arc::new(Snapshot::default());
        let mut made = 0;
        for _ in 0..3 {
            let b = c.get::<()>(&a, |_| {
                made += 1;
                Ok(Bytes::from_static(b"a"))
            });
            assert_eq!(b, Ok(Bytes::from_static(b"a")));
        }
        assert_eq!(made, 1);
        // An equal but new picture is a new picture.
        let b = Arc::new(Snapshot::default());
        let got = c.get::<()>(&b, |_| Ok(Bytes::from_static(b"b")));
        assert_eq!(got, Ok(Bytes::from_static(b"b")));
        // A failed encoding is not kept.
        let d = Arc::new(Snapshot::default());
        assert_eq!(c.get(&d, |_| Err("no")), Err("no"));
        assert_eq!(
            c.get::<()>(&d, |_| Ok(Bytes::from_static(b"d"))),
            Ok(Bytes::from_static(b"d"))
        );
    }
}
