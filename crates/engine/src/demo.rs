//! Fictional demo data: organisations, accounts and reports that let a new user try every
//! workflow. Every report is marked `demo`; every person, account, e-mail domain and phone number
//! is invented (example.* domains, fictional number ranges).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use safeguard_domain::account::{OrgKind, Role};
use safeguard_domain::report::{
    Address, CaptureEvent, Channel, ChannelKind, DeviceId, IncidentType, IpEvent, NewReport, Party,
    PartyRole, Phone, ReportAnnotation,
};
use time::{Duration, OffsetDateTime};

/// A demo organisation.
pub struct DemoOrg {
    pub name: &'static str,
    pub kind: OrgKind,
    pub country: Option<&'static str>,
}

/// A demo account, with a password printed for the person trying the demo.
pub struct DemoUser {
    pub org: &'static str,
    pub username: &'static str,
    pub role: Role,
    pub password: &'static str,
}

pub const ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "Demo Hotline",
        kind: OrgKind::Hotline,
        country: Some("US"),
    },
    DemoOrg {
        name: "Demo Coordinator (EU)",
        kind: OrgKind::Coordinator,
        country: None,
    },
    DemoOrg {
        name: "Demo Agency Germany",
        kind: OrgKind::Agency,
        country: Some("DE"),
    },
    DemoOrg {
        name: "Demo Agency Netherlands",
        kind: OrgKind::Agency,
        country: Some("NL"),
    },
    DemoOrg {
        name: "Demo Agency Philippines",
        kind: OrgKind::Agency,
        country: Some("PH"),
    },
    DemoOrg {
        name: "Demo Social Network",
        kind: OrgKind::Reporter,
        country: Some("US"),
    },
];

pub const USERS: &[DemoUser] = &[
    DemoUser {
        org: "Demo Hotline",
        username: "admin",
        role: Role::Admin,
        password: "demo-admin-password",
    },
    DemoUser {
        org: "Demo Hotline",
        username: "analyst",
        role: Role::Analyst,
        password: "demo-analyst-password",
    },
    DemoUser {
        org: "Demo Hotline",
        username: "auditor",
        role: Role::Auditor,
        password: "demo-auditor-password",
    },
    DemoUser {
        org: "Demo Coordinator (EU)",
        username: "coordinator",
        role: Role::Analyst,
        password: "demo-coordinator-password",
    },
    // A second coordinator account: a package is approved by someone other than its builder.
    DemoUser {
        org: "Demo Coordinator (EU)",
        username: "coordinator.lead",
        role: Role::Analyst,
        password: "demo-coordinator-lead-password",
    },
    DemoUser {
        org: "Demo Agency Germany",
        username: "investigator.de",
        role: Role::Investigator,
        password: "demo-investigator-password",
    },
    DemoUser {
        org: "Demo Hotline",
        username: "specialist",
        role: Role::Specialist,
        password: "demo-specialist-password",
    },
    DemoUser {
        org: "Demo Coordinator (EU)",
        username: "reviewer",
        role: Role::Reviewer,
        password: "demo-reviewer-password",
    },
    DemoUser {
        org: "Demo Agency Netherlands",
        username: "reviewer.nl",
        role: Role::Reviewer,
        password: "demo-reviewer-nl-password",
    },
    DemoUser {
        org: "Demo Social Network",
        username: "reporter",
        role: Role::Reporter,
        password: "demo-reporter-password",
    },
];

const FIRST_NAMES: &[&str] = &[
    "Alex", "Sam", "Robin", "Kim", "Jo", "Charlie", "Nico", "Mika", "Toni", "Luca",
];
const LAST_NAMES: &[&str] = &[
    "Example",
    "Sample",
    "Placeholder",
    "Fictional",
    "Testperson",
    "Demo",
];
const SERVICES: &[&str] = &[
    "Example Chat",
    "Example Photos",
    "Example Social",
    "Example Games",
];

