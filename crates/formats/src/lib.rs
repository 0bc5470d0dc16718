//! The formats the field speaks: CyberTipline Reporting API XML, Project VIC VICS JSON, ICSE CSV
//! and plain hash lists. Parse, validate and write.
pub mod cybertipline;
