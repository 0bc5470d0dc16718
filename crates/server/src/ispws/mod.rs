//! The CyberTipline Reporting API ("ISPWS") under `/ispws`, so an existing reporting client
//! pointed at Safeguard works unchanged: `GET /status`, `GET /xsd`, `POST /submit`,
//! `POST /upload` (streamed into the vault), `POST /fileinfo`, `POST /finish`, `POST /retract`.
//!
//! Every answer is XML (`reportResponse`, or `reportDoneResponse` for a successful /finish)
//! with a `Request-ID` header; failures carry the documented response code and the HTTP status
//! of [`ResponseCode::http_status`]. The use case is `safeguard_engine::intake`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Request, State,
};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::TryStreamExt as _;
use safeguard_domain::report::ReportId;
use safeguard_engine::intake::{Intake, IntakeError, Reporter};
use safeguard_formats::cybertipline::{
    self as wire, ReportDoneResponse, ReportResponse, ResponseCode,
};
use time::OffsetDateTime;

use crate::access::{Routes, Rule};
use crate::state::{AppState, ServerConfig};

/// Largest `<report>` / `<fileDetails>` body accepted (NCMEC documents no limit; 16 MiB is far
/// beyond any real report).
pub const MAX_XML_BODY: usize = 16 * 1024 * 1024;
/// Largest /finish or /retract form.
const MAX_FORM_BODY: usize = 64 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const XML: &str = "application/xml; charset=UTF-8";

pub(crate) fn router(_config: &ServerConfig) -> Routes {
    let reporter = Rule::ispws();
    Routes::new()
        .get("/ispws/status", reporter, status)
        .get(
            "/ispws/xsd",
            Rule::public("the published CyberTipline schema, no data"),
            xsd,
        )
        .post("/ispws/submit", reporter, submit)
        .post("/ispws/upload", reporter, upload)
        .post("/ispws/fileinfo", reporter, file_info)
        .post("/ispws/finish", reporter, finish)
        .post("/ispws/retract", reporter, retract)
        // Sizes are enforced by each handler (XML bodies, forms) and by the upload cap.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(request_id))
}

/// Copies the request id the outer layer assigned (`x-request-id`) into NCMEC's `Request-ID`.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or(HeaderValue::from_static("unknown"))
        });
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

/// A failed call: the `reportResponse` answered.
#[derive(Debug)]
pub struct IspwsError {
    code: ResponseCode,
    description: String,
    report_id: Option<i64>,
}

impl IspwsError {
    fn new(code: ResponseCode, why: &str) -> Self {
        IntakeError::new(code, why).into()
    }

    fn with_report(mut self, id: Option<i64>) -> Self {
        self.report_id = id;
        self
    }
}

impl From<IntakeError> for IspwsError {
    fn from(e: IntakeError) -> Self {
        Self {
            code: e.code,
            description: e.description,
            report_id: None,
        }
    }
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(XML))],
        body,
    )
        .into_response()
}

impl IntoResponse for IspwsError {
    fn into_response(self) -> Response {
        let body = ReportResponse {
            response_code: self.code.code(),
            response_description: self.description,
            report_id: self.report_id,
            file_id: None,
            hash: None,
        };
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = xml_response(status, body.to_xml());
        if self.code == ResponseCode::AuthenticationRequired {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ESP Web Services\""),
            );
        }
        response
    }
}

fn intake(state: &AppState) -> Result<&Arc<Intake>, IspwsError> {
    state.intake.as_ref().ok_or_else(|| {
        tracing::error!("/ispws called but no evidence vault is configured");
        IspwsError::new(ResponseCode::ServerError, "intake is not configured")
    })
}

/// A reporter account authenticated with HTTP Basic.
pub struct IspwsCaller(Reporter);

impl FromRequestParts<AppState> for IspwsCaller {
    type Rejection = IspwsError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let intake = intake(state)?;
        let unauthenticated =
            |why: &str| IspwsError::new(ResponseCode::AuthenticationRequired, why);
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthenticated("send HTTP Basic credentials"))?;
        let value = header
            .to_str()
            .map_err(|_| unauthenticated("the Authorization header is not text"))?;
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
            .ok_or_else(|| unauthenticated("the Authorization header must be Basic"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthenticated("the Basic credentials are not base64 UTF-8"))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| unauthenticated("the Basic credentials lack a ':'"))?;
        match intake.authenticate(username, password).await? {
            Ok(reporter) => Ok(Self(reporter)),
            Err(_not_a_reporter) => {
                let code = if parts.uri.path().ends_with("/submit") {
                    ResponseCode::NoSubmitAuthorization
                } else {
                    ResponseCode::NotAuthorized
                };
                Err(IspwsError::new(
                    code,
                    "only reporter accounts may use the reporting API",
                ))
            }
        }
    }
}

