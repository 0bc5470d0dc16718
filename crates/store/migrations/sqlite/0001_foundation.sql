-- Foundation: organisations, users, tokens, reports and everything a report carries,
-- the evidence index, the audit chain, idempotency keys, referrals and the job queue.
-- Times are Unix microseconds (UTC); where the sender's offset matters it is kept beside.
-- Flags are integers 0/1 so that the same SQL runs on SQLite and PostgreSQL.

CREATE TABLE organisation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('hotline', 'coordinator', 'agency', 'reporter')),
    country TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE app_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'investigator', 'specialist', 'reviewer', 'auditor', 'reporter')),
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    token_sha256 BLOB NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE report (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    reporter_org INTEGER NOT NULL REFERENCES organisation (id),
    holder_org INTEGER NOT NULL REFERENCES organisation (id),
    submitted_by INTEGER REFERENCES app_user (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'finished', 'retracted')),
    priority TEXT,
    received_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    incident_type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    occurred_offset INTEGER NOT NULL,
    occurred_description TEXT,
    platform TEXT,
    escalation TEXT,
    batched_viral INTEGER NOT NULL,
    additional_info TEXT,
    le_agency TEXT,
    le_case_number TEXT,
    le_reported INTEGER,
    le_domestic INTEGER,
    le_international_country TEXT,
    demo INTEGER NOT NULL,
    original_media_type TEXT,
    original_document BLOB
);
CREATE INDEX report_holder_received ON report (holder_org, received_at);
CREATE INDEX report_reporter_received ON report (reporter_org, received_at);
CREATE INDEX report_received ON report (received_at);

CREATE TABLE report_annotation (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    annotation TEXT NOT NULL,
    PRIMARY KEY (report_id, annotation)
);

CREATE TABLE report_channel (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    detail TEXT,
    content TEXT,
    additional_info TEXT
);
CREATE INDEX report_channel_report ON report_channel (report_id);

CREATE TABLE report_party (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    age INTEGER,
    date_of_birth TEXT,
    esp_service TEXT,
    esp_identifier TEXT,
    screen_name TEXT,
    school_name TEXT,
    additional_info TEXT
);
CREATE INDEX report_party_report ON report_party (report_id);

-- Every identifier a report carries, one row each, typed by `kind`:
-- email, phone, url, profile_url, display_name, ip, device, prior_report.
-- `detail` holds the kind's qualifier (a phone's calling code, a device id's type).
CREATE TABLE report_identifier (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    party_id INTEGER REFERENCES report_party (id) ON DELETE CASCADE,
    channel_id INTEGER REFERENCES report_channel (id) ON DELETE CASCADE,
    file_row_id INTEGER,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    detail TEXT,
    event TEXT,
    event_at INTEGER,
    event_offset INTEGER,
    port INTEGER,
    possible_proxy INTEGER,
    verified INTEGER
);
CREATE INDEX report_identifier_report ON report_identifier (report_id);
CREATE INDEX report_identifier_value ON report_identifier (kind, value);

CREATE TABLE report_address (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    party_id INTEGER REFERENCES report_party (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT,
    street TEXT,
    city TEXT,
    zip_code TEXT,
    state TEXT,
    country TEXT
);
CREATE INDEX report_address_report ON report_address (report_id);

-- One row per distinct content in the evidence vault, counted by reference.
CREATE TABLE evidence_blob (
    sha256 BLOB PRIMARY KEY,
    md5 BLOB NOT NULL,
    sha1 BLOB NOT NULL,
    size INTEGER NOT NULL,
    refcount INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX evidence_blob_md5 ON evidence_blob (md5);

CREATE TABLE report_file (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    file_id TEXT NOT NULL UNIQUE,
    sha256 BLOB NOT NULL REFERENCES evidence_blob (sha256),
    size INTEGER NOT NULL,
    original_name TEXT,
    media_type TEXT,
    relevance TEXT NOT NULL,
    viewed_by_reporter INTEGER,
    exif_viewed_by_reporter INTEGER,
    publicly_available INTEGER,
    industry_classification TEXT,
    location TEXT,
    uploaded_at INTEGER NOT NULL,
    details_at INTEGER,
    details_document BLOB
);
CREATE INDEX report_file_report ON report_file (report_id);
CREATE INDEX report_file_sha256 ON report_file (sha256);

CREATE TABLE file_annotation (
    file_row_id INTEGER NOT NULL REFERENCES report_file (id) ON DELETE CASCADE,
    annotation TEXT NOT NULL,
    PRIMARY KEY (file_row_id, annotation)
);

-- Keys are scoped to the submitting organisation: a retry through another of its accounts
-- still finds the first report.
CREATE TABLE idempotency_key (
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    key TEXT NOT NULL,
    request_sha256 BLOB NOT NULL,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, key)
);

CREATE TABLE referral (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    from_org INTEGER NOT NULL REFERENCES organisation (id),
    to_org INTEGER NOT NULL REFERENCES organisation (id),
    via_org INTEGER REFERENCES organisation (id),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER,
    UNIQUE (report_id, to_org)
);
CREATE INDEX referral_to_org ON referral (to_org, created_at);

-- The audit log: append-only, each entry chained to the one before (see domain::audit).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at_micros INTEGER NOT NULL,
    actor_user INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_kind, object_id);

-- The chain's head, one row: updating it first serialises appends on both databases.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');

-- Durable background work.
CREATE TABLE job (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    locked_by TEXT,
    last_error TEXT,
    done_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, subject_id)
);
CREATE INDEX job_ready ON job (done_at, run_at);
