//! Reports: stored in one transaction with everything they carry, read back whole, listed with
//! filters and keyset paging, always through the caller's visibility.

use safeguard_domain::account::{OrgId, UserId};
use safeguard_domain::audit::AuditEvent;
use safeguard_domain::report::{
    Address, CaptureEvent, Channel, ChannelKind, DeviceId, Incident, IncidentType, IntakeState,
    IpEvent, LawEnforcement, NewReport, Party, PartyRole, Phone, Priority, Report,
    ReportAnnotation, ReportId, ReportSource,
};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::time_codec::{
    flag, from_micros, micros, now_micros, offset_seconds, opt_flag, read_flag, with_offset,
};
use crate::{audit, Store, StoreError};

/// A report to store, with who sent it and how.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub source: ReportSource,
    /// The organisation that submitted it.
    pub reporter_org: OrgId,
    /// The organisation that holds it (the receiving hotline).
    pub holder_org: OrgId,
    pub submitted_by: Option<UserId>,
    /// Readable name of the submitter for the audit log.
    pub actor: &'a str,
    pub state: IntakeState,
    pub report: &'a NewReport,
    /// The sender's original document, kept byte for byte: (media type, bytes).
    pub original: Option<(&'a str, &'a [u8])>,
    /// `(key, SHA-256 of the request)`: a retried request with the same key, from the same
    /// organisation, returns the first report instead of creating another.
    pub idempotency: Option<(&'a str, [u8; 32])>,
}

/// A stored report with the organisation that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredReport {
    #[serde(flatten)]
    pub report: Report,
    pub holder_org: OrgId,
    pub original_media_type: Option<String>,
}

/// One line of a report list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub id: ReportId,
    pub uid: uuid::Uuid,
    pub source: ReportSource,
    pub state: IntakeState,
    pub priority: Option<Priority>,
    pub incident_type: IncidentType,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub reporter_org: OrgId,
    pub holder_org: OrgId,
    pub demo: bool,
}

/// Which reports to list. Visibility is not optional: every list is seen by some organisation.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    pub visible_to: OrgId,
    pub incident_type: Option<IncidentType>,
    pub state: Option<IntakeState>,
    pub priority: Option<Priority>,
    pub reporter_org: Option<OrgId>,
    pub received_from: Option<OffsetDateTime>,
    pub received_to: Option<OffsetDateTime>,
    /// Keyset cursor: only reports with an id below this one (the next page).
    pub before_id: Option<i64>,
    pub limit: u32,
}

impl ReportFilter {
    pub fn visible_to(org: OrgId) -> Self {
        Self {
            visible_to: org,
            incident_type: None,
            state: None,
            priority: None,
            reporter_org: None,
            received_from: None,
            received_to: None,
            before_id: None,
            limit: 50,
        }
    }
}

/// A page of summaries and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportPage {
    pub items: Vec<ReportSummary>,
    pub next_before_id: Option<i64>,
}

/// SQL condition: the organisation bound as `$1` may see the report aliased `r`.
pub(crate) const VISIBLE_TO_ORG: &str = "(r.holder_org = $1 OR r.reporter_org = $1 OR EXISTS \
     (SELECT 1 FROM referral f WHERE f.report_id = r.id AND f.to_org = $1))";

enum Bind {
    Int(i64),
    Text(String),
}

