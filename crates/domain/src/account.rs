//! Organisations, users and what each role may do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a name or kind given at the edge was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("unknown organisation kind {0:?} (expected hotline, coordinator, agency or reporter)")]
    UnknownOrgKind(String),
    #[error("unknown role {0:?} (expected admin, analyst, investigator, specialist, reviewer, auditor or reporter)")]
    UnknownRole(String),
    #[error("invalid {what}: {why}")]
    InvalidName {
        what: &'static str,
        why: &'static str,
    },
}

/// The four kinds of organisation that use Safeguard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// Receives reports from the public and from companies (e.g. NCMEC's CyberTipline).
    Hotline,
    /// Cross-checks reports for several countries and sends intelligence packages (e.g. Europol EC3).
    Coordinator,
    /// A national law-enforcement agency that can act on a report.
    Agency,
    /// A reporting company (an electronic service provider) that submits reports through the API.
    Reporter,
}

impl OrgKind {
    pub const ALL: [OrgKind; 4] = [
        Self::Hotline,
        Self::Coordinator,
        Self::Agency,
        Self::Reporter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hotline => "hotline",
            Self::Coordinator => "coordinator",
            Self::Agency => "agency",
            Self::Reporter => "reporter",
        }
    }
}

impl FromStr for OrgKind {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AccountError::UnknownOrgKind(s.to_owned()))
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a user does; each role grants a fixed set of [`Permission`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Analyst,
    Investigator,
    /// A victim-identification specialist.
    Specialist,
    Reviewer,
    Auditor,
    /// An account that submits reports through the API on behalf of a reporting company.
    Reporter,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Self::Admin,
        Self::Analyst,
        Self::Investigator,
        Self::Specialist,
        Self::Reviewer,
        Self::Auditor,
        Self::Reporter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Analyst => "analyst",
            Self::Investigator => "investigator",
            Self::Specialist => "specialist",
            Self::Reviewer => "reviewer",
            Self::Auditor => "auditor",
            Self::Reporter => "reporter",
        }
    }

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Self::Admin => true,
            Self::Analyst => matches!(
                permission,
                P::SubmitReports
                    | P::ReadReports
                    | P::WriteReports
                    | P::ViewMedia
                    | P::ManagePackages
                    | P::ReadStatistics
            ),
            Self::Investigator => matches!(
                permission,
                P::ReadReports | P::ViewMedia | P::ReceivePackages | P::ReadStatistics
            ),
            Self::Specialist => matches!(
                permission,
                P::ReadReports | P::ViewMedia | P::ManageKnownMaterial | P::ReadStatistics
            ),
            Self::Reviewer => matches!(permission, P::ReadReports | P::ApprovePublication),
            Self::Auditor => matches!(permission, P::ReadAudit | P::ReadStatistics),
            // A reporting company reads back only its own submissions (visibility does that).
            Self::Reporter => matches!(permission, P::SubmitReports | P::ReadReports),
        }
    }
}

impl FromStr for Role {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AccountError::UnknownRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A capability checked by the authorisation layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Submit reports (reporting companies, API and CyberTipline endpoints).
    SubmitReports,
    /// Read reports the organisation may see.
    ReadReports,
    /// Change reports: priority, status, assignment.
    WriteReports,
    /// Reveal media (always audited).
    ViewMedia,
    /// Build, approve and send intelligence packages.
    ManagePackages,
    /// Receive, acknowledge and report outcomes on packages.
    ReceivePackages,
    /// Hash sets, series, victim status.
    ManageKnownMaterial,
    /// Approve a Trace-an-Object crop for publication.
    ApprovePublication,
    /// Read the audit log.
    ReadAudit,
    /// Read statistics.
    ReadStatistics,
    /// Manage organisations and users.
    Administer,
}

