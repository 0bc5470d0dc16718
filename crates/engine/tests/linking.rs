//! Linking on constructed report sets (SQLite): clusters, reasons, time windows, fan-out caps,
//! exclusions, bundles and deconfliction alerts, each checked exactly.

use safeguard_domain::account::{OrgId, OrgKind, OrgName};
use safeguard_domain::digest::Digester;
use safeguard_domain::linking::KeyKind;
use safeguard_domain::report::{
    FileRelevance, IncidentType, IntakeState, IpEvent, NewReport, Party, PartyRole, Phone,
    ReportId, ReportSource,
};
use safeguard_engine::linking::{link_report, LinkConfig, NoPdq};
use safeguard_store::{LinkOutcome, LinkSettings, NewFile, Store, StoreOptions, Submission};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

struct World {
    store: Store,
    hotline: OrgId,
    config: LinkConfig,
    _dir: tempfile::TempDir,
}

const T0: OffsetDateTime = datetime!(2024-03-01 12:00 UTC);

impl World {
    async fn new(settings: LinkSettings) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = Store::connect(&Store::default_url(dir.path()), StoreOptions::default())
            .await
            .expect("store");
        let hotline = org(&store, "Hotline", OrgKind::Hotline).await;
        Self {
            store,
            hotline,
            config: LinkConfig {
                settings,
                ..LinkConfig::default()
            },
            _dir: dir,
        }
    }

    async fn add(&self, edit: impl FnOnce(&mut Party)) -> ReportId {
        self.add_with(edit, |_| {}).await
    }

    async fn add_with(
        &self,
        edit: impl FnOnce(&mut Party),
        report_edit: impl FnOnce(&mut NewReport),
    ) -> ReportId {
        let mut r = NewReport::new(IncidentType::ChildPornography, T0);
        let mut p = Party::new(PartyRole::Reported);
        edit(&mut p);
        r.parties.push(p);
        report_edit(&mut r);
        let (stored, _) = self
            .store
            .insert_report(&Submission {
                source: ReportSource::Api,
                reporter_org: self.hotline,
                holder_org: self.hotline,
                submitted_by: None,
                actor: "test",
                state: IntakeState::Finished,
                report: &r,
                original: None,
                idempotency: None,
            })
            .await
            .expect("insert");
        stored.report.id
    }

    async fn link(&self, id: ReportId) -> LinkOutcome {
        link_report(&self.store, id, &self.config, &mut NoPdq)
            .await
            .expect("link")
    }

    async fn cluster(&self, id: ReportId) -> i64 {
        self.store
            .cluster_id(id)
            .await
            .expect("cluster")
            .expect("linked")
    }
}

async fn org(store: &Store, name: &str, kind: OrgKind) -> OrgId {
    store
        .create_org(&OrgName::parse(name).expect("name"), kind, None)
        .await
        .expect("org")
        .id
}

fn ip(text: &str, at: Option<OffsetDateTime>) -> IpEvent {
    IpEvent {
        ip: text.parse().expect("ip"),
        event: None,
        at,
        port: None,
        possible_proxy: None,
    }
}

#[tokio::test]
async fn shared_identifiers_link_and_bridges_merge_clusters() {
    let w = World::new(LinkSettings::default()).await;
    let a = w
        .add(|p| p.emails.push("Bob.Smith@Example.org".into()))
        .await;
    let b = w
        .add(|p| {
            p.phones.push(Phone {
                number: "(555) 010-1234".into(),
                country_calling_code: Some("+1".into()),
                verified: None,
            })
        })
        .await;
    let unrelated = w.add(|p| p.emails.push("someone@else.org".into())).await;
    assert!(w.link(a).await.links.is_empty());
    assert!(w.link(b).await.links.is_empty());
    assert!(w.link(unrelated).await.links.is_empty());
    assert_ne!(w.cluster(a).await, w.cluster(b).await);

    // Same address in other case, same number in E.164: bridges both clusters.
    let bridge = w
        .add(|p| {
            p.emails.push("bob.smith@example.ORG".into());
            p.phones.push(Phone {
                number: "+1 555 010 1234".into(),
                country_calling_code: None,
                verified: None,
            });
        })
        .await;
    let outcome = w.link(bridge).await;
    let mut reasons: Vec<(KeyKind, i64, String)> = outcome
        .links
        .iter()
        .map(|l| (l.kind, l.report_b.0, l.value.clone()))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            (KeyKind::Email, a.0, "bo*****th@example.org".into()),
            (KeyKind::Phone, b.0, "+1********34".into()),
        ]
    );
    let c = w.cluster(bridge).await;
    assert_eq!(w.cluster(a).await, c);
    assert_eq!(w.cluster(b).await, c);
    assert_ne!(w.cluster(unrelated).await, c);
    let view = w
        .store
        .cluster_of_report(a, 100)
        .await
        .expect("view")
        .expect("cluster");
    assert_eq!(view.size, 3);
    assert_eq!(view.reports, vec![a, b, bridge]);
    assert_eq!(view.links.len(), 2);
    // Linking again is a no-op.
    let again = w.link(bridge).await;
    assert!(again.already_linked && again.links.is_empty());
}