impl Store {
    /// Stores a report and everything it carries in one transaction, with its audit entry.
    /// Returns the stored report and whether it was created now (false: an idempotent retry).
    pub async fn insert_report(
        &self,
        sub: &Submission<'_>,
    ) -> Result<(StoredReport, bool), StoreError> {
        let mut tx = self.write.begin().await?;
        if let Some((key, request_hash)) = sub.idempotency {
            if let Some(existing) =
                idempotent_report(&mut tx, sub.reporter_org, key, &request_hash).await?
            {
                tx.rollback().await?;
                return Ok((self.report(existing).await?, false));
            }
        }
        let id = insert_report_rows(&mut tx, sub).await?;
        if let Some((key, request_hash)) = sub.idempotency {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_key (org_id, key, request_sha256, report_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(sub.reporter_org.0)
            .bind(key)
            .bind(request_hash.to_vec())
            .bind(id.0)
            .bind(now_micros())
            .execute(&mut *tx)
            .await;
            if let Err(e) = inserted {
                if StoreError::is_unique_violation(&e) {
                    // A concurrent retry with the same key won the race: answer with its report.
                    tx.rollback().await?;
                    let mut conn = self.read.acquire().await?;
                    return match idempotent_report(&mut conn, sub.reporter_org, key, &request_hash)
                        .await?
                    {
                        Some(existing) => Ok((self.report(existing).await?, false)),
                        None => Err(StoreError::IdempotencyConflict {
                            key: key.to_owned(),
                        }),
                    };
                }
                return Err(e.into());
            }
        }
        audit::append_in(
            &mut tx,
            &AuditEvent {
                actor_user: sub.submitted_by.map(|u| u.0),
                actor: sub.actor.to_owned(),
                action: "report.create".into(),
                object_kind: "report".into(),
                object_id: id.0.to_string(),
                detail: format!("source={}", sub.source),
            },
        )
        .await?;
        if sub.state == IntakeState::Finished {
            // A complete report is ready to be routed (engine::routing processes these jobs).
            crate::routing::enqueue_in(&mut tx, crate::routing::JOB_REPORT_FINISHED, id.0).await?;
        }
        tx.commit().await?;
        Ok((self.report(id).await?, true))
    }

    /// A report by id, whoever may see it (callers check visibility with [`Store::can_see_report`]).
    pub async fn report(&self, id: ReportId) -> Result<StoredReport, StoreError> {
        let mut conn = self.read.acquire().await?;
        load_report(&mut conn, id).await
    }

    /// Whether `org` may see report `id`: it holds it, submitted it, or had it referred to it.
    pub async fn can_see_report(&self, org: OrgId, id: ReportId) -> Result<bool, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT 1 AS seen FROM report r WHERE {VISIBLE_TO_ORG} AND r.id = $2"
        ))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    /// Whether a report with this id exists at all.
    pub async fn report_exists(&self, id: ReportId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS present FROM report WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    /// The sender's original document, byte for byte.
    pub async fn original_document(
        &self,
        id: ReportId,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row =
            sqlx::query("SELECT original_media_type, original_document FROM report WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.read)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: "report",
                    name: id.to_string(),
                })?;
        let media: Option<String> = row.try_get("original_media_type")?;
        let bytes: Option<Vec<u8>> = row.try_get("original_document")?;
        Ok(media.zip(bytes))
    }

    /// Newest reports first, filtered, one page.
    pub async fn list_reports(&self, filter: &ReportFilter) -> Result<ReportPage, StoreError> {
        let mut sql = format!(
            "SELECT r.id, r.uid, r.source, r.state, r.priority, r.incident_type, r.received_at, r.occurred_at, \
             r.occurred_offset, r.reporter_org, r.holder_org, r.demo FROM report r WHERE {VISIBLE_TO_ORG}"
        );
        let mut binds = vec![Bind::Int(filter.visible_to.0)];
        let mut push = |sql: &mut String, condition: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&format!(" AND {condition} ${}", binds.len()));
        };
        if let Some(t) = filter.incident_type {
            push(&mut sql, "r.incident_type =", Bind::Text(t.code().into()));
        }
        if let Some(s) = filter.state {
            push(&mut sql, "r.state =", Bind::Text(s.code().into()));
        }
        if let Some(p) = filter.priority {
            push(&mut sql, "r.priority =", Bind::Text(p.code().into()));
        }
        if let Some(o) = filter.reporter_org {
            push(&mut sql, "r.reporter_org =", Bind::Int(o.0));
        }
        if let Some(t) = filter.received_from {
            push(&mut sql, "r.received_at >=", Bind::Int(micros(t)));
        }
        if let Some(t) = filter.received_to {
            push(&mut sql, "r.received_at <", Bind::Int(micros(t)));
        }
        if let Some(b) = filter.before_id {
            push(&mut sql, "r.id <", Bind::Int(b));
        }
        let limit = filter.limit.clamp(1, 500);
        sql.push_str(&format!(" ORDER BY r.id DESC LIMIT {}", limit + 1));
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.read).await?;
        let mut items = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_before_id = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|s| s.id.0)
        } else {
            None
        };
        Ok(ReportPage {
            items,
            next_before_id,
        })
    }

    /// Moves a demo report's receipt time back, so demo data spreads over past days and the
    /// queue's ages and the dashboard's charts look like a working hotline's. Refuses real reports.
    pub async fn backdate_demo_report(
        &self,
        id: ReportId,
        received_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE report SET received_at = $1, updated_at = $1 WHERE id = $2 AND demo = 1",
        )
        .bind(micros(received_at))
        .bind(id.0)
        .execute(&self.write)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "demo report",
                name: id.to_string(),
            });
        }
        Ok(())
    }

    /// Number of reports stored (all organisations).
    pub async fn count_reports(&self) -> Result<i64, StoreError> {
        self.count("SELECT COUNT(*) AS n FROM report").await
    }

    /// Number of referrals (all organisations).
    pub async fn count_referrals(&self) -> Result<i64, StoreError> {
        self.count("SELECT COUNT(*) AS n FROM referral").await
    }

    /// Number of report files (all organisations).
    pub async fn count_report_files(&self) -> Result<i64, StoreError> {
        self.count("SELECT COUNT(*) AS n FROM report_file").await
    }

    async fn count(&self, sql: &'static str) -> Result<i64, StoreError> {
        let row = sqlx::query(sql).fetch_one(&self.read).await?;
        Ok(row.try_get("n")?)
    }
}

