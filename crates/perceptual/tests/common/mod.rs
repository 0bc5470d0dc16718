//! Where the test vectors are: the small BSD-licensed copies in `tests/data/`, and the full
//! research set in `<repo>/../shared/research-data/pdq/` when it is there.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `crates/perceptual/tests/data`.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// `<repo>/../shared/research-data/pdq`, if present (CI clones the repository beside `shared/`).
/// Setting `PERCEPTUAL_TESTS_WITHOUT_SHARED=1` pretends it is absent, to check the local-only run.
pub fn shared_pdq_dir() -> Option<PathBuf> {
    if std::env::var_os("PERCEPTUAL_TESTS_WITHOUT_SHARED").is_some() {
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/research-data/pdq");
    dir.is_dir().then_some(dir)
}

/// Says loudly that part of a test did not run.
pub fn skip(what: &str) {
    println!("SKIPPED: {what} (../shared/research-data/pdq is not present)");
}

/// Rows of a simple CSV (no quoted commas in the columns we read), header dropped.
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("test CSV is readable");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Whether the `ffmpeg` and `ffprobe` tools can be run.
pub fn have_ffmpeg() -> bool {
    ["ffmpeg", "ffprobe"].iter().all(|tool| {
        std::process::Command::new(tool)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}