#[tokio::test]
async fn ips_link_only_within_the_time_window() {
    let w = World::new(LinkSettings {
        ip_window_micros: 6 * 3_600 * 1_000_000,
        ..LinkSettings::default()
    })
    .await;
    let first = w
        .add(|p| p.ip_events.push(ip("198.51.100.7", Some(T0))))
        .await;
    // IPv4-mapped spelling, 5 h later: inside.
    let near = w
        .add(|p| {
            p.ip_events
                .push(ip("::ffff:198.51.100.7", Some(T0 + Duration::hours(5))))
        })
        .await;
    // 30 h later: reassigned, outside.
    let far = w
        .add(|p| {
            p.ip_events
                .push(ip("198.51.100.7", Some(T0 + Duration::hours(30))))
        })
        .await;
    // No time: never links.
    let timeless = w.add(|p| p.ip_events.push(ip("198.51.100.7", None))).await;
    // Exactly at the edge (6 h before the first): inside.
    let edge = w
        .add(|p| {
            p.ip_events
                .push(ip("198.51.100.7", Some(T0 - Duration::hours(6))))
        })
        .await;
    w.link(first).await;
    let o = w.link(near).await;
    assert_eq!(o.links.len(), 1);
    assert_eq!(o.links[0].report_b, first);
    assert_eq!(o.links[0].kind, KeyKind::Ip);
    assert!(w.link(far).await.links.is_empty());
    assert!(w.link(timeless).await.links.is_empty());
    let o = w.link(edge).await;
    assert_eq!(o.links.len(), 1, "{o:?}");
    assert_eq!(w.cluster(edge).await, w.cluster(first).await);
    assert_ne!(w.cluster(far).await, w.cluster(first).await);
    assert_ne!(w.cluster(timeless).await, w.cluster(first).await);
}

#[tokio::test]
async fn identifiers_past_the_fan_out_cap_stop_linking() {
    let w = World::new(LinkSettings {
        fan_out_cap: 3,
        ..LinkSettings::default()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            w.add(|p| p.profile_urls.push("https://Example.com:443/u/x#f".into()))
                .await,
        );
    }
    let mut outcomes = Vec::new();
    for id in &ids {
        outcomes.push(w.link(*id).await);
    }
    assert_eq!(outcomes[1].links.len(), 1);
    assert_eq!(outcomes[2].links.len(), 1);
    assert!(outcomes[3].links.is_empty());
    assert_eq!(
        outcomes[3].too_common,
        vec![(KeyKind::Url, "ht*******************/x".to_owned())]
    );
    // Reported once, when it passes the cap.
    assert!(outcomes[4].too_common.is_empty() && outcomes[4].links.is_empty());
    let c = w.cluster(ids[0]).await;
    assert_eq!(w.cluster(ids[2]).await, c);
    assert_ne!(w.cluster(ids[3]).await, c);
    assert_ne!(w.cluster(ids[4]).await, w.cluster(ids[3]).await);
    let common = w.store.too_common_keys(10).await.expect("stats");
    assert_eq!(common.len(), 1);
    assert_eq!(common[0].report_count, 5);
}

