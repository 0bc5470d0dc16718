//! Every committed fuzz input — the minimised corpora (`fuzz/corpus/<target>/`) and the inputs
//! that once crashed (`fuzz/regressions/<target>/`) — goes through its target's function again,
//! in an ordinary `cargo test`: a fixed bug that comes back fails CI without running a fuzzer.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_corpus_and_regression_input_passes_its_target() {
    let mut total = 0;
    for (name, target) in safeguard_fuzzing::TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{name} is missing or empty: every target keeps a corpus"
        );
        let regressions = inputs(&fuzz_dir().join("regressions").join(name));
        for file in corpus.iter().chain(&regressions) {
            let bytes = std::fs::read(file).expect("readable input");
            assert!(
                bytes.len() <= 1024 * 1024,
                "{} is over 1 MB: keep corpora small",
                file.display()
            );
            // A panic here names the target; the file is in the test's output below.
            eprintln!("{name}: {}", file.display());
            target(&bytes);
            total += 1;
        }
    }
    assert!(total > 0);
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in safeguard_fuzzing::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs is missing"
        );
    }
}
