//! The hash-chained audit log (the chain itself is computed in `safeguard_domain::audit`).

use safeguard_domain::audit::{self, AuditEntry, AuditEvent, ChainBreak, ChainHead, GENESIS};
use sqlx::{AnyConnection, Row};

use crate::time_codec::now_micros;
use crate::{Store, StoreError};

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: i64,
    /// The chain's head after the check.
    pub head: ChainHead,
    /// The first break found, if any.
    pub broken: Option<ChainBreak>,
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{what} is not 32 bytes")))
}

/// Appends `event` to the chain inside the caller's transaction, so that the entry and the change
/// it records commit together or not at all.
pub(crate) async fn append_in(
    conn: &mut AnyConnection,
    event: &AuditEvent,
) -> Result<AuditEntry, StoreError> {
    // Taking the head row's write lock first serialises appends (row lock on PostgreSQL, the
    // database write lock on SQLite).
    sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let prev_seq: i64 = head.try_get("seq")?;
    let prev_hash = hash32(head.try_get("hash")?, "audit head hash")?;
    let entry = audit::chain(prev_seq, prev_hash, now_micros(), event.clone());
    sqlx::query(
        "INSERT INTO audit_log (seq, at_micros, actor_user, actor, action, object_kind, object_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.seq)
    .bind(entry.at_micros)
    .bind(entry.event.actor_user)
    .bind(&entry.event.actor)
    .bind(&entry.event.action)
    .bind(&entry.event.object_kind)
    .bind(&entry.event.object_id)
    .bind(&entry.event.detail)
    .bind(entry.prev_hash.to_vec())
    .bind(entry.hash.to_vec())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(entry.seq)
        .bind(entry.hash.to_vec())
        .execute(&mut *conn)
        .await?;
    Ok(entry)
}

/// The chain head held for a batch of appends inside one transaction (the intake's group
/// commit): the head row is locked and read once, each entry costs one INSERT, and the head is
/// written once at the end. A caller that rolls an entry back (a savepoint) restores the cursor
/// it copied before.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditCursor {
    seq: i64,
    hash: [u8; 32],
    moved: bool,
}

impl AuditCursor {
    /// Locks and reads the head (see [`append_in`] for the lock).
    pub(crate) async fn lock(conn: &mut AnyConnection) -> Result<Self, StoreError> {
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(&mut *conn)
            .await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        Ok(Self {
            seq: head.try_get("seq")?,
            hash: hash32(head.try_get("hash")?, "audit head hash")?,
            moved: false,
        })
    }

    /// Appends `event` after the cursor's head.
    pub(crate) async fn append(
        &mut self,
        conn: &mut AnyConnection,
        event: &AuditEvent,
    ) -> Result<AuditEntry, StoreError> {
        let entry = audit::chain(self.seq, self.hash, now_micros(), event.clone());
        insert_entry(conn, &entry).await?;
        self.seq = entry.seq;
        self.hash = entry.hash;
        self.moved = true;
        Ok(entry)
    }

    /// Writes the head back (when anything was appended).
    pub(crate) async fn store(self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        if self.moved {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.seq)
                .bind(self.hash.to_vec())
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

async fn insert_entry(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (seq, at_micros, actor_user, actor, action, object_kind, object_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.seq)
    .bind(entry.at_micros)
    .bind(entry.event.actor_user)
    .bind(&entry.event.actor)
    .bind(&entry.event.action)
    .bind(&entry.event.object_kind)
    .bind(&entry.event.object_id)
    .bind(&entry.event.detail)
    .bind(entry.prev_hash.to_vec())
    .bind(entry.hash.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at_micros: row.try_get("at_micros")?,
        event: AuditEvent {
            actor_user: row.try_get("actor_user")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            object_kind: row.try_get("object_kind")?,
            object_id: row.try_get("object_id")?,
            detail: row.try_get("detail")?,
        },
        prev_hash: hash32(row.try_get("prev_hash")?, "prev_hash")?,
        hash: hash32(row.try_get("hash")?, "hash")?,
    })
}

const ENTRY_COLUMNS: &str =
    "seq, at_micros, actor_user, actor, action, object_kind, object_id, detail, prev_hash, hash";

impl Store {
    /// Appends one entry in its own transaction.
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<AuditEntry, StoreError> {
        let mut tx = self.write.begin().await?;
        let entry = append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Entries after `after_seq`, oldest first, at most `limit`.
    pub async fn audit_entries(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Newest entries made by users of `org`, newest first, with `seq` below `before_seq`.
    pub async fn audit_page_for_org(
        &self,
        org: safeguard_domain::account::OrgId,
        before_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let columns = ENTRY_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM audit_log a JOIN app_user u ON u.id = a.actor_user \
             WHERE u.org_id = $1 AND a.seq < $2 ORDER BY a.seq DESC LIMIT $3"
        ))
        .bind(org.0)
        .bind(before_seq)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Newest entries about one object, newest first.
    pub async fn audit_for_object(
        &self,
        object_kind: &str,
        object_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE object_kind = $1 AND object_id = $2 \
             ORDER BY seq DESC LIMIT $3"
        ))
        .bind(object_kind)
        .bind(object_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// The chain's current head, to export and have counter-signed.
    pub async fn audit_head(&self) -> Result<ChainHead, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        Ok(ChainHead {
            seq: row.try_get("seq")?,
            hash: hash32(row.try_get("hash")?, "audit head hash")?,
        })
    }

    /// Checks every entry in order, and that the chain reaches the stored head (removing entries
    /// from the end without also rewriting the head is caught here; rewriting both is caught by
    /// comparing with an exported head, see [`Store::verify_audit_against`]).
    pub async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        const PAGE: i64 = 5_000;
        let mut position = (0_i64, GENESIS);
        let mut checked = 0_i64;
        loop {
            let page = self.audit_entries(position.0, PAGE).await?;
            if page.is_empty() {
                break;
            }
            match audit::verify_run(position, &page) {
                Ok(next) => {
                    checked += page.len() as i64;
                    position = next;
                }
                Err(broken) => {
                    return Ok(AuditVerification {
                        entries: checked,
                        head: ChainHead {
                            seq: position.0,
                            hash: position.1,
                        },
                        broken: Some(broken),
                    })
                }
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        // A gap at the very end: the head says more entries exist than the log holds.
        let head = self.audit_head().await?;
        let broken = if head.seq != position.0 {
            Some(ChainBreak::Truncated {
                last: position.0,
                head: head.seq,
            })
        } else if head.hash != position.1 {
            Some(ChainBreak::HeadMismatch { seq: head.seq })
        } else {
            None
        };
        Ok(AuditVerification {
            entries: checked,
            head: ChainHead {
                seq: position.0,
                hash: position.1,
            },
            broken,
        })
    }

    /// Verifies the chain and that it still contains an exported head unchanged.
    pub async fn verify_audit_against(
        &self,
        exported: &ChainHead,
    ) -> Result<AuditVerification, StoreError> {
        let mut result = self.verify_audit().await?;
        if result.broken.is_none() {
            let hash_at = if exported.seq == 0 {
                // The head of an empty log.
                Some(GENESIS)
            } else {
                let at = self.audit_entries(exported.seq - 1, 1).await?;
                at.first().filter(|e| e.seq == exported.seq).map(|e| e.hash)
            };
            if let Err(broken) =
                audit::check_head((result.head.seq, result.head.hash), exported, hash_at)
            {
                result.broken = Some(broken);
            }
        }
        Ok(result)
    }
}
