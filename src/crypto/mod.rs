//! The only module that names cipher crates.
//!
//! - [`kdf`]: Argon2id turns a passphrase into a [`WrapKey`].
//! - [`wrap_data_key`] / [`unwrap_data_key`]: XChaCha20-Poly1305 wraps the vault's [`DataKey`].
//! - [`Sealer`]: AES-256-GCM seals records under the data key with a random 96-bit nonce.
//! - [`Sealer::index_tag`]: HMAC-SHA256 blind index, so a name can be found without decrypting
//!   every entry.
//!
//! Every key type zeroizes on drop and prints as `<redacted>` in `Debug`.

pub mod bundle;
pub mod kdf;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use hmac::Mac;
use zeroize::{Zeroize, Zeroizing};

pub use kdf::KdfParams;

/// AES-GCM nonce length (96 bits, NIST SP 800-38D).
pub const SEAL_NONCE_LEN: usize = 12;
/// XChaCha20-Poly1305 nonce length.
pub const WRAP_NONCE_LEN: usize = 24;
/// AEAD tag length for both ciphers.
pub const TAG_LEN: usize = 16;
/// Length of every symmetric key keyward uses.
pub const KEY_LEN: usize = 32;

/// An authentication tag did not verify: wrong key, or the bytes or their context changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed")]
pub struct AuthFailed;

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all; nothing safe can
    // go on. A panic (not exit) lets the TUI's hook restore the terminal first.
    if getrandom::fill(&mut out).is_err() {
        panic!("the operating system refused to provide random bytes");
    }
    out
}

macro_rules! secret_key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<[u8; KEY_LEN]>);

        impl $name {
            /// Wraps raw key bytes.
            pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                let mut bytes = bytes;
                let key = Self(Zeroizing::new(bytes));
                bytes.zeroize();
                key
            }

            /// The raw bytes, for the cipher that uses them.
            pub fn expose(&self) -> &[u8; KEY_LEN] {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_key_type!(
    /// The random 256-bit key every record is sealed under.
    DataKey
);
secret_key_type!(
    /// The Argon2id output that wraps the [`DataKey`].
    WrapKey
);

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }
}

/// Wraps the data key with XChaCha20-Poly1305; `aad` binds every other header field.
/// Returns the random nonce and the ciphertext with its tag.
pub fn wrap_data_key(
    wrap_key: &WrapKey,
    aad: &[u8],
    data_key: &DataKey,
) -> ([u8; WRAP_NONCE_LEN], Vec<u8>) {
    let cipher = XChaCha20Poly1305::new(wrap_key.expose().into());
    let nonce: [u8; WRAP_NONCE_LEN] = random_bytes();
    let payload = Payload {
        msg: data_key.expose(),
        aad,
    };
    // Encryption with a valid key and in-memory buffers cannot fail.
    let wrapped = cipher
        .encrypt(&nonce.into(), payload)
        .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 encryption is infallible"));
    (nonce, wrapped)
}

/// Unwraps the data key. Its tag is the passphrase check: a wrong passphrase and a
/// tampered header are indistinguishable, and both fail here.
pub fn unwrap_data_key(
    wrap_key: &WrapKey,
    aad: &[u8],
    nonce: &[u8; WRAP_NONCE_LEN],
    wrapped: &[u8],
) -> Result<DataKey, AuthFailed> {
    let cipher = XChaCha20Poly1305::new(wrap_key.expose().into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(&(*nonce).into(), Payload { msg: wrapped, aad })
            .map_err(|_| AuthFailed)?,
    );
    let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| AuthFailed)?;
    Ok(DataKey::from_bytes(bytes))
}

/// SHA-256 of `data` (AWS SigV4 needs it for request signing).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// HMAC-SHA256 of `data` under `key` (AWS SigV4's signing chain).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Seals and opens records under one data key (AES-256-GCM, random 96-bit nonces).
/// Sealed form: `nonce (12) || ciphertext || tag (16)`.
pub struct Sealer {
    cipher: Aes256Gcm,
    index_key: Zeroizing<[u8; KEY_LEN]>,
    fingerprint_key: Zeroizing<[u8; KEY_LEN]>,
    audit_key: Zeroizing<[u8; KEY_LEN]>,
}

/// The vault's keys that survive a rekey (stored sealed under the data key).
#[derive(Clone, serde::Serialize, serde::Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct StableKeys {
    /// Keys the fingerprints of secrets.
    pub fingerprint: [u8; KEY_LEN],
    /// Keys the links of the audit chain.
    pub audit: [u8; KEY_LEN],
}

impl StableKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        Self {
            fingerprint: random_bytes(),
            audit: random_bytes(),
        }
    }
}

impl std::fmt::Debug for StableKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StableKeys(<redacted>)")
    }
}

