//! Master keys: where they come from, how they are held, and how they are never shown.
//!
//! A master key never touches the database. It is loaded from the environment
//! (`SAFEGUARD_VAULT_KEY`) or from a key file in the data directory (`<data-dir>/keys/vault.key`,
//! created with mode 0600 on first start). Several keys can be held at once in a [`KeyRing`], one
//! of them active: new blobs are wrapped under the active key, and blobs wrapped under any key of
//! the ring stay readable — which is what lets a rotation run without downtime.
//!
//! Key file format (text, one entry per line, `#` starts a comment):
//!
//! ```text
//! # Safeguard evidence vault master keys. Keep secret; never in the database.
//! active k-20261123
//! key k-20261123 <64 hex digits or base64 of 32 bytes>
//! key k-20250101 <...>
//! ```
//!
//! The environment variable holds either a bare key (hex or base64; its id is then `env`) or a
//! comma-separated list of `id:key` entries, the first being active.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore as _;
use zeroize::Zeroizing;

/// Name of the environment variable that can carry the master key(s).
pub const KEY_ENV_VAR: &str = "SAFEGUARD_VAULT_KEY";

/// Length of a master key in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// Longest accepted key id, in bytes (it is stored in every blob header).
pub const MAX_KEY_ID_LEN: usize = 32;