async fn idempotent_report(
    conn: &mut AnyConnection,
    org: OrgId,
    key: &str,
    request_hash: &[u8; 32],
) -> Result<Option<ReportId>, StoreError> {
    let row = sqlx::query(
        "SELECT request_sha256, report_id FROM idempotency_key WHERE org_id = $1 AND key = $2",
    )
    .bind(org.0)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let stored: Vec<u8> = row.try_get("request_sha256")?;
    if stored.as_slice() != request_hash.as_slice() {
        return Err(StoreError::IdempotencyConflict {
            key: key.to_owned(),
        });
    }
    Ok(Some(ReportId(row.try_get("report_id")?)))
}

pub(crate) fn summary_from_row(row: &sqlx::any::AnyRow) -> Result<ReportSummary, StoreError> {
    let uid: String = row.try_get("uid")?;
    Ok(ReportSummary {
        id: ReportId(row.try_get("id")?),
        uid: uid.parse().map_err(StoreError::corrupt)?,
        source: parse_enum(row, "source")?,
        state: parse_enum(row, "state")?,
        priority: parse_opt_enum(row, "priority")?,
        incident_type: parse_enum(row, "incident_type")?,
        received_at: from_micros(row.try_get("received_at")?)?,
        occurred_at: with_offset(row.try_get("occurred_at")?, row.try_get("occurred_offset")?)?,
        reporter_org: OrgId(row.try_get("reporter_org")?),
        holder_org: OrgId(row.try_get("holder_org")?),
        demo: row.try_get::<i64, _>("demo")? != 0,
    })
}

fn parse_enum<T: std::str::FromStr>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse()
        .map_err(|e| StoreError::corrupt(format!("{column}: {e}")))
}

fn parse_opt_enum<T: std::str::FromStr>(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        t.parse()
            .map_err(|e| StoreError::corrupt(format!("{column}: {e}")))
    })
    .transpose()
}

