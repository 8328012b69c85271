//! Backup bundles: one file sealed with XChaCha20-Poly1305 under a key derived by
//! Argon2id from a passphrase of the bundle's own. Layout (docs/FORMAT.md, section 9;
//! integers little-endian):
//!
//! ```text
//! magic "KWBUNDLE" (8) | format version u32 | kdf id u8 | memory KiB u32 |
//! iterations u32 | parallelism u32 | salt (32) | nonce (24) | key check (32) |
//! ciphertext || tag (16) | SHA-256 of everything before it (32)
//! ```
//!
//! The 113 header bytes are the associated data of the AEAD. The Argon2id output is
//! not used directly: the AEAD key and the key check are HMAC-SHA256 of it under two
//! labels. The key check tells a wrong passphrase (exit 3) from a bundle altered after
//! it was sealed (exit 7); guessing against it costs one Argon2id derivation a guess,
//! like guessing against the tag. The trailing digest (unkeyed) catches a truncated or
//! altered file before anything is derived.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use zeroize::Zeroizing;

use super::kdf::{self, KDF_ARGON2ID_V13, KdfParams};
use super::{TAG_LEN, WRAP_NONCE_LEN, WrapKey, derive_subkey, hmac_sha256, random_bytes, sha256};
use crate::error::{Error, Result, exit};

/// First bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"KWBUNDLE";
/// The bundle format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Salt length (fixed).
pub const SALT_LEN: usize = 32;
/// Length of the key check.
pub const CHECK_LEN: usize = 32;
/// Header length: magic, version, KDF id and parameters, salt, nonce, key check.
pub const HEADER_LEN: usize = 8 + 4 + 1 + 12 + SALT_LEN + WRAP_NONCE_LEN + CHECK_LEN;
/// Length of the trailing SHA-256.
pub const DIGEST_LEN: usize = 32;
/// The shortest possible bundle (an empty plaintext).
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN + DIGEST_LEN;

const KEY_LABEL: &[u8] = b"keyward bundle key v1";
const CHECK_LABEL: &[u8] = b"keyward bundle check v1";

/// Why a bundle cannot be opened. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The key check does not match: the passphrase is not the bundle's.
    #[error("wrong bundle passphrase")]
    WrongPassphrase,
    /// Not a bundle, truncated, altered, or its contents fail authentication.
    #[error("damaged or tampered with ({0})")]
    Damaged(String),
    /// Written by a newer keyward (the text says which format).
    #[error("{0}")]
    Unsupported(String),
    /// Argon2id parameters outside what keyward runs (refused before any allocation).
    #[error("asks for {0}, which keyward refuses to run")]
    KdfRefused(String),
}

impl BundleError {
    /// The process exit code: 3 for a wrong passphrase, 7 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            BundleError::WrongPassphrase => exit::WRONG_PASSPHRASE,
            _ => exit::DAMAGED,
        }
    }
}

/// A bundle's parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleHeader {
    /// Argon2id parameters of the bundle key.
    pub kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; WRAP_NONCE_LEN],
    check: [u8; CHECK_LEN],
}

/// The AEAD key and the key check, from the Argon2id output.
fn split_key(passphrase: &[u8], salt: &[u8], params: &KdfParams) -> Result<BundleKeys> {
    let master = kdf::derive(passphrase, salt, params)?;
    // The AEAD key is derived in place, on a locked page like the master key.
    let mut aead = WrapKey::zeroed();
    derive_subkey(master.expose(), KEY_LABEL, aead.bytes_mut());
    Ok(BundleKeys {
        aead,
        check: hmac_sha256(master.expose(), CHECK_LABEL),
    })
}

/// The bundle's AEAD key and its key check (stored in the bundle: not a secret).
struct BundleKeys {
    aead: WrapKey,
    check: [u8; CHECK_LEN],
}