#[tokio::test]
async fn excluded_values_never_link() {
    let w = World::new(LinkSettings::default()).await;
    w.store
        .add_exclusion(KeyKind::Ip, "203.0.113.1", "carrier-grade NAT")
        .await
        .expect("exclude");
    let a = w
        .add(|p| {
            p.ip_events.push(ip("203.0.113.1", Some(T0)));
            p.emails.push("a@one.org".into());
        })
        .await;
    let b = w
        .add(|p| p.ip_events.push(ip("203.0.113.1", Some(T0))))
        .await;
    assert_eq!(w.link(a).await.excluded, 1);
    let o = w.link(b).await;
    assert_eq!(o.excluded, 1);
    assert!(o.links.is_empty());
    assert_ne!(w.cluster(a).await, w.cluster(b).await);
    let list = w.store.exclusions().await.expect("list");
    assert_eq!(list.len(), 1);
    assert!(w
        .store
        .remove_exclusion(KeyKind::Ip, "203.0.113.1")
        .await
        .expect("remove"));
    assert!(w.store.exclusions().await.expect("list").is_empty());
}

#[tokio::test]
async fn reports_of_one_file_are_bundled_past_the_threshold() {
    let w = World::new(LinkSettings {
        bundle_threshold: 3,
        fan_out_cap: 100,
        ..LinkSettings::default()
    })
    .await;
    let digests = Digester::digest(b"synthetic viral file");
    let other = Digester::digest(b"another file");
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = w.add(|_| {}).await;
        let d = if i == 4 { other } else { digests };
        w.store
            .attach_file(&NewFile {
                report: id,
                file_id: &format!("{:032x}", i),
                digests: d,
                size: 20,
                original_name: None,
                media_type: None,
                relevance: FileRelevance::Reported,
                actor_user: None,
                actor: "test",
            })
            .await
            .expect("attach");
        ids.push(id);
    }
    let mut bundles = Vec::new();
    for id in &ids {
        bundles.push(w.link(*id).await.bundles);
    }
    assert!(bundles[0].is_empty() && bundles[1].is_empty());
    assert_eq!(bundles[2].len(), 1);
    assert_eq!(bundles[3], bundles[2]);
    assert!(bundles[4].is_empty());
    let all = w.store.bundles(10).await.expect("bundles");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].report_count, 4);
    assert_eq!(all[0].value, digests.sha256.to_hex());
    for id in &ids[..4] {
        assert_eq!(
            w.store.bundles_of_report(*id).await.expect("member"),
            vec![all[0].id]
        );
    }
    assert!(w
        .store
        .bundles_of_report(ids[4])
        .await
        .expect("m")
        .is_empty());
    // A batched viral report is bundled at once.
    let viral = w.add_with(|_| {}, |r| r.batched_viral = true).await;
    w.store
        .attach_file(&NewFile {
            report: viral,
            file_id: &format!("{:032x}", 99),
            digests: Digester::digest(b"a third file"),
            size: 12,
            original_name: None,
            media_type: None,
            relevance: FileRelevance::Reported,
            actor_user: None,
            actor: "test",
        })
        .await
        .expect("attach");
    assert_eq!(w.link(viral).await.bundles.len(), 1);
}

