//! Which buckets a query visits: the substring radii of the pigeonhole argument and the
//! enumeration of 16-bit keys by distance from the query's key.

use std::sync::OnceLock;

/// Number of 32-bit substrings (tables) a 256-bit hash is cut into.
pub(crate) const SUBSTRINGS: usize = 8;

/// Radius per substring for an overall search radius `max_distance` (clamped to 256).
///
/// Generalised pigeonhole: if every substring `j` differed by at least `radius[j] + 1` bits the
/// total distance would be at least `Σ (radius[j] + 1)`. The radii are chosen so that this sum
/// is `max_distance + 1`, so a hash within `max_distance` has at least one substring within its
/// radius. `None` means the substring needs no probing at all (radius −1).
pub(crate) fn substring_radii(max_distance: u32) -> [Option<u32>; SUBSTRINGS] {
    let budget = max_distance.min(256) + 1;
    let per = budget / SUBSTRINGS as u32;
    let extra = budget % SUBSTRINGS as u32;
    let mut radii = [None; SUBSTRINGS];
    for (j, radius) in radii.iter_mut().enumerate() {
        // `per + 1` for the first `extra` substrings, `per` for the rest; a radius is one less.
        let share = per + u32::from((j as u32) < extra);
        *radius = share.checked_sub(1);
    }
    radii
}

/// All 16-bit masks ordered by popcount, with the start of each popcount's run.
pub(crate) struct MasksByWeight {
    masks: Vec<u16>,
    /// `starts[w]..starts[w + 1]` are the masks of weight `w` (17 weights, 18 bounds).
    starts: [usize; 18],
}

impl MasksByWeight {
    /// The shared table (built once, 128 KiB).
    pub(crate) fn get() -> &'static MasksByWeight {
        static TABLE: OnceLock<MasksByWeight> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut masks: Vec<u16> = (0..=u16::MAX).collect();
            masks.sort_by_key(|m| (m.count_ones(), *m));
            let mut starts = [0usize; 18];
            for w in 0..=16u32 {
                starts[w as usize + 1] =
                    starts[w as usize] + masks.iter().filter(|m| m.count_ones() == w).count();
            }
            MasksByWeight { masks, starts }
        })
    }

    /// The masks of exactly `weight` set bits (`weight` ≤ 16).
    pub(crate) fn of_weight(&self, weight: u32) -> &[u16] {
        let w = weight.min(16) as usize;
        &self.masks[self.starts[w]..self.starts[w + 1]]
    }

    /// How many keys lie within `radius` of a key.
    pub(crate) fn count_within(&self, radius: u32) -> usize {
        self.starts[radius.min(16) as usize + 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_sum_exceeds_distance() {
        for d in 0..=300u32 {
            let radii = substring_radii(d);
            let sum: u32 = radii.iter().map(|r| r.map_or(0, |r| r + 1)).sum();
            assert_eq!(sum, d.min(256) + 1, "d = {d}");
        }
        assert_eq!(substring_radii(31), [Some(3); SUBSTRINGS]);
        assert_eq!(
            substring_radii(0),
            [Some(0), None, None, None, None, None, None, None]
        );
    }

    #[test]
    fn masks_grouped_by_weight() {
        let table = MasksByWeight::get();
        assert_eq!(table.of_weight(0), &[0]);
        assert_eq!(table.of_weight(1).len(), 16);
        assert_eq!(table.of_weight(3).len(), 560);
        assert_eq!(table.of_weight(16), &[u16::MAX]);
        assert_eq!(table.count_within(3), 697);
        assert_eq!(table.count_within(40), 65536);
        for w in 0..=16 {
            assert!(table.of_weight(w).iter().all(|m| m.count_ones() == w));
        }
    }
}
