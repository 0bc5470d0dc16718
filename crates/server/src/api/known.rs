//! `/api/v1/hash-sets` and `/api/v1/series`: the known-material database. Reading needs
//! `ReadReports`; curating series needs `ManageKnownMaterial`. Hash sets are listed only when
//! the caller's organisation owns them or they are shared; series are common knowledge of
//! the instance (several organisations work on one series).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use safeguard_domain::account::perm;
use safeguard_domain::known::{
    EntryId, HashSet, HashSetId, KnownEntry, Series, SeriesEvent, SeriesId, SeriesStatus,
};
use safeguard_engine::known::{self as engine, Operator};
use serde::{Deserialize, Serialize};

use crate::auth::Authorized;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The hash sets the caller's organisation may use.
#[utoipa::path(
    get,
    path = "/api/v1/hash-sets",
    responses((status = 200, body = [HashSet]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub async fn list_sets(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
) -> Result<Json<Vec<HashSet>>, ApiError> {
    Ok(Json(
        engine::list_hash_sets(&state.store, caller.principal().org).await?,
    ))
}

/// One hash set (not found when the caller's organisation may not use it).
#[utoipa::path(
    get,
    path = "/api/v1/hash-sets/{id}",
    params(("id" = i64, Path, description = "Hash set id")),
    responses((status = 200, body = HashSet), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn get_set(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<HashSet>, ApiError> {
    let Path(id) = id?;
    Ok(Json(
        engine::hash_set(&state.store, caller.principal().org, HashSetId(id)).await?,
    ))
}

/// Paging of a set's entries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// The cursor: entries with a greater id (`next_after_id` of the previous page).
    pub after_id: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// A page of entries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryPage {
    pub entries: Vec<KnownEntry>,
    /// Pass as `after_id` for the next page; absent on the last page.
    pub next_after_id: Option<i64>,
}

/// The entries of a hash set, by id, one page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/hash-sets/{id}/entries",
    params(("id" = i64, Path, description = "Hash set id"), EntriesQuery),
    responses((status = 200, body = EntryPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn list_entries(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<EntryPage>, ApiError> {
    let Path(id) = id?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be 1 to 1000",
        ));
    }
    let entries = engine::list_entries(
        &state.store,
        caller.principal().org,
        HashSetId(id),
        q.after_id,
        limit,
    )
    .await?;
    let next_after_id = if entries.len() == limit as usize {
        entries.last().map(|e| e.id.0)
    } else {
        None
    };
    Ok(Json(EntryPage {
        entries,
        next_after_id,
    }))
}

/// Every series, merged ones included (with `merged_into`).
#[utoipa::path(
    get,
    path = "/api/v1/series",
    responses((status = 200, body = [Series]), (status = 401, body = ErrorBody))
)]
pub async fn list_series(
    State(state): State<AppState>,
    Authorized(_caller): Authorized<perm::ReadReports>,
) -> Result<Json<Vec<Series>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_series()
            .await
            .map_err(safeguard_engine::EngineError::from)?,
    ))
}

/// A series with its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeriesDetail {
    pub series: Series,
    pub history: Vec<SeriesEvent>,
}

/// One series and its history (merges, splits, media moves, status changes: who and when).
#[utoipa::path(
    get,
    path = "/api/v1/series/{id}",
    params(("id" = i64, Path, description = "Series id")),
    responses((status = 200, body = SeriesDetail), (status = 404, body = ErrorBody))
)]
pub async fn get_series(
    State(state): State<AppState>,
    Authorized(_caller): Authorized<perm::ReadReports>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<SeriesDetail>, ApiError> {
    let Path(id) = id?;
    let store = &state.store;
    let to_api = |e| ApiError::from(safeguard_engine::EngineError::from(e));
    let series = store.series(SeriesId(id)).await.map_err(to_api)?;
    let history = store.series_history(SeriesId(id)).await.map_err(to_api)?;
    Ok(Json(SeriesDetail { series, history }))
}

/// A series to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSeries {
    pub name: String,
    /// `new` unless given.
    pub status: Option<SeriesStatus>,
    pub notes: Option<String>,
}

