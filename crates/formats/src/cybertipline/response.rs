//! Response codes and the two response documents (`reportResponse`, `reportDoneResponse`).

use super::writer::XmlWriter;

/// The documented application response codes (documentation Appendix D, "non-exhaustive").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ResponseCode {
    /// 0 — Success.
    Success,
    /// 1000 — Server error.
    ServerError,
    /// 1100 — Save failed.
    SaveFailed,
    /// 1110 — Upload failed.
    UploadFailed,
    /// 1111 — File upload failed.
    FileUploadFailed,
    /// 1210 — Resource not found.
    ResourceNotFound,
    /// 1300 — Update failed.
    UpdateFailed,
    /// 2000 — Authentication required.
    AuthenticationRequired,
    /// 3000 — User is not authorized to perform this action.
    NotAuthorized,
    /// 3100 — User does not have authorization to make submissions.
    NoSubmitAuthorization,
    /// 3300 — User does not have authorization to make updates.
    NoUpdateAuthorization,
    /// 4000 — Invalid request.
    InvalidRequest,
    /// 4100 — Validation failed.
    ValidationFailed,
    /// 4110 — Malformed XML submittal.
    MalformedXml,
    /// 4200 — Malformed file submittal.
    MalformedFile,
    /// 5001 — Report does not exist.
    ReportDoesNotExist,
    /// 5002 — File does not exist.
    FileDoesNotExist,
    /// 5101 — Report already retracted.
    ReportAlreadyRetracted,
    /// 5102 — Report already finished.
    ReportAlreadyFinished,
}

impl ResponseCode {
    /// Every documented code, in numeric order.
    pub const ALL: [ResponseCode; 19] = [
        ResponseCode::Success,
        ResponseCode::ServerError,
        ResponseCode::SaveFailed,
        ResponseCode::UploadFailed,
        ResponseCode::FileUploadFailed,
        ResponseCode::ResourceNotFound,
        ResponseCode::UpdateFailed,
        ResponseCode::AuthenticationRequired,
        ResponseCode::NotAuthorized,
        ResponseCode::NoSubmitAuthorization,
        ResponseCode::NoUpdateAuthorization,
        ResponseCode::InvalidRequest,
        ResponseCode::ValidationFailed,
        ResponseCode::MalformedXml,
        ResponseCode::MalformedFile,
        ResponseCode::ReportDoesNotExist,
        ResponseCode::FileDoesNotExist,
        ResponseCode::ReportAlreadyRetracted,
        ResponseCode::ReportAlreadyFinished,
    ];

    /// The numeric `responseCode`.
    pub fn code(self) -> i32 {
        match self {
            ResponseCode::Success => 0,
            ResponseCode::ServerError => 1000,
            ResponseCode::SaveFailed => 1100,
            ResponseCode::UploadFailed => 1110,
            ResponseCode::FileUploadFailed => 1111,
            ResponseCode::ResourceNotFound => 1210,
            ResponseCode::UpdateFailed => 1300,
            ResponseCode::AuthenticationRequired => 2000,
            ResponseCode::NotAuthorized => 3000,
            ResponseCode::NoSubmitAuthorization => 3100,
            ResponseCode::NoUpdateAuthorization => 3300,
            ResponseCode::InvalidRequest => 4000,
            ResponseCode::ValidationFailed => 4100,
            ResponseCode::MalformedXml => 4110,
            ResponseCode::MalformedFile => 4200,
            ResponseCode::ReportDoesNotExist => 5001,
            ResponseCode::FileDoesNotExist => 5002,
            ResponseCode::ReportAlreadyRetracted => 5101,
            ResponseCode::ReportAlreadyFinished => 5102,
        }
    }

