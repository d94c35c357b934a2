//! The checkpoint catalogue: every checkpoint Lifeboat has replicated (its manifest) and
//! the state of each copy in each store, in the journal's SQLite file, so a restarted
//! console knows what is verified where and resumes what was left unfinished.

use crate::core::inventory::{CheckpointEntry, CopyState, CopyView, Provenance};
use crate::core::manifest::Manifest;
use crate::core::time::Ts;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("catalogue {path}: the manifest of {job}/{id} is unreadable ({why}); run `lifeboat checkpoints verify` to rebuild it from the stores")]
    Corrupt {
        path: PathBuf,
        job: String,
        id: String,
        why: String,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkpoints (
    job         TEXT NOT NULL,
    id          TEXT NOT NULL,
    step        INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    files       INTEGER NOT NULL,
    source_host TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    digest      TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    recorded    INTEGER NOT NULL,
    provenance  TEXT NOT NULL DEFAULT 'recorded',
    PRIMARY KEY (job, id)
);
CREATE TABLE IF NOT EXISTS copies (
    job     TEXT NOT NULL,
    id      TEXT NOT NULL,
    store   TEXT NOT NULL,
    state   TEXT NOT NULL,
    checked INTEGER,
    detail  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job, id, store)
);
CREATE TABLE IF NOT EXISTS seals (
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    job  TEXT NOT NULL,
    id   TEXT NOT NULL,
    seal TEXT NOT NULL,
    PRIMARY KEY (host, path)
);
CREATE TABLE IF NOT EXISTS catalogue_meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
";

pub struct Catalogue {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Bumped on every write, so readers can tell when to look again.
    generation: std::sync::atomic::AtomicU64,
}

