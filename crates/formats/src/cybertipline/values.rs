//! Simple values of the wire format: XSD date/time values and the schema's enumerations.

use std::fmt;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Why a lexical value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a supported {kind}")]
pub struct ValueError {
    /// The offending text.
    pub value: String,
    /// What it should have been (`xs:dateTime`, `xs:date`, …).
    pub kind: &'static str,
}

fn err(value: &str, kind: &'static str) -> ValueError {
    ValueError {
        value: value.to_string(),
        kind,
    }
}

/// An `xs:dateTime`: local date-time plus an optional zone. NCMEC requires the zone
/// (documentation §7.3); the XSD does not, so the absence is representable and a business rule
/// rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XsDateTime {
    /// Date and time as written (an `24:00:00` end-of-day is normalised to the next day).
    pub local: PrimitiveDateTime,
    /// The zone: `Z` is `UtcOffset::UTC`; `None` when the value had no zone.
    pub offset: Option<UtcOffset>,
}

impl XsDateTime {
    /// A zoned value.
    pub fn new(local: PrimitiveDateTime, offset: UtcOffset) -> Self {
        XsDateTime {
            local,
            offset: Some(offset),
        }
    }

    /// From an `OffsetDateTime` (keeps its offset).
    pub fn from_offset(t: OffsetDateTime) -> Self {
        XsDateTime {
            local: PrimitiveDateTime::new(t.date(), t.time()),
            offset: Some(t.offset()),
        }
    }

    /// The instant, when a zone is present.
    pub fn to_offset(&self) -> Option<OffsetDateTime> {
        self.offset.map(|o| self.local.assume_offset(o))
    }

    /// Reads the XSD lexical form `[-]YYYY-MM-DDThh:mm:ss[.f+][Z|(+|-)hh:mm]` (leading and
    /// trailing whitespace collapsed, as the schema's whiteSpace facet does).
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        const KIND: &str = "xs:dateTime";
        let s = text.trim();
        let (date_part, rest) = s.split_once('T').ok_or_else(|| err(text, KIND))?;
        let date = parse_date(date_part).ok_or_else(|| err(text, KIND))?;
        let (time_part, offset) = split_zone(rest).ok_or_else(|| err(text, KIND))?;
        let (time, next_day) = parse_time(time_part).ok_or_else(|| err(text, KIND))?;
        let mut local = PrimitiveDateTime::new(date, time);
        if next_day {
            local = local
                .checked_add(Duration::days(1))
                .ok_or_else(|| err(text, KIND))?;
        }
        Ok(XsDateTime { local, offset })
    }
}

impl fmt::Display for XsDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.local.date();
        let t = self.local.time();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        let nanos = t.nanosecond();
        if nanos != 0 {
            let frac = format!("{nanos:09}");
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        if let Some(o) = self.offset {
            write_zone(f, o)?;
        }
        Ok(())
    }
}

/// An `xs:date`, with its optional zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XsDate {
    /// The calendar date.
    pub date: Date,
    /// The zone, if written.
    pub offset: Option<UtcOffset>,
}

impl XsDate {
    /// A date without zone.
    pub fn new(date: Date) -> Self {
        XsDate { date, offset: None }
    }

    /// Reads the XSD lexical form `YYYY-MM-DD[Z|(+|-)hh:mm]`.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        const KIND: &str = "xs:date";
        let s = text.trim();
        // The date part is exactly 10 characters for the supported years 0000–9999.
        if s.len() < 10 || !s.is_char_boundary(10) {
            return Err(err(text, KIND));
        }
        let (d, zone) = s.split_at(10);
        let date = parse_date(d).ok_or_else(|| err(text, KIND))?;
        let offset = if zone.is_empty() {
            None
        } else {
            Some(parse_zone(zone).ok_or_else(|| err(text, KIND))?)
        };
        Ok(XsDate { date, offset })
    }
}

impl fmt::Display for XsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.date;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )?;
        if let Some(o) = self.offset {
            write_zone(f, o)?;
        }
        Ok(())
    }
}

