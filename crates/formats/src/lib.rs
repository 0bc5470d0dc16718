//! The formats the field speaks: CyberTipline Reporting API XML, Project VIC VICS JSON, ICSE CSV
//! and plain hash lists. Parse, validate and write.

pub mod cybertipline;
pub mod hashlist;
pub mod icse;
pub mod known_media;
pub mod known_stream;
mod line_tracker;
pub mod vics;
