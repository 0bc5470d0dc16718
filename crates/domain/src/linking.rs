//! Identifiers normalised for linking: every value two reports could share is reduced to one
//! canonical spelling and typed by kind, so that `John.Doe@Example.COM` and `john.doe@example.com`
//! meet, and a phone number written with spaces meets the same number in E.164.
//!
//! Pure functions only. The engine turns a report into [`LinkKey`]s with [`keys_of_report`], and
//! the store indexes them by [`LinkKey::digest`] (a keyed value never needs to be kept in clear
//! beside the index).

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::digest::FileDigests;
use crate::identifier::NormalisedEmail;
use crate::report::{NewReport, Phone};

/// What kind of identifier a link key is. The kind is part of the key: the same text as a
/// username and as a device id never links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Email,
    /// A screen name on one service: `service|name`.
    Username,
    /// A service's own user id: `service|id`.
    EspUser,
    /// E.164 digits with a leading `+`.
    Phone,
    /// An IP address; linked only within a time window of its event time.
    Ip,
    /// `type|value`, e.g. `imei|350000000000001`.
    Device,
    /// A full URL without fragment or default port.
    Url,
    /// The host of a URL or of an e-mail address.
    Domain,
    Sha256,
    Md5,
    /// A PDQ near-duplicate group (value: the representative PDQ, hex).
    Pdq,
    /// `scheme|reference`, e.g. `iban|DE89370400440532013000`.
    Payment,
}

impl KeyKind {
    /// All kinds, in a fixed order.
    pub const ALL: [KeyKind; 12] = [
        KeyKind::Email,
        KeyKind::Username,
        KeyKind::EspUser,
        KeyKind::Phone,
        KeyKind::Ip,
        KeyKind::Device,
        KeyKind::Url,
        KeyKind::Domain,
        KeyKind::Sha256,
        KeyKind::Md5,
        KeyKind::Pdq,
        KeyKind::Payment,
    ];

    /// The stable code stored in the database and shown to users.
    pub fn code(self) -> &'static str {
        match self {
            KeyKind::Email => "email",
            KeyKind::Username => "username",
            KeyKind::EspUser => "esp_user",
            KeyKind::Phone => "phone",
            KeyKind::Ip => "ip",
            KeyKind::Device => "device",
            KeyKind::Url => "url",
            KeyKind::Domain => "domain",
            KeyKind::Sha256 => "sha256",
            KeyKind::Md5 => "md5",
            KeyKind::Pdq => "pdq",
            KeyKind::Payment => "payment",
        }
    }

    /// Whether this kind identifies a file (used for viral bundling).
    pub fn is_file(self) -> bool {
        matches!(self, KeyKind::Sha256 | KeyKind::Md5 | KeyKind::Pdq)
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for KeyKind {
    type Err = LinkingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| LinkingError::UnknownKind(s.chars().take(40).collect()))
    }
}

/// Why a value could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkingError {
    #[error("unknown identifier kind {0:?}")]
    UnknownKind(String),
    #[error("not a usable {kind} value: {reason}")]
    Invalid { kind: KeyKind, reason: &'static str },
}

fn invalid(kind: KeyKind, reason: &'static str) -> LinkingError {
    LinkingError::Invalid { kind, reason }
}

/// Choices that change which spellings count as one identifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormaliseOptions {
    /// For `gmail.com`/`googlemail.com` only (Google documents that dots in the local part are
    /// ignored and that `+tag` is delivered to the same mailbox): drop dots and `+tag`, and map
    /// `googlemail.com` to `gmail.com`. Off by default: other providers treat them as distinct
    /// mailboxes, and a wrong merge is worse than a missed one.
    pub gmail_canonical: bool,
}

/// One identifier, normalised, ready to index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkKey {
    pub kind: KeyKind,
    /// The canonical value (see each kind).
    pub value: String,
    /// When it was seen (IP addresses: the event time; the window is applied around it).
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

impl LinkKey {
    pub fn new(kind: KeyKind, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
            at: None,
        }
    }

    /// 16 bytes of SHA-256 over `kind 0x00 value`: the index key. Wide enough that accidental
    /// collisions are negligible at billions of keys, narrow enough to keep the index small.
    pub fn digest(&self) -> [u8; 16] {
        key_digest(self.kind, &self.value)
    }

    /// The value as shown in link reasons and alerts: enough to recognise, not to reuse.
    pub fn redacted(&self) -> String {
        redact(self.kind, &self.value)
    }
}

