//! Times are stored as Unix microseconds, with the sender's UTC offset kept beside where the
//! original wording matters.

use time::{OffsetDateTime, UtcOffset};

use crate::StoreError;

pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn now_micros() -> i64 {
    micros(OffsetDateTime::now_utc())
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| StoreError::corrupt(format!("time {us}: {e}")))
}

pub(crate) fn with_offset(us: i64, offset_seconds: i64) -> Result<OffsetDateTime, StoreError> {
    let offset = i32::try_from(offset_seconds)
        .ok()
        .and_then(|s| UtcOffset::from_whole_seconds(s).ok())
        .ok_or_else(|| StoreError::corrupt(format!("UTC offset {offset_seconds}")))?;
    Ok(from_micros(us)?.to_offset(offset))
}

pub(crate) fn offset_seconds(t: OffsetDateTime) -> i64 {
    i64::from(t.offset().whole_seconds())
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

pub(crate) fn opt_flag(b: Option<bool>) -> Option<i64> {
    b.map(flag)
}

pub(crate) fn read_flag(v: Option<i64>) -> Option<bool> {
    v.map(|x| x != 0)
}
