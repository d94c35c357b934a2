//! The journal: an SQLite database in WAL mode holding every event, every intent (written
//! before its effect runs), the core's durable state and the latest snapshot. Operators
//! can read it with `sqlite3 journal.db`.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("journal {path}: stored {what} is unreadable ({source}); move the file aside to start afresh")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("journal {path}: cannot encode {what}: {source}")]
    Encode {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

/// One journaled event row.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EventRow {
    pub seq: i64,
    pub ts: i64,
    pub kind: String,
    pub job: Option<String>,
    pub body: serde_json::Value,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    ts    INTEGER NOT NULL,
    kind  TEXT NOT NULL,
    job   TEXT,
    body  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events(job, seq);
CREATE TABLE IF NOT EXISTS intents (
    op      INTEGER PRIMARY KEY,
    ts      INTEGER NOT NULL,
    job     TEXT,
    effect  TEXT NOT NULL,
    done_ts INTEGER,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS state (
    name  TEXT PRIMARY KEY,
    ts    INTEGER NOT NULL,
    body  TEXT NOT NULL
);
";

impl Journal {
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let sql = |source| JournalError::Sql {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        // WAL + NORMAL survives a killed process (what we guard against) at a fraction of FULL's cost.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing journal without creating one (for `status`).
    pub fn open_existing(path: &Path) -> Result<Self, JournalError> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| JournalError::Sql {
                path: path.to_path_buf(),
                source,
            })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|source| JournalError::Sql {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    fn encode<T: serde::Serialize>(
        &self,
        what: &'static str,
        v: &T,
    ) -> Result<String, JournalError> {
        self.encode_with_room(what, v, 0)
    }

    /// [`Self::encode`] into a buffer with `room` bytes from the start (a large record's
    /// last size): a 9 MB snapshot grown by doubling held 16 MB.
    fn encode_with_room<T: serde::Serialize>(
        &self,
        what: &'static str,
        v: &T,
        room: usize,
    ) -> Result<String, JournalError> {
        let failed = |source| JournalError::Encode {
            path: self.path.clone(),
            what,
            source,
        };
        let mut buf = Vec::with_capacity(room);
        serde_json::to_writer(&mut buf, v).map_err(failed)?;
        // serde_json writes UTF-8 only.
        let body = String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        super::workload::Workload::add(&super::workload::WORKLOAD.journal_bytes, body.len() as u64);
        Ok(body)
    }

    /// Runs `f` as one transaction: every write in it lands, or none does. The supervisor
    /// saves the core's state with the events and intents that state change produced, so a
    /// killed process never leaves a state saved without its events (a failover finished
    /// with no `failover_finished`), nor events without their state.
    pub fn atomically<R>(
        &self,
        f: impl FnOnce(&Self) -> Result<R, JournalError>,
    ) -> Result<R, JournalError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.sql(e))?;
        match f(self) {
            Ok(r) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.sql(e))?;
                Ok(r)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    pub fn append_event(
        &self,
        ts: u64,
        kind: &str,
        job: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<(), JournalError> {
        let body = self.encode("event", body)?;
        self.conn
            .prepare_cached("INSERT INTO events (ts, kind, job, body) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![ts as i64, kind, job, body]))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Records that an effect is about to run (write-ahead).
    pub fn record_intent<T: serde::Serialize>(
        &self,
        op: u64,
        ts: u64,
        job: Option<&str>,
        effect: &T,
    ) -> Result<(), JournalError> {
        let body = self.encode("intent", effect)?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO intents (op, ts, job, effect) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![op as i64, ts as i64, job, body]))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    pub fn complete_intent(&self, op: u64, ts: u64, outcome: &str) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("UPDATE intents SET done_ts = ?2, outcome = ?3 WHERE op = ?1")
            .and_then(|mut s| s.execute(params![op as i64, ts as i64, outcome]))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Intents that never finished (the console died while they ran).
    pub fn open_intents(&self) -> Result<Vec<(u64, String)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT op, effect FROM intents WHERE done_ts IS NULL ORDER BY op")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    pub fn save<T: serde::Serialize>(
        &self,
        name: &str,
        ts: u64,
        value: &T,
    ) -> Result<(), JournalError> {
        self.save_with_room(name, ts, value, 0).map(|_| ())
    }

    /// [`Self::save`], encoding with `room` bytes from the start; the encoded size, for
    /// the next save's room.
    pub fn save_with_room<T: serde::Serialize>(
        &self,
        name: &str,
        ts: u64,
        value: &T,
        room: usize,
    ) -> Result<usize, JournalError> {
        let body = self.encode_with_room("state", value, room)?;
        let size = body.len();
        self.conn
            .prepare_cached(
                "INSERT INTO state (name, ts, body) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET ts = ?2, body = ?3",
            )
            .and_then(|mut s| s.execute(params![name, ts as i64, body]))
            .map_err(|e| self.sql(e))?;
        Ok(size)
    }

    pub fn load<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, JournalError> {
        let body: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM state WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|source| JournalError::Corrupt {
                path: self.path.clone(),
                what: name,
                source,
            })
        })
        .transpose()
    }

    /// Every state row whose name starts with `prefix`, by the rest of its name.
    pub fn load_prefixed<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
        what: &'static str,
    ) -> Result<Vec<(String, T)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, body FROM state WHERE substr(name, 1, ?2) = ?1 ORDER BY name")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![prefix, prefix.len() as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, body) = row.map_err(|e| self.sql(e))?;
            let value = serde_json::from_str(&body).map_err(|source| JournalError::Corrupt {
                path: self.path.clone(),
                what,
                source,
            })?;
            out.push((name[prefix.len()..].to_string(), value));
        }
        Ok(out)
    }

    /// Removes every state row whose name starts with `prefix`.
    pub fn forget_prefixed(&self, prefix: &str) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("DELETE FROM state WHERE substr(name, 1, ?2) = ?1")
            .and_then(|mut s| s.execute(params![prefix, prefix.len() as i64]))
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The events after sequence number `seq`, oldest first, at most `limit`.
    pub fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<EventRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, ts, kind, job, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![seq, limit as i64], event_row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// The newest `limit` events, oldest first.
    pub fn recent_events(&self, limit: usize) -> Result<Vec<EventRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, ts, kind, job, body FROM events ORDER BY seq DESC LIMIT ?1")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![limit as i64], event_row)
            .map_err(|e| self.sql(e))?;
        let mut out = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        out.reverse();
        Ok(out)
    }

    /// The newest `limit` events of one kind, newest first.
    pub fn latest_of_kind(&self, kind: &str, limit: usize) -> Result<Vec<EventRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, ts, kind, job, body FROM events WHERE kind = ?1 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![kind, limit as i64], event_row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }

    /// Every event, oldest first, except those of the `skip` kinds, handed to `each` one
    /// at a time (a long-lived journal does not fit in memory as rows).
    pub fn each_event(
        &self,
        skip: &[&str],
        mut each: impl FnMut(EventRow),
    ) -> Result<(), JournalError> {
        let marks = vec!["?"; skip.len()].join(", ");
        let sql = format!(
            "SELECT seq, ts, kind, job, body FROM events WHERE kind NOT IN ({marks}) ORDER BY seq"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(skip))
            .map_err(|e| self.sql(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            each(event_row(r).map_err(|e| self.sql(e))?);
        }
        Ok(())
    }

    /// Every job named by some event, sorted.
    pub fn event_jobs(&self) -> Result<Vec<String>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT job FROM events WHERE job IS NOT NULL ORDER BY job")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sql(e))
    }
}

