-- Known material: hash sets ("banks"), their entries, imports, series and their history,
-- match results of report files and the verdicts drawn from them.
-- Same conventions as 0001: Unix microseconds, integer 0/1 flags (NULL = "the source did not say").

-- A hash set: a bank of known material, or (purpose 'known_good') a list of content known NOT to
-- be of concern (NSRL-like lists), whose matches suppress perceptual hits.
CREATE TABLE hash_set (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    owner_org INTEGER NOT NULL REFERENCES organisation (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('known', 'known_good')),
    source TEXT,
    licence TEXT,
    category_scheme TEXT,
    shared INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A series: media showing the same victim(s) or produced together.
-- A merged series stays as a tombstone pointing at the series it went into.
CREATE TABLE series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('new', 'under_investigation', 'victim_identified', 'offender_identified')),
    notes TEXT,
    merged_into INTEGER REFERENCES series (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The organisations working on a series.
CREATE TABLE series_org (
    series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (series_id, org_id)
);

-- Every change to a series (create, merge, split, media moved, status, notes): who, what, when.
-- Rows are never updated or deleted, so the provenance of every entry's series stays readable.
CREATE TABLE series_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL REFERENCES series (id),
    action TEXT NOT NULL,
    other_series_id INTEGER REFERENCES series (id),
    entries INTEGER NOT NULL DEFAULT 0,
    actor_user INTEGER,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX series_history_series ON series_history (series_id, id);

-- One import of a file into a hash set, with its counts.
CREATE TABLE known_import (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash_set_id INTEGER NOT NULL REFERENCES hash_set (id) ON DELETE CASCADE,
    format TEXT NOT NULL,
    file_name TEXT,
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    actor_user INTEGER,
    actor TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    records INTEGER NOT NULL DEFAULT 0,
    inserted INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    errors INTEGER NOT NULL DEFAULT 0,
    error_sample TEXT
);

-- One known piece of media in a hash set. Identity inside a set: each exact hash (MD5, SHA-1,
-- SHA-256) names at most one entry; an entry without any exact hash is identified by its PDQ
-- (then its PhotoDNA). Re-importing a file therefore updates entries instead of duplicating them.
CREATE TABLE known_entry (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash_set_id INTEGER NOT NULL REFERENCES hash_set (id) ON DELETE CASCADE,
    md5 BLOB,
    sha1 BLOB,
    sha256 BLOB,
    pdq BLOB,
    photodna TEXT,
    category INTEGER,
    series_id INTEGER REFERENCES series (id),
    victim_identified INTEGER,
    offender_identified INTEGER,
    distributed INTEGER,
    baseline INTEGER,
    file_available INTEGER,
    submissions INTEGER,
    mime_type TEXT,
    media_type TEXT,
    media_size INTEGER,
    external_id TEXT,
    file_names TEXT,
    tags TEXT,
    comments TEXT,
    source_updated_at INTEGER,
    disabled INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    import_id INTEGER REFERENCES known_import (id),
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    CHECK (md5 IS NOT NULL OR sha1 IS NOT NULL OR sha256 IS NOT NULL OR pdq IS NOT NULL OR photodna IS NOT NULL)
);
CREATE UNIQUE INDEX known_entry_set_md5 ON known_entry (hash_set_id, md5);
CREATE UNIQUE INDEX known_entry_set_sha1 ON known_entry (hash_set_id, sha1);
CREATE UNIQUE INDEX known_entry_set_sha256 ON known_entry (hash_set_id, sha256);
CREATE UNIQUE INDEX known_entry_set_pdq_only ON known_entry (hash_set_id, pdq)
    WHERE md5 IS NULL AND sha1 IS NULL AND sha256 IS NULL;
CREATE INDEX known_entry_md5 ON known_entry (md5);
CREATE INDEX known_entry_sha1 ON known_entry (sha1);
CREATE INDEX known_entry_sha256 ON known_entry (sha256);
CREATE INDEX known_entry_pdq ON known_entry (pdq);
CREATE INDEX known_entry_set_photodna ON known_entry (hash_set_id, photodna);
CREATE INDEX known_entry_series ON known_entry (series_id);

-- vPDQ frames of known videos (the in-memory index files them under the entry id).
CREATE TABLE known_entry_frame (
    entry_id INTEGER NOT NULL REFERENCES known_entry (id) ON DELETE CASCADE,
    frame INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    pdq BLOB NOT NULL,
    quality INTEGER NOT NULL,
    PRIMARY KEY (entry_id, frame)
);

-- What the matcher found for a report file: machine results, kept apart from human judgement.
CREATE TABLE known_match (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_row_id INTEGER NOT NULL REFERENCES report_file (id) ON DELETE CASCADE,
    entry_id INTEGER NOT NULL REFERENCES known_entry (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('exact', 'perceptual')),
    hash_kind TEXT NOT NULL CHECK (hash_kind IN ('md5', 'sha1', 'sha256', 'pdq', 'vpdq')),
    distance INTEGER NOT NULL,
    matched_at INTEGER NOT NULL,
    UNIQUE (file_row_id, entry_id, hash_kind)
);
CREATE INDEX known_match_entry ON known_match (entry_id);

-- The verdict on one report file, from its latest matching run.
CREATE TABLE file_verdict (
    file_row_id INTEGER PRIMARY KEY REFERENCES report_file (id) ON DELETE CASCADE,
    verdict TEXT NOT NULL CHECK (verdict IN ('known', 'unknown', 'known_good')),
    matched_at INTEGER NOT NULL
);

-- The series a report (through its files' matches) touches, and the report's verdict.
CREATE TABLE report_verdict (
    report_id INTEGER PRIMARY KEY REFERENCES report (id) ON DELETE CASCADE,
    verdict TEXT NOT NULL CHECK (verdict IN ('known', 'unknown', 'known_good')),
    updated_at INTEGER NOT NULL
);
CREATE TABLE report_series (
    report_id INTEGER NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    series_id INTEGER NOT NULL REFERENCES series (id),
    PRIMARY KEY (report_id, series_id)
);

-- A person's classification of a report file: human judgement, never overwritten by the matcher.
CREATE TABLE file_classification (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_row_id INTEGER NOT NULL REFERENCES report_file (id) ON DELETE CASCADE,
    classified_by INTEGER NOT NULL REFERENCES app_user (id),
    category INTEGER,
    category_scheme TEXT,
    series_id INTEGER REFERENCES series (id),
    note TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX file_classification_file ON file_classification (file_row_id, id);