impl Catalogue {
    /// Opens (creating when needed) the catalogue tables in the journal file at `path`.
    pub fn open(path: &Path) -> Result<Self, CatalogueError> {
        let sql = |source| CatalogueError::Sql {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        add_provenance(&conn).map_err(sql)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn sql(&self, source: rusqlite::Error) -> CatalogueError {
        CatalogueError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Changes whenever the catalogue is written.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CatalogueError> {
        let r = self.with(f);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        r
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CatalogueError> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn).map_err(|e| self.sql(e))
    }

    /// Records a checkpoint Lifeboat wrote itself (see [`Self::record_as`]).
    pub fn record(&self, m: &Manifest, now: Ts) -> Result<(), CatalogueError> {
        self.record_as(m, now, Provenance::Recorded)
    }

    /// Records a checkpoint's manifest once: a second record of the same id keeps the
    /// first, except that a checkpoint only found in a store gives way to one vouched for.
    pub fn record_as(
        &self,
        m: &Manifest,
        now: Ts,
        provenance: Provenance,
    ) -> Result<(), CatalogueError> {
        let text = String::from_utf8_lossy(&m.to_bytes()).into_owned();
        self.write(|c| {
            c.execute(
                "INSERT INTO checkpoints
                 (job, id, step, created, bytes, files, source_host, epoch, digest, manifest, recorded, provenance)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?11, ?6, ?7, ?8, ?9, ?10, ?12)
                 ON CONFLICT (job, id) DO UPDATE SET
                   step = excluded.step, created = excluded.created, bytes = excluded.bytes,
                   files = excluded.files, source_host = excluded.source_host,
                   epoch = excluded.epoch, digest = excluded.digest,
                   manifest = excluded.manifest, recorded = excluded.recorded,
                   provenance = excluded.provenance
                 WHERE checkpoints.provenance = 'found' AND excluded.provenance != 'found'",
                params![
                    m.job,
                    m.id,
                    m.step as i64,
                    m.created as i64,
                    m.total_bytes() as i64,
                    m.source_host,
                    m.epoch as i64,
                    m.digest(),
                    text,
                    now.0 as i64,
                    m.files.len() as i64,
                    provenance.as_str()
                ],
            )
            .map(|_| ())
        })
    }

    /// Changes who vouches for `job/id` (an operator adopted it).
    pub fn set_provenance(
        &self,
        job: &str,
        id: &str,
        provenance: Provenance,
    ) -> Result<(), CatalogueError> {
        self.write(|c| {
            c.execute(
                "UPDATE checkpoints SET provenance = ?3 WHERE job = ?1 AND id = ?2",
                params![job, id, provenance.as_str()],
            )
            .map(|_| ())
        })
    }

    /// Sets the state of one copy; `checked` is when its bytes were last hashed.
    pub fn set_copy(
        &self,
        job: &str,
        id: &str,
        store: &str,
        state: CopyState,
        checked: Option<Ts>,
        detail: &str,
    ) -> Result<(), CatalogueError> {
        let detail: String = detail.chars().take(500).collect();
        self.write(|c| {
            c.execute(
                "INSERT INTO copies (job, id, store, state, checked, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (job, id, store) DO UPDATE SET
                   state = excluded.state,
                   checked = COALESCE(excluded.checked, copies.checked),
                   detail = excluded.detail",
                params![
                    job,
                    id,
                    store,
                    state.as_str(),
                    checked.map(|t| t.0 as i64),
                    detail
                ],
            )
            .map(|_| ())
        })
    }

    /// Forgets one copy (deleted from its store).
    pub fn drop_copy(&self, job: &str, id: &str, store: &str) -> Result<(), CatalogueError> {
        self.write(|c| {
            c.execute(
                "DELETE FROM copies WHERE job = ?1 AND id = ?2 AND store = ?3",
                params![job, id, store],
            )
            .map(|_| ())
        })
    }

    /// Forgets a checkpoint and all its copies.
    pub fn forget(&self, job: &str, id: &str) -> Result<(), CatalogueError> {
        self.write(|c| {
            c.execute(
                "DELETE FROM copies WHERE job = ?1 AND id = ?2",
                params![job, id],
            )?;
            c.execute(
                "DELETE FROM checkpoints WHERE job = ?1 AND id = ?2",
                params![job, id],
            )
            .map(|_| ())
        })
    }

    /// Every checkpoint (of `job`, or all), oldest first within a job, with its copies.
    pub fn entries(&self, job: Option<&str>) -> Result<Vec<CheckpointEntry>, CatalogueError> {
        self.with(|c| {
            let mut copies = c.prepare(
                "SELECT job, id, store, state, checked, detail FROM copies ORDER BY store",
            )?;
            let mut by_ck: std::collections::BTreeMap<(String, String), Vec<CopyView>> =
                Default::default();
            let rows = copies.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    CopyView {
                        store: r.get(2)?,
                        state: CopyState::parse(&r.get::<_, String>(3)?)
                            .unwrap_or(CopyState::Missing),
                        checked: r.get::<_, Option<i64>>(4)?.map(|t| Ts(t.max(0) as u64)),
                        detail: r.get(5)?,
                    },
                ))
            })?;
            for row in rows {
                let (j, i, v) = row?;
                by_ck.entry((j, i)).or_default().push(v);
            }
            let mut stmt = c.prepare(
                "SELECT job, id, step, created, bytes, source_host, epoch, digest, files, provenance
                 FROM checkpoints WHERE ?1 IS NULL OR job = ?1
                 ORDER BY job, step, created, id",
            )?;
            let rows = stmt.query_map(params![job], |r| {
                let files = r.get::<_, i64>(8)?.max(0) as usize;
                Ok(CheckpointEntry {
                    job: r.get(0)?,
                    id: r.get(1)?,
                    step: r.get::<_, i64>(2)?.max(0) as u64,
                    created: Ts(r.get::<_, i64>(3)?.max(0) as u64),
                    bytes: r.get::<_, i64>(4)?.max(0) as u64,
                    files,
                    source_host: r.get(5)?,
                    epoch: r.get::<_, i64>(6)?.max(0) as u64,
                    digest: r.get(7)?,
                    copies: Vec::new(),
                    // Unknown words (a newer build's) are not vouched for.
                    provenance: Provenance::parse(&r.get::<_, String>(9)?)
                        .unwrap_or(Provenance::Found),
                })
            })?;
            let mut out = Vec::new();
            for row in rows {
                let mut e = row?;
                e.copies = by_ck
                    .remove(&(e.job.clone(), e.id.clone()))
                    .unwrap_or_default();
                out.push(e);
            }
            Ok(out)
        })
    }

    /// The manifest recorded for `job/id`, if any.
    pub fn manifest(&self, job: &str, id: &str) -> Result<Option<Manifest>, CatalogueError> {
        let text: Option<String> = self.with(|c| {
            c.query_row(
                "SELECT manifest FROM checkpoints WHERE job = ?1 AND id = ?2",
                params![job, id],
                |r| r.get(0),
            )
            .optional()
        })?;
        text.map(|t| {
            Manifest::parse(t.as_bytes()).map_err(|e| CatalogueError::Corrupt {
                path: self.path.clone(),
                job: job.into(),
                id: id.into(),
                why: e.to_string(),
            })
        })
        .transpose()
    }

    /// A counter kept across restarts (the scrub's rotation).
    pub fn counter(&self, name: &str) -> Result<u64, CatalogueError> {
        self.with(|c| {
            c.query_row(
                "SELECT value FROM catalogue_meta WHERE name = ?1",
                params![name],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.unwrap_or(0).max(0) as u64)
        })
    }

    pub fn set_counter(&self, name: &str, value: u64) -> Result<(), CatalogueError> {
        self.write(|c| {
            c.execute(
                "INSERT INTO catalogue_meta (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, value as i64],
            )
            .map(|_| ())
        })
    }
}

/// Catalogues from before provenance was kept get the column; checkpoints the old
/// build adopted from a store become found again, so an operator looks at them.
fn add_provenance(c: &Connection) -> rusqlite::Result<()> {
    let has: bool = c
        .prepare("SELECT 1 FROM pragma_table_info('checkpoints') WHERE name = 'provenance'")?
        .exists([])?;
    if has {
        return Ok(());
    }
    c.execute_batch(
        "ALTER TABLE checkpoints ADD COLUMN provenance TEXT NOT NULL DEFAULT 'recorded';
         UPDATE checkpoints SET provenance = 'found' WHERE EXISTS (
           SELECT 1 FROM copies WHERE copies.job = checkpoints.job AND copies.id = checkpoints.id
             AND copies.detail = 'adopted from the store');",
    )
}

#[path = "catalogue_seals.rs"]
mod seals;

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