/// The index key of a `(kind, canonical value)` pair; see [`LinkKey::digest`].
pub fn key_digest(kind: KeyKind, value: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(kind.code().as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    let full = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// A recognisable but partial form of a value: file hashes and IPs are shown whole (they are
/// what investigators act on, and are not personal on their own for hashes; IPs are needed for
/// ISP requests), others keep their first and last characters.
pub fn redact(kind: KeyKind, value: &str) -> String {
    match kind {
        KeyKind::Sha256 | KeyKind::Md5 | KeyKind::Pdq | KeyKind::Ip | KeyKind::Domain => {
            value.to_owned()
        }
        KeyKind::Email => match value.split_once('@') {
            Some((local, domain)) => format!("{}@{domain}", mask(local)),
            None => mask(value),
        },
        _ => mask(value),
    }
}

fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    match chars.len() {
        0 => String::new(),
        1..=3 => "*".repeat(chars.len()),
        n => {
            let keep = if n > 8 { 2 } else { 1 };
            let mut out: String = chars[..keep].iter().collect();
            out.push_str(&"*".repeat(n - 2 * keep));
            out.extend(&chars[n - keep..]);
            out
        }
    }
}

/// E-mail: lower-cased throughout; with [`NormaliseOptions::gmail_canonical`], Gmail's dot and
/// plus rules applied.
pub fn normalise_email(raw: &str, options: NormaliseOptions) -> Result<String, LinkingError> {
    let parsed =
        NormalisedEmail::parse(raw).map_err(|_| invalid(KeyKind::Email, "not an address"))?;
    let lower = parsed.link_key();
    if !options.gmail_canonical {
        return Ok(lower);
    }
    let Some((local, domain)) = lower.rsplit_once('@') else {
        return Ok(lower);
    };
    if domain != "gmail.com" && domain != "googlemail.com" {
        return Ok(lower);
    }
    let local = local.split('+').next().unwrap_or(local).replace('.', "");
    if local.is_empty() {
        return Err(invalid(KeyKind::Email, "empty Gmail local part"));
    }
    Ok(format!("{local}@gmail.com"))
}

/// Phone: E.164, `+` and digits only. A number given with a country calling code (`+1`, `0044`
/// or `44`) is prefixed with it unless it already carries it; a number starting with `+` or `00`
/// is taken as international. A national number without any calling code cannot be placed and
/// is refused (linking two such numbers could join different countries' subscribers).
pub fn normalise_phone(number: &str, calling_code: Option<&str>) -> Result<String, LinkingError> {
    let trimmed = number.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().\u{a0}/".contains(c)))
    {
        return Err(invalid(KeyKind::Phone, "characters other than digits"));
    }
    if international {
        if trimmed.starts_with("00") {
            digits = digits.split_off(2);
        }
    } else {
        let code: String = calling_code
            .map(|c| c.chars().filter(char::is_ascii_digit).collect::<String>())
            .unwrap_or_default();
        let code = code.trim_start_matches("00").to_owned();
        if code.is_empty() {
            return Err(invalid(KeyKind::Phone, "no country calling code"));
        }
        // A national trunk prefix 0 is dropped (0612345678 with +31 is +31612345678), except for
        // Italy (+39) where the leading 0 belongs to the number.
        let national = if code != "39" {
            digits.trim_start_matches('0').to_owned()
        } else {
            digits.clone()
        };
        digits = if national.starts_with(&code) && national.len() > 10 {
            national
        } else {
            format!("{code}{national}")
        };
    }
    if !(7..=15).contains(&digits.len()) {
        return Err(invalid(KeyKind::Phone, "E.164 numbers have 7 to 15 digits"));
    }
    Ok(format!("+{digits}"))
}

/// IP address: canonical text, IPv4-mapped IPv6 (`::ffff:a.b.c.d`) reduced to IPv4.
pub fn normalise_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Parses text as an IP address and normalises it.
pub fn parse_ip(raw: &str) -> Result<String, LinkingError> {
    let ip: IpAddr = raw
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| invalid(KeyKind::Ip, "not an IP address"))?;
    Ok(normalise_ip(ip))
}

