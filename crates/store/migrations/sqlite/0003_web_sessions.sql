-- The analysts' web application: sign-in sessions, saved queue views, wellness settings and
-- report assignment. Times are Unix microseconds (UTC), like everywhere else.

-- A browser session. The cookie carries a random token; only its SHA-256 is stored, so a copy of
-- the database does not let anyone sign in. `totp_pending` = 1 while the password was right but
-- the second factor is still to be given: such a session opens no page but the TOTP form.
CREATE TABLE web_session (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256 BLOB NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    totp_pending INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER
);
CREATE INDEX web_session_user ON web_session (user_id);

-- Named queue filters, per user; `query` is the queue's URL query string.
CREATE TABLE saved_view (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

-- How media appear to a user (exposure reduction). One row per user who changed a default.
CREATE TABLE wellness_setting (
    user_id INTEGER PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
    blur_strength INTEGER NOT NULL,
    greyscale INTEGER NOT NULL,
    thumbnail_px INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

ALTER TABLE report ADD COLUMN assigned_to INTEGER REFERENCES app_user (id);
-- The triage queue's order: priority rank, then oldest first.
CREATE INDEX report_queue ON report (holder_org, received_at, id);
