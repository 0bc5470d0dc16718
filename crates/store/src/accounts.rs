//! Organisations, users and API tokens.

use safeguard_domain::account::{
    OrgId, OrgKind, OrgName, Organisation, Principal, Role, User, UserId, Username,
};
use sqlx::Row;

use crate::time_codec::now_micros;
use crate::{Store, StoreError};

/// A user to create; the password arrives already hashed (argon2, by the caller).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub org: OrgId,
    pub username: Username,
    pub role: Role,
    pub password_hash: String,
}

/// What sign-in checks a password against.
#[derive(Debug, Clone)]
pub struct StoredCredentials {
    pub principal: Principal,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub disabled: bool,
}

fn org_from_row(row: &sqlx::any::AnyRow) -> Result<Organisation, StoreError> {
    let name: String = row.try_get("name")?;
    let kind: String = row.try_get("kind")?;
    Ok(Organisation {
        id: OrgId(row.try_get("id")?),
        name: OrgName::parse(&name)?,
        kind: kind.parse()?,
        country: row.try_get("country")?,
    })
}

const PRINCIPAL_COLUMNS: &str = "u.id AS user_id, u.username, u.role, u.org_id, o.kind AS org_kind";

fn principal_from_row(row: &sqlx::any::AnyRow) -> Result<Principal, StoreError> {
    let username: String = row.try_get("username")?;
    let role: String = row.try_get("role")?;
    let org_kind: String = row.try_get("org_kind")?;
    Ok(Principal {
        user: UserId(row.try_get("user_id")?),
        username: Username::parse(&username)?,
        org: OrgId(row.try_get("org_id")?),
        org_kind: org_kind.parse::<OrgKind>()?,
        role: role.parse::<Role>()?,
    })
}

impl Store {
    /// Creates an organisation; its name must be new.
    pub async fn create_org(
        &self,
        name: &OrgName,
        kind: OrgKind,
        country: Option<&str>,
    ) -> Result<Organisation, StoreError> {
        let row = sqlx::query(
            "INSERT INTO organisation (name, kind, country, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, kind, country",
        )
        .bind(name.as_str())
        .bind(kind.as_str())
        .bind(country)
        .bind(now_micros())
        .fetch_one(&self.write)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "organisation",
                    name: name.to_string(),
                }
            } else {
                e.into()
            }
        })?;
        org_from_row(&row)
    }

    pub async fn org_by_name(&self, name: &str) -> Result<Organisation, StoreError> {
        let row = sqlx::query("SELECT id, name, kind, country FROM organisation WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "organisation",
                name: name.to_owned(),
            })?;
        org_from_row(&row)
    }

    pub async fn org(&self, id: OrgId) -> Result<Organisation, StoreError> {
        let row = sqlx::query("SELECT id, name, kind, country FROM organisation WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "organisation",
                name: id.0.to_string(),
            })?;
        org_from_row(&row)
    }

    pub async fn list_orgs(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = sqlx::query("SELECT id, name, kind, country FROM organisation ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    /// The organisation that receives reports submitted by reporting companies: the first
    /// hotline, else the first coordinator.
    pub async fn home_org(&self) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, kind, country FROM organisation WHERE kind IN ('hotline', 'coordinator') \
             ORDER BY CASE kind WHEN 'hotline' THEN 0 ELSE 1 END, id LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Creates a user; the username must be new.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let row = sqlx::query(
            "INSERT INTO app_user (org_id, username, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.org.0)
        .bind(user.username.as_str())
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(now_micros())
        .fetch_one(&self.write)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate {
                    what: "user",
                    name: user.username.to_string(),
                }
            } else {
                e.into()
            }
        })?;
        Ok(User {
            id: UserId(row.try_get("id")?),
            org: user.org,
            username: user.username.clone(),
            role: user.role,
        })
    }

    /// The credentials of a user, for sign-in.
    pub async fn credentials(&self, username: &Username) -> Result<StoredCredentials, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS}, u.password_hash, u.totp_secret, u.disabled \
             FROM app_user u JOIN organisation o ON o.id = u.org_id WHERE u.username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "user",
            name: username.to_string(),
        })?;
        Ok(StoredCredentials {
            principal: principal_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
            totp_secret: row.try_get("totp_secret")?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
        })
    }

    pub async fn set_totp_secret(
        &self,
        user: UserId,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE app_user SET totp_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(user.0)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Stores the SHA-256 of a new API token (the token itself is never stored).
    pub async fn create_token(
        &self,
        user: UserId,
        token_sha256: &[u8; 32],
        label: &str,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_token (user_id, token_sha256, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user.0)
        .bind(token_sha256.to_vec())
        .bind(label)
        .bind(now_micros())
        .fetch_one(&self.write)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The caller a token belongs to, if the token exists, is not revoked and its user is enabled.
    pub async fn principal_by_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM api_token t JOIN app_user u ON u.id = t.user_id \
             JOIN organisation o ON o.id = u.org_id \
             WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
        ))
        .bind(token_sha256.to_vec())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(principal_from_row).transpose()
    }

    /// The caller with this user id, if enabled.
    pub async fn principal(&self, user: UserId) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM app_user u JOIN organisation o ON o.id = u.org_id \
             WHERE u.id = $1 AND u.disabled = 0"
        ))
        .bind(user.0)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(principal_from_row).transpose()
    }
}
