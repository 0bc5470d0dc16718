-- Several nodes and federation (docs/deployment.md).

-- The job queue on several nodes: a job that failed too often is parked (failed_at) instead of
-- being retried for ever; claims look jobs up by kind.
ALTER TABLE job ADD COLUMN failed_at INTEGER;
CREATE INDEX job_claim ON job (kind, done_at, run_at);

-- What this instance pushes to its peers: one row per delivery, its idempotency key unique across
-- the federation (`<instance>/<kind>/<local id>`). The body (a signed envelope's JSON) is built
-- by the delivery job on its first run and kept, so that a re-send carries the same bytes.
CREATE TABLE federation_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    delivery_key TEXT NOT NULL UNIQUE,
    subject_id INTEGER,
    body TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    answer TEXT
);
CREATE INDEX federation_outbox_pending ON federation_outbox (delivered_at, peer);

-- Deliveries received from peers, by idempotency key: a re-send is recognised and answered with
-- the first answer.
CREATE TABLE federation_inbound (
    delivery_key TEXT PRIMARY KEY,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    answer TEXT NOT NULL
);

-- Which peer a report or package came from (object_kind 'report' or 'package').
CREATE TABLE federation_origin (
    object_kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    peer TEXT NOT NULL,
    remote_ref TEXT NOT NULL,
    PRIMARY KEY (object_kind, object_id)
);

-- The chain of custody of a report across instances, by the report's global uid. Each instance
-- names its own hops with a key unique per report (`received`, `sent:<delivery>`...), so that
-- recording a hop twice adds nothing; hops received from peers keep their instance and key.
CREATE TABLE custody_hop (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_uid TEXT NOT NULL,
    instance TEXT NOT NULL,
    hop_key TEXT NOT NULL,
    action TEXT NOT NULL,
    org TEXT NOT NULL,
    counterpart TEXT,
    at INTEGER NOT NULL,
    detail TEXT NOT NULL,
    UNIQUE (report_uid, instance, hop_key)
);
CREATE INDEX custody_hop_report ON custody_hop (report_uid, at);

-- Outcomes reported by a peer for a report this instance passed on (when it holds no package).
CREATE TABLE federated_outcome (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    peer TEXT NOT NULL,
    outcome TEXT NOT NULL,
    note TEXT,
    reported_by TEXT NOT NULL,
    reported_at INTEGER NOT NULL,
    delivery_key TEXT NOT NULL,
    UNIQUE (delivery_key, report_id, outcome)
);

-- Private deconfliction: identifiers this instance holds that a peer holds too, found by keyed
-- hashes (HMAC-SHA256 under the federation key); the peer's values are never known.
CREATE TABLE federation_alert (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    peer TEXT NOT NULL,
    kind TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    value TEXT NOT NULL,
    report_ids TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (peer, key_hash)
);