fn ok_response(r: ReportResponse) -> Response {
    xml_response(StatusCode::OK, r.to_xml())
}

async fn status(
    State(_state): State<AppState>,
    IspwsCaller(who): IspwsCaller,
    req: Request,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    ok_response(ReportResponse::status(
        who.principal().username.as_str(),
        &ip,
    ))
}

async fn xsd() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(XML))], wire::XSD).into_response()
}

/// The body, at most `limit` bytes (4000 beyond).
async fn read_body(body: Body, limit: usize) -> Result<Bytes, IspwsError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        IspwsError::new(
            ResponseCode::InvalidRequest,
            &format!("the body could not be read or exceeds {limit} bytes"),
        )
    })
}

async fn submit(
    State(state): State<AppState>,
    IspwsCaller(who): IspwsCaller,
    body: Body,
) -> Result<Response, IspwsError> {
    let intake = intake(&state)?;
    let xml = read_body(body, MAX_XML_BODY).await?;
    let id = intake
        .submit(&who, xml.to_vec(), OffsetDateTime::now_utc())
        .await?;
    Ok(ok_response(ReportResponse::success(id.0)))
}

async fn file_info(
    State(state): State<AppState>,
    IspwsCaller(who): IspwsCaller,
    body: Body,
) -> Result<Response, IspwsError> {
    let intake = intake(&state)?;
    let xml = read_body(body, MAX_XML_BODY).await?;
    let id = intake
        .file_info(&who, xml.to_vec(), OffsetDateTime::now_utc())
        .await?;
    Ok(ok_response(ReportResponse::success(id.0)))
}

fn parse_id(text: &str) -> Result<ReportId, IspwsError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ReportId)
        .ok_or_else(|| {
            IspwsError::new(
                ResponseCode::InvalidRequest,
                "the id field must be a report id (a positive integer)",
            )
        })
}

fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn malformed_multipart(e: impl std::fmt::Display) -> IspwsError {
    IspwsError::new(
        ResponseCode::MalformedFile,
        &format!("the multipart body is malformed or truncated: {e}"),
    )
}

/// The `id` of a /finish or /retract form: multipart or urlencoded (or `?id=`).
async fn form_id(req: Request) -> Result<ReportId, IspwsError> {
    if is_multipart(&req) {
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(|e| IspwsError::new(ResponseCode::InvalidRequest, &e.body_text()))?;
        let mut id = None;
        while let Some(field) = form.next_field().await.map_err(malformed_multipart)? {
            if field.name() == Some("id") {
                let text = field.text().await.map_err(malformed_multipart)?;
                id = Some(parse_id(&text)?);
            }
        }
        return id.ok_or_else(|| IspwsError::new(ResponseCode::InvalidRequest, "no id field"));
    }
    let query = req.uri().query().map(str::to_owned);
    let body = read_body(req.into_body(), MAX_FORM_BODY).await?;
    for source in [body.as_ref(), query.as_deref().unwrap_or("").as_bytes()] {
        for (k, v) in form_urlencoded::parse(source) {
            if k == "id" {
                return parse_id(&v);
            }
        }
    }
    Err(IspwsError::new(ResponseCode::InvalidRequest, "no id field"))
}

/// Where the file part of an /upload form goes: the handler streams it into the vault through
/// the intake; the fuzz targets drain it.
pub trait UploadSink {
    /// What storing the file gives.
    type Stored;

    /// Consumes the file part of report `report`, read from `body` as it arrives.
    fn store<R>(
        self,
        report: ReportId,
        body: R,
    ) -> impl std::future::Future<Output = Result<Self::Stored, IspwsError>> + Send
    where
        R: tokio::io::AsyncRead + Unpin + Send;
}

