//! Adding a report's file to a series: the file's digests become an entry of the acting
//! organisation's own hash set of additions (created on first use, not shared), and that entry
//! moves into the series, which records who did it and when.

use safeguard_domain::account::{perm, Granted};
use safeguard_domain::known::{EntryHashes, EntryId, HashSetPurpose, Series, SeriesId};
use safeguard_domain::report::ReportId;
use safeguard_store::{ImportContext, NewHashSet, NewKnownEntry, Store, UpsertOutcome};

use crate::known::Operator;
use crate::EngineError;

/// The name of an organisation's hash set of files added to series from reports.
pub fn additions_set_name(org_name: &str) -> String {
    format!("{org_name}: files added to series")
}

/// What adding did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddedFile {
    pub entry: EntryId,
    pub series: Series,
}

/// Adds file `file_id` of `report` (which the caller's organisation must see) to `series`.
pub async fn add_report_file_to_series(
    store: &Store,
    caller: &Granted<perm::ManageKnownMaterial>,
    report: ReportId,
    file_id: &str,
    series: SeriesId,
) -> Result<AddedFile, EngineError> {
    let operator = Operator::from_granted(caller);
    if !store.can_see_report(operator.org, report).await? {
        return Err(EngineError::NotFound {
            what: "report",
            id: report.to_string(),
        });
    }
    let target = store.series(series).await?;
    if let Some(into) = target.merged_into {
        return Err(EngineError::Conflict(format!(
            "series {} was merged into series {}: add to that one",
            target.name, into.0
        )));
    }
    let stored = store.report(report).await?;
    let file = stored
        .report
        .files
        .iter()
        .find(|f| f.file_id == file_id)
        .ok_or_else(|| EngineError::NotFound {
            what: "file",
            id: file_id.to_owned(),
        })?;
    let org = store.org(operator.org).await?;
    let name = additions_set_name(org.name.as_str());
    let actor = safeguard_store::KnownActor {
        user: operator.user,
        name: &operator.name,
    };
    let set = match store.hash_set_by_name(&name).await? {
        Some(set) if set.owner_org == operator.org => set,
        Some(_) => {
            return Err(EngineError::Conflict(format!(
                "a hash set named {name:?} belongs to another organisation"
            )))
        }
        None => {
            store
                .create_hash_set(
                    &NewHashSet {
                        name: &name,
                        owner_org: operator.org,
                        purpose: HashSetPurpose::Known,
                        source: Some("files of reports, added to series by analysts"),
                        licence: Some("internal to the owning organisation"),
                        category_scheme: None,
                        shared: false,
                    },
                    actor,
                )
                .await?
        }
    };
    let record = NewKnownEntry {
        hashes: EntryHashes {
            md5: Some(file.digests.md5),
            sha1: Some(file.digests.sha1),
            sha256: Some(file.digests.sha256),
            pdq: None,
            photodna: None,
        },
        ..NewKnownEntry::default()
    };
    let outcome = store
        .upsert_known_entries(
            ImportContext {
                hash_set: set.id,
                import_id: None,
                org: operator.org,
            },
            std::slice::from_ref(&record),
            actor,
        )
        .await?;
    let entry = match outcome.into_iter().next() {
        Some(UpsertOutcome::Inserted { id, .. } | UpsertOutcome::Updated { id, .. }) => id,
        Some(UpsertOutcome::Refused(why)) => return Err(EngineError::Conflict(why)),
        None => return Err(EngineError::Conflict("the file was not stored".into())),
    };
    store.add_entries_to_series(series, &[entry], actor).await?;
    store.add_series_org(series, operator.org, actor).await?;
    Ok(AddedFile {
        entry,
        series: store.series(series).await?,
    })
}
