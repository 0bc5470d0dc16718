//! Wire types of the `<fileDetails>` document (POST /fileinfo).

use super::report::{DeviceId, IpCaptureEvent};
use super::values::{DetailsType, FileRelevance, IndustryClassification, XsDateTime};

/// `<fileDetails>`: details of one uploaded file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileDetails {
    /// `reportId`: the report the file was uploaded to.
    pub report_id: i64,
    /// `fileId`: as returned by /upload.
    pub file_id: String,
    /// `fileName` (in the XSD, not in the documentation).
    pub file_name: Option<String>,
    /// `originalFileName`.
    pub original_file_name: Option<String>,
    /// `uploadedToEspTimestamp`.
    pub uploaded_to_esp_timestamp: Option<XsDateTime>,
    /// `locationOfFile` (URL).
    pub location_of_file: Option<String>,
    /// `fileViewedByEsp`.
    pub file_viewed_by_esp: Option<bool>,
    /// `exifViewedByEsp`.
    pub exif_viewed_by_esp: Option<bool>,
    /// `publiclyAvailable`.
    pub publicly_available: Option<bool>,
    /// `fileRelevance` (absent means `Reported`).
    pub file_relevance: Option<FileRelevance>,
    /// The XSD choice between the legacy `potentialMeme` boolean and `fileAnnotations`.
    pub annotations: Option<FileAnnotationChoice>,
    /// `industryClassification`.
    pub industry_classification: Option<IndustryClassification>,
    /// `originalFileHash`.
    pub original_file_hash: Vec<OriginalFileHash>,
    /// `ipCaptureEvent` (0|1 here).
    pub ip_capture_event: Option<IpCaptureEvent>,
    /// `deviceId`.
    pub device_id: Vec<DeviceId>,
    /// `details`.
    pub details: Vec<Details>,
    /// `additionalInfo`.
    pub additional_info: Vec<String>,
}

impl FileDetails {
    /// Details naming only the report and file.
    pub fn new(report_id: i64, file_id: impl Into<String>) -> Self {
        FileDetails {
            report_id,
            file_id: file_id.into(),
            file_name: None,
            original_file_name: None,
            uploaded_to_esp_timestamp: None,
            location_of_file: None,
            file_viewed_by_esp: None,
            exif_viewed_by_esp: None,
            publicly_available: None,
            file_relevance: None,
            annotations: None,
            industry_classification: None,
            original_file_hash: Vec::new(),
            ip_capture_event: None,
            device_id: Vec::new(),
            details: Vec::new(),
            additional_info: Vec::new(),
        }
    }

    /// The `fileAnnotations` flags, if that branch of the choice was used.
    pub fn file_annotations(&self) -> Option<&FileAnnotations> {
        match &self.annotations {
            Some(FileAnnotationChoice::FileAnnotations(a)) => Some(a),
            _ => None,
        }
    }

    /// Whether the file is annotated as a potential meme (either spelling).
    pub fn is_potential_meme(&self) -> bool {
        match &self.annotations {
            Some(FileAnnotationChoice::PotentialMeme(b)) => *b,
            Some(FileAnnotationChoice::FileAnnotations(a)) => a.potential_meme,
            None => false,
        }
    }
}

/// The XSD `xs:choice` after `fileRelevance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileAnnotationChoice {
    /// Legacy top-level `<potentialMeme>bool</potentialMeme>`.
    PotentialMeme(bool),
    /// `<fileAnnotations>` flags.
    FileAnnotations(FileAnnotations),
}

/// `<fileAnnotations>`: each flag an empty element present or absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileAnnotations {
    /// `animeDrawingVirtualHentai`.
    pub anime_drawing_virtual_hentai: bool,
    /// `potentialMeme`.
    pub potential_meme: bool,
    /// `viral`.
    pub viral: bool,
    /// `possibleSelfProduction`.
    pub possible_self_production: bool,
    /// `physicalHarm`.
    pub physical_harm: bool,
    /// `violenceGore`.
    pub violence_gore: bool,
    /// `bestiality`.
    pub bestiality: bool,
    /// `liveStreaming`.
    pub live_streaming: bool,
    /// `infant`.
    pub infant: bool,
    /// `generativeAi`.
    pub generative_ai: bool,
}

impl FileAnnotations {
    /// `(element name, flag)` pairs in schema order.
    pub fn flags(&self) -> [(&'static str, bool); 10] {
        [
            (
                "animeDrawingVirtualHentai",
                self.anime_drawing_virtual_hentai,
            ),
            ("potentialMeme", self.potential_meme),
            ("viral", self.viral),
            ("possibleSelfProduction", self.possible_self_production),
            ("physicalHarm", self.physical_harm),
            ("violenceGore", self.violence_gore),
            ("bestiality", self.bestiality),
            ("liveStreaming", self.live_streaming),
            ("infant", self.infant),
            ("generativeAi", self.generative_ai),
        ]
    }
}

/// `<originalFileHash hashType="…">value</originalFileHash>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OriginalFileHash {
    /// `@hashType` (free text, e.g. `MD5`, `SHA1`; at most 64 characters).
    pub hash_type: String,
    /// The hash value as written.
    pub value: String,
}

/// `<details type="EXIF|HASH">`: metadata name/value pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Details {
    /// `@type`.
    pub details_type: Option<DetailsType>,
    /// `nameValuePair` (at least one).
    pub name_value_pair: Vec<NameValuePair>,
}

/// `<nameValuePair>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NameValuePair {
    /// `name` (at most 64 characters).
    pub name: String,
    /// `value`.
    pub value: String,
}