/// Why a key, a key ring or a key file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key id that is empty, too long or uses characters outside `[A-Za-z0-9._-]`.
    #[error("invalid key id {id:?}: 1 to {MAX_KEY_ID_LEN} characters from A-Z a-z 0-9 . _ -")]
    InvalidKeyId {
        /// The refused id (key ids are not secret).
        id: String,
    },
    /// Key material that is not 32 bytes of hexadecimal or base64.
    #[error("key {id:?} is not 32 bytes written as 64 hexadecimal digits or base64")]
    InvalidKeyMaterial {
        /// Id of the key whose material was refused.
        id: String,
    },
    /// A key file line that does not follow the format.
    #[error("key file {path}: line {line}: {reason}")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it (never the key material).
        reason: String,
    },
    /// The environment variable does not follow the format.
    #[error("{KEY_ENV_VAR}: {reason}")]
    MalformedEnv {
        /// What is wrong with it (never the key material).
        reason: String,
    },
    /// A key id appears twice with different material.
    #[error("key id {id:?} is already in the key ring with different material")]
    Conflict {
        /// The clashing id.
        id: String,
    },
    /// The named key is not in the ring.
    #[error("no key with id {id:?} in the key ring")]
    Unknown {
        /// The missing id.
        id: String,
    },
    /// The active key cannot be removed from the ring.
    #[error("key {id:?} is the active key and cannot be removed")]
    RemovingActive {
        /// The active id.
        id: String,
    },
    /// A key file without any key, or whose `active` line names no listed key.
    #[error("key file {path} has no usable active key")]
    NoActiveKey {
        /// The key file.
        path: PathBuf,
    },
    /// A key file readable or writable by other users.
    #[error("key file {path} has mode {mode:o}: it must not be accessible to group or others (chmod 600)")]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file (or its directory).
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The identifier of a master key: short, printable, stored in clear in blob headers.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks and wraps a key id.
    pub fn new(id: &str) -> Result<Self, KeyError> {
        let ok = !id.is_empty()
            && id.len() <= MAX_KEY_ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(KeyError::InvalidKeyId {
                id: id.chars().take(64).collect(),
            })
        }
    }

    /// A fresh id derived from the current time, e.g. `k-20261123T172915Z-3f9a`.
    pub fn generate() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let suffix: u16 = rand::random();
        Self(format!("k-{now}-{suffix:04x}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A 256-bit master key with its id. The material is wiped from memory when dropped and is never
/// printed: `Debug` shows the id only.
#[derive(Clone)]
pub struct MasterKey {
    id: KeyId,
    material: Zeroizing<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// A new random key from the operating system's generator.
    pub fn generate(id: KeyId) -> Self {
        let mut material = Zeroizing::new([0u8; KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(material.as_mut());
        Self { id, material }
    }

    /// A key from raw bytes.
    pub fn from_bytes(id: KeyId, bytes: [u8; KEY_LEN]) -> Self {
        Self {
            id,
            material: Zeroizing::new(bytes),
        }
    }

    /// A key from 64 hexadecimal digits or base64 (standard or URL-safe, padded or not) of 32
    /// bytes; surrounding white space is ignored.
    pub fn parse(id: KeyId, text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let mut material = Zeroizing::new([0u8; KEY_LEN]);
        if text.len() == KEY_LEN * 2 && hex::decode_to_slice(text, material.as_mut()).is_ok() {
            return Ok(Self { id, material });
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            let mut buf = Zeroizing::new([0u8; KEY_LEN + 3]);
            if let Ok(KEY_LEN) = engine.decode_slice(text, buf.as_mut()) {
                material.copy_from_slice(&buf[..KEY_LEN]);
                return Ok(Self { id, material });
            }
        }
        Err(KeyError::InvalidKeyMaterial { id: id.0.clone() })
    }

    /// The material as 64 hex digits, for handing a freshly generated key to an operator (e.g.
    /// to put into `SAFEGUARD_VAULT_KEY` of another host). Deliberately named: this is the one
    /// way to get key material out; never log it.
    pub fn export_secret_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.material.as_ref()))
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The raw material, for the sealing code of this crate only.
    pub(crate) fn material(&self) -> &[u8; KEY_LEN] {
        &self.material
    }

    fn same_material(&self, other: &MasterKey) -> bool {
        // Not secret-dependent timing worth worrying about: both sides are keys we hold.
        self.material.as_ref() == other.material.as_ref()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Where a key ring was loaded from (never the material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `SAFEGUARD_VAULT_KEY` environment variable.
    Environment,
    /// An existing key file.
    KeyFile(PathBuf),
    /// A key file created just now, holding one fresh key.
    CreatedKeyFile(PathBuf),
}

/// Several master keys by id, one of them active.
#[derive(Clone)]
pub struct KeyRing {
    keys: BTreeMap<KeyId, MasterKey>,
    active: KeyId,
}

impl KeyRing {
    /// A ring holding one key, which is active.
    pub fn new(active: MasterKey) -> Self {
        let id = active.id.clone();
        let mut keys = BTreeMap::new();
        keys.insert(id.clone(), active);
        Self { keys, active: id }
    }

    /// Adds a key (not made active). Adding the same key again is a no-op; reusing an id for
    /// different material is refused.
    pub fn insert(&mut self, key: MasterKey) -> Result<(), KeyError> {
        if let Some(existing) = self.keys.get(&key.id) {
            if existing.same_material(&key) {
                return Ok(());
            }
            return Err(KeyError::Conflict {
                id: key.id.0.clone(),
            });
        }
        self.keys.insert(key.id.clone(), key);
        Ok(())
    }

    /// Makes a key of the ring the active one.
    pub fn set_active(&mut self, id: &KeyId) -> Result<(), KeyError> {
        if !self.keys.contains_key(id) {
            return Err(KeyError::Unknown { id: id.0.clone() });
        }
        self.active = id.clone();
        Ok(())
    }

    /// Removes a retired key; the active key cannot be removed.
    pub fn remove(&mut self, id: &KeyId) -> Result<MasterKey, KeyError> {
        if *id == self.active {
            return Err(KeyError::RemovingActive { id: id.0.clone() });
        }
        self.keys
            .remove(id)
            .ok_or_else(|| KeyError::Unknown { id: id.0.clone() })
    }

    /// The active key, used to wrap new blobs.
    pub fn active(&self) -> &MasterKey {
        // `active` always names a key of the map: every mutation keeps that invariant.
        match self.keys.get(&self.active) {
            Some(key) => key,
            None => unreachable!("the active key id always names a key of the ring"),
        }
    }

    /// A key by id.
    pub fn get(&self, id: &KeyId) -> Option<&MasterKey> {
        self.keys.get(id)
    }

    /// Key by the raw id bytes found in a blob header.
    pub(crate) fn get_by_bytes(&self, id: &[u8]) -> Option<&MasterKey> {
        let id = std::str::from_utf8(id).ok()?;
        self.keys.get(&KeyId(id.to_owned()))
    }

    /// Ids of all keys, in order.
    pub fn ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Loads the ring the way the server does: from `SAFEGUARD_VAULT_KEY` if set, otherwise from
    /// `<data_dir>/keys/vault.key`, creating that file with one fresh key if it is absent.
    pub fn load(data_dir: &Path) -> Result<(Self, KeySource), KeyError> {
        let env = std::env::var(KEY_ENV_VAR).ok();
        Self::load_with_env(data_dir, env.as_deref())
    }

    /// [`KeyRing::load`] with the environment value passed in (testable without touching the
    /// process environment). An empty value counts as unset.
    pub fn load_with_env(
        data_dir: &Path,
        env_value: Option<&str>,
    ) -> Result<(Self, KeySource), KeyError> {
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            return Ok((Self::from_env_value(value)?, KeySource::Environment));
        }
        let path = Self::key_file_path(data_dir);
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok((Self::read_key_file(&path)?, KeySource::KeyFile(path))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ring = Self::new(MasterKey::generate(KeyId::generate()));
                match ring.create_key_file(&path) {
                    Ok(()) => Ok((ring, KeySource::CreatedKeyFile(path))),
                    // Another process created it first: use theirs.
                    Err(KeyError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists =>
                    {
                        Ok((Self::read_key_file(&path)?, KeySource::KeyFile(path)))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    /// `<data_dir>/keys/vault.key`.
    pub fn key_file_path(data_dir: &Path) -> PathBuf {
        data_dir.join("keys").join("vault.key")
    }

    /// Parses the environment variable's value: a bare key (id `env`) or `id:key[,id:key...]`,
    /// the first entry active.
    pub fn from_env_value(value: &str) -> Result<Self, KeyError> {
        let value = value.trim();
        if !value.contains(':') && !value.contains(',') {
            let id = KeyId("env".to_owned());
            return Ok(Self::new(MasterKey::parse(id, value)?));
        }
        let mut ring: Option<KeyRing> = None;
        for (index, entry) in value.split(',').enumerate() {
            let Some((id, material)) = entry.split_once(':') else {
                return Err(KeyError::MalformedEnv {
                    reason: format!("entry {} is not id:key", index + 1),
                });
            };
            let key = MasterKey::parse(KeyId::new(id.trim())?, material)?;
            match ring.as_mut() {
                None => ring = Some(Self::new(key)),
                Some(ring) => ring.insert(key)?,
            }
        }
        ring.ok_or_else(|| KeyError::MalformedEnv {
            reason: "no key".to_owned(),
        })
    }

    /// Reads a key file, refusing one that group or others can access.
    pub fn read_key_file(path: &Path) -> Result<Self, KeyError> {
        let io_err = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        check_private(path)?;
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io_err)?);
        let malformed = |line: usize, reason: &str| KeyError::Malformed {
            path: path.to_owned(),
            line,
            reason: reason.to_owned(),
        };
        let mut keys: Vec<MasterKey> = Vec::new();
        let mut active: Option<KeyId> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("active"), Some(id), None, None) => {
                    if active.is_some() {
                        return Err(malformed(line_no, "second `active` line"));
                    }
                    active = Some(KeyId::new(id)?);
                }
                (Some("key"), Some(id), Some(material), None) => {
                    let key = MasterKey::parse(KeyId::new(id)?, material)?;
                    if keys.iter().any(|k| k.id == key.id) {
                        return Err(malformed(line_no, "key id listed twice"));
                    }
                    keys.push(key);
                }
                _ => {
                    return Err(malformed(
                        line_no,
                        "expected `active <id>` or `key <id> <material>`",
                    ))
                }
            }
        }
        let no_active = || KeyError::NoActiveKey {
            path: path.to_owned(),
        };
        let active = match active {
            Some(id) => id,
            None if keys.len() == 1 => keys[0].id.clone(),
            None => return Err(no_active()),
        };
        let first = keys
            .iter()
            .position(|k| k.id == active)
            .ok_or_else(no_active)?;
        let mut ring = Self::new(keys.swap_remove(first));
        for key in keys {
            ring.insert(key)?;
        }
        Ok(ring)
    }

    /// Writes the ring to a new key file (mode 0600, directory 0700); fails if it exists.
    pub fn create_key_file(&self, path: &Path) -> Result<(), KeyError> {
        self.write_key_file_inner(path, false)
    }

    /// Replaces a key file atomically with this ring (e.g. after adding a rotation key).
    pub fn replace_key_file(&self, path: &Path) -> Result<(), KeyError> {
        self.write_key_file_inner(path, true)
    }

    fn render(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::from(
            "# Safeguard evidence vault master keys. Keep secret; never in the database.\n",
        ));
        text.push_str(&format!("active {}\n", self.active));
        for key in self.keys.values() {
            let material = Zeroizing::new(hex::encode(key.material.as_ref()));
            text.push_str("key ");
            text.push_str(key.id.as_str());
            text.push(' ');
            text.push_str(&material);
            text.push('\n');
        }
        text
    }

    fn write_key_file_inner(&self, path: &Path, replace: bool) -> Result<(), KeyError> {
        let io_err = |p: &Path| {
            let p = p.to_owned();
            move |source| KeyError::Io { path: p, source }
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir).map_err(io_err(dir))?;
        let text = self.render();
        // Written to a private temporary name first, so the file appears complete or not at all.
        let tmp = dir.join(format!(".vault.key.{:016x}.tmp", rand::random::<u64>()));
        let result = (|| -> std::io::Result<()> {
            let mut file = open_private_new(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            drop(file);
            if replace {
                fs::rename(&tmp, path)?;
            } else {
                // hard_link refuses to overwrite: two first starts racing keep one key.
                match fs::hard_link(&tmp, path) {
                    Ok(()) => fs::remove_file(&tmp)?,
                    // No hard links on this file system (EPERM): check, then rename.
                    Err(e) if e.raw_os_error() == Some(1) && !path.exists() => {
                        fs::rename(&tmp, path)?
                    }
                    Err(e) => return Err(e),
                }
            }
            fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io_err(path))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(unix)]
fn open_private_new(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only remove bits; set the mode explicitly anyway so it is exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_private_new(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> KeyId {
        KeyId::new(s).expect("valid test id")
    }

    #[test]
    fn debug_never_shows_material() {
        let bytes = [0xABu8; KEY_LEN];
        let key = MasterKey::from_bytes(id("k1"), bytes);
        let shown = format!("{key:?} {:?}", KeyRing::new(key.clone()));
        assert!(shown.contains("k1"), "{shown}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}"); // 0xAB in decimal
        assert_eq!(format!("{key:?}"), "MasterKey(k1)");
    }

    #[test]
    fn parses_hex_and_base64() {
        let bytes: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        let hexed = hex::encode(bytes);
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        for text in [hexed.clone(), hexed.to_uppercase(), b64, b64url] {
            let key = MasterKey::parse(id("a"), &format!(" {text}\n")).expect("valid key");
            assert_eq!(key.material(), &bytes);
        }
        let exported = MasterKey::from_bytes(id("a"), bytes).export_secret_hex();
        assert_eq!(exported.as_str(), hexed);
        assert!(MasterKey::parse(id("a"), &hexed[..62]).is_err());
        assert!(MasterKey::parse(id("a"), "not a key at all").is_err());
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        assert!(MasterKey::parse(id("a"), &short).is_err());
    }

    #[test]
    fn key_ids_are_checked() {
        assert!(KeyId::new("k-2026.11_a").is_ok());
        for bad in ["", "has space", "x".repeat(33).as_str(), "é", "a:b"] {
            assert!(
                matches!(KeyId::new(bad), Err(KeyError::InvalidKeyId { .. })),
                "{bad}"
            );
        }
        assert!(KeyId::new(KeyId::generate().as_str()).is_ok());
    }

    #[test]
    fn env_value_forms() {
        let k1 = hex::encode([1u8; KEY_LEN]);
        let k2 = hex::encode([2u8; KEY_LEN]);
        let ring = KeyRing::from_env_value(&k1).expect("bare key");
        assert_eq!(ring.active().id().as_str(), "env");
        let ring = KeyRing::from_env_value(&format!("new:{k2}, old:{k1}")).expect("list");
        assert_eq!(ring.active().id().as_str(), "new");
        assert_eq!(ring.ids().count(), 2);
        assert!(KeyRing::from_env_value("a:zz,b").is_err());
        assert!(matches!(
            KeyRing::from_env_value(&format!("a:{k1},a:{k2}")),
            Err(KeyError::Conflict { .. })
        ));
    }

    #[test]
    fn ring_invariants() {
        let mut ring = KeyRing::new(MasterKey::from_bytes(id("a"), [1; KEY_LEN]));
        ring.insert(MasterKey::from_bytes(id("b"), [2; KEY_LEN]))
            .expect("new id");
        ring.insert(MasterKey::from_bytes(id("b"), [2; KEY_LEN]))
            .expect("same key again is fine");
        assert!(ring
            .insert(MasterKey::from_bytes(id("b"), [3; KEY_LEN]))
            .is_err());
        assert!(matches!(
            ring.remove(&id("a")),
            Err(KeyError::RemovingActive { .. })
        ));
        ring.set_active(&id("b")).expect("known id");
        ring.remove(&id("a")).expect("no longer active");
        assert!(ring.set_active(&id("a")).is_err());
        assert_eq!(ring.active().id().as_str(), "b");
    }

    #[test]
    fn key_file_created_private_and_reloaded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ring, source) = KeyRing::load_with_env(dir.path(), None).expect("create");
        let path = KeyRing::key_file_path(dir.path());
        assert_eq!(source, KeySource::CreatedKeyFile(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).expect("key file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = fs::metadata(path.parent().expect("keys dir"))
                .expect("keys dir")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dir_mode, 0o700);
        }
        let (again, source) = KeyRing::load_with_env(dir.path(), None).expect("reload");
        assert_eq!(source, KeySource::KeyFile(path.clone()));
        assert_eq!(again.active().id(), ring.active().id());
        assert_eq!(again.active().material(), ring.active().material());
        // No leftover temporary file next to it.
        let names: Vec<_> = fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");

        // The environment wins over the file.
        let k = hex::encode([9u8; KEY_LEN]);
        let (env_ring, source) = KeyRing::load_with_env(dir.path(), Some(&k)).expect("env");
        assert_eq!(source, KeySource::Environment);
        assert_eq!(env_ring.active().material(), &[9u8; KEY_LEN]);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_key_file_readable_by_others() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vault.key");
        KeyRing::new(MasterKey::generate(id("a")))
            .create_key_file(&path)
            .expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            KeyRing::read_key_file(&path),
            Err(KeyError::InsecurePermissions { mode: 0o644, .. })
        ));
    }

    #[test]
    fn key_file_round_trip_with_several_keys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys").join("vault.key");
        let mut ring = KeyRing::new(MasterKey::generate(id("old")));
        ring.create_key_file(&path).expect("create");
        assert!(ring.create_key_file(&path).is_err(), "never overwrites");
        ring.insert(MasterKey::generate(id("new"))).expect("insert");
        ring.set_active(&id("new")).expect("activate");
        ring.replace_key_file(&path).expect("replace");
        let back = KeyRing::read_key_file(&path).expect("read");
        assert_eq!(back.active().id().as_str(), "new");
        assert_eq!(back.ids().count(), 2);
        let text = fs::read_to_string(&path).expect("read text");
        assert!(text.contains("active new"));
    }

    #[test]
    fn malformed_key_files_are_refused_without_echoing_material() {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = "secretsecretsecret";
        let cases = [
            format!("key a {secret}\n"),
            format!("garbage line {secret}\n"),
            "active b\n".to_owned(),
            format!(
                "key a {}\nkey b {}\n",
                hex::encode([1u8; 32]),
                hex::encode([2u8; 32])
            ),
            String::new(),
        ];
        for (i, text) in cases.iter().enumerate() {
            let path = dir.path().join(format!("k{i}"));
            KeyRing::new(MasterKey::generate(id("x")))
                .create_key_file(&path)
                .expect("create");
            fs::write(&path, text).expect("overwrite");
            let err = KeyRing::read_key_file(&path).expect_err("malformed");
            assert!(!err.to_string().contains(secret), "{err}");
        }
    }
}
