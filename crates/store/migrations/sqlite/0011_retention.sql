-- Retention: what the purge job deleted, kept as tombstones with hashes (no content), so that a
-- later question ("was report X received, what did it hold?") gets a provable answer.
CREATE TABLE retention_tombstone (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    data_class TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    -- SHA-256 of the content (files) or of the stored original document (reports), if any.
    sha256 BLOB,
    -- JSON: uid, received_at, file hashes… (never personal data).
    detail TEXT NOT NULL,
    purged_at INTEGER NOT NULL
);
CREATE INDEX retention_tombstone_object ON retention_tombstone (object_kind, object_id);
