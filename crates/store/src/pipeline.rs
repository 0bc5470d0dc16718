//! What the after-acknowledgement pipeline keeps of its own: the PDQ of each stored image and the
//! near-duplicate group it was filed in (so that linking by PDQ group is stable across restarts
//! and worker processes), and the watermarks with which a worker follows new known material.

use safeguard_domain::digest::Sha256;
use safeguard_domain::known::PdqHash;
use sqlx::Row;

use crate::time_codec::now_micros;
use crate::{Store, StoreError};

/// Highest ids of known material held in the database: a worker that loaded its match index
/// up to these reads only what lies beyond them to catch up with later imports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnownWatermark {
    /// Highest known entry id with a PDQ.
    pub pdq_entry: i64,
    /// Highest known entry id with vPDQ frames.
    pub frame_entry: i64,
}

/// The near-duplicate group of a stored image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobPdq {
    pub pdq: PdqHash,
    pub quality: u8,
    /// The representative PDQ naming the group.
    pub group: PdqHash,
}

fn pdq(bytes: Vec<u8>) -> Result<PdqHash, StoreError> {
    let fixed: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt("a PDQ has the wrong length"))?;
    Ok(PdqHash(fixed))
}

impl Store {
    /// The current watermarks of known material (see [`KnownWatermark`]).
    pub async fn known_watermark(&self) -> Result<KnownWatermark, StoreError> {
        let pdq_entry: Option<i64> =
            sqlx::query("SELECT MAX(id) AS m FROM known_entry WHERE pdq IS NOT NULL")
                .fetch_one(&self.read)
                .await?
                .try_get("m")?;
        let frame_entry: Option<i64> =
            sqlx::query("SELECT MAX(entry_id) AS m FROM known_entry_frame")
                .fetch_one(&self.read)
                .await?
                .try_get("m")?;
        Ok(KnownWatermark {
            pdq_entry: pdq_entry.unwrap_or(0),
            frame_entry: frame_entry.unwrap_or(0),
        })
    }

    /// The stored PDQ and group of the content with this SHA-256, if it was filed.
    pub async fn blob_pdq(&self, sha256: &Sha256) -> Result<Option<BlobPdq>, StoreError> {
        let row = sqlx::query("SELECT pdq, quality, group_pdq FROM blob_pdq WHERE sha256 = $1")
            .bind(sha256.as_bytes().to_vec())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(BlobPdq {
                pdq: pdq(r.try_get("pdq")?)?,
                quality: u8::try_from(r.try_get::<i64, _>("quality")?)
                    .map_err(StoreError::corrupt)?,
                group: pdq(r.try_get("group_pdq")?)?,
            })
        })
        .transpose()
    }

    /// Files content in a PDQ group unless it was filed already (by this or another worker);
    /// returns the filing in force, which is the earlier one when there was one.
    pub async fn file_blob_pdq(
        &self,
        sha256: &Sha256,
        filing: &BlobPdq,
    ) -> Result<BlobPdq, StoreError> {
        sqlx::query(
            "INSERT INTO blob_pdq (sha256, pdq, quality, group_pdq, hashed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256.as_bytes().to_vec())
        .bind(filing.pdq.0.to_vec())
        .bind(i64::from(filing.quality))
        .bind(filing.group.0.to_vec())
        .bind(now_micros())
        .execute(&self.write)
        .await?;
        // Read back from the writer: a read replica or pool might not see the row yet.
        let row = sqlx::query("SELECT pdq, quality, group_pdq FROM blob_pdq WHERE sha256 = $1")
            .bind(sha256.as_bytes().to_vec())
            .fetch_one(&self.write)
            .await?;
        Ok(BlobPdq {
            pdq: pdq(row.try_get("pdq")?)?,
            quality: u8::try_from(row.try_get::<i64, _>("quality")?)
                .map_err(StoreError::corrupt)?,
            group: pdq(row.try_get("group_pdq")?)?,
        })
    }

    /// Group representatives filed after row `after_id`, oldest first: `(row id, PDQ)`.
    pub async fn pdq_representatives_after(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, PdqHash)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT id, pdq FROM blob_pdq WHERE id > $1 AND pdq = group_pdq ORDER BY id LIMIT {}",
            limit.clamp(1, 100_000)
        ))
        .bind(after_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, pdq(r.try_get("pdq")?)?)))
            .collect()
    }
}