    /// The code for a number, if documented.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The documented description (Appendix D wording).
    pub fn description(self) -> &'static str {
        match self {
            ResponseCode::Success => "Success",
            ResponseCode::ServerError => "Server error",
            ResponseCode::SaveFailed => "Save failed",
            ResponseCode::UploadFailed => "Upload failed",
            ResponseCode::FileUploadFailed => "File upload failed",
            ResponseCode::ResourceNotFound => "Resource not found",
            ResponseCode::UpdateFailed => "Update failed",
            ResponseCode::AuthenticationRequired => "Authentication required",
            ResponseCode::NotAuthorized => "User is not authorized to perform this action",
            ResponseCode::NoSubmitAuthorization => {
                "User does not have authorization to make submissions"
            }
            ResponseCode::NoUpdateAuthorization => {
                "User does not have authorization to make updates"
            }
            ResponseCode::InvalidRequest => "Invalid request",
            ResponseCode::ValidationFailed => "Validation failed",
            ResponseCode::MalformedXml => "Malformed XML submittal",
            ResponseCode::MalformedFile => "Malformed file submittal",
            ResponseCode::ReportDoesNotExist => "Report does not exist",
            ResponseCode::FileDoesNotExist => "File does not exist",
            ResponseCode::ReportAlreadyRetracted => "Report already retracted",
            ResponseCode::ReportAlreadyFinished => "Report already finished",
        }
    }

    /// The HTTP status Safeguard answers with: 200 for success, 401 for 2000, 403 for the
    /// 3000s, 400 for the 4000s, 404 for 5001/5002, 409 for 5101/5102, 500 for the 1000s.
    /// (NCMEC's 2016 test server answered 200 to everything; the 2025 documentation uses
    /// 400 for a validation failure at /finish.)
    pub fn http_status(self) -> u16 {
        match self {
            ResponseCode::Success => 200,
            ResponseCode::ServerError
            | ResponseCode::SaveFailed
            | ResponseCode::UploadFailed
            | ResponseCode::FileUploadFailed
            | ResponseCode::ResourceNotFound
            | ResponseCode::UpdateFailed => 500,
            ResponseCode::AuthenticationRequired => 401,
            ResponseCode::NotAuthorized
            | ResponseCode::NoSubmitAuthorization
            | ResponseCode::NoUpdateAuthorization => 403,
            ResponseCode::InvalidRequest
            | ResponseCode::ValidationFailed
            | ResponseCode::MalformedXml
            | ResponseCode::MalformedFile => 400,
            ResponseCode::ReportDoesNotExist | ResponseCode::FileDoesNotExist => 404,
            ResponseCode::ReportAlreadyRetracted | ResponseCode::ReportAlreadyFinished => 409,
        }
    }
}

impl std::fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.description())
    }
}

/// `<reportResponse>`: the answer to /submit, /upload, /fileinfo, /retract and /status (and
/// Safeguard's answer to any failure except a successful /finish).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportResponse {
    /// `responseCode` (kept as a number: the documented list is not exhaustive).
    pub response_code: i32,
    /// `responseDescription`.
    pub response_description: String,
    /// `reportId`.
    pub report_id: Option<i64>,
    /// `fileId` (after /upload).
    pub file_id: Option<String>,
    /// `hash`: MD5 of the uploaded bytes (after /upload).
    pub hash: Option<String>,
}

impl ReportResponse {
    /// A response with the code's documented description.
    pub fn new(code: ResponseCode, report_id: Option<i64>) -> Self {
        ReportResponse {
            response_code: code.code(),
            response_description: code.description().to_string(),
            report_id,
            file_id: None,
            hash: None,
        }
    }

    /// The answer to a successful /submit, /fileinfo or /retract.
    pub fn success(report_id: i64) -> Self {
        Self::new(ResponseCode::Success, Some(report_id))
    }

    /// The answer to a successful /upload: the new file id and the MD5 (hex) of the bytes.
    pub fn uploaded(
        report_id: i64,
        file_id: impl Into<String>,
        md5_hex: impl Into<String>,
    ) -> Self {
        ReportResponse {
            file_id: Some(file_id.into()),
            hash: Some(md5_hex.into()),
            ..Self::success(report_id)
        }
    }

