//! Demo data for victim identification: two series of synthetic scenes (rooms with signs, shop
//! bags with logos, landscapes with road signs — never a person) with fictional EXIF, a marked
//! clue, one object published after two approvals (with a tip), one awaiting approval, and a
//! taskforce edition. Every name, camera, serial number and place is invented for the demo.

use safeguard_domain::account::{OrgId, UserId, Username};
use safeguard_domain::known::{EntryFacts, EntryHashes, HashSetPurpose, SeriesStatus};
use safeguard_domain::victim::{ClueCategory, ObjectState, Region, TaskforceEventKind, TipForm};
use safeguard_store::{
    ImportContext, KnownActor, NewClue, NewHashSet, NewKnownEntry, NewObject, NewTaskforceEvent,
    Store,
};
use safeguard_vault::Vault;
use time::{Duration, OffsetDateTime};

use super::media;
use super::scenes::{scene_jpeg, DemoExif, Scene, SceneKind};
use crate::EngineError;

/// Name of the demo hash set holding the scenes.
pub const DEMO_SET: &str = "DEMO_VICTIM_ID_SCENES";

struct SeriesPlan {
    name: &'static str,
    scenes: &'static [(SceneKind, &'static str, [u8; 3])],
    camera: (&'static str, &'static str, &'static str),
    second_camera: Option<(&'static str, &'static str, &'static str)>,
    /// A fictional place the pictures' GPS points near.
    gps: Option<(f64, f64)>,
}

const PLANS: &[SeriesPlan] = &[
    SeriesPlan {
        name: "Demo series Sunflower",
        scenes: &[
            (SceneKind::RoomWithSign, "BAKKERIJ ZON", [200, 50, 60]),
            (SceneKind::ShopBag, "SUNMART", [40, 130, 70]),
            (SceneKind::Landscape, "ZONNEBLOEM", [90, 150, 220]),
        ],
        camera: ("DemoCam", "Fictional X1", "DEMO-X1-0042"),
        second_camera: Some(("Examplephone", "EP 7", "DEMO-EP7-9001")),
        gps: Some((52.09, 5.12)),
    },
    SeriesPlan {
        name: "Demo series Harbour",
        scenes: &[
            (SceneKind::Landscape, "HAVEN 3", [60, 110, 200]),
            (SceneKind::ShopBag, "KIOSK 24", [30, 60, 160]),
            (SceneKind::RoomWithSign, "PENSION MAR", [20, 120, 130]),
        ],
        camera: ("Samplecam", "SC-200", "DEMO-SC-0007"),
        second_camera: None,
        gps: Some((-8.65, 115.22)),
    },
];

/// Variants (camera positions) of each scene.
const VARIANTS: u8 = 2;

async fn user(store: &Store, name: &str) -> Option<(UserId, OrgId)> {
    let username = Username::parse(name).ok()?;
    let c = store.credentials(&username).await.ok()?;
    Some((c.principal.user, c.principal.org))
}

/// Seeds the victim-identification demo. `owner` is the organisation owning the demo hash set
/// (it is shared, so every organisation's specialists see the series).
pub async fn seed(store: &Store, vault: &Vault, owner: OrgId) -> Result<(), EngineError> {
    let system = KnownActor {
        user: None,
        name: "demo",
    };
    let set = store
        .create_hash_set(
            &NewHashSet {
                name: DEMO_SET,
                owner_org: owner,
                purpose: HashSetPurpose::Known,
                source: Some("synthetic demo scenes"),
                licence: Some("Apache-2.0 (generated)"),
                category_scheme: None,
                shared: true,
            },
            system,
        )
        .await?;
    let base = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        - Duration::days(400);
    let mut first_entry = None;
    let mut first_series = None;
    let mut first_bytes = None;
    let mut series_ids = Vec::new();
    for (p, plan) in PLANS.iter().enumerate() {
        let series = store
            .create_series(
                plan.name,
                SeriesStatus::UnderInvestigation,
                Some("DEMO: synthetic scenes with visible clues; no person is shown."),
                owner,
                system,
            )
            .await?;
        series_ids.push(series.id);
        let mut entries = Vec::new();
        let mut blobs = Vec::new();
        for (s, (kind, text, colour)) in plan.scenes.iter().enumerate() {
            for v in 0..VARIANTS {
                let scene = Scene {
                    kind: *kind,
                    text,
                    colour: *colour,
                    variant: v * 3 + s as u8,
                };
                let n = s as i64 * i64::from(VARIANTS) + i64::from(v);
                let camera = match (v % 2, plan.second_camera) {
                    (1, Some(c)) => c,
                    _ => plan.camera,
                };
                let facts = DemoExif {
                    make: camera.0,
                    model: camera.1,
                    serial: camera.2,
                    taken_at: base
                        + Duration::days(p as i64 * 30 + n / 3)
                        + Duration::minutes(n * 47),
                    gps: plan
                        .gps
                        .map(|(lat, lon)| (lat + n as f64 * 0.013, lon - n as f64 * 0.011)),
                };
                let bytes = scene_jpeg(&scene, &facts)
                    .map_err(|e| EngineError::Conflict(format!("demo scene: {e}")))?;
                let blob = vault.put_bytes(&bytes).map_err(|e| {
                    EngineError::Conflict(format!("demo scene into the vault: {e}"))
                })?;
                let meta = media::extract_metadata(&bytes);
                store
                    .put_media_metadata(&blob.digests.sha256, &meta)
                    .await?;
                entries.push(NewKnownEntry {
                    hashes: EntryHashes {
                        md5: Some(blob.digests.md5),
                        sha1: Some(blob.digests.sha1),
                        sha256: Some(blob.digests.sha256),
                        pdq: meta.pdq,
                        photodna: None,
                    },
                    facts: EntryFacts {
                        mime_type: Some("image/jpeg".into()),
                        media_type: Some("image".into()),
                        media_size: Some(blob.size),
                        file_names: vec![format!("demo-scene-{}-{}.jpg", p + 1, n + 1)],
                        comments: Some("DEMO: synthetic scene".into()),
                        ..EntryFacts::default()
                    },
                    series: Some(plan.name.to_owned()),
                });
                if p == 0 && s == 1 && v == 0 {
                    first_bytes = Some((bytes, scene.clue_region()));
                }
                blobs.push(blob);
            }
        }
        store
            .upsert_known_entries(
                ImportContext {
                    hash_set: set.id,
                    import_id: None,
                    org: owner,
                },
                &entries,
                system,
            )
            .await?;
        if p == 0 {
            first_series = Some(series.id);
            let media = store.series_media(series.id, owner).await?;
            // The bag of the first series (scene 1, variant 0) is the third medium.
            first_entry = media.get(usize::from(VARIANTS)).map(|m| m.entry);
        }
    }

    // A clue, an object published after two approvals (with a tip), and one awaiting approval.
    let (Some(series), Some(entry), Some((bytes, (x, y, w, h)))) =
        (first_series, first_entry, first_bytes)
    else {
        return Ok(());
    };
    let (Some((spec, spec_org)), Some((rev1, _)), Some((rev2, _))) = (
        user(store, "specialist").await,
        user(store, "reviewer").await,
        user(store, "reviewer.nl").await,
    ) else {
        return Ok(());
    };
    let as_user = |id: UserId, name: &'static str| KnownActor {
        user: Some(id.0),
        name,
    };
    let region = Region::new(x, y, w, h).map_err(|e| EngineError::Conflict(e.to_string()))?;
    let clue = store
        .add_clue(
            &NewClue {
                series,
                entry,
                region: Some(region),
                category: ClueCategory::Logo,
                description: "Green shop bag with a sun logo and the word SUNMART",
                country: None,
                place: None,
                org: spec_org,
            },
            as_user(spec, "specialist"),
        )
        .await?;
    let cut = media::crop(&bytes, region).map_err(|e| EngineError::Conflict(e.to_string()))?;
    let object = store
        .add_public_object(
            &NewObject {
                clue: clue.id,
                title: "Green shop bag with a sun logo",
                question: "Where is this bag from? Do you know a shop called SUNMART?",
                crop_png: &cut.png,
                crop_width: cut.width,
                crop_height: cut.height,
            },
            as_user(spec, "specialist"),
        )
        .await?;
    store
        .approve_public_object(object.id, rev1, as_user(rev1, "reviewer"))
        .await?;
    store
        .approve_public_object(object.id, rev2, as_user(rev2, "reviewer.nl"))
        .await?;
    super::submit_tip(
        store,
        object.id,
        &TipForm {
            text: "DEMO tip: I think I saw bags like this at a market stall.",
            country: "Netherlands",
            contact: "",
            honeypot: "",
        },
    )
    .await
    .map_err(|e| EngineError::Conflict(e.to_string()))?;
    debug_assert_eq!(
        store.public_object(object.id).await?.state,
        ObjectState::Published
    );

    // A taskforce edition with both series.
    let now = OffsetDateTime::now_utc();
    let edition = store
        .create_taskforce(
            "Demo VIDTF edition",
            Some("DEMO: a two-week victim identification taskforce on the demo series."),
            now - Duration::days(2),
            now + Duration::days(12),
            spec_org,
            as_user(spec, "specialist"),
        )
        .await?;
    for org_name in ["Demo Agency Netherlands", "Demo Coordinator (EU)"] {
        if let Ok(o) = store.org_by_name(org_name).await {
            store
                .add_taskforce_org(edition.id, o.id, as_user(spec, "specialist"), spec_org)
                .await?;
        }
    }
    for s in &series_ids {
        store
            .assign_taskforce_series(
                edition.id,
                *s,
                Some(spec),
                as_user(spec, "specialist"),
                spec_org,
            )
            .await?;
    }
    store
        .add_taskforce_event(
            edition.id,
            &NewTaskforceEvent {
                kind: TaskforceEventKind::Note,
                series: Some(series),
                clue: None,
                country: None,
                to_org: None,
                body: Some("DEMO note: the sign text looks Dutch; the sunflower road sign may be regional."),
                org: Some(spec_org),
            },
            as_user(spec, "specialist"),
        )
        .await?;
    Ok(())
}
