-- Victim identification: metadata of series media, clues, "Trace an Object" public objects with
-- their two approvals and the public's tips, and taskforce editions.
-- Same conventions as 0001: Unix microseconds, integer 0/1 flags.

-- What was read from a medium (keyed by its SHA-256): picture size, EXIF capture time, camera
-- and GPS position (micro-degrees), and its PDQ for similarity. `error` says why nothing could be
-- read (then only `extracted_at` is set).
CREATE TABLE media_metadata (
    sha256 BLOB PRIMARY KEY,
    width INTEGER,
    height INTEGER,
    captured_at INTEGER,
    camera_make TEXT,
    camera_model TEXT,
    camera_serial TEXT,
    software TEXT,
    gps_lat_e6 INTEGER,
    gps_lon_e6 INTEGER,
    pdq BLOB,
    error TEXT,
    extracted_at INTEGER NOT NULL
);

-- A clue: a region of one medium of a series (in 1/10000 of its width and height; none for a
-- language heard), what it shows, where it may point to, and where the work on it stands.
CREATE TABLE clue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL REFERENCES series (id),
    entry_id INTEGER NOT NULL REFERENCES known_entry (id),
    region_x INTEGER,
    region_y INTEGER,
    region_w INTEGER,
    region_h INTEGER,
    category TEXT NOT NULL CHECK (category IN ('object', 'text', 'logo', 'clothing', 'landscape', 'language_heard')),
    description TEXT NOT NULL,
    country TEXT,
    place TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'lead', 'identified', 'dismissed')),
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    created_by INTEGER REFERENCES app_user (id),
    created_by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((region_x IS NULL AND region_y IS NULL AND region_w IS NULL AND region_h IS NULL)
        OR (region_x IS NOT NULL AND region_y IS NOT NULL AND region_w IS NOT NULL AND region_h IS NOT NULL))
);
CREATE INDEX clue_series ON clue (series_id, id);
CREATE INDEX clue_entry ON clue (entry_id);

-- A Trace-an-Object candidate: the crop cut from a clue's region (re-encoded PNG without
-- metadata), the question the public is asked, and its state. Published once two different
-- people approved it.
CREATE TABLE public_object (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clue_id INTEGER NOT NULL REFERENCES clue (id),
    title TEXT NOT NULL,
    question TEXT NOT NULL,
    crop BLOB NOT NULL,
    crop_width INTEGER NOT NULL,
    crop_height INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'traced', 'withdrawn')),
    cut_by INTEGER REFERENCES app_user (id),
    cut_by_name TEXT NOT NULL,
    cut_at INTEGER NOT NULL,
    published_at INTEGER,
    traced_at INTEGER,
    traced_country TEXT,
    traced_note TEXT,
    withdrawn_at INTEGER
);
CREATE INDEX public_object_state ON public_object (state, id);

-- Who approved a crop, having attested it shows nothing of a person. One approval per person.
CREATE TABLE public_object_approval (
    object_id INTEGER NOT NULL REFERENCES public_object (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES app_user (id),
    username TEXT NOT NULL,
    no_person_attested INTEGER NOT NULL CHECK (no_person_attested = 1),
    at INTEGER NOT NULL,
    PRIMARY KEY (object_id, user_id)
);

-- A tip from the public about an object. No address or other trace of the sender is kept.
CREATE TABLE public_tip (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    object_id INTEGER NOT NULL REFERENCES public_object (id),
    body TEXT NOT NULL,
    body_digest BLOB NOT NULL,
    country TEXT,
    contact TEXT,
    received_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'useful', 'not_useful', 'spam')),
    triaged_by INTEGER REFERENCES app_user (id),
    triaged_by_name TEXT,
    triaged_at INTEGER
);
CREATE INDEX public_tip_object ON public_tip (object_id, id);
CREATE INDEX public_tip_digest ON public_tip (object_id, body_digest);
CREATE INDEX public_tip_status ON public_tip (status, id);

-- A taskforce edition: time-boxed work of several organisations on a set of series.
CREATE TABLE taskforce (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES app_user (id),
    created_by_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE TABLE taskforce_org (
    taskforce_id INTEGER NOT NULL REFERENCES taskforce (id) ON DELETE CASCADE,
    org_id INTEGER NOT NULL REFERENCES organisation (id),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (taskforce_id, org_id)
);

-- The series of an edition, who is assigned to each and whether it was reviewed.
CREATE TABLE taskforce_series (
    taskforce_id INTEGER NOT NULL REFERENCES taskforce (id) ON DELETE CASCADE,
    series_id INTEGER NOT NULL REFERENCES series (id),
    assignee INTEGER REFERENCES app_user (id),
    assigned_at INTEGER,
    reviewed_at INTEGER,
    reviewed_by INTEGER REFERENCES app_user (id),
    PRIMARY KEY (taskforce_id, series_id)
);

-- The timeline of an edition: shared notes, assignments, reviews, countries suggested, leads
-- disseminated to an organisation. Rows are never updated or deleted.
CREATE TABLE taskforce_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    taskforce_id INTEGER NOT NULL REFERENCES taskforce (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'org_joined', 'assigned', 'reviewed', 'note', 'country', 'lead', 'clue')),
    series_id INTEGER REFERENCES series (id),
    clue_id INTEGER REFERENCES clue (id),
    country TEXT,
    to_org INTEGER REFERENCES organisation (id),
    body TEXT,
    actor_user INTEGER,
    actor TEXT NOT NULL,
    org_id INTEGER REFERENCES organisation (id),
    at INTEGER NOT NULL
);
CREATE INDEX taskforce_event_edition ON taskforce_event (taskforce_id, id);