fn write_zone(f: &mut fmt::Formatter<'_>, o: UtcOffset) -> fmt::Result {
    if o.is_utc() {
        return f.write_str("Z");
    }
    let (h, m, _) = o.as_hms();
    let sign = if o.is_negative() { '-' } else { '+' };
    write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

fn digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn parse_date(s: &str) -> Option<Date> {
    // Years outside 0000–9999 and negative years are valid XSD but not supported here.
    let mut it = s.split('-');
    let y: i32 = digits(it.next()?, 4)?;
    let m: u8 = digits(it.next()?, 2)?;
    let d: u8 = digits(it.next()?, 2)?;
    if it.next().is_some() {
        return None;
    }
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

fn split_zone(s: &str) -> Option<(&str, Option<UtcOffset>)> {
    if let Some(t) = s.strip_suffix('Z') {
        return Some((t, Some(UtcOffset::UTC)));
    }
    if s.len() > 6 {
        let cut = s.len() - 6;
        if s.is_char_boundary(cut) {
            let (t, z) = s.split_at(cut);
            if z.starts_with('+') || z.starts_with('-') {
                return Some((t, Some(parse_zone(z)?)));
            }
        }
    }
    Some((s, None))
}

fn parse_zone(z: &str) -> Option<UtcOffset> {
    if z == "Z" {
        return Some(UtcOffset::UTC);
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1i8, &z[1..]),
        b'-' => (-1i8, &z[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h: i8 = digits(h, 2)?;
    let m: i8 = digits(m, 2)?;
    if h > 14 || m > 59 || (h == 14 && m != 0) {
        return None;
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

fn parse_time(s: &str) -> Option<(Time, bool)> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut it = hms.split(':');
    let h: u8 = digits(it.next()?, 2)?;
    let m: u8 = digits(it.next()?, 2)?;
    let sec: u8 = digits(it.next()?, 2)?;
    if it.next().is_some() {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            // Digits beyond nanoseconds are dropped.
            let mut padded: String = f.chars().take(9).collect();
            while padded.len() < 9 {
                padded.push('0');
            }
            padded.parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    if h == 24 {
        // 24:00:00 is the end of the day, i.e. midnight of the next one.
        return (m == 0 && sec == 0 && nanos == 0).then_some((Time::MIDNIGHT, true));
    }
    Some((Time::from_hms_nano(h, m, sec, nanos).ok()?, false))
}

/// Reads an `xs:boolean` (`true`, `false`, `1`, `0`).
pub fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(err(text, "xs:boolean")),
    }
}

/// Reads an `xs:int`.
pub fn parse_int(text: &str) -> Result<i32, ValueError> {
    let t = text.trim();
    t.strip_prefix('+')
        .unwrap_or(t)
        .parse()
        .map_err(|_| err(text, "xs:int"))
}

/// Reads an `xs:long`.
pub fn parse_long(text: &str) -> Result<i64, ValueError> {
    let t = text.trim();
    t.strip_prefix('+')
        .unwrap_or(t)
        .parse()
        .map_err(|_| err(text, "xs:long"))
}

/// Reads an `xs:double` (including `INF`, `-INF`, `NaN`).
pub fn parse_double(text: &str) -> Result<f64, ValueError> {
    match text.trim() {
        "INF" | "+INF" => Ok(f64::INFINITY),
        "-INF" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        t => t.parse().map_err(|_| err(text, "xs:double")),
    }
}

/// Writes an `xs:double` so that it reads back to the same value.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "INF".into()
    } else if v == f64::NEG_INFINITY {
        "-INF".into()
    } else {
        format!("{v}")
    }
}

/// Serialises as the XSD lexical form, so JSON copies read like the XML.
macro_rules! lexical_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$t>::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

lexical_serde!(XsDateTime);
lexical_serde!(XsDate);

/// Defines a closed enumeration of wire strings.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The exact wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value for an exact wire string.
            pub fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::from_wire(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "'{text}' is not a valid {}",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

wire_enum! {
    /// `incidentType`: the eight CyberTipline incident types.
    IncidentType {
        /// Child Pornography (possession, manufacture, and distribution).
        ChildPornography = "Child Pornography (possession, manufacture, and distribution)",
        /// Child Sex Trafficking.
        ChildSexTrafficking = "Child Sex Trafficking",
        /// Child Sex Tourism.
        ChildSexTourism = "Child Sex Tourism",
        /// Child Sexual Molestation.
        ChildSexualMolestation = "Child Sexual Molestation",
        /// Misleading Domain Name.
        MisleadingDomainName = "Misleading Domain Name",
        /// Misleading Words or Digital Images on the Internet.
        MisleadingWordsOrDigitalImages = "Misleading Words or Digital Images on the Internet",
        /// Online Enticement of Children for Sexual Acts.
        OnlineEnticement = "Online Enticement of Children for Sexual Acts",
        /// Unsolicited Obscene Material Sent to a Child.
        UnsolicitedObsceneMaterial = "Unsolicited Obscene Material Sent to a Child",
    }
}

wire_enum! {
    /// `eventName` of `ipCaptureEvent` and `deviceId` (`ipCaptureType`).
    EventName {
        /// Login.
        Login = "Login",
        /// Registration.
        Registration = "Registration",
        /// Purchase.
        Purchase = "Purchase",
        /// Upload.
        Upload = "Upload",
        /// Other.
        Other = "Other",
        /// Unknown.
        Unknown = "Unknown",
    }
}

wire_enum! {
    /// `address/@type`.
    AddressType {
        /// Home.
        Home = "Home",
        /// Business.
        Business = "Business",
        /// Billing.
        Billing = "Billing",
        /// Shipping.
        Shipping = "Shipping",
        /// Technical.
        Technical = "Technical",
    }
}

wire_enum! {
    /// `phone/@type`.
    PhoneType {
        /// Mobile.
        Mobile = "Mobile",
        /// Home.
        Home = "Home",
        /// Business.
        Business = "Business",
        /// Work.
        Work = "Work",
        /// Fax.
        Fax = "Fax",
        /// Internet.
        Internet = "Internet",
        /// Recovery.
        Recovery = "Recovery",
    }
}

wire_enum! {
    /// `email/@type`.
    EmailType {
        /// Home.
        Home = "Home",
        /// Work.
        Work = "Work",
        /// Business.
        Business = "Business",
        /// Recovery.
        Recovery = "Recovery",
    }
}

wire_enum! {
    /// `associatedAccount/@type` (the documentation calls it `accountType`).
    AssociatedAccountType {
        /// Billing.
        Billing = "Billing",
        /// Linked.
        Linked = "Linked",
        /// Business.
        Business = "Business",
        /// Creator.
        Creator = "Creator",
        /// Parent/Guardian.
        ParentGuardian = "Parent/Guardian",
        /// Other.
        Other = "Other",
    }
}

wire_enum! {
    /// `fileRelevance`.
    FileRelevance {
        /// The file motivates the report (the default when absent).
        Reported = "Reported",
        /// Contextual content.
        SupplementalReported = "Supplemental Reported",
    }
}

wire_enum! {
    /// `industryClassification` (ESP categorisation scale).
    IndustryClassification {
        /// Prepubescent, sex act.
        A1 = "A1",
        /// Prepubescent, lascivious exhibition.
        A2 = "A2",
        /// Pubescent, sex act.
        B1 = "B1",
        /// Pubescent, lascivious exhibition.
        B2 = "B2",
    }
}

wire_enum! {
    /// `details/@type`.
    DetailsType {
        /// EXIF metadata.
        Exif = "EXIF",
        /// Hash values.
        Hash = "HASH",
    }
}

wire_enum! {
    /// `batchedReport/@reason`.
    BatchedReportReason {
        /// Viral / potential meme batched report (documentation Appendix E).
        ViralPotentialMeme = "VIRAL_POTENTIAL_MEME",
    }
}

wire_enum! {
    /// US state and territory postal abbreviations accepted by the schema's `state` type
    /// (the empty string is also allowed by the XSD and is represented by `Option::None`).
    UsState {
        /// Alabama.
        AL = "AL", /// Alaska.
        AK = "AK", /// Arizona.
        AZ = "AZ", /// Arkansas.
        AR = "AR", /// California.
        CA = "CA", /// Colorado.
        CO = "CO", /// Connecticut.
        CT = "CT", /// Delaware.
        DE = "DE", /// District of Columbia.
        DC = "DC", /// Florida.
        FL = "FL", /// Georgia.
        GA = "GA", /// Guam.
        GU = "GU", /// Hawaii.
        HI = "HI", /// Idaho.
        ID = "ID", /// Illinois.
        IL = "IL", /// Indiana.
        IN = "IN", /// Iowa.
        IA = "IA", /// Kansas.
        KS = "KS", /// Kentucky.
        KY = "KY", /// Louisiana.
        LA = "LA", /// Maine.
        ME = "ME", /// Maryland.
        MD = "MD", /// Massachusetts.
        MA = "MA", /// Michigan.
        MI = "MI", /// Minnesota.
        MN = "MN", /// Mississippi.
        MS = "MS", /// Missouri.
        MO = "MO", /// Montana.
        MT = "MT", /// Nebraska.
        NE = "NE", /// Nevada.
        NV = "NV", /// New Hampshire.
        NH = "NH", /// New Jersey.
        NJ = "NJ", /// New Mexico.
        NM = "NM", /// New York.
        NY = "NY", /// North Carolina.
        NC = "NC", /// North Dakota.
        ND = "ND", /// Ohio.
        OH = "OH", /// Oklahoma.
        OK = "OK", /// Oregon.
        OR = "OR", /// Pennsylvania.
        PA = "PA", /// Puerto Rico.
        PR = "PR", /// Rhode Island.
        RI = "RI", /// South Carolina.
        SC = "SC", /// South Dakota.
        SD = "SD", /// Tennessee.
        TN = "TN", /// Texas.
        TX = "TX", /// Utah.
        UT = "UT", /// Vermont.
        VT = "VT", /// Virgin Islands.
        VI = "VI", /// Virginia.
        VA = "VA", /// Washington.
        WA = "WA", /// West Virginia.
        WV = "WV", /// Wisconsin.
        WI = "WI", /// Wyoming.
        WY = "WY",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_round_trip() {
        for s in [
            "2012-10-15T08:00:00-07:00",
            "2024-03-01T18:22:05+01:00",
            "2011-10-31T12:00:00Z",
            "2011-10-31T12:00:00.5Z",
            "2011-10-31T12:00:00",
        ] {
            let v = XsDateTime::parse(s).expect(s);
            assert_eq!(v.to_string(), s);
            assert_eq!(XsDateTime::parse(&v.to_string()), Ok(v));
        }
        let v = XsDateTime::parse("2011-10-31T12:00:00+00:00").expect("utc");
        assert_eq!(v.to_string(), "2011-10-31T12:00:00Z");
        let end = XsDateTime::parse("2011-10-31T24:00:00Z").expect("24h");
        assert_eq!(end.to_string(), "2011-11-01T00:00:00Z");
        for bad in [
            "2011-10-31",
            "2011-13-01T00:00:00Z",
            "x",
            "2011-10-31T25:00:00Z",
        ] {
            assert!(XsDateTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_round_trip() {
        for s in ["2010-01-02", "2010-01-02Z", "2010-01-02-05:00"] {
            let v = XsDate::parse(s).expect(s);
            assert_eq!(v.to_string(), s);
        }
        assert!(XsDate::parse("2010-02-30").is_err());
    }

    #[test]
    fn enums_are_exact() {
        assert_eq!(
            IncidentType::from_wire("Child Sex Tourism"),
            Some(IncidentType::ChildSexTourism)
        );
        assert_eq!(IncidentType::from_wire("child sex tourism"), None);
        assert_eq!(IncidentType::ALL.len(), 8);
        assert_eq!(UsState::ALL.len(), 54);
        assert_eq!(
            AssociatedAccountType::ParentGuardian.as_str(),
            "Parent/Guardian"
        );
    }
}