/// A key derived from the data key for one purpose (HMAC-SHA256 with a label).
fn derive_subkey(key: &DataKey, label: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    Zeroizing::new(hmac_sha256(key.expose(), label))
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl Sealer {
    /// Prepares the cipher (key schedule once) and the blind-index key for `key`.
    pub fn new(key: &DataKey) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.expose().into()),
            index_key: derive_subkey(key, b"keyward name index v1"),
            // Placeholders until the vault's own keys are loaded (set_stable_keys).
            fingerprint_key: derive_subkey(key, b"keyward fingerprint v1"),
            audit_key: derive_subkey(key, b"keyward audit chain v1"),
        }
    }

    /// Sets the fingerprint and audit-chain keys: random keys of the vault, sealed in
    /// it, that stay the same across rekeys (so revoked versions keep comparable
    /// fingerprints and the audit chain needs no rebuilding).
    pub fn set_stable_keys(&mut self, keys: &StableKeys) {
        self.fingerprint_key = Zeroizing::new(keys.fingerprint);
        self.audit_key = Zeroizing::new(keys.audit);
    }

    /// A keyed fingerprint of a secret: equal secrets give equal fingerprints (to find
    /// duplicates and refuse reuse), and nothing can be learnt from it without the key.
    pub fn fingerprint(&self, secret: &[u8]) -> [u8; 32] {
        hmac_sha256(self.fingerprint_key.as_slice(), secret)
    }

    /// The next link of the audit chain: a MAC over the previous link and the event.
    pub fn audit_link(&self, previous: &[u8; 32], event: &[u8]) -> [u8; 32] {
        let mut data = Vec::with_capacity(32 + event.len());
        data.extend_from_slice(previous);
        data.extend_from_slice(event);
        hmac_sha256(self.audit_key.as_slice(), &data)
    }

    /// Encrypts `plaintext` with `aad` bound to it.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; SEAL_NONCE_LEN] = random_bytes();
        let ct = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_else(|_| unreachable!("AES-GCM encryption of a record cannot fail"));
        let mut out = Vec::with_capacity(SEAL_NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a sealed record; fails if the bytes or `aad` differ from sealing time.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthFailed> {
        if sealed.len() < SEAL_NONCE_LEN + TAG_LEN {
            return Err(AuthFailed);
        }
        let (nonce, ct) = sealed.split_at(SEAL_NONCE_LEN);
        let nonce: [u8; SEAL_NONCE_LEN] = nonce.try_into().map_err(|_| AuthFailed)?;
        self.cipher
            .decrypt(&nonce.into(), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| AuthFailed)
    }

    /// A keyed tag of `name` for the name index: equal names give equal tags, and
    /// nothing about the name can be read back without the data key.
    pub fn index_tag(&self, name: &str) -> [u8; 32] {
        hmac_sha256(self.index_key.as_slice(), name.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let sealer = Sealer::new(&DataKey::generate());
        let sealed = sealer.seal(b"ctx-a", b"hello");
        assert_eq!(sealer.open(b"ctx-a", &sealed).unwrap().as_slice(), b"hello");
        assert_eq!(sealer.open(b"ctx-b", &sealed), Err(AuthFailed));
        let other = Sealer::new(&DataKey::generate());
        assert_eq!(other.open(b"ctx-a", &sealed), Err(AuthFailed));
    }

    #[test]
    fn every_single_byte_flip_fails() {
        let sealer = Sealer::new(&DataKey::generate());
        let sealed = sealer.seal(b"aad", b"a secret value");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(sealer.open(b"aad", &bad), Err(AuthFailed), "byte {i}");
        }
    }

    #[test]
    fn wrap_unwrap_and_tamper() {
        let wk = WrapKey::from_bytes(random_bytes());
        let dk = DataKey::generate();
        let (nonce, wrapped) = wrap_data_key(&wk, b"header", &dk);
        let back = unwrap_data_key(&wk, b"header", &nonce, &wrapped).unwrap();
        assert_eq!(back.expose(), dk.expose());
        assert!(unwrap_data_key(&wk, b"headeR", &nonce, &wrapped).is_err());
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x80;
            assert!(unwrap_data_key(&wk, b"header", &nonce, &bad).is_err());
        }
    }

    #[test]
    fn debug_is_redacted() {
        let dk = DataKey::from_bytes([0x41; 32]);
        let s = format!("{dk:?} {:?}", Sealer::new(&dk));
        assert!(
            !s.contains("65") && !s.contains("41") && s.contains("redacted"),
            "{s}"
        );
    }

    #[test]
    fn hash_known_answers() {
        // FIPS 180-2 "abc", RFC 4231 test case 2.
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn index_tags_are_keyed() {
        let a = Sealer::new(&DataKey::generate());
        let b = Sealer::new(&DataKey::generate());
        assert_eq!(a.index_tag("openai-prod"), a.index_tag("openai-prod"));
        assert_ne!(a.index_tag("openai-prod"), a.index_tag("openai-dev"));
        assert_ne!(a.index_tag("openai-prod"), b.index_tag("openai-prod"));
    }
}
