//! The vault header: a small file beside the sled database, read and checked before
//! sled is opened, so a wrong passphrase or an unknown format touches nothing.
//!
//! Layout (integers little-endian), documented in docs/FORMAT.md:
//!
//! ```text
//! magic "KEYWARD\0" (8) | format version u32 | vault id (16) | kdf id u8 |
//! memory KiB u32 | iterations u32 | parallelism u32 | salt length u8 | salt |
//! key epoch u64 | wrap nonce (24) | wrapped data key (48)
//! ```
//!
//! Everything before the wrap nonce is the associated data of the wrap.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::crypto::kdf::{KDF_ARGON2ID_V13, SALT_LEN};
use crate::crypto::{KEY_LEN, KdfParams, TAG_LEN, WRAP_NONCE_LEN};
use crate::error::{Error, Result};

/// First bytes of every header file.
pub const MAGIC: &[u8; 8] = b"KEYWARD\0";
/// The format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// File name of the header inside the vault directory.
pub const HEADER_FILE: &str = "header";
/// File name of a header being replaced (passwd, rekey); see [`Header::path_new`].
pub const HEADER_NEW_FILE: &str = "header.new";

/// A parsed vault header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Random id of this vault, bound into every record's associated data.
    pub vault_id: [u8; 16],
    /// Argon2id parameters.
    pub kdf: KdfParams,
    /// Argon2id salt.
    pub salt: Vec<u8>,
    /// Which data key this header wraps; matches the sled state after a rekey.
    pub key_epoch: u64,
    /// XChaCha20-Poly1305 nonce of the wrap.
    pub wrap_nonce: [u8; WRAP_NONCE_LEN],
    /// The wrapped data key (32 bytes + 16-byte tag).
    pub wrapped_key: Vec<u8>,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(Error::Corrupt("the vault header is truncated".into()));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

impl Header {
    /// The associated data of the key wrap: every field before the wrap nonce.
    pub fn aad(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.vault_id);
        out.push(KDF_ARGON2ID_V13);
        out.extend_from_slice(&self.kdf.memory_kib.to_le_bytes());
        out.extend_from_slice(&self.kdf.iterations.to_le_bytes());
        out.extend_from_slice(&self.kdf.parallelism.to_le_bytes());
        out.push(self.salt.len() as u8);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.key_epoch.to_le_bytes());
        out
    }

    /// The header's bytes on disk.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.aad();
        out.extend_from_slice(&self.wrap_nonce);
        out.extend_from_slice(&self.wrapped_key);
        out
    }

    /// Parses a header. The version is checked right after the magic, so an unknown
    /// format is reported as such whatever follows it.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader { bytes };
        if r.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
            return Err(Error::Corrupt(
                "the header is not a keyward vault header".into(),
            ));
        }
        let version = r.u32()?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedFormat(version));
        }
        let vault_id = r.array::<16>()?;
        let kdf_id = r.u8()?;
        if kdf_id != KDF_ARGON2ID_V13 {
            return Err(Error::Corrupt(format!(
                "unknown KDF id {kdf_id} in the header"
            )));
        }
        let kdf = KdfParams {
            memory_kib: r.u32()?,
            iterations: r.u32()?,
            parallelism: r.u32()?,
        };
        let salt_len = r.u8()? as usize;
        if salt_len < 16 {
            return Err(Error::Corrupt(format!(
                "a {salt_len}-byte salt in the header"
            )));
        }
        let salt = r.take(salt_len)?.to_vec();
        let key_epoch = r.u64()?;
        let wrap_nonce = r.array::<WRAP_NONCE_LEN>()?;
        let wrapped_key = r.take(KEY_LEN + TAG_LEN)?.to_vec();
        if !r.bytes.is_empty() {
            return Err(Error::Corrupt(
                "trailing bytes after the vault header".into(),
            ));
        }
        Ok(Self {
            version,
            vault_id,
            kdf,
            salt,
            key_epoch,
            wrap_nonce,
            wrapped_key,
        })
    }

    /// A fresh salt of the standard length.
    pub fn new_salt() -> Vec<u8> {
        crate::crypto::random_bytes::<SALT_LEN>().to_vec()
    }

    /// Path of the header file in `vault_dir`.
    pub fn path(vault_dir: &Path) -> PathBuf {
        vault_dir.join(HEADER_FILE)
    }

    /// Path of a replacement header being written in `vault_dir`.
    pub fn path_new(vault_dir: &Path) -> PathBuf {
        vault_dir.join(HEADER_NEW_FILE)
    }

    /// Reads a header file; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        match fs::read(path) {
            Ok(bytes) => Self::decode(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Writes this header as `header.new` (mode 0600) and syncs it. Call
    /// [`Header::commit_new`] to make it the vault's header.
    pub fn write_new(&self, vault_dir: &Path) -> Result<()> {
        let path = Self::path_new(vault_dir);
        let ctx = |e| Error::io(format!("cannot write {}", path.display()), e);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(ctx)?;
        f.write_all(&self.encode()).map_err(ctx)?;
        f.sync_all().map_err(ctx)
    }

    /// Atomically replaces `header` with `header.new` and syncs the directory.
    pub fn commit_new(vault_dir: &Path) -> Result<()> {
        let from = Self::path_new(vault_dir);
        let to = Self::path(vault_dir);
        fs::rename(&from, &to)
            .map_err(|e| Error::io(format!("cannot replace {}", to.display()), e))?;
        sync_dir(vault_dir)
    }

    /// Removes a stale `header.new`, if any.
    pub fn discard_new(vault_dir: &Path) -> Result<()> {
        match fs::remove_file(Self::path_new(vault_dir)) {
            Ok(()) => sync_dir(vault_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot remove header.new", e)),
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            version: FORMAT_VERSION,
            vault_id: [7; 16],
            kdf: KdfParams {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            salt: vec![9; 32],
            key_epoch: 3,
            wrap_nonce: [1; 24],
            wrapped_key: vec![2; 48],
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(Header::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn unknown_version_is_named() {
        let mut bytes = sample().encode();
        bytes[8..12].copy_from_slice(&9u32.to_le_bytes());
        let err = Header::decode(&bytes).unwrap_err();
        assert_eq!(
            err.to_string().split(';').next(),
            Some("unsupported vault format 9")
        );
    }

    #[test]
    fn truncated_and_foreign_headers_are_refused() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(Header::decode(&bytes[..n]).is_err(), "{n}");
        }
        assert!(Header::decode(b"SQLite format 3\0....").is_err());
    }
}