/// A service-scoped account identifier: `service|id`, both trimmed, service lower-cased (the same
/// screen name on two services is two people), the id lower-cased only for usernames (services
/// treat screen names case-insensitively; numeric and opaque ids are kept as given).
pub fn normalise_account(kind: KeyKind, service: &str, id: &str) -> Result<String, LinkingError> {
    let service = service.trim().to_lowercase();
    let id = id.trim().trim_start_matches('@');
    if service.is_empty() {
        return Err(invalid(kind, "no service"));
    }
    if id.is_empty() || id.len() > 512 {
        return Err(invalid(kind, "empty or longer than 512 bytes"));
    }
    let id = if kind == KeyKind::Username {
        id.to_lowercase()
    } else {
        id.to_owned()
    };
    Ok(format!("{service}|{id}"))
}

/// Device id: `type|value`, type lower-cased; IMEI/MEID/serial-like values upper-cased with
/// separators removed, so `35-209900-176148-1` and `352099001761481` meet.
pub fn normalise_device(id_type: &str, value: &str) -> Result<String, LinkingError> {
    let id_type = id_type.trim().to_lowercase();
    let cleaned: String = value
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | ':' | '.'))
        .collect::<String>()
        .to_uppercase();
    if id_type.is_empty() || cleaned.is_empty() || cleaned.len() > 256 {
        return Err(invalid(KeyKind::Device, "empty type or value"));
    }
    Ok(format!("{id_type}|{cleaned}"))
}

/// A URL, normalised: scheme and host lower-cased, default port (80/443) and fragment removed,
/// an empty path written `/`. Returns `(url, host)`.
pub fn normalise_url(raw: &str) -> Result<(String, String), LinkingError> {
    let text = raw.trim();
    if text.len() > 4096 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(KeyKind::Url, "too long or contains white space"));
    }
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        // Reports often carry bare `example.com/path`.
        None => ("http".to_owned(), text),
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(invalid(KeyKind::Url, "bad scheme"));
    }
    let rest = rest.split('#').next().unwrap_or("");
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    // Credentials are never part of the identity of a page.
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid(KeyKind::Url, "unclosed [ in host"))?;
        (format!("[{inside}]"), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h.to_owned(), Some(p)),
            Some(_) => return Err(invalid(KeyKind::Url, "bad port")),
            None => (authority.to_owned(), None),
        }
    };
    let host = host.trim_end_matches('.').to_lowercase();
    if host.is_empty() {
        return Err(invalid(KeyKind::Url, "no host"));
    }
    let port = match (scheme.as_str(), port) {
        (_, None) | (_, Some("")) => String::new(),
        ("http", Some("80")) | ("https", Some("443")) => String::new(),
        (_, Some(p)) => format!(":{}", p.trim_start_matches('0')),
    };
    let path = if path.is_empty() || path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    Ok((format!("{scheme}://{host}{port}{path}"), host))
}

/// A payment reference: `scheme|reference`, reference upper-cased with spaces removed (IBANs,
/// card tokens and wallet addresses compare that way; case-sensitive schemes such as Bitcoin
/// base58 addresses are kept as given).
pub fn normalise_payment(scheme: &str, reference: &str) -> Result<String, LinkingError> {
    let scheme = scheme.trim().to_lowercase();
    let compact: String = reference.chars().filter(|c| !c.is_whitespace()).collect();
    if scheme.is_empty() || compact.is_empty() || compact.len() > 256 {
        return Err(invalid(KeyKind::Payment, "empty scheme or reference"));
    }
    let reference = match scheme.as_str() {
        "btc" | "bitcoin" | "xmr" | "monero" | "sol" => compact,
        _ => compact.to_uppercase(),
    };
    Ok(format!("{scheme}|{reference}"))
}

/// The file-level facts linking uses: digests, and the PDQ group a near-duplicate source put the
/// file in (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKeys {
    pub digests: FileDigests,
    /// Representative PDQ (hex) of the near-duplicate group, from a [`PdqSource`]-like lookup.
    pub pdq_group: Option<String>,
}

