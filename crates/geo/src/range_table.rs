//! Sorted, non-overlapping IP ranges with a value each, looked up by binary search, and their
//! compact file form (`.sgrt`, "safeguard range table").
//!
//! In memory a family is three parallel arrays (starts, ends, values): a lookup is one
//! `partition_point` over the starts, which stays in cache for the hot upper levels and does
//! ~18 comparisons for 250 000 ranges.
//!
//! On disk: `b"SGRT"`, a format version byte, a kind byte, then one zlib stream holding
//! name, description, the IPv4 and IPv6 columns (gap from the previous range's end, length - 1,
//! value; LEB128 varints, one column after the other because like numbers compress better
//! together) and, for operator tables, the AS names. The writer is deterministic: the same
//! input rows give the same bytes, so the committed bundle can be checked by regenerating it.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::GeoError;

const MAGIC: &[u8; 4] = b"SGRT";
const FORMAT_VERSION: u8 = 1;
/// No real table comes near this; it stops a hostile file from inflating without bound.
const MAX_INFLATED: u64 = 512 * 1024 * 1024;

/// What a table's values mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Values are [`crate::CountryCode`] indices.
    Country,
    /// Values are AS numbers; the table carries AS names.
    Asn,
}

impl TableKind {
    fn to_byte(self) -> u8 {
        match self {
            Self::Country => 1,
            Self::Asn => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Country),
            2 => Some(Self::Asn),
            _ => None,
        }
    }
}

/// Integer form of an address family (`u32` for IPv4, `u128` for IPv6).
pub trait RangeKey: Copy + Ord + std::fmt::Debug {
    /// Widens to `u128` for the file format.
    fn widen(self) -> u128;
    /// Narrows from `u128`; `None` when out of range for the family.
    fn narrow(value: u128) -> Option<Self>;
    /// The largest address of the family.
    const MAX: Self;
    /// Bits of the key that pick a bucket of the first-level index; 0 to use a sampled index
    /// instead (for IPv6, whose ranges cluster too much for fixed buckets: 64 000 of them
    /// share one /20).
    const BUCKET_BITS: u32;
    /// The first-level bucket of this key (its top `BUCKET_BITS` bits).
    fn bucket(self) -> usize;
}

impl RangeKey for u32 {
    fn widen(self) -> u128 {
        u128::from(self)
    }
    fn narrow(value: u128) -> Option<Self> {
        u32::try_from(value).ok()
    }
    const MAX: Self = u32::MAX;
    const BUCKET_BITS: u32 = 16;
    fn bucket(self) -> usize {
        (self >> 16) as usize
    }
}

impl RangeKey for u128 {
    fn widen(self) -> u128 {
        self
    }
    fn narrow(value: u128) -> Option<Self> {
        Some(value)
    }
    const MAX: Self = u128::MAX;
    const BUCKET_BITS: u32 = 0;
    fn bucket(self) -> usize {
        0
    }
}

/// Sorted, non-overlapping inclusive ranges of one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranges<K> {
    starts: Vec<K>,
    ends: Vec<K>,
    values: Vec<u32>,
    /// First-level index, so that a lookup binary-searches a small slice instead of the whole
    /// array, saving the ~10 cache misses of the upper search levels.
    index: FirstLevel<K>,
}

/// The first-level index of a [`Ranges`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum FirstLevel<K> {
    /// Small tables (anonymiser lists) are searched whole.
    None,
    /// `buckets[b]` is the first range whose start lies in bucket `b` or later (one entry
    /// per bucket, plus one).
    Buckets(Vec<u32>),
    /// Every `SAMPLE_STEP`-th start (`fine`) and every `SAMPLE_STEP`-th of those (`coarse`, a
    /// few KB that stay in L1): a binary search of `coarse` then in-order scans of one block
    /// of `fine` and one block of starts find the range, with no long chain of dependent
    /// cache misses.
    Sampled {
        /// Every `SAMPLE_STEP`² -th start.
        coarse: Vec<K>,
        /// Every `SAMPLE_STEP`-th start.
        fine: Vec<K>,
    },
}

/// Ranges per block of a sampled index: 16 IPv6 starts are 256 bytes, four adjacent cache
/// lines that a lookup scans in order (independent loads the CPU overlaps, where a binary
/// search would chain a cache miss per step).
const SAMPLE_STEP: usize = 16;