    /// The answer to GET /status, worded as NCMEC's.
    pub fn status(username: &str, remote_ip: &str) -> Self {
        ReportResponse {
            response_code: ResponseCode::Success.code(),
            response_description: format!("Remote User : {username}, Remote Ip : {remote_ip}"),
            report_id: None,
            file_id: None,
            hash: None,
        }
    }

    /// An error answer with the code's documented description.
    pub fn error(code: ResponseCode, report_id: Option<i64>) -> Self {
        Self::new(code, report_id)
    }

    /// The documented code, if the number is one.
    pub fn code(&self) -> Option<ResponseCode> {
        ResponseCode::from_code(self.response_code)
    }

    /// Writes the document exactly as NCMEC does (declaration with `standalone="yes"`,
    /// four-space indentation, no namespace).
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::response();
        w.open("reportResponse", &[]);
        w.leaf("responseCode", &[], &self.response_code.to_string());
        w.leaf("responseDescription", &[], &self.response_description);
        if let Some(id) = self.report_id {
            w.leaf("reportId", &[], &id.to_string());
        }
        if let Some(f) = &self.file_id {
            w.leaf("fileId", &[], f);
        }
        if let Some(h) = &self.hash {
            w.leaf("hash", &[], h);
        }
        w.close("reportResponse");
        w.finish()
    }
}

/// `<reportDoneResponse>`: the answer to a successful /finish.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportDoneResponse {
    /// `responseCode`.
    pub response_code: i32,
    /// `reportId`.
    pub report_id: i64,
    /// `files/fileId`: every file of the finished report.
    pub files: Vec<String>,
}

impl ReportDoneResponse {
    /// A successful finish.
    pub fn success(report_id: i64, files: Vec<String>) -> Self {
        ReportDoneResponse {
            response_code: ResponseCode::Success.code(),
            report_id,
            files,
        }
    }

    /// Writes the document as NCMEC does (`<files/>` when there are none).
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::response();
        w.open("reportDoneResponse", &[]);
        w.leaf("responseCode", &[], &self.response_code.to_string());
        w.leaf("reportId", &[], &self.report_id.to_string());
        if self.files.is_empty() {
            w.empty("files", &[]);
        } else {
            w.open("files", &[]);
            for f in &self.files {
                w.leaf("fileId", &[], f);
            }
            w.close("files");
        }
        w.close("reportDoneResponse");
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_documented_numbers() {
        let numbers: Vec<i32> = ResponseCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            numbers,
            [
                0, 1000, 1100, 1110, 1111, 1210, 1300, 2000, 3000, 3100, 3300, 4000, 4100, 4110,
                4200, 5001, 5002, 5101, 5102
            ]
        );
        for c in ResponseCode::ALL {
            assert_eq!(ResponseCode::from_code(c.code()), Some(c));
        }
        assert_eq!(ResponseCode::from_code(1001), None);
        assert_eq!(ResponseCode::AuthenticationRequired.http_status(), 401);
        assert_eq!(ResponseCode::NoUpdateAuthorization.http_status(), 403);
        assert_eq!(ResponseCode::MalformedXml.http_status(), 400);
        assert_eq!(ResponseCode::FileDoesNotExist.http_status(), 404);
        assert_eq!(ResponseCode::ReportAlreadyFinished.http_status(), 409);
        assert_eq!(ResponseCode::ResourceNotFound.http_status(), 500);
        assert_eq!(ResponseCode::Success.http_status(), 200);
    }

    #[test]
    fn writes_like_ncmec() {
        let r = ReportResponse::new(ResponseCode::Success, Some(4564654));
        assert_eq!(
            r.to_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<reportResponse>\n    <responseCode>0</responseCode>\n    <responseDescription>Success</responseDescription>\n    <reportId>4564654</reportId>\n</reportResponse>"
        );
        let d = ReportDoneResponse::success(7, vec![]);
        assert!(d.to_xml().contains("    <files/>\n"));
    }
}