/// Every link key a report carries, normalised and deduplicated. Values that fail to normalise
/// are skipped (returned in the second list, for the caller to log): a malformed phone number
/// must not stop the rest of the report from linking.
pub fn keys_of_report(
    report: &NewReport,
    files: &[FileKeys],
    options: NormaliseOptions,
) -> (Vec<LinkKey>, Vec<LinkingError>) {
    let mut keys = BTreeSet::new();
    let mut errors = Vec::new();
    let mut push = |result: Result<LinkKey, LinkingError>| match result {
        Ok(k) => {
            keys.insert(k);
        }
        Err(e) => errors.push(e),
    };
    // E-mail domains are not linked: unrelated users share small providers' domains too.
    let email = |raw: &str| -> Vec<Result<LinkKey, LinkingError>> {
        vec![normalise_email(raw, options).map(|e| LinkKey::new(KeyKind::Email, e))]
    };
    let phone = |p: &Phone| {
        normalise_phone(&p.number, p.country_calling_code.as_deref())
            .map(|v| LinkKey::new(KeyKind::Phone, v))
    };
    // A profile URL identifies an account; a channel URL (a page, a site) also yields its host,
    // since two reports about pages on one site concern the same site.
    let url = |raw: &str, with_host: bool| -> Vec<Result<LinkKey, LinkingError>> {
        match normalise_url(raw) {
            Ok((u, host)) => {
                let mut out = vec![Ok(LinkKey::new(KeyKind::Url, u))];
                if with_host {
                    out.push(Ok(LinkKey::new(KeyKind::Domain, host)));
                }
                out
            }
            Err(e) => vec![Err(e)],
        }
    };
    let ip = |ev: &crate::report::IpEvent| LinkKey {
        kind: KeyKind::Ip,
        value: normalise_ip(ev.ip),
        at: ev.at,
    };
    for party in &report.parties {
        for e in &party.emails {
            email(e).into_iter().for_each(&mut push);
        }
        for p in &party.phones {
            push(phone(p));
        }
        for u in &party.profile_urls {
            url(u, false).into_iter().for_each(&mut push);
        }
        for ev in &party.ip_events {
            push(Ok(ip(ev)));
        }
        for d in &party.device_ids {
            push(normalise_device(&d.id_type, &d.value).map(|v| LinkKey::new(KeyKind::Device, v)));
        }
        let service = party.esp_service.as_deref().unwrap_or("");
        if let Some(id) = party.esp_identifier.as_deref() {
            push(
                normalise_account(KeyKind::EspUser, service, id)
                    .map(|v| LinkKey::new(KeyKind::EspUser, v)),
            );
        }
        if let Some(name) = party.screen_name.as_deref() {
            push(
                normalise_account(KeyKind::Username, service, name)
                    .map(|v| LinkKey::new(KeyKind::Username, v)),
            );
        }
    }
    for channel in &report.channels {
        for e in &channel.emails {
            email(e).into_iter().for_each(&mut push);
        }
        for p in &channel.phones {
            push(phone(p));
        }
        for u in &channel.urls {
            url(u, true).into_iter().for_each(&mut push);
        }
        for ev in &channel.ip_events {
            push(Ok(ip(ev)));
        }
    }
    for f in files {
        push(Ok(LinkKey::new(KeyKind::Sha256, f.digests.sha256.to_hex())));
        push(Ok(LinkKey::new(KeyKind::Md5, f.digests.md5.to_hex())));
        if let Some(pdq) = &f.pdq_group {
            push(Ok(LinkKey::new(KeyKind::Pdq, pdq.to_lowercase())));
        }
    }
    (keys.into_iter().collect(), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_lower_case_and_gmail_only_on_request() {
        let plain = NormaliseOptions::default();
        assert_eq!(
            normalise_email(" John.Doe+x@Example.COM ", plain),
            Ok("john.doe+x@example.com".into())
        );
        assert_eq!(
            normalise_email("John.Doe+x@gmail.com", plain),
            Ok("john.doe+x@gmail.com".into())
        );
        let gmail = NormaliseOptions {
            gmail_canonical: true,
        };
        assert_eq!(
            normalise_email("John.Doe+x@GoogleMail.com", gmail),
            Ok("johndoe@gmail.com".into())
        );
        // Dots matter elsewhere.
        assert_eq!(
            normalise_email("John.Doe+x@example.com", gmail),
            Ok("john.doe+x@example.com".into())
        );
        assert!(normalise_email("not-an-address", plain).is_err());
        assert!(normalise_email("+@gmail.com", gmail).is_err());
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            normalise_phone("(555) 010-1234", Some("+1")),
            Ok("+15550101234".into())
        );
        assert_eq!(
            normalise_phone("+44 20 7946 0000", None),
            Ok("+442079460000".into())
        );
        assert_eq!(
            normalise_phone("0044 20 7946 0000", None),
            Ok("+442079460000".into())
        );
        assert_eq!(
            normalise_phone("06 12345678", Some("31")),
            Ok("+31612345678".into())
        );
        assert_eq!(
            normalise_phone("06 12345678", Some("+39")),
            Ok("+390612345678".into())
        );
        assert!(normalise_phone("5550101234", None).is_err());
        assert!(normalise_phone("call me", Some("+1")).is_err());
        assert!(normalise_phone("+1 23", None).is_err());
    }

    #[test]
    fn ips_are_canonical_and_mapped_v4_is_v4() {
        assert_eq!(parse_ip("::ffff:198.51.100.7"), Ok("198.51.100.7".into()));
        assert_eq!(parse_ip("2001:DB8:0:0::1"), Ok("2001:db8::1".into()));
        assert_eq!(parse_ip("[2001:db8::1]"), Ok("2001:db8::1".into()));
        assert!(parse_ip("300.1.1.1").is_err());
    }

    #[test]
    fn urls_lose_default_ports_fragments_and_case_of_host() {
        assert_eq!(
            normalise_url("HTTPS://Chat.Example.COM:443/u/Bob#top"),
            Ok((
                "https://chat.example.com/u/Bob".into(),
                "chat.example.com".into()
            ))
        );
        assert_eq!(
            normalise_url("http://user:pw@example.com:8080?q=1"),
            Ok(("http://example.com:8080/?q=1".into(), "example.com".into()))
        );
        assert_eq!(
            normalise_url("example.org"),
            Ok(("http://example.org/".into(), "example.org".into()))
        );
        assert_eq!(
            normalise_url("http://[2001:db8::1]:80/x").map(|(u, _)| u),
            Ok("http://[2001:db8::1]/x".into())
        );
        assert!(normalise_url("https://").is_err());
        assert!(normalise_url("http://a b").is_err());
    }

    #[test]
    fn accounts_devices_and_payments_are_scoped() {
        assert_eq!(
            normalise_account(KeyKind::Username, "Example Chat", "@Bob_1"),
            Ok("example chat|bob_1".into())
        );
        assert_eq!(
            normalise_account(KeyKind::EspUser, "Example Chat", "AbC123"),
            Ok("example chat|AbC123".into())
        );
        assert!(normalise_account(KeyKind::EspUser, "", "1").is_err());
        assert_eq!(
            normalise_device("IMEI", "35-209900-176148-1"),
            Ok("imei|352099001761481".into())
        );
        assert_eq!(
            normalise_payment("IBAN", "de89 3704 0044 0532 0130 00"),
            Ok("iban|DE89370400440532013000".into())
        );
        assert_eq!(
            normalise_payment("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
            Ok("btc|1BoatSLRHtKNngkdXEeobR76b53LETtpyT".into())
        );
    }

    #[test]
    fn kinds_round_trip_and_digests_separate_kinds() {
        for k in KeyKind::ALL {
            assert_eq!(k.code().parse::<KeyKind>(), Ok(k));
        }
        assert_ne!(
            key_digest(KeyKind::Username, "x|a"),
            key_digest(KeyKind::EspUser, "x|a")
        );
        assert_eq!(
            redact(KeyKind::Email, "johndoe@example.com"),
            "j*****e@example.com"
        );
        assert_eq!(redact(KeyKind::Phone, "+15550101234"), "+1********34");
    }

    #[test]
    fn a_report_yields_deduplicated_keys() {
        use crate::report::{IncidentType, IpEvent, Party, PartyRole};
        let at = time::macros::datetime!(2024-03-01 17:00 UTC);
        let mut r = NewReport::new(IncidentType::OnlineEnticement, at);
        let mut p = Party::new(PartyRole::Reported);
        p.emails = vec![
            "Bob@Example.org".into(),
            "bob@example.org".into(),
            "bad".into(),
        ];
        p.esp_service = Some("Chat".into());
        p.esp_identifier = Some("42".into());
        p.ip_events.push(IpEvent {
            ip: "::ffff:198.51.100.7".parse().expect("ip"),
            event: None,
            at: Some(at),
            port: None,
            possible_proxy: None,
        });
        r.parties.push(p);
        let (keys, errors) = keys_of_report(&r, &[], NormaliseOptions::default());
        assert_eq!(errors.len(), 1);
        let summary: Vec<(KeyKind, &str)> =
            keys.iter().map(|k| (k.kind, k.value.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (KeyKind::Email, "bob@example.org"),
                (KeyKind::EspUser, "chat|42"),
                (KeyKind::Ip, "198.51.100.7"),
            ]
        );
        assert_eq!(keys[2].at, Some(at));
    }
}
