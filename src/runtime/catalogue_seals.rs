//! The seals of the checkpoint copies Lifeboat verified on hosts (see `core::seal`): kept
//! beside the catalogue, so a restarted supervisor still trusts a pre-staged copy that
//! has not changed.

use super::{Catalogue, CatalogueError};
use crate::core::seal::Seal;
use rusqlite::{params, OptionalExtension};

impl Catalogue {
    /// The seal of `job/id` at `path` on `host`, if the copy there was sealed as that
    /// checkpoint (a seal of another checkpoint at the same path counts for nothing).
    pub fn seal(
        &self,
        host: &str,
        path: &str,
        job: &str,
        id: &str,
    ) -> Result<Option<Seal>, CatalogueError> {
        let text: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT seal FROM seals WHERE host = ?1 AND path = ?2 AND job = ?3 AND id = ?4",
                params![host, path, job, id],
                |r| r.get(0),
            )
            .optional()
        })?;
        // An unreadable seal is no seal: the copy is hashed.
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Records that the copy at `path` on `host` is `job/id`, verified, as `seal` says.
    pub fn set_seal(
        &self,
        host: &str,
        path: &str,
        job: &str,
        id: &str,
        seal: &Seal,
    ) -> Result<(), CatalogueError> {
        let text = serde_json::to_string(seal).unwrap_or_default();
        self.write(|c| {
            c.execute(
                "INSERT INTO seals (host, path, job, id, seal) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (host, path) DO UPDATE SET
                   job = excluded.job, id = excluded.id, seal = excluded.seal",
                params![host, path, job, id, text],
            )
            .map(|_| ())
        })
    }

    /// Forgets the seal at `path` on `host` (what is there is no longer what was sealed).
    pub fn drop_seal(&self, host: &str, path: &str) -> Result<(), CatalogueError> {
        self.write(|c| {
            c.execute(
                "DELETE FROM seals WHERE host = ?1 AND path = ?2",
                params![host, path],
            )
            .map(|_| ())
        })
    }
}