/// Equal in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Seals `plaintext` into a bundle under `passphrase` with `params` (checked first).
pub fn seal(passphrase: &[u8], params: &KdfParams, plaintext: &[u8]) -> Result<Vec<u8>> {
    params.check_bounds()?;
    let salt: [u8; SALT_LEN] = random_bytes();
    let nonce: [u8; WRAP_NONCE_LEN] = random_bytes();
    let keys = split_key(passphrase, &salt, params)?;
    let mut out = Vec::with_capacity(MIN_LEN + plaintext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(KDF_ARGON2ID_V13);
    out.extend_from_slice(&params.memory_kib.to_le_bytes());
    out.extend_from_slice(&params.iterations.to_le_bytes());
    out.extend_from_slice(&params.parallelism.to_le_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&keys.check);
    debug_assert_eq!(out.len(), HEADER_LEN);
    let cipher = XChaCha20Poly1305::new(keys.aead.expose().into());
    let sealed = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad: &out,
            },
        )
        .map_err(|_| Error::Storage("cannot encrypt the bundle".into()))?;
    out.extend_from_slice(&sealed);
    let digest = sha256(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// Checks everything that needs no passphrase, in this order: the magic, the trailing
/// digest, the format version, the length, the KDF id, the KDF bounds. Derives nothing
/// and allocates nothing.
pub fn inspect(bytes: &[u8]) -> Result<BundleHeader, BundleError> {
    let damaged = |why: &str| Err(BundleError::Damaged(why.to_string()));
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return damaged("not a keyward backup bundle");
    }
    if bytes.len() < MAGIC.len() + 4 + DIGEST_LEN {
        return damaged("truncated");
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if !same(&sha256(body), digest) {
        return damaged("its checksum does not match: truncated or altered");
    }
    let version = u32_at(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(BundleError::Unsupported(format!(
            "uses bundle format {version}, which this keyward cannot read (it reads format {FORMAT_VERSION}); upgrade keyward"
        )));
    }
    if bytes.len() < MIN_LEN {
        return damaged("truncated");
    }
    if bytes[12] != KDF_ARGON2ID_V13 {
        return damaged(&format!("unknown KDF id {}", bytes[12]));
    }
    let kdf = KdfParams {
        memory_kib: u32_at(bytes, 13),
        iterations: u32_at(bytes, 17),
        parallelism: u32_at(bytes, 21),
    };
    kdf.check_bounds().map_err(|e| match e {
        Error::KdfRefused(what) => BundleError::KdfRefused(what),
        other => BundleError::Damaged(other.to_string()),
    })?;
    let mut header = BundleHeader {
        kdf,
        salt: [0; SALT_LEN],
        nonce: [0; WRAP_NONCE_LEN],
        check: [0; CHECK_LEN],
    };
    let mut at = 25;
    header.salt.copy_from_slice(&bytes[at..at + SALT_LEN]);
    at += SALT_LEN;
    header
        .nonce
        .copy_from_slice(&bytes[at..at + WRAP_NONCE_LEN]);
    at += WRAP_NONCE_LEN;
    header.check.copy_from_slice(&bytes[at..at + CHECK_LEN]);
    Ok(header)
}

/// Opens a bundle: [`inspect`], then one Argon2id derivation, the key check (a
/// mismatch is a wrong passphrase) and the AEAD (a failure is tampering).
pub fn open(bytes: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, BundleError> {
    let header = inspect(bytes)?;
    let keys = split_key(passphrase, &header.salt, &header.kdf).map_err(|e| match e {
        Error::KdfRefused(what) => BundleError::KdfRefused(what),
        other => BundleError::Damaged(other.to_string()),
    })?;
    if !same(&keys.check, &header.check) {
        return Err(BundleError::WrongPassphrase);
    }
    let cipher = XChaCha20Poly1305::new(keys.aead.expose().into());
    let sealed = &bytes[HEADER_LEN..bytes.len() - DIGEST_LEN];
    cipher
        .decrypt(
            &header.nonce.into(),
            Payload {
                msg: sealed,
                aad: &bytes[..HEADER_LEN],
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| BundleError::Damaged("its contents failed authentication".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn redigest(bytes: &mut Vec<u8>) {
        let n = bytes.len() - DIGEST_LEN;
        let d = sha256(&bytes[..n]);
        bytes.truncate(n);
        bytes.extend_from_slice(&d);
    }

    #[test]
    fn round_trip() {
        let b = seal(b"pw", &SMALL, b"hello bundle").unwrap();
        assert_eq!(&b[..8], MAGIC);
        assert_eq!(b.len(), MIN_LEN + 12);
        assert_eq!(open(&b, b"pw").unwrap().as_slice(), b"hello bundle");
        assert_eq!(inspect(&b).unwrap().kdf, SMALL);
        let empty = seal(b"pw", &SMALL, b"").unwrap();
        assert!(open(&empty, b"pw").unwrap().is_empty());
    }

    #[test]
    fn wrong_passphrase_is_told_apart() {
        let b = seal(b"pw", &SMALL, b"x").unwrap();
        assert_eq!(open(&b, b"pW"), Err(BundleError::WrongPassphrase));
    }

    #[test]
    fn every_byte_flip_and_truncation_is_damage() {
        let b = seal(b"pw", &SMALL, b"some contents").unwrap();
        for i in 0..b.len() {
            let mut bad = b.clone();
            bad[i] ^= 0x01;
            let e = open(&bad, b"pw").unwrap_err();
            assert_ne!(e, BundleError::WrongPassphrase, "byte {i}");
            assert_eq!(e.exit_code(), exit::DAMAGED, "byte {i}");
        }
        for n in 0..b.len() {
            assert_eq!(open(&b[..n], b"pw").unwrap_err().exit_code(), 7, "{n}");
        }
    }

    #[test]
    fn altered_contents_with_a_new_digest_fail_authentication() {
        let mut b = seal(b"pw", &SMALL, b"some contents").unwrap();
        b[HEADER_LEN + 1] ^= 0x80;
        redigest(&mut b);
        assert!(matches!(open(&b, b"pw"), Err(BundleError::Damaged(_))));
    }

    #[test]
    fn absurd_parameters_are_refused_before_deriving() {
        let b = seal(b"pw", &SMALL, b"x").unwrap();
        for (at, value) in [(13, u32::MAX), (17, 0), (17, 5000), (21, 0), (21, 65)] {
            let mut bad = b.clone();
            bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
            redigest(&mut bad);
            assert!(
                matches!(inspect(&bad), Err(BundleError::KdfRefused(_))),
                "{at} {value}"
            );
        }
    }

    #[test]
    fn newer_format_is_named() {
        let mut b = seal(b"pw", &SMALL, b"x").unwrap();
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        redigest(&mut b);
        match open(&b, b"pw") {
            Err(BundleError::Unsupported(s)) => assert!(s.contains("format 2"), "{s}"),
            other => panic!("{other:?}"),
        }
    }
}
