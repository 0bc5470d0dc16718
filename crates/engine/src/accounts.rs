//! Organisations, users, passwords (argon2id) and API tokens.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use safeguard_domain::account::{OrgKind, OrgName, Organisation, Principal, Role, User, Username};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::report::FieldError;
use safeguard_store::{NewUser, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::EngineError;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, EngineError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::PasswordHash(e.to_string()))
}

/// Checks a password against its stored hash; a malformed hash never verifies.
pub fn verify_password(stored_hash: &str, password: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A freshly issued API token. The plain text is shown once; only its SHA-256 is stored.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
}

/// The stored form of a token: its SHA-256 (tokens are random, so no salt or slow hash is needed).
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

fn audit(actor: &str, action: &str, kind: &str, id: &str, detail: String) -> AuditEvent {
    AuditEvent {
        actor_user: None,
        actor: actor.to_owned(),
        action: action.to_owned(),
        object_kind: kind.to_owned(),
        object_id: id.to_owned(),
        detail,
    }
}

/// Creates an organisation.
pub async fn add_org(
    store: &Store,
    name: &str,
    kind: OrgKind,
    country: Option<&str>,
    actor: &str,
) -> Result<Organisation, EngineError> {
    let name = OrgName::parse(name)?;
    let country = country.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &country {
        if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            return Err(EngineError::Invalid(vec![FieldError::new(
                "country",
                "must be an ISO 3166-1 alpha-2 code",
            )]));
        }
    }
    let org = store.create_org(&name, kind, country.as_deref()).await?;
    store
        .append_audit(&audit(
            actor,
            "organisation.add",
            "organisation",
            &org.id.0.to_string(),
            format!("{name} ({kind})"),
        ))
        .await?;
    Ok(org)
}

/// Creates a user in the named organisation.
pub async fn add_user(
    store: &Store,
    org_name: &str,
    username: &str,
    role: Role,
    password: &str,
    actor: &str,
) -> Result<User, EngineError> {
    let org = store.org_by_name(org_name).await?;
    let username = Username::parse(username)?;
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(EngineError::Invalid(vec![FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        )]));
    }
    if role == Role::Reporter && org.kind != OrgKind::Reporter {
        return Err(EngineError::Invalid(vec![FieldError::new(
            "role",
            "reporter accounts belong to organisations of kind reporter",
        )]));
    }
    let user = store
        .create_user(&NewUser {
            org: org.id,
            username,
            role,
            password_hash: hash_password(password)?,
        })
        .await?;
    store
        .append_audit(&audit(
            actor,
            "user.add",
            "user",
            &user.id.0.to_string(),
            format!("{} ({role}) in {}", user.username, org.name),
        ))
        .await?;
    Ok(user)
}

/// Issues an API token for a user.
pub async fn create_token(
    store: &Store,
    username: &str,
    label: &str,
    actor: &str,
) -> Result<IssuedToken, EngineError> {
    let username = Username::parse(username)?;
    let credentials = store.credentials(&username).await?;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = format!("sg_{}", hex::encode(raw));
    let id = store
        .create_token(credentials.principal.user, &token_digest(&token), label)
        .await?;
    store
        .append_audit(&audit(
            actor,
            "token.create",
            "user",
            &credentials.principal.user.0.to_string(),
            label.to_owned(),
        ))
        .await?;
    Ok(IssuedToken { id, token })
}

/// The caller a bearer token belongs to.
pub async fn authenticate_token(store: &Store, token: &str) -> Result<Principal, EngineError> {
    store
        .principal_by_token(&token_digest(token))
        .await?
        .ok_or(EngineError::Unauthenticated(
            "the token is unknown or revoked",
        ))
}

/// The caller a username and password belong to. Unknown users and wrong passwords answer alike.
pub async fn authenticate_password(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<Principal, EngineError> {
    const REFUSED: EngineError = EngineError::Unauthenticated("wrong username or password");
    let Ok(username) = Username::parse(username) else {
        return Err(REFUSED);
    };
    let credentials = match store.credentials(&username).await {
        Ok(c) => c,
        Err(StoreError::NotFound { .. }) => {
            // Spend the same time as a real check, so response times do not reveal usernames.
            let _ = verify_password(dummy_hash(), password);
            return Err(REFUSED);
        }
        Err(e) => return Err(e.into()),
    };
    if credentials.disabled || !verify_password(&credentials.password_hash, password) {
        return Err(REFUSED);
    }
    Ok(credentials.principal)
}

/// An argon2id hash of a random password, verified against when the user does not exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        hash_password(&hex::encode(raw)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "wrong horse battery"));
        assert!(!verify_password("not a hash", "anything"));
    }

    #[test]
    fn token_digests_ignore_surrounding_space() {
        assert_eq!(token_digest(" sg_abc\n"), token_digest("sg_abc"));
        assert_ne!(token_digest("sg_abc"), token_digest("sg_abd"));
    }
}