/// `seq, ts, kind, job, body` as a row; a body that is not JSON is kept as a string.
fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    let body: String = r.get(4)?;
    Ok(EventRow {
        seq: r.get(0)?,
        ts: r.get(1)?,
        kind: r.get(2)?,
        job: r.get(3)?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_state_change_and_its_events_land_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        let j = Journal::open(&path).unwrap();
        j.save("core", 1, &"before").unwrap();
        let failed: Result<(), JournalError> = j.atomically(|j| {
            j.save("core", 2, &"after")?;
            j.append_event(
                2,
                "failover_finished",
                Some("train"),
                &serde_json::json!({}),
            )?;
            Err(JournalError::Encode {
                path: j.path().to_path_buf(),
                what: "test",
                source: serde_json::from_str::<u8>("x").unwrap_err(),
            })
        });
        assert!(failed.is_err());
        assert_eq!(j.load::<String>("core").unwrap().as_deref(), Some("before"));
        assert!(j.recent_events(10).unwrap().is_empty());
        j.atomically(|j| {
            j.save("core", 3, &"after")?;
            j.append_event(
                3,
                "failover_finished",
                Some("train"),
                &serde_json::json!({}),
            )
        })
        .unwrap();
        let again = Journal::open_existing(&path).unwrap();
        assert_eq!(
            again.load::<String>("core").unwrap().as_deref(),
            Some("after")
        );
        assert_eq!(again.recent_events(10).unwrap().len(), 1);
    }

    #[test]
    fn round_trips_state_events_and_intents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.db");
        {
            let j = Journal::open(&path).unwrap();
            j.save("core", 1, &vec![1, 2, 3]).unwrap();
            j.save("core", 2, &vec![4]).unwrap();
            j.append_event(
                5,
                "recovery_state",
                Some("train"),
                &serde_json::json!({"to": "RUNNING"}),
            )
            .unwrap();
            j.record_intent(7, 5, Some("train"), &"launch").unwrap();
            j.record_intent(8, 5, None, &"notify").unwrap();
            j.complete_intent(8, 6, "ok").unwrap();
        }
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.load::<Vec<i32>>("core").unwrap(), Some(vec![4]));
        assert_eq!(j.load::<Vec<i32>>("missing").unwrap(), None);
        let ev = j.recent_events(10).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].job.as_deref(), Some("train"));
        assert_eq!(
            j.open_intents()
                .unwrap()
                .iter()
                .map(|(op, _)| *op)
                .collect::<Vec<_>>(),
            vec![7]
        );
    }

    #[test]
    fn each_event_streams_in_order_past_skipped_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).unwrap();
        let body = serde_json::json!({});
        for (ts, kind, job) in [(1, "a", Some("x")), (2, "noise", Some("y")), (3, "b", None)] {
            j.append_event(ts, kind, job, &body).unwrap();
        }
        let mut kinds = Vec::new();
        j.each_event(&["noise"], |r| kinds.push(r.kind)).unwrap();
        assert_eq!(kinds, ["a", "b"]);
        assert_eq!(j.event_jobs().unwrap(), ["x", "y"]);
    }

    #[test]
    fn corrupt_state_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.db")).unwrap();
        j.save("core", 1, &"not a list").unwrap();
        let err = j.load::<Vec<i32>>("core").unwrap_err().to_string();
        assert!(err.contains("unreadable") && err.contains("j.db"), "{err}");
    }
}
