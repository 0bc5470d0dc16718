//! "Never in clear on disk": after storing a file, no window of its plaintext appears in any
//! file under the vault directory (blobs, temporaries, naming key), and the key file holds no
//! copy either.

mod common;

use common::{data, files_under};
use safeguard_vault::{KeyRing, Vault, VaultConfig};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn plaintext_never_appears_on_disk() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (keys, _) = KeyRing::load_with_env(data_dir.path(), None).expect("keys");
    let vault_dir = data_dir.path().join("vault");
    let vault = Vault::open(&vault_dir, keys, VaultConfig::default()).expect("open");

    // A distinctive, low-entropy synthetic pattern (the easiest kind to spot if it leaked), and
    // random data; both across several segments.
    let pattern: Vec<u8> = b"SYNTHETIC-EVIDENCE-PATTERN-0123456789-abcdefghijklmnopqrstuvwxyz!"
        .iter()
        .copied()
        .cycle()
        .take(300_000)
        .collect();
    let random = data(300_000, 21);
    let empty_vault_files = files_under(&vault_dir).len();
    let mut windows = Vec::new();
    for content in [&pattern, &random] {
        vault.put(&content[..]).expect("put");
        for at in [0, 1000, 64 * 1024 - 32, 150_000, content.len() - 64] {
            windows.push(content[at..at + 64].to_vec());
        }
    }
    let files = files_under(data_dir.path());
    assert!(files.len() >= empty_vault_files + 2);
    for file in &files {
        let raw = std::fs::read(file).expect("read");
        for window in &windows {
            assert!(
                !contains(&raw, window),
                "plaintext found in {}",
                file.display()
            );
        }
    }
    // Sanity of the search itself: it does find a window that is there.
    let probe = data_dir.path().join("probe.bin");
    std::fs::write(&probe, &pattern[..1000]).expect("probe");
    assert!(contains(
        &std::fs::read(&probe).expect("read probe"),
        &windows[0]
    ));
}

#[test]
fn debug_output_of_vault_and_keys_shows_ids_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let material = [0x5cu8; 32];
    let key = safeguard_vault::MasterKey::from_bytes(
        safeguard_vault::KeyId::new("prod-1").expect("id"),
        material,
    );
    let vault = Vault::open(
        dir.path(),
        KeyRing::new(key.clone()),
        VaultConfig::default(),
    )
    .expect("open");
    let shown = format!("{vault:?} {key:?} {:?}", KeyRing::new(key.clone()));
    assert!(shown.contains("prod-1"), "{shown}");
    assert!(!shown.to_lowercase().contains("5c5c"), "{shown}");
    assert!(!shown.contains("92, 92"), "{shown}"); // 0x5c as decimal array
}