pub(crate) async fn insert_report_rows(
    conn: &mut AnyConnection,
    sub: &Submission<'_>,
) -> Result<ReportId, StoreError> {
    let r = sub.report;
    let now = now_micros();
    let le = r.law_enforcement.as_ref();
    let row = sqlx::query(
        "INSERT INTO report (uid, source, reporter_org, holder_org, submitted_by, state, priority, received_at, \
         updated_at, finished_at, incident_type, occurred_at, occurred_offset, occurred_description, platform, \
         escalation, batched_viral, additional_info, le_agency, le_case_number, le_reported, le_domestic, \
         le_international_country, demo, original_media_type, original_document) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25, $26) RETURNING id",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(sub.source.code())
    .bind(sub.reporter_org.0)
    .bind(sub.holder_org.0)
    .bind(sub.submitted_by.map(|u| u.0))
    .bind(sub.state.code())
    .bind(None::<String>)
    .bind(now)
    .bind(now)
    .bind((sub.state == IntakeState::Finished).then_some(now))
    .bind(r.incident.incident_type.code())
    .bind(micros(r.incident.occurred_at))
    .bind(offset_seconds(r.incident.occurred_at))
    .bind(r.incident.occurred_at_description.as_deref())
    .bind(r.incident.platform.as_deref())
    .bind(r.incident.escalation.as_deref())
    .bind(flag(r.batched_viral))
    .bind(r.additional_info.as_deref())
    .bind(le.map(|l| l.agency_name.as_str()))
    .bind(le.and_then(|l| l.case_number.as_deref()))
    .bind(le.and_then(|l| opt_flag(l.reported_to_le)))
    .bind(le.and_then(|l| opt_flag(l.legal_process_domestic)))
    .bind(le.and_then(|l| l.legal_process_international_country.as_deref()))
    .bind(flag(r.demo))
    .bind(sub.original.map(|(m, _)| m))
    .bind(sub.original.map(|(_, b)| b.to_vec()))
    .fetch_one(&mut *conn)
    .await?;
    let id = ReportId(row.try_get("id")?);

    for (position, annotation) in dedup(&r.incident.annotations).into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO report_annotation (report_id, position, annotation) VALUES ($1, $2, $3)",
        )
        .bind(id.0)
        .bind(position as i64)
        .bind(annotation.code())
        .execute(&mut *conn)
        .await?;
    }
    for (position, channel) in r.channels.iter().enumerate() {
        let row = sqlx::query(
            "INSERT INTO report_channel (report_id, position, kind, name, detail, content, additional_info) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(id.0)
        .bind(position as i64)
        .bind(channel.kind.code())
        .bind(channel.name.as_deref())
        .bind(channel.detail.as_deref())
        .bind(channel.content.as_deref())
        .bind(channel.additional_info.as_deref())
        .fetch_one(&mut *conn)
        .await?;
        let owner = Owner {
            report: id,
            party: None,
            channel: Some(row.try_get("id")?),
        };
        let mut ids = IdentifierWriter::new(owner);
        for url in &channel.urls {
            ids.plain("url", url, None);
        }
        for email in &channel.emails {
            ids.plain("email", email, None);
        }
        for phone in &channel.phones {
            ids.phone(phone);
        }
        for event in &channel.ip_events {
            ids.ip(event);
        }
        ids.write(conn).await?;
    }
    for (position, party) in r.parties.iter().enumerate() {
        let row = sqlx::query(
            "INSERT INTO report_party (report_id, position, role, first_name, last_name, age, date_of_birth, \
             esp_service, esp_identifier, screen_name, school_name, additional_info) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(id.0)
        .bind(position as i64)
        .bind(party.role.code())
        .bind(party.first_name.as_deref())
        .bind(party.last_name.as_deref())
        .bind(party.age.map(i64::from))
        .bind(party.date_of_birth.map(|d| d.to_string()))
        .bind(party.esp_service.as_deref())
        .bind(party.esp_identifier.as_deref())
        .bind(party.screen_name.as_deref())
        .bind(party.school_name.as_deref())
        .bind(party.additional_info.as_deref())
        .fetch_one(&mut *conn)
        .await?;
        let party_id: i64 = row.try_get("id")?;
        let mut ids = IdentifierWriter::new(Owner {
            report: id,
            party: Some(party_id),
            channel: None,
        });
        for name in &party.display_names {
            ids.plain("display_name", name, None);
        }
        for url in &party.profile_urls {
            ids.plain("profile_url", url, None);
        }
        for email in &party.emails {
            ids.plain("email", email, None);
        }
        for phone in &party.phones {
            ids.phone(phone);
        }
        for event in &party.ip_events {
            ids.ip(event);
        }
        for device in &party.device_ids {
            ids.device(device);
        }
        for prior in &party.prior_reports {
            ids.plain("prior_report", &prior.to_string(), None);
        }
        ids.write(conn).await?;
        for (position, address) in party.addresses.iter().enumerate() {
            sqlx::query(
                "INSERT INTO report_address (report_id, party_id, position, kind, street, city, zip_code, state, country) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id.0)
            .bind(party_id)
            .bind(position as i64)
            .bind(address.kind.as_deref())
            .bind(address.street.as_deref())
            .bind(address.city.as_deref())
            .bind(address.zip_code.as_deref())
            .bind(address.state.as_deref())
            .bind(address.country.as_deref())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(id)
}

fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(item) {
            out.push(*item);
        }
    }
    out
}

#[derive(Clone, Copy)]
struct Owner {
    report: ReportId,
    party: Option<i64>,
    channel: Option<i64>,
}

/// One identifier row before it is written.
struct IdentifierRow {
    kind: &'static str,
    value: String,
    detail: Option<String>,
    event: Option<CaptureEvent>,
    event_at: Option<OffsetDateTime>,
    port: Option<u16>,
    possible_proxy: Option<bool>,
    verified: Option<bool>,
}

/// Collects a party's or channel's identifiers in order and writes them as rows.
struct IdentifierWriter {
    owner: Owner,
    rows: Vec<IdentifierRow>,
}

impl IdentifierWriter {
    fn new(owner: Owner) -> Self {
        Self {
            owner,
            rows: Vec::new(),
        }
    }

    fn plain(&mut self, kind: &'static str, value: &str, detail: Option<String>) {
        self.rows.push(IdentifierRow {
            kind,
            value: value.to_owned(),
            detail,
            event: None,
            event_at: None,
            port: None,
            possible_proxy: None,
            verified: None,
        });
    }

    fn phone(&mut self, phone: &Phone) {
        self.plain("phone", &phone.number, phone.country_calling_code.clone());
        if let Some(last) = self.rows.last_mut() {
            last.verified = phone.verified;
        }
    }

    fn ip(&mut self, event: &IpEvent) {
        self.rows.push(IdentifierRow {
            kind: "ip",
            value: event.ip.to_string(),
            detail: None,
            event: event.event,
            event_at: event.at,
            port: event.port,
            possible_proxy: event.possible_proxy,
            verified: None,
        });
    }

    fn device(&mut self, device: &DeviceId) {
        self.rows.push(IdentifierRow {
            kind: "device",
            value: device.value.clone(),
            detail: Some(device.id_type.clone()),
            event: device.event,
            event_at: device.at,
            port: None,
            possible_proxy: None,
            verified: None,
        });
    }

    async fn write(self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        for (position, row) in self.rows.into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO report_identifier (report_id, party_id, channel_id, position, kind, value, detail, event, \
                 event_at, event_offset, port, possible_proxy, verified) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(self.owner.report.0)
            .bind(self.owner.party)
            .bind(self.owner.channel)
            .bind(position as i64)
            .bind(row.kind)
            .bind(row.value)
            .bind(row.detail)
            .bind(row.event.map(|e| e.code()))
            .bind(row.event_at.map(micros))
            .bind(row.event_at.map(offset_seconds))
            .bind(row.port.map(i64::from))
            .bind(opt_flag(row.possible_proxy))
            .bind(opt_flag(row.verified))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

async fn load_report(conn: &mut AnyConnection, id: ReportId) -> Result<StoredReport, StoreError> {
    let row = sqlx::query(
        "SELECT id, uid, source, reporter_org, holder_org, state, priority, received_at, incident_type, occurred_at, \
         occurred_offset, occurred_description, platform, escalation, batched_viral, additional_info, le_agency, \
         le_case_number, le_reported, le_domestic, le_international_country, demo, original_media_type \
         FROM report WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound { what: "report", name: id.to_string() })?;

    let annotations = sqlx::query(
        "SELECT annotation FROM report_annotation WHERE report_id = $1 ORDER BY position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| parse_enum::<ReportAnnotation>(r, "annotation"))
    .collect::<Result<Vec<_>, _>>()?;

    let identifiers = sqlx::query(
        "SELECT party_id, channel_id, kind, value, detail, event, event_at, event_offset, port, possible_proxy, verified \
         FROM report_identifier WHERE report_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;

    let mut channels = Vec::new();
    let mut channel_ids = Vec::new();
    for c in sqlx::query(
        "SELECT id, kind, name, detail, content, additional_info FROM report_channel WHERE report_id = $1 ORDER BY position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    {
        channel_ids.push(c.try_get::<i64, _>("id")?);
        channels.push(Channel {
            kind: parse_enum::<ChannelKind>(&c, "kind")?,
            name: c.try_get("name")?,
            detail: c.try_get("detail")?,
            content: c.try_get("content")?,
            urls: Vec::new(),
            emails: Vec::new(),
            phones: Vec::new(),
            ip_events: Vec::new(),
            additional_info: c.try_get("additional_info")?,
        });
    }

    let mut parties = Vec::new();
    let mut party_ids = Vec::new();
    for p in sqlx::query(
        "SELECT id, role, first_name, last_name, age, date_of_birth, esp_service, esp_identifier, screen_name, \
         school_name, additional_info FROM report_party WHERE report_id = $1 ORDER BY position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    {
        party_ids.push(p.try_get::<i64, _>("id")?);
        let mut party = Party::new(parse_enum::<PartyRole>(&p, "role")?);
        party.first_name = p.try_get("first_name")?;
        party.last_name = p.try_get("last_name")?;
        party.age = p
            .try_get::<Option<i64>, _>("age")?
            .map(|a| u8::try_from(a).map_err(StoreError::corrupt))
            .transpose()?;
        party.date_of_birth = p
            .try_get::<Option<String>, _>("date_of_birth")?
            .map(|d| {
                time::Date::parse(&d, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(StoreError::corrupt)
            })
            .transpose()?;
        party.esp_service = p.try_get("esp_service")?;
        party.esp_identifier = p.try_get("esp_identifier")?;
        party.screen_name = p.try_get("screen_name")?;
        party.school_name = p.try_get("school_name")?;
        party.additional_info = p.try_get("additional_info")?;
        parties.push(party);
    }

    for i in &identifiers {
        let party_id: Option<i64> = i.try_get("party_id")?;
        let channel_id: Option<i64> = i.try_get("channel_id")?;
        let kind: String = i.try_get("kind")?;
        let value: String = i.try_get("value")?;
        let detail: Option<String> = i.try_get("detail")?;
        let event = parse_opt_enum::<CaptureEvent>(i, "event")?;
        let event_at = match (
            i.try_get::<Option<i64>, _>("event_at")?,
            i.try_get::<Option<i64>, _>("event_offset")?,
        ) {
            (Some(at), Some(offset)) => Some(with_offset(at, offset)?),
            (Some(at), None) => Some(from_micros(at)?),
            _ => None,
        };
        let phone = || Phone {
            number: value.clone(),
            country_calling_code: detail.clone(),
            verified: i
                .try_get::<Option<i64>, _>("verified")
                .ok()
                .flatten()
                .map(|v| v != 0),
        };
        let ip_event = || -> Result<IpEvent, StoreError> {
            Ok(IpEvent {
                ip: value
                    .parse()
                    .map_err(|e| StoreError::corrupt(format!("ip {value:?}: {e}")))?,
                event,
                at: event_at,
                port: i
                    .try_get::<Option<i64>, _>("port")?
                    .map(|p| u16::try_from(p).map_err(StoreError::corrupt))
                    .transpose()?,
                possible_proxy: read_flag(i.try_get("possible_proxy")?),
            })
        };
        if let Some(pid) = party_id {
            let idx = party_ids
                .iter()
                .position(|x| *x == pid)
                .ok_or_else(|| StoreError::corrupt("identifier of an unknown party"))?;
            let party = &mut parties[idx];
            match kind.as_str() {
                "display_name" => party.display_names.push(value.clone()),
                "profile_url" => party.profile_urls.push(value.clone()),
                "email" => party.emails.push(value.clone()),
                "phone" => party.phones.push(phone()),
                "ip" => party.ip_events.push(ip_event()?),
                "device" => party.device_ids.push(DeviceId {
                    id_type: detail.clone().unwrap_or_default(),
                    value: value.clone(),
                    event,
                    at: event_at,
                }),
                "prior_report" => party
                    .prior_reports
                    .push(value.parse().map_err(StoreError::corrupt)?),
                other => {
                    return Err(StoreError::corrupt(format!(
                        "party identifier kind {other:?}"
                    )))
                }
            }
        } else if let Some(cid) = channel_id {
            let idx = channel_ids
                .iter()
                .position(|x| *x == cid)
                .ok_or_else(|| StoreError::corrupt("identifier of an unknown channel"))?;
            let channel = &mut channels[idx];
            match kind.as_str() {
                "url" => channel.urls.push(value.clone()),
                "email" => channel.emails.push(value.clone()),
                "phone" => channel.phones.push(phone()),
                "ip" => channel.ip_events.push(ip_event()?),
                other => {
                    return Err(StoreError::corrupt(format!(
                        "channel identifier kind {other:?}"
                    )))
                }
            }
        }
    }

    for a in sqlx::query(
        "SELECT party_id, kind, street, city, zip_code, state, country FROM report_address \
         WHERE report_id = $1 ORDER BY party_id, position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?
    {
        let pid: Option<i64> = a.try_get("party_id")?;
        let address = Address {
            kind: a.try_get("kind")?,
            street: a.try_get("street")?,
            city: a.try_get("city")?,
            zip_code: a.try_get("zip_code")?,
            state: a.try_get("state")?,
            country: a.try_get("country")?,
        };
        if let Some(idx) = pid.and_then(|pid| party_ids.iter().position(|x| *x == pid)) {
            parties[idx].addresses.push(address);
        }
    }

    let files = crate::files::load_files(conn, id).await?;
    let le_agency: Option<String> = row.try_get("le_agency")?;
    let uid: String = row.try_get("uid")?;
    let report = Report {
        id,
        uid: uid.parse().map_err(StoreError::corrupt)?,
        source: parse_enum(&row, "source")?,
        reporter_org: OrgId(row.try_get("reporter_org")?),
        state: parse_enum(&row, "state")?,
        priority: parse_opt_enum(&row, "priority")?,
        received_at: from_micros(row.try_get("received_at")?)?,
        content: NewReport {
            incident: Incident {
                incident_type: parse_enum(&row, "incident_type")?,
                occurred_at: with_offset(
                    row.try_get("occurred_at")?,
                    row.try_get("occurred_offset")?,
                )?,
                occurred_at_description: row.try_get("occurred_description")?,
                platform: row.try_get("platform")?,
                escalation: row.try_get("escalation")?,
                annotations,
            },
            channels,
            law_enforcement: match le_agency {
                Some(agency_name) => Some(LawEnforcement {
                    agency_name,
                    case_number: row.try_get("le_case_number")?,
                    reported_to_le: read_flag(row.try_get("le_reported")?),
                    legal_process_domestic: read_flag(row.try_get("le_domestic")?),
                    legal_process_international_country: row.try_get("le_international_country")?,
                }),
                None => None,
            },
            parties,
            batched_viral: row.try_get::<i64, _>("batched_viral")? != 0,
            additional_info: row.try_get("additional_info")?,
            demo: row.try_get::<i64, _>("demo")? != 0,
        },
        files,
    };
    Ok(StoredReport {
        report,
        holder_org: OrgId(row.try_get("holder_org")?),
        original_media_type: row.try_get("original_media_type")?,
    })
}

/// One report of a bulk demo load: the submission, when it was received, and its files (their
/// `report` field is filled in by [`Store::insert_demo_reports`]).
pub struct DemoBulkReport<'a> {
    pub submission: Submission<'a>,
    pub received_at: OffsetDateTime,
    pub files: Vec<crate::NewFile<'a>>,
}

impl Store {
    /// Stores many demo reports in one transaction: each report with its receipt time, its
    /// files and their audit entries, and (when `enqueue` and finished) its `report.finished`
    /// job. For `safeguard demo` at scale: one commit per batch instead of one per row.
    pub async fn insert_demo_reports(
        &self,
        reports: &[DemoBulkReport<'_>],
        enqueue: bool,
    ) -> Result<Vec<ReportId>, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut ids = Vec::with_capacity(reports.len());
        for r in reports {
            let sub = &r.submission;
            let id = insert_report_rows(&mut tx, sub).await?;
            audit::append_in(
                &mut tx,
                &AuditEvent {
                    actor_user: sub.submitted_by.map(|u| u.0),
                    actor: sub.actor.to_owned(),
                    action: "report.create".into(),
                    object_kind: "report".into(),
                    object_id: id.0.to_string(),
                    detail: format!("source={} batch", sub.source),
                },
            )
            .await?;
            sqlx::query(
                "UPDATE report SET received_at = $1, updated_at = $1 WHERE id = $2 AND demo = 1",
            )
            .bind(micros(r.received_at))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            for file in &r.files {
                crate::files::attach_file_in(
                    &mut tx,
                    &crate::NewFile {
                        report: id,
                        ..*file
                    },
                )
                .await?;
            }
            if enqueue && sub.state == IntakeState::Finished {
                crate::routing::enqueue_in(&mut tx, crate::JOB_REPORT_FINISHED, id.0).await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }
}
