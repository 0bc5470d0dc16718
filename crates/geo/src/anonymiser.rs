//! Known anonymising infrastructure (VPN, proxy, Tor exit ranges), from lists the operator
//! configures: an address on such a list is located at the exit, not at the person.
//!
//! File format, one entry a line: `CIDR LABEL` (or `CIDR,LABEL`); a bare address is a single
//! host; `#` starts a comment. Example: `185.220.101.0/24 tor-exit`.

use std::net::IpAddr;
use std::path::Path;

use crate::range_table::Ranges;
use crate::reserved::canonical;
use crate::GeoError;

/// Anonymiser ranges with their labels.
#[derive(Debug, Clone, Default)]
pub struct AnonymiserList {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    labels: Vec<String>,
}

impl AnonymiserList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses list text; `file` names it in errors. Where entries overlap, the one with the
    /// lower first address wins.
    pub fn parse(text: &str, file: &str) -> Result<Self, GeoError> {
        let mut list = Self::default();
        list.extend_from_text(text, file)?;
        Ok(list)
    }

    /// Reads a list file and adds its entries.
    pub fn add_file(&mut self, path: &Path) -> Result<(), GeoError> {
        let text = std::fs::read_to_string(path)
            .map_err(GeoError::io(format!("reading {}", path.display())))?;
        self.extend_from_text(&text, &path.display().to_string())
    }

    fn extend_from_text(&mut self, text: &str, file: &str) -> Result<(), GeoError> {
        let mut v4: Vec<(u32, u32, u32)> = self.v4.iter().collect();
        let mut v6: Vec<(u128, u128, u32)> = self.v6.iter().collect();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let error = |why: String| GeoError::Import {
                file: file.to_string(),
                line: index + 1,
                why,
            };
            let (cidr, label) = match line.find(|c: char| c == ',' || c.is_whitespace()) {
                Some(at) => (
                    &line[..at],
                    // From `at`, not `at + 1`: the separator may be a multi-byte space.
                    line[at..].trim_matches(|c: char| c == ',' || c.is_whitespace()),
                ),
                None => (line, ""),
            };
            let label = if label.is_empty() {
                "anonymiser"
            } else {
                label
            };
            let (address, prefix) = match cidr.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (cidr, None),
            };
            let address: IpAddr = address
                .parse()
                .map_err(|_| error(format!("not an address: {address:.60}")))?;
            let prefix: Option<u32> = prefix
                .map(|p| {
                    p.parse()
                        .map_err(|_| error(format!("bad prefix length: {p:.10}")))
                })
                .transpose()?;
            let value = u32::try_from(self.labels.len())
                .map_err(|_| error("too many entries".to_string()))?;
            match canonical(address) {
                IpAddr::V4(a) => {
                    // A mapped IPv6 prefix counts the 96 mapping bits.
                    let prefix = match (address, prefix) {
                        (IpAddr::V6(_), Some(p)) => p.checked_sub(96),
                        (_, p) => Some(p.unwrap_or(32)),
                    }
                    .filter(|p| *p <= 32)
                    .ok_or_else(|| error("prefix length out of range".to_string()))?;
                    let mask = if prefix == 0 {
                        0
                    } else {
                        u32::MAX << (32 - prefix)
                    };
                    let first = u32::from(a) & mask;
                    v4.push((first, first | !mask, value));
                }
                IpAddr::V6(a) => {
                    let prefix = prefix.unwrap_or(128);
                    if prefix > 128 {
                        return Err(error("prefix length out of range".to_string()));
                    }
                    let mask = if prefix == 0 {
                        0
                    } else {
                        u128::MAX << (128 - prefix)
                    };
                    let first = u128::from(a) & mask;
                    v6.push((first, first | !mask, value));
                }
            }
            self.labels.push(label.to_string());
        }
        self.v4 = Ranges::from_rows(v4).0;
        self.v6 = Ranges::from_rows(v6).0;
        Ok(())
    }

    /// The label of the entry covering `ip`.
    pub fn label(&self, ip: IpAddr) -> Option<&str> {
        let index = match canonical(ip) {
            IpAddr::V4(a) => self.v4.get(u32::from(a)),
            IpAddr::V6(a) => self.v6.get(u128::from(a)),
        }?;
        self.labels
            .get(usize::try_from(index).ok()?)
            .map(String::as_str)
    }

    /// True when the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test literal")
    }

    #[test]
    fn labels_cover_their_ranges() {
        let list = AnonymiserList::parse(
            "# test list\n185.220.101.0/24 tor-exit\n2a0b:f4c2::/40,tor-exit-v6\n198.51.100.7\n",
            "test",
        )
        .expect("valid list");
        assert_eq!(list.label(ip("185.220.101.9")), Some("tor-exit"));
        assert_eq!(list.label(ip("::ffff:185.220.101.9")), Some("tor-exit"));
        assert_eq!(list.label(ip("185.220.102.1")), None);
        assert_eq!(list.label(ip("2a0b:f4c2:1::1")), Some("tor-exit-v6"));
        assert_eq!(list.label(ip("198.51.100.7")), Some("anonymiser"));
        assert_eq!(list.label(ip("198.51.100.8")), None);
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers() {
        let error = AnonymiserList::parse("1.2.3.0/24 ok\n1.2.3.0/33 bad\n", "list.txt")
            .expect_err("prefix 33 is invalid");
        assert!(error.to_string().contains("list.txt:2"), "{error}");
        assert!(AnonymiserList::parse("not-an-ip vpn\n", "x").is_err());
        assert!(AnonymiserList::parse("2001:db8::/129 vpn\n", "x").is_err());
        // A multi-byte space as separator is a separator, not a panic.
        let list = AnonymiserList::parse("192.0.2.0/24\u{3000}ideographic\n", "x").expect("valid");
        assert_eq!(list.label(ip("192.0.2.1")), Some("ideographic"));
    }
}