macro_rules! checked_name {
    ($(#[$meta:meta])* $name:ident, $what:expr, $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks a name given at the edge: trimmed, 1 to
            #[doc = stringify!($max)]
            /// characters, no control characters.
            pub fn parse(raw: &str) -> Result<Self, AccountError> {
                let name = raw.trim();
                if name.is_empty() {
                    return Err(AccountError::InvalidName { what: $what, why: "it is empty" });
                }
                if name.chars().count() > $max {
                    return Err(AccountError::InvalidName { what: $what, why: "it is too long" });
                }
                if name.chars().any(char::is_control) {
                    return Err(AccountError::InvalidName {
                        what: $what,
                        why: "it contains control characters",
                    });
                }
                Ok(Self(name.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

checked_name!(
    /// An organisation's unique display name.
    OrgName,
    "organisation name",
    200
);

/// A user's login name: 1–64 characters of letters, digits and `.-_@`, compared case-insensitively
/// (stored in lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let name = raw.trim().to_lowercase();
        let what = "username";
        if name.is_empty() {
            return Err(AccountError::InvalidName {
                what,
                why: "it is empty",
            });
        }
        if name.len() > 64 {
            return Err(AccountError::InvalidName {
                what,
                why: "it is longer than 64 characters",
            });
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
        {
            return Err(AccountError::InvalidName {
                what,
                why: "only letters, digits and . - _ @ are allowed",
            });
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Database identifier of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct OrgId(pub i64);

/// Database identifier of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: OrgName,
    pub kind: OrgKind,
    /// ISO 3166-1 alpha-2 country the organisation acts for, if any (agencies).
    pub country: Option<String>,
}

/// A user as stored (without credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub org: OrgId,
    pub username: Username,
    pub role: Role,
}

/// The authenticated caller of a request: who, for which organisation, with what role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user: UserId,
    pub username: Username,
    pub org: OrgId,
    pub org_kind: OrgKind,
    pub role: Role,
}

impl Principal {
    /// Whether the caller holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

/// A permission known at compile time, so that a use case can demand proof of it in its
/// signature (see [`Granted`]).
pub trait RequiredPermission {
    const PERMISSION: Permission;
}

/// Marker types, one per [`Permission`].
pub mod perm {
    use super::{Permission, RequiredPermission};

    macro_rules! markers {
        ($($name:ident),+ $(,)?) => {$(
            #[doc = concat!("Proof marker for [`Permission::", stringify!($name), "`].")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl RequiredPermission for $name {
                const PERMISSION: Permission = Permission::$name;
            }
        )+};
    }

    markers!(
        SubmitReports,
        ReadReports,
        WriteReports,
        ViewMedia,
        ManagePackages,
        ReceivePackages,
        ManageKnownMaterial,
        ApprovePublication,
        ReadAudit,
        ReadStatistics,
        Administer,
    );
}

/// Proof that a caller holds permission `P`. It can only be made by [`Granted::check`], and use
/// cases take it instead of a bare [`Principal`], so a code path that forgot the check does not
/// compile. What the caller may see within that permission (its organisation's reports) is
/// checked by each use case.
#[derive(Debug, Clone)]
pub struct Granted<P> {
    principal: Principal,
    _permission: std::marker::PhantomData<P>,
}

/// The caller lacks a permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the role {role} may not {permission:?}")]
pub struct Denied {
    pub role: Role,
    pub permission: Permission,
}

impl<P: RequiredPermission> Granted<P> {
    /// Checks the permission.
    pub fn check(principal: Principal) -> Result<Self, Denied> {
        if principal.can(P::PERMISSION) {
            Ok(Self {
                principal,
                _permission: std::marker::PhantomData,
            })
        } else {
            Err(Denied {
                role: principal.role,
                permission: P::PERMISSION,
            })
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_roles_parse_case_insensitively() {
        assert_eq!("Hotline".parse::<OrgKind>(), Ok(OrgKind::Hotline));
        assert_eq!(" agency ".parse::<OrgKind>(), Ok(OrgKind::Agency));
        assert!("police".parse::<OrgKind>().is_err());
        for role in Role::ALL {
            assert_eq!(role.as_str().to_uppercase().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(
            Username::parse(" Analyst.One ").map(|u| u.0),
            Ok("analyst.one".into())
        );
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn reporters_only_submit_and_auditors_only_read_audit() {
        assert!(Role::Reporter.allows(Permission::SubmitReports));
        assert!(!Role::Reporter.allows(Permission::ViewMedia));
        assert!(Role::Auditor.allows(Permission::ReadAudit));
        assert!(!Role::Auditor.allows(Permission::ViewMedia));
        assert!(!Role::Analyst.allows(Permission::Administer));
        assert!(Role::Admin.allows(Permission::Administer));
    }

    #[test]
    fn granted_is_made_only_for_roles_that_hold_the_permission() {
        let principal = |role| Principal {
            user: UserId(1),
            username: Username::parse("u").expect("valid"),
            org: OrgId(1),
            org_kind: OrgKind::Hotline,
            role,
        };
        assert!(Granted::<perm::ReadAudit>::check(principal(Role::Auditor)).is_ok());
        let denied = Granted::<perm::ViewMedia>::check(principal(Role::Auditor))
            .expect_err("auditors see no media");
        assert_eq!(denied.permission, Permission::ViewMedia);
    }

    #[test]
    fn org_names_refuse_control_characters() {
        assert!(OrgName::parse("Demo Hotline").is_ok());
        assert!(OrgName::parse("bad\u{7}name").is_err());
        assert!(OrgName::parse("   ").is_err());
    }
}
