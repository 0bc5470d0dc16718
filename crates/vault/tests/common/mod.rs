//! Shared helpers of the vault's integration tests: keys, vaults in temporary directories and
//! synthetic data (seeded pseudo-random bytes — never real media).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rand::{RngCore as _, SeedableRng as _};
use safeguard_vault::{KeyId, KeyRing, MasterKey, Vault, VaultConfig};

pub fn key(id: &str, byte: u8) -> MasterKey {
    MasterKey::from_bytes(KeyId::new(id).expect("valid test key id"), [byte; 32])
}

pub fn ring(id: &str, byte: u8) -> KeyRing {
    KeyRing::new(key(id, byte))
}

pub fn open(dir: &Path) -> Vault {
    Vault::open(dir, ring("k1", 1), VaultConfig::default()).expect("open vault")
}

pub fn open_with(dir: &Path, config: VaultConfig) -> Vault {
    Vault::open(dir, ring("k1", 1), config).expect("open vault")
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = vec![0u8; len];
    rng.fill_bytes(&mut out);
    out
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Blob files (under `blobs/`).
pub fn blob_files(vault_dir: &Path) -> Vec<PathBuf> {
    let blobs = vault_dir.join("blobs");
    if !blobs.exists() {
        return Vec::new();
    }
    files_under(&blobs)
}

/// Files in the vault's temporary directory.
pub fn temp_files(vault_dir: &Path) -> Vec<PathBuf> {
    let tmp = vault_dir.join("tmp");
    if !tmp.exists() {
        return Vec::new();
    }
    files_under(&tmp)
}