/// Country, fictional city and an IPv4 block to draw demo addresses from (blocks delegated to
/// that country's registry, so geolocation has something to find).
const PLACES: &[(&str, &str, [u8; 2])] = &[
    ("DE", "Musterstadt", [87, 128]),
    ("NL", "Voorbeeldstad", [145, 53]),
    ("PH", "Halimbawa City", [112, 198]),
    ("FR", "Exempleville", [90, 60]),
    ("BR", "Cidade Exemplo", [177, 32]),
    ("IN", "Udaharan Nagar", [117, 200]),
    ("US", "Exampletown", [73, 12]),
];

/// A generator of fictional reports, reproducible from its seed.
pub struct DemoReports {
    rng: StdRng,
    now: OffsetDateTime,
}

impl DemoReports {
    pub fn new(seed: u64, now: OffsetDateTime) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            now,
        }
    }

    /// The next fictional report.
    pub fn next_report(&mut self) -> NewReport {
        let rng = &mut self.rng;
        let incident_type = *[
            (IncidentType::ChildPornography, 80),
            (IncidentType::OnlineEnticement, 10),
            (IncidentType::UnsolicitedObsceneMaterial, 4),
            (IncidentType::ChildSexTrafficking, 2),
            (IncidentType::ChildSexualMolestation, 2),
            (IncidentType::MisleadingWordsOrImages, 2),
        ]
        .choose_weighted(rng, |(_, w)| *w)
        .map(|(t, _)| t)
        .unwrap_or(&IncidentType::ChildPornography);
        let occurred_at = self.now - Duration::minutes(rng.gen_range(30..60 * 24 * 60));
        let mut report = NewReport::new(incident_type, occurred_at);
        report.demo = true;
        report.incident.platform = Some(SERVICES[rng.gen_range(0..SERVICES.len())].to_owned());
        if rng.gen_bool(0.03) {
            report.incident.escalation =
                Some("DEMO: the user says they will meet the child this weekend.".into());
        }
        if rng.gen_bool(0.05) {
            report
                .incident
                .annotations
                .push(ReportAnnotation::Sextortion);
        }
        if rng.gen_bool(0.03) {
            report
                .incident
                .annotations
                .push(ReportAnnotation::MinorToMinorInteraction);
        }
        let (country, city, block) = PLACES[rng.gen_range(0..PLACES.len())];
        let handle = format!("demo_user_{}", rng.gen_range(1..5_000));
        let mut suspect = Party::new(PartyRole::Reported);
        suspect.esp_service = report.incident.platform.clone();
        suspect.esp_identifier = Some(format!("demo-{}", rng.gen_range(100_000..999_999)));
        suspect.screen_name = Some(handle.clone());
        suspect.emails.push(format!("{handle}@example.net"));
        if rng.gen_bool(0.3) {
            // +1 555 01xx is reserved for fiction.
            suspect.phones.push(Phone {
                number: format!("555010{}", rng.gen_range(0..10)),
                country_calling_code: Some("+1".into()),
                verified: Some(false),
            });
        }
        suspect.addresses.push(Address {
            city: Some(city.to_owned()),
            country: Some(country.to_owned()),
            ..Address::default()
        });
        for _ in 0..rng.gen_range(1..4) {
            let ip = std::net::Ipv4Addr::new(block[0], block[1], rng.gen(), rng.gen_range(1..255));
            suspect.ip_events.push(IpEvent {
                ip: ip.into(),
                event: Some(
                    *[
                        CaptureEvent::Login,
                        CaptureEvent::Upload,
                        CaptureEvent::Registration,
                    ]
                    .choose(rng)
                    .unwrap_or(&CaptureEvent::Login),
                ),
                at: Some(occurred_at - Duration::minutes(rng.gen_range(0..600))),
                port: Some(rng.gen_range(1024..65535)),
                possible_proxy: Some(false),
            });
        }
        if rng.gen_bool(0.2) {
            suspect.device_ids.push(DeviceId {
                id_type: "IMEI".into(),
                value: format!("35{:013}", rng.gen_range(0..10_000_000_000_000u64)),
                event: Some(CaptureEvent::Login),
                at: Some(occurred_at),
            });
        }
        report.parties.push(suspect);
        if incident_type == IncidentType::OnlineEnticement || rng.gen_bool(0.1) {
            let mut victim = Party::new(PartyRole::Victim);
            victim.first_name = Some(FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())].to_owned());
            victim.last_name = Some(LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())].to_owned());
            victim.age = Some(rng.gen_range(9..17));
            report.parties.push(victim);
        }
        report.channels.push(Channel {
            kind: ChannelKind::WebPage,
            name: None,
            detail: None,
            content: None,
            urls: vec![format!(
                "https://{}.example.com/u/{handle}",
                rng.gen_range(1..50)
            )],
            emails: vec![],
            phones: vec![],
            ip_events: vec![],
            additional_info: None,
        });
        report.additional_info =
            Some("DEMO DATA: fictional report generated by `safeguard demo`.".into());
        report
    }
}