/// Tables smaller than this are not worth a first-level index.
const INDEX_THRESHOLD: usize = 4096;

impl<K> Default for Ranges<K> {
    fn default() -> Self {
        Self {
            starts: Vec::new(),
            ends: Vec::new(),
            values: Vec::new(),
            index: FirstLevel::None,
        }
    }
}

/// What [`Ranges::from_rows`] had to repair in its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Rows read.
    pub rows: usize,
    /// Rows that overlapped an earlier-starting row and were clipped (or dropped when fully
    /// covered): the earlier row wins.
    pub clipped: usize,
    /// Ranges after merging neighbours with the same value.
    pub ranges: usize,
}

impl<K: RangeKey> Ranges<K> {
    /// Builds from `(first, last, value)` rows in any order. Overlaps are clipped (the
    /// earlier-starting row wins) and touching ranges with the same value are merged.
    pub fn from_rows(mut rows: Vec<(K, K, u32)>) -> (Self, ImportStats) {
        let mut stats = ImportStats {
            rows: rows.len(),
            ..ImportStats::default()
        };
        rows.retain(|(first, last, _)| first <= last);
        rows.sort_by_key(|(first, _, _)| *first);
        let mut out = Self::default();
        for (mut first, last, value) in rows {
            if let Some(&prev_end) = out.ends.last() {
                if first <= prev_end {
                    stats.clipped += 1;
                    if last <= prev_end || prev_end == K::MAX {
                        continue;
                    }
                    first = K::narrow(prev_end.widen() + 1).unwrap_or(K::MAX);
                }
                let touches = prev_end.widen() + 1 == first.widen();
                if touches && out.values.last() == Some(&value) {
                    if let Some(end) = out.ends.last_mut() {
                        *end = last;
                    }
                    continue;
                }
            }
            out.starts.push(first);
            out.ends.push(last);
            out.values.push(value);
        }
        stats.ranges = out.len();
        out.build_index();
        (out, stats)
    }

    fn build_index(&mut self) {
        self.index = FirstLevel::None;
        if self.starts.len() < INDEX_THRESHOLD || u32::try_from(self.starts.len()).is_err() {
            return;
        }
        if K::BUCKET_BITS == 0 {
            let fine: Vec<K> = self.starts.iter().step_by(SAMPLE_STEP).copied().collect();
            let coarse = fine.iter().step_by(SAMPLE_STEP).copied().collect();
            self.index = FirstLevel::Sampled { coarse, fine };
            return;
        }
        let buckets = 1usize << K::BUCKET_BITS;
        let mut index = Vec::with_capacity(buckets + 1);
        let mut next = 0usize;
        for bucket in 0..=buckets {
            while next < self.starts.len() && self.starts[next].bucket() < bucket {
                next += 1;
            }
            // Fits: checked against u32 above.
            index.push(next as u32);
        }
        self.index = FirstLevel::Buckets(index);
    }

