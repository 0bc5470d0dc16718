//! The web application's server-side state: sign-in sessions, saved queue views and each user's
//! wellness settings (how media appear to them).

use safeguard_domain::account::UserId;
use sqlx::Row;

use crate::time_codec::{flag, now_micros};
use crate::{Store, StoreError};

/// A browser session as stored. The cookie's token is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub id: i64,
    pub user: UserId,
    /// The token every form of this session must send back.
    pub csrf_token: String,
    /// The password was right but the second factor is still due.
    pub totp_pending: bool,
    /// Unix microseconds.
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end of the session (Unix microseconds), however active it is.
    pub expires_at: i64,
    /// Set when the user signed out or the session was ended.
    pub ended: bool,
}

/// A named queue filter of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The queue's URL query string.
    pub query: String,
}

/// How media appear to one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WellnessSettings {
    /// Blur radius of thumbnails (1..=40); a thumbnail is never shown unblurred before a reveal.
    pub blur_strength: u8,
    pub greyscale: bool,
    /// Longest side of a thumbnail, in pixels (64..=512).
    pub thumbnail_px: u16,
}

impl Default for WellnessSettings {
    fn default() -> Self {
        Self {
            blur_strength: 16,
            greyscale: true,
            thumbnail_px: 160,
        }
    }
}

impl WellnessSettings {
    /// The settings brought into their allowed ranges.
    pub fn clamped(self) -> Self {
        Self {
            blur_strength: self.blur_strength.clamp(1, 40),
            greyscale: self.greyscale,
            thumbnail_px: self.thumbnail_px.clamp(64, 512),
        }
    }
}

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<WebSession, StoreError> {
    Ok(WebSession {
        id: row.try_get("id")?,
        user: UserId(row.try_get("user_id")?),
        csrf_token: row.try_get("csrf_token")?,
        totp_pending: row.try_get::<i64, _>("totp_pending")? != 0,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        expires_at: row.try_get("expires_at")?,
        ended: row.try_get::<Option<i64>, _>("ended_at")?.is_some(),
    })
}

impl Store {
    /// Opens a session for `user`, ending at `expires_at` (Unix microseconds) at the latest.
    pub async fn create_session(
        &self,
        token_sha256: &[u8; 32],
        user: UserId,
        csrf_token: &str,
        totp_pending: bool,
        expires_at: i64,
    ) -> Result<WebSession, StoreError> {
        let now = now_micros();
        let row = sqlx::query(
            "INSERT INTO web_session (token_sha256, user_id, csrf_token, totp_pending, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id, user_id, csrf_token, totp_pending, created_at, last_seen_at, expires_at, ended_at",
        )
        .bind(token_sha256.to_vec())
        .bind(user.0)
        .bind(csrf_token)
        .bind(flag(totp_pending))
        .bind(now)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&self.write)
        .await?;
        session_from_row(&row)
    }

    /// The session a cookie token belongs to, ended or not (the caller judges expiry).
    pub async fn session_by_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<WebSession>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, csrf_token, totp_pending, created_at, last_seen_at, expires_at, ended_at \
             FROM web_session WHERE token_sha256 = $1",
        )
        .bind(token_sha256.to_vec())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Records activity on a session (for the idle time-out).
    pub async fn touch_session(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_session SET last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now_micros())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The second factor was given: the session opens pages from now on.
    pub async fn complete_session_totp(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_session SET totp_pending = 0, last_seen_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now_micros())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Ends a session (sign-out or expiry). Ending an ended session changes nothing.
    pub async fn end_session(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_session SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now_micros())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A user's saved queue views, by name.
    pub async fn saved_views(&self, user: UserId) -> Result<Vec<SavedView>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, query FROM saved_view WHERE user_id = $1 ORDER BY name")
                .bind(user.0)
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(SavedView {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    query: r.try_get("query")?,
                })
            })
            .collect()
    }

    /// Saves (or replaces) a named view of the user.
    pub async fn save_view(&self, user: UserId, name: &str, query: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO saved_view (user_id, name, query, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query",
        )
        .bind(user.0)
        .bind(name)
        .bind(query)
        .bind(now_micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Deletes one of the user's views; another user's view id deletes nothing.
    pub async fn delete_view(&self, user: UserId, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM saved_view WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The user's wellness settings, or the defaults.
    pub async fn wellness_settings(&self, user: UserId) -> Result<WellnessSettings, StoreError> {
        let row = sqlx::query(
            "SELECT blur_strength, greyscale, thumbnail_px FROM wellness_setting WHERE user_id = $1",
        )
        .bind(user.0)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else {
            return Ok(WellnessSettings::default());
        };
        let blur: i64 = row.try_get("blur_strength")?;
        let px: i64 = row.try_get("thumbnail_px")?;
        Ok(WellnessSettings {
            blur_strength: u8::try_from(blur.clamp(1, 40)).unwrap_or(16),
            greyscale: row.try_get::<i64, _>("greyscale")? != 0,
            thumbnail_px: u16::try_from(px.clamp(64, 512)).unwrap_or(160),
        }
        .clamped())
    }

    /// Stores the user's wellness settings (clamped to their ranges).
    pub async fn set_wellness_settings(
        &self,
        user: UserId,
        settings: WellnessSettings,
    ) -> Result<(), StoreError> {
        let s = settings.clamped();
        sqlx::query(
            "INSERT INTO wellness_setting (user_id, blur_strength, greyscale, thumbnail_px, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
             blur_strength = excluded.blur_strength, greyscale = excluded.greyscale, \
             thumbnail_px = excluded.thumbnail_px, updated_at = excluded.updated_at",
        )
        .bind(user.0)
        .bind(i64::from(s.blur_strength))
        .bind(flag(s.greyscale))
        .bind(i64::from(s.thumbnail_px))
        .bind(now_micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

impl Store {
    /// How many audit entries with this action were written about one object since `since`
    /// (Unix microseconds): e.g. failed sign-ins of one username, to slow down password guessing.
    pub async fn count_recent_audit(
        &self,
        object_kind: &str,
        object_id: &str,
        action: &str,
        since: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_log WHERE object_kind = $1 AND object_id = $2 \
             AND action = $3 AND at_micros >= $4",
        )
        .bind(object_kind)
        .bind(object_id)
        .bind(action)
        .bind(since)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get("n")?)
    }
}