/// Create a series; the caller's organisation is recorded as working on it.
#[utoipa::path(
    post,
    path = "/api/v1/series",
    request_body = NewSeries,
    responses((status = 201, body = Series), (status = 403, body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn create_series(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ManageKnownMaterial>,
    body: Result<Json<NewSeries>, JsonRejection>,
) -> Result<(StatusCode, Json<Series>), ApiError> {
    let Json(body) = body?;
    let series = engine::create_series(
        &state.store,
        &Operator::from_granted(&caller),
        &body.name,
        body.status.unwrap_or(SeriesStatus::New),
        body.notes.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(series)))
}

/// Entries to move into a series.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMedia {
    pub entries: Vec<EntryId>,
}

/// How many entries moved.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Moved {
    pub moved: u64,
}

/// Add known media (entries) to a series; entries in another series move (both histories say so).
#[utoipa::path(
    post,
    path = "/api/v1/series/{id}/media",
    params(("id" = i64, Path, description = "Series id")),
    request_body = AddMedia,
    responses((status = 200, body = Moved), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn add_media(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ManageKnownMaterial>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<AddMedia>, JsonRejection>,
) -> Result<Json<Moved>, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    let moved = engine::add_media_to_series(
        &state.store,
        &Operator::from_granted(&caller),
        SeriesId(id),
        &body.entries,
    )
    .await?;
    Ok(Json(Moved { moved }))
}

/// A new status.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: SeriesStatus,
}

/// Set a series' status. `victim_identified` also marks every entry of the series.
#[utoipa::path(
    put,
    path = "/api/v1/series/{id}/status",
    params(("id" = i64, Path, description = "Series id")),
    request_body = StatusChange,
    responses((status = 200, body = Series), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub async fn set_status(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ManageKnownMaterial>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<StatusChange>, JsonRejection>,
) -> Result<Json<Series>, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    Ok(Json(
        engine::set_series_status(
            &state.store,
            &Operator::from_granted(&caller),
            SeriesId(id),
            body.status,
        )
        .await?,
    ))
}

/// The series to merge into the one in the path.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    pub from: SeriesId,
}

/// Merge series `from` into this one: its entries and organisations move, it stays as a
/// tombstone pointing here, and both histories record the merge.
#[utoipa::path(
    post,
    path = "/api/v1/series/{id}/merge",
    params(("id" = i64, Path, description = "The series that stays")),
    request_body = Merge,
    responses((status = 200, body = Series), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn merge(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ManageKnownMaterial>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<Merge>, JsonRejection>,
) -> Result<Json<Series>, ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    Ok(Json(
        engine::merge_series(
            &state.store,
            &Operator::from_granted(&caller),
            body.from,
            SeriesId(id),
        )
        .await?,
    ))
}

/// Entries to split out into a new series.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub name: String,
    pub entries: Vec<EntryId>,
}

/// Split entries of this series out into a new series.
#[utoipa::path(
    post,
    path = "/api/v1/series/{id}/split",
    params(("id" = i64, Path, description = "The series split")),
    request_body = Split,
    responses((status = 201, body = Series), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn split(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ManageKnownMaterial>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<Split>, JsonRejection>,
) -> Result<(StatusCode, Json<Series>), ApiError> {
    let Path(id) = id?;
    let Json(body) = body?;
    let series = engine::split_series(
        &state.store,
        &Operator::from_granted(&caller),
        SeriesId(id),
        &body.name,
        &body.entries,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(series)))
}

/// The series to add a report's file to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddReportFile {
    pub series: SeriesId,
}

/// Add a file of a report (visible to the caller's organisation) to a series: the file's
/// digests become an entry of the organisation's own hash set of additions, moved into the
/// series (the series history records it).
#[utoipa::path(
    post,
    path = "/api/v1/reports/{id}/files/{file_id}/series",
    params(("id" = i64, Path, description = "Report id"), ("file_id" = String, Path, description = "File id within the report")),
    request_body = AddReportFile,
    responses((status = 200, description = "The entry and the series"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub async fn add_report_file(
    State(state): State<AppState>,
    Authorized(caller): Authorized<perm::ManageKnownMaterial>,
    path: Result<Path<(i64, String)>, PathRejection>,
    body: Result<Json<AddReportFile>, JsonRejection>,
) -> Result<Json<safeguard_engine::series_media::AddedFile>, ApiError> {
    let Path((id, file_id)) = path?;
    let Json(body) = body?;
    Ok(Json(
        safeguard_engine::series_media::add_report_file_to_series(
            &state.store,
            &caller,
            safeguard_domain::report::ReportId(id),
            &file_id,
            body.series,
        )
        .await?,
    ))
}