/// A synthetic demo picture (PNG): a gradient with circles, stripes and a checkerboard whose
/// colours and layout come from `seed`. Never anything but generated shapes.
pub fn synthetic_image(seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (w, h) = (320u32, 240u32);
    let base = [rng.gen::<u8>(), rng.gen::<u8>(), rng.gen::<u8>()];
    let accent = [rng.gen::<u8>(), rng.gen::<u8>(), rng.gen::<u8>()];
    let circles: Vec<(f32, f32, f32)> = (0..rng.gen_range(2..6))
        .map(|_| {
            (
                rng.gen_range(0.0..w as f32),
                rng.gen_range(0.0..h as f32),
                rng.gen_range(15.0..70.0),
            )
        })
        .collect();
    let stripe = rng.gen_range(8..40);
    let checker = rng.gen_range(10..40);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let t = x as f32 / w as f32;
        let mut px = [
            (f32::from(base[0]) * (1.0 - t) + f32::from(accent[0]) * t) as u8,
            (f32::from(base[1]) * (1.0 - t) + f32::from(accent[1]) * t) as u8,
            (f32::from(base[2]) * (1.0 - t) + f32::from(accent[2]) * t) as u8,
        ];
        if circles
            .iter()
            .any(|(cx, cy, r)| (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < r * r)
        {
            px = [255 - px[0], 255 - px[1], 255 - px[2]];
        }
        if y > h * 3 / 4 && ((x / checker) + (y / checker)) % 2 == 0 {
            px = [px[0] / 2, px[1] / 2, px[2] / 2];
        }
        if (x + y) % stripe == 0 {
            px = accent;
        }
        image::Rgb(px)
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Encoding an in-memory RGB image to PNG cannot fail for want of space or format support.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_reports_are_valid_marked_and_reproducible() {
        let now = OffsetDateTime::now_utc();
        let mut a = DemoReports::new(7, now);
        let mut b = DemoReports::new(7, now);
        for _ in 0..200 {
            let report = a.next_report();
            assert!(report.demo);
            assert_eq!(report.validate(now), Ok(()));
            assert!(report
                .parties
                .iter()
                .flat_map(|p| &p.emails)
                .all(|e| e.ends_with("@example.net")));
            assert_eq!(report, b.next_report());
        }
    }

    #[test]
    fn synthetic_images_decode_and_differ_by_seed() {
        let a = synthetic_image(1);
        let b = synthetic_image(2);
        assert_ne!(a, b);
        assert_eq!(a, synthetic_image(1), "reproducible");
        let decoded = image::load_from_memory(&a).expect("a valid PNG");
        assert_eq!((decoded.width(), decoded.height()), (320, 240));
    }

    #[test]
    fn every_demo_user_belongs_to_a_demo_org() {
        for user in USERS {
            assert!(ORGS.iter().any(|o| o.name == user.org), "{}", user.username);
            assert!(user.password.len() >= crate::accounts::MIN_PASSWORD_LEN);
        }
    }
}