/// Reads an /upload form (`multipart/form-data` with the fields `id`, then `file`; other fields
/// are drained and ignored) from `req`, handing the file part to `sink` as a stream. Every
/// malformed, truncated or out-of-order form is an [`IspwsError`], never a panic. This is the
/// parser the handler uses; it is public so that it can be fuzzed without HTTP.
pub async fn read_upload_form<S: UploadSink>(
    req: Request,
    sink: S,
) -> Result<(ReportId, S::Stored), IspwsError> {
    if !is_multipart(&req) {
        return Err(IspwsError::new(
            ResponseCode::InvalidRequest,
            "send multipart/form-data with the fields id and file",
        ));
    }
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|e| IspwsError::new(ResponseCode::InvalidRequest, &e.body_text()))?;
    let mut id: Option<ReportId> = None;
    let mut sink = Some(sink);
    let mut uploaded = None;
    while let Some(field) = form.next_field().await.map_err(malformed_multipart)? {
        match field.name() {
            Some("id") => {
                let text = field.text().await.map_err(malformed_multipart)?;
                id = Some(parse_id(&text)?);
            }
            Some("file") => {
                let Some(report) = id else {
                    return Err(IspwsError::new(
                        ResponseCode::InvalidRequest,
                        "the id field must come before the file field",
                    ));
                };
                let Some(sink) = sink.take() else {
                    return Err(IspwsError::new(
                        ResponseCode::InvalidRequest,
                        "one file per upload",
                    ));
                };
                // Streamed: each chunk goes on to the sink as it arrives.
                let stream = field.map_err(std::io::Error::other);
                let reader = tokio_util::io::StreamReader::new(stream);
                let done = sink
                    .store(report, reader)
                    .await
                    .map_err(|e| e.with_report(Some(report.0)))?;
                uploaded = Some((report, done));
            }
            _ => {
                // Unknown fields are drained and ignored.
                let mut field = field;
                while field.chunk().await.map_err(malformed_multipart)?.is_some() {}
            }
        }
    }
    uploaded.ok_or_else(|| IspwsError::new(ResponseCode::InvalidRequest, "no file field"))
}

/// The `id` of a /finish or /retract form (multipart, urlencoded body or `?id=`), as the
/// handlers read it; public so that it can be fuzzed without HTTP.
pub async fn read_id_form(req: Request) -> Result<ReportId, IspwsError> {
    form_id(req).await
}

/// The intake behind an /upload: the file goes to the vault, capped at `cap` bytes.
struct IntakeSink<'a> {
    intake: &'a Intake,
    who: &'a Reporter,
    cap: u64,
}

impl UploadSink for IntakeSink<'_> {
    type Stored = safeguard_engine::intake::Uploaded;

    async fn store<R>(self, report: ReportId, body: R) -> Result<Self::Stored, IspwsError>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
    {
        Ok(self
            .intake
            .upload(self.who, report, body, self.cap, OffsetDateTime::now_utc())
            .await?)
    }
}

async fn upload(
    State(state): State<AppState>,
    IspwsCaller(who): IspwsCaller,
    req: Request,
) -> Result<Response, IspwsError> {
    let intake = intake(&state)?;
    let sink = IntakeSink {
        intake,
        who: &who,
        cap: state.config.max_upload,
    };
    let (report, done) = read_upload_form(req, sink).await?;
    Ok(ok_response(ReportResponse::uploaded(
        report.0,
        done.file_id,
        done.md5_hex,
    )))
}

async fn finish(
    State(state): State<AppState>,
    IspwsCaller(who): IspwsCaller,
    req: Request,
) -> Result<Response, IspwsError> {
    let intake = intake(&state)?;
    let id = form_id(req).await?;
    let files = intake
        .finish(&who, id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| IspwsError::from(e).with_report(Some(id.0)))?;
    Ok(xml_response(
        StatusCode::OK,
        ReportDoneResponse::success(id.0, files).to_xml(),
    ))
}

async fn retract(
    State(state): State<AppState>,
    IspwsCaller(who): IspwsCaller,
    req: Request,
) -> Result<Response, IspwsError> {
    let intake = intake(&state)?;
    let id = form_id(req).await?;
    intake
        .retract(&who, id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| IspwsError::from(e).with_report(Some(id.0)))?;
    Ok(ok_response(ReportResponse::success(id.0)))
}