    /// The value of the range holding `key`.
    #[inline]
    pub fn get(&self, key: K) -> Option<u32> {
        let (low, high) = match &self.index {
            FirstLevel::None => (0, self.starts.len()),
            FirstLevel::Buckets(buckets) => {
                let bucket = key.bucket();
                // The range holding `key` starts in its bucket or is the last one before it.
                let low = *buckets.get(bucket)? as usize;
                let high = *buckets.get(bucket + 1)? as usize;
                (low.saturating_sub(1), high)
            }
            FirstLevel::Sampled { coarse, fine } => {
                let coarse_block = coarse
                    .partition_point(|&start| start <= key)
                    .checked_sub(1)?;
                let fine_low = coarse_block * SAMPLE_STEP;
                let fine_high = (fine_low + SAMPLE_STEP).min(fine.len());
                let in_block = fine
                    .get(fine_low..fine_high)?
                    .iter()
                    .take_while(|&&start| start <= key)
                    .count();
                // `in_block` >= 1: the block's first fine entry is its coarse entry, <= key.
                let block = (fine_low + in_block).checked_sub(1)?;
                let low = block * SAMPLE_STEP;
                (low, (low + SAMPLE_STEP).min(self.starts.len()))
            }
        };
        let slice = self.starts.get(low..high)?;
        let after = low
            + match self.index {
                // 16 adjacent starts: an in-order scan issues independent loads.
                FirstLevel::Sampled { .. } => {
                    slice.iter().take_while(|&&start| start <= key).count()
                }
                _ => slice.partition_point(|&start| start <= key),
            };
        let index = after.checked_sub(1)?;
        if key <= *self.ends.get(index)? {
            self.values.get(index).copied()
        } else {
            None
        }
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True when there are no ranges.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The ranges as `(first, last, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (K, K, u32)> + '_ {
        self.starts
            .iter()
            .zip(&self.ends)
            .zip(&self.values)
            .map(|((s, e), v)| (*s, *e, *v))
    }

    fn encode_columns(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u128);
        let mut next = 0u128;
        for (first, last, _) in self.iter() {
            put_varint(out, first.widen() - next);
            // The last range of a family may end at its maximum: next then wraps, harmlessly,
            // because nothing follows it.
            next = last.widen().wrapping_add(1);
        }
        for (first, last, _) in self.iter() {
            put_varint(out, last.widen() - first.widen());
        }
        for (_, _, value) in self.iter() {
            put_varint(out, u128::from(value));
        }
    }

    fn decode(input: &mut Cursor<'_>) -> Result<Self, GeoError> {
        let count = input.count()?;
        let mut gaps = Vec::with_capacity(count);
        for _ in 0..count {
            gaps.push(input.varint()?);
        }
        let mut lengths = Vec::with_capacity(count);
        for _ in 0..count {
            lengths.push(input.varint()?);
        }
        let mut out = Self {
            starts: Vec::with_capacity(count),
            ends: Vec::with_capacity(count),
            values: Vec::with_capacity(count),
            index: FirstLevel::None,
        };
        // `next` is the first address after the previous range; `None` once a range has
        // reached the end of the address space.
        let mut next = Some(0u128);
        for (gap, length) in gaps.into_iter().zip(lengths) {
            let base =
                next.ok_or_else(|| input.corrupt("range after the end of the address space"))?;
            let first = base
                .checked_add(gap)
                .and_then(K::narrow)
                .ok_or_else(|| input.corrupt("range start out of the address space"))?;
            let last = first
                .widen()
                .checked_add(length)
                .and_then(K::narrow)
                .ok_or_else(|| input.corrupt("range end out of the address space"))?;
            out.starts.push(first);
            out.ends.push(last);
            next = if last == K::MAX {
                None
            } else {
                Some(last.widen() + 1)
            };
        }
        for _ in 0..count {
            let value = u32::try_from(input.varint()?)
                .map_err(|_| input.corrupt("value does not fit 32 bits"))?;
            out.values.push(value);
        }
        out.build_index();
        Ok(out)
    }
}

/// AS names by AS number. The numbers are kept apart from the names so that the search runs
/// over a compact array (90 000 numbers are 360 KB) and touches one name at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsNames {
    numbers: Vec<u32>,
    names: Vec<String>,
    /// AS number -> position: one probe, where a binary search over 90 000 numbers chains
    /// ~17 dependent loads.
    positions: std::collections::HashMap<u32, u32>,
}

impl AsNames {
    /// The name of `asn`.
    pub fn get(&self, asn: u32) -> Option<&str> {
        let index = *self.positions.get(&asn)?;
        self.names.get(index as usize).map(String::as_str)
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// `(AS number, name)` in AS number order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        self.numbers
            .iter()
            .copied()
            .zip(self.names.iter().map(String::as_str))
    }
}

impl FromIterator<(u32, String)> for AsNames {
    /// Sorts by AS number; of duplicates the first is kept.
    fn from_iter<I: IntoIterator<Item = (u32, String)>>(iter: I) -> Self {
        let mut pairs: Vec<(u32, String)> = iter.into_iter().collect();
        pairs.sort_by_key(|(asn, _)| *asn);
        pairs.dedup_by_key(|(asn, _)| *asn);
        let (numbers, names): (Vec<u32>, Vec<String>) = pairs.into_iter().unzip();
        let positions = numbers.iter().zip(0u32..).map(|(n, i)| (*n, i)).collect();
        Self {
            numbers,
            names,
            positions,
        }
    }
}

/// A whole table: both families, and AS names for operator tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeTable {
    /// What the values mean.
    pub kind: TableKind,
    /// Short name of the data set, reported as the `source` of answers.
    pub name: String,
    /// Provenance: where and when the data came from.
    pub description: String,
    /// IPv4 ranges.
    pub v4: Ranges<u32>,
    /// IPv6 ranges.
    pub v6: Ranges<u128>,
    /// AS names, sorted by AS number (operator tables only).
    pub names: AsNames,
}

impl RangeTable {
    /// The AS name of `asn`, if the table has one.
    pub fn as_name(&self, asn: u32) -> Option<&str> {
        self.names.get(asn)
    }

    /// The compact file form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, GeoError> {
        let mut payload = Vec::new();
        put_bytes(&mut payload, self.name.as_bytes());
        put_bytes(&mut payload, self.description.as_bytes());
        let mut column = Vec::new();
        self.v4.encode_columns(&mut column);
        payload.extend_from_slice(&column);
        column.clear();
        self.v6.encode_columns(&mut column);
        payload.extend_from_slice(&column);
        put_varint(&mut payload, self.names.len() as u128);
        let mut previous = 0u32;
        for (asn, _) in self.names.iter() {
            put_varint(&mut payload, u128::from(asn.wrapping_sub(previous)));
            previous = asn;
        }
        for (_, name) in self.names.iter() {
            put_varint(&mut payload, name.len() as u128);
        }
        for (_, name) in self.names.iter() {
            payload.extend_from_slice(name.as_bytes());
        }

        let mut out = Vec::with_capacity(payload.len() / 3);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.kind.to_byte());
        let mut encoder = ZlibEncoder::new(out, Compression::best());
        encoder
            .write_all(&payload)
            .map_err(GeoError::io("compressing table"))?;
        encoder.finish().map_err(GeoError::io("compressing table"))
    }

    /// Reads the compact file form, checking every field.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, GeoError> {
        let corrupt = |why: &str| GeoError::CorruptTable(why.to_string());
        let header = bytes.get(..6).ok_or_else(|| corrupt("file too short"))?;
        if &header[..4] != MAGIC {
            return Err(corrupt("not a safeguard range table (bad magic)"));
        }
        if header[4] != FORMAT_VERSION {
            return Err(corrupt(&format!(
                "unsupported format version {}",
                header[4]
            )));
        }
        let kind = TableKind::from_byte(header[5]).ok_or_else(|| corrupt("unknown table kind"))?;
        let mut payload = Vec::new();
        ZlibDecoder::new(&bytes[6..])
            .take(MAX_INFLATED)
            .read_to_end(&mut payload)
            .map_err(|e| corrupt(&format!("bad compressed stream: {e}")))?;
        let mut input = Cursor {
            bytes: &payload,
            at: 0,
        };
        let name = input.string()?;
        let description = input.string()?;
        let v4 = Ranges::<u32>::decode(&mut input)?;
        let v6 = Ranges::<u128>::decode(&mut input)?;
        let count = input.count()?;
        let mut numbers = Vec::with_capacity(count);
        let mut previous = 0u32;
        for index in 0..count {
            let delta = u32::try_from(input.varint()?)
                .map_err(|_| input.corrupt("AS number does not fit 32 bits"))?;
            let asn = previous
                .checked_add(delta)
                .ok_or_else(|| input.corrupt("AS number does not fit 32 bits"))?;
            if index > 0 && delta == 0 {
                return Err(input.corrupt("AS names not sorted"));
            }
            numbers.push(asn);
            previous = asn;
        }
        let mut lengths = Vec::with_capacity(count);
        for _ in 0..count {
            lengths.push(input.count()?);
        }
        let mut names = Vec::with_capacity(count);
        for (asn, length) in numbers.into_iter().zip(lengths) {
            let at = input.at;
            let raw = input.take(length)?;
            let name = std::str::from_utf8(raw)
                .map_err(|_| {
                    GeoError::CorruptTable(format!("AS name is not UTF-8 (at byte {at})"))
                })?
                .to_string();
            names.push((asn, name));
        }
        if input.at != payload.len() {
            return Err(corrupt("trailing bytes after the table"));
        }
        if kind == TableKind::Country {
            let bad = v4.values.iter().chain(&v6.values).any(|v| *v >= 26 * 26);
            if bad {
                return Err(corrupt("country value out of range"));
            }
        }
        Ok(Self {
            kind,
            name,
            description,
            v4,
            v6,
            names: names.into_iter().collect(),
        })
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u128) {
    loop {
        let byte = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u128);
    out.extend_from_slice(bytes);
}

/// A bounds-checked reader over the inflated payload.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn corrupt(&self, why: &str) -> GeoError {
        GeoError::CorruptTable(format!("{why} (at byte {})", self.at))
    }

    fn varint(&mut self) -> Result<u128, GeoError> {
        let mut value = 0u128;
        for shift in (0..128).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or_else(|| self.corrupt("truncated number"))?;
            self.at += 1;
            let bits = u128::from(byte & 0x7F);
            if shift == 126 && bits > 0b11 {
                return Err(self.corrupt("number overflows 128 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt("number overflows 128 bits"))
    }

    /// A length or count, which can never exceed the bytes left (each item takes at least one).
    fn count(&mut self) -> Result<usize, GeoError> {
        let value = self.varint()?;
        let left = self.bytes.len() - self.at;
        usize::try_from(value)
            .ok()
            .filter(|n| *n <= left)
            .ok_or_else(|| self.corrupt("count larger than the data"))
    }

    fn take(&mut self, length: usize) -> Result<&[u8], GeoError> {
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.corrupt("truncated bytes"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn string(&mut self) -> Result<String, GeoError> {
        let length = self.count()?;
        let at = self.at;
        let raw = self.take(length)?;
        std::str::from_utf8(raw)
            .map(str::to_string)
            .map_err(|_| GeoError::CorruptTable(format!("text is not UTF-8 (at byte {at})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (xorshift), enough to scatter test keys.
    fn scatter(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    fn brute<K: RangeKey>(rows: &[(K, K, u32)], key: K) -> Option<u32> {
        rows.iter()
            .find(|(first, last, _)| *first <= key && key <= *last)
            .map(|(_, _, v)| *v)
    }

    #[test]
    fn indexed_lookup_matches_a_linear_scan() {
        let mut seed = 0x1234_5678_9abc_def0;
        // Disjoint ranges with gaps, spread over the whole space and clustered in places.
        let mut rows4 = Vec::new();
        let mut rows6 = Vec::new();
        let mut at4: u64 = 0;
        let mut at6: u128 = 0x2000 << 112;
        for i in 0..20_000u32 {
            let step = if i % 100 == 0 {
                1 << 24
            } else {
                scatter(&mut seed) % 4096
            };
            at4 += step;
            let len = scatter(&mut seed) % 512;
            if at4 + len > u64::from(u32::MAX) {
                break;
            }
            rows4.push((at4 as u32, (at4 + len) as u32, i % 7));
            at4 += len + 1 + (i as u64 % 2);
            at6 += u128::from(scatter(&mut seed) % 3) << 96 | 1;
            let len6 = u128::from(scatter(&mut seed)) << 40;
            rows6.push((at6, at6 + len6, i % 5));
            at6 += len6 + 1 + u128::from(i % 2);
        }
        let (table4, _) = Ranges::from_rows(rows4.clone());
        let (table6, _) = Ranges::from_rows(rows6.clone());
        assert!(matches!(table4.index, FirstLevel::Buckets(_)));
        assert!(matches!(table6.index, FirstLevel::Sampled { .. }));
        for (first, last, value) in rows4.iter().take(2000) {
            assert_eq!(table4.get(*first), Some(*value));
            assert_eq!(table4.get(*last), Some(*value));
            assert_eq!(table4.get(*last + 1), brute(&rows4, *last + 1));
        }
        for _ in 0..20_000 {
            let key = scatter(&mut seed) as u32;
            assert_eq!(table4.get(key), brute(&rows4, key), "{key}");
        }
        for (first, last, value) in rows6.iter().take(2000) {
            assert_eq!(table6.get(*first), Some(*value));
            assert_eq!(table6.get(*last), Some(*value));
            assert_eq!(table6.get(*last + 1), brute(&rows6, *last + 1));
        }
        for _ in 0..5_000 {
            let key = (u128::from(scatter(&mut seed)) << 64 | u128::from(scatter(&mut seed)))
                >> (scatter(&mut seed) % 4);
            assert_eq!(table6.get(key), brute(&rows6, key), "{key:x}");
        }
        assert_eq!(table4.get(0), brute(&rows4, 0));
        assert_eq!(table4.get(u32::MAX), brute(&rows4, u32::MAX));
        assert_eq!(table6.get(u128::MAX), None);
    }
}