#[tokio::test]
async fn organisations_chasing_the_same_person_are_alerted_with_their_own_reports_only() {
    let w = World::new(LinkSettings::default()).await;
    let nl = org(&w.store, "Politie NL", OrgKind::Agency).await;
    let fr = org(&w.store, "Police FR", OrgKind::Agency).await;
    let a = w.add(|p| p.emails.push("target@suspect.org".into())).await;
    let b = w
        .add(|p| {
            p.emails.push("target@suspect.org".into());
            p.emails.push("nl-only@suspect.org".into());
        })
        .await;
    let b2 = w.add(|p| p.emails.push("nl-only@suspect.org".into())).await;
    w.store
        .insert_referral(a, w.hotline, fr, "geo")
        .await
        .expect("referral");
    w.store
        .insert_referral(b, w.hotline, nl, "geo")
        .await
        .expect("referral");
    w.store
        .insert_referral(b2, w.hotline, nl, "geo")
        .await
        .expect("referral");
    assert!(w.link(a).await.alerts.is_empty());
    let o = w.link(b).await;
    assert_eq!(o.alerts.len(), 2);
    // Same organisation, same cluster: nothing new.
    assert!(w.link(b2).await.alerts.is_empty());

    let fr_alerts = w.store.alerts_for(fr, 10).await.expect("alerts");
    assert_eq!(fr_alerts.len(), 1);
    assert_eq!(fr_alerts[0].kind, "email");
    assert_eq!(fr_alerts[0].value, "t****t@suspect.org");
    assert_eq!(fr_alerts[0].own_reports, vec![a]);
    assert_eq!(fr_alerts[0].other_org_count, 1);
    let nl_alerts = w.store.alerts_for(nl, 10).await.expect("alerts");
    assert_eq!(nl_alerts.len(), 1);
    assert_eq!(nl_alerts[0].own_reports, vec![b]);
    assert!(w
        .store
        .alerts_for(w.hotline, 10)
        .await
        .expect("a")
        .is_empty());

    // A referral made after linking, to a third organisation, alerts everyone concerned.
    let de = org(&w.store, "Polizei DE", OrgKind::Agency).await;
    w.store
        .insert_referral(b2, w.hotline, de, "geo")
        .await
        .expect("referral");
    let alerts = w.store.note_case_org(b2, de).await.expect("note");
    let mut orgs: Vec<i64> = alerts.iter().map(|(o, _)| o.0).collect();
    orgs.sort();
    let mut expected = vec![nl.0, fr.0, de.0];
    expected.sort();
    assert_eq!(orgs, expected);
    let de_alerts = w.store.alerts_for(de, 10).await.expect("alerts");
    assert_eq!(de_alerts[0].own_reports, vec![b2]);
    assert_eq!(de_alerts[0].other_org_count, 2);
}

fn pdq_with_flips(seed: u8, flips: &[usize]) -> safeguard_hamming::Hash256 {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(seed).rotate_left(3);
    }
    for &bit in flips {
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
    safeguard_hamming::Hash256::from_bytes(bytes)
}

#[test]
fn pdq_groups_join_near_duplicates_and_found_new_groups() {
    use safeguard_engine::linking::{PdqGroups, PdqSource};
    let a = Digester::digest(b"file a");
    let b = Digester::digest(b"file b, re-encoded a");
    let c = Digester::digest(b"file c, unrelated");
    let d = Digester::digest(b"file d, 40 bits from a");
    let unknown = Digester::digest(b"file without a pdq");
    let base = pdq_with_flips(1, &[]);
    let near = pdq_with_flips(1, &(0..31).map(|i| i * 8).collect::<Vec<_>>());
    let far = pdq_with_flips(1, &(0..40).map(|i| i * 6).collect::<Vec<_>>());
    let other = pdq_with_flips(200, &[]);
    assert_eq!(base.distance(&near), 31);
    assert_eq!(base.distance(&far), 40);
    assert!(base.distance(&other) > 31);

    let mut groups = PdqGroups::new(31);
    groups.add_pdq(&a.sha256, base);
    groups.add_pdq(&b.sha256, near);
    groups.add_pdq(&c.sha256, other);
    groups.add_pdq(&d.sha256, far);
    // The first file founds its group; a file within 31 bits joins it (exactly at the bound);
    // an unrelated one and one 40 bits away found their own.
    assert_eq!(groups.pdq_group(&a.sha256), Some(base.to_hex()));
    assert_eq!(groups.pdq_group(&b.sha256), Some(base.to_hex()));
    assert_eq!(groups.pdq_group(&c.sha256), Some(other.to_hex()));
    assert_eq!(groups.pdq_group(&d.sha256), Some(far.to_hex()));
    // Asking again gives the same answers; a file without a PDQ has no group.
    assert_eq!(groups.pdq_group(&b.sha256), Some(base.to_hex()));
    assert_eq!(groups.pdq_group(&unknown.sha256), None);

    // A tighter threshold keeps the 31-bit copy apart.
    let mut strict = PdqGroups::new(10);
    strict.add_pdq(&a.sha256, base);
    strict.add_pdq(&b.sha256, near);
    assert_eq!(strict.pdq_group(&a.sha256), Some(base.to_hex()));
    assert_eq!(strict.pdq_group(&b.sha256), Some(near.to_hex()));
}

#[tokio::test]
async fn near_duplicate_files_link_through_their_pdq_group() {
    use safeguard_engine::linking::PdqGroups;
    let w = World::new(LinkSettings::default()).await;
    let files = [
        (Digester::digest(b"photo"), pdq_with_flips(9, &[])),
        (
            Digester::digest(b"photo, re-encoded"),
            pdq_with_flips(9, &[3, 77, 200]),
        ),
        (Digester::digest(b"another photo"), pdq_with_flips(90, &[])),
    ];
    let mut groups = PdqGroups::new(31);
    let mut ids = Vec::new();
    for (i, (digests, pdq)) in files.iter().enumerate() {
        groups.add_pdq(&digests.sha256, *pdq);
        let id = w.add(|_| {}).await;
        w.store
            .attach_file(&NewFile {
                report: id,
                file_id: &format!("{:032x}", i + 1),
                digests: *digests,
                size: 10,
                original_name: None,
                media_type: None,
                relevance: FileRelevance::Reported,
                actor_user: None,
                actor: "test",
            })
            .await
            .expect("attach");
        ids.push(id);
    }
    let mut outcomes = Vec::new();
    for id in &ids {
        outcomes.push(
            link_report(&w.store, *id, &w.config, &mut groups)
                .await
                .expect("link"),
        );
    }
    assert!(outcomes[0].links.is_empty());
    assert_eq!(outcomes[1].links.len(), 1, "{:?}", outcomes[1]);
    let link = &outcomes[1].links[0];
    assert_eq!((link.report_a, link.report_b), (ids[1], ids[0]));
    assert_eq!(link.kind, KeyKind::Pdq);
    assert_eq!(link.value, files[0].1.to_hex());
    assert!(outcomes[2].links.is_empty());
    assert_eq!(outcomes[1].cluster_id, outcomes[0].cluster_id);
    assert_ne!(outcomes[2].cluster_id, outcomes[0].cluster_id);
}

#[tokio::test]
async fn a_batch_links_exactly_as_one_report_at_a_time() {
    use safeguard_engine::linking::link_reports;
    let one = World::new(LinkSettings {
        fan_out_cap: 3,
        ..LinkSettings::default()
    })
    .await;
    let batch = World::new(one.config.settings).await;
    // A chain a-b, b-c through different identifiers, a repeated value past the cap, an IP
    // twice in one report at different times, and a report seen twice.
    type Edit = Box<dyn Fn(&mut Party)>;
    let edits: Vec<Edit> = vec![
        Box::new(|p| p.emails.push("a@example.org".into())),
        Box::new(|p| {
            p.emails.push("a@example.org".into());
            p.emails.push("common@example.org".into());
        }),
        Box::new(|p| {
            p.emails.push("common@example.org".into());
            p.ip_events.push(ip("198.51.100.7", Some(T0)));
            p.ip_events
                .push(ip("198.51.100.7", Some(T0 + Duration::hours(30))));
        }),
        Box::new(|p| p.emails.push("common@example.org".into())),
        Box::new(|p| {
            p.emails.push("common@example.org".into());
            p.ip_events
                .push(ip("198.51.100.7", Some(T0 + Duration::hours(29))));
        }),
        Box::new(|p| {
            p.phones.push(Phone {
                number: "+442079460000".into(),
                country_calling_code: None,
                verified: None,
            })
        }),
    ];
    let mut one_ids = Vec::new();
    let mut batch_ids = Vec::new();
    for edit in &edits {
        one_ids.push(one.add(|p| edit(p)).await);
        batch_ids.push(batch.add(|p| edit(p)).await);
    }
    assert_eq!(one_ids, batch_ids);
    let mut sequential = Vec::new();
    for id in &one_ids {
        sequential.push(one.link(*id).await);
    }
    let mut with_repeat = batch_ids.clone();
    with_repeat.push(batch_ids[0]);
    let batched = link_reports(&batch.store, &with_repeat, &batch.config, &mut NoPdq)
        .await
        .expect("batch");
    assert_eq!(&batched[..sequential.len()], &sequential[..]);
    assert!(batched[sequential.len()].already_linked);
    assert!(sequential.iter().any(|o| !o.too_common.is_empty()));
    assert_eq!(sequential[1].links.len(), 1);
    assert_eq!(sequential[4].links.len(), 1, "{:?}", sequential[4]);
    assert_eq!(sequential[4].links[0].kind, KeyKind::Ip);
}
