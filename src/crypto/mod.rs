//! The only module that names cipher crates.
//!
//! - [`kdf`]: Argon2id turns a passphrase into a [`WrapKey`].
//! - [`wrap_data_key`] / [`unwrap_data_key`]: XChaCha20-Poly1305 wraps the vault's [`DataKey`].
//! - [`Sealer`]: AES-256-GCM seals records under the data key with a random 96-bit nonce.
//! - [`Sealer::index_tag`]: HMAC-SHA256 blind index, so a name can be found without decrypting
//!   every entry.
//!
//! Every key type zeroizes on drop and prints as `<redacted>` in `Debug`. The data key,
//! the wrap key and the [`Sealer`]'s cipher and derived keys live on locked pages
//! ([`Locked`]: kept out of swap where the system allows).

pub mod bundle;
pub mod kdf;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use hmac::Mac;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hygiene::Locked;
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
    fill_random(&mut out);
    out
}

/// Fills `buf` from the operating system's CSPRNG, in place (for keys on locked pages).
fn fill_random(buf: &mut [u8]) {
    // getrandom only fails when the OS has no entropy source at all; nothing safe can
    // go on. A panic (not exit) lets the TUI's hook restore the terminal first.
    if getrandom::fill(buf).is_err() {
        panic!("the operating system refused to provide random bytes");
    }
}

macro_rules! secret_key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Kept on a locked page of its own ([`Locked`]), wiped when dropped.
        pub struct $name(Locked<Zeroizing<[u8; KEY_LEN]>>);

        impl $name {
            /// An all-zero key on a fresh locked page, to be filled in place.
            fn zeroed() -> Self {
                Self(Locked::new(Zeroizing::new([0u8; KEY_LEN])))
            }

            /// Wraps raw key bytes (and wipes the copy passed in).
            pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                let mut bytes = bytes;
                let mut key = Self::zeroed();
                key.bytes_mut().copy_from_slice(&bytes);
                bytes.zeroize();
                key
            }

            /// The raw bytes, for the cipher that uses them.
            pub fn expose(&self) -> &[u8; KEY_LEN] {
                &self.0
            }

            /// The raw bytes, to fill the key in place.
            fn bytes_mut(&mut self) -> &mut [u8; KEY_LEN] {
                self.0.get_mut()
            }

            /// Whether the key's page is locked into RAM (see [`Locked`]).
            pub fn is_locked(&self) -> bool {
                self.0.is_locked()
            }
        }

        impl Clone for $name {
            /// A copy on a locked page of its own, copied in place.
            fn clone(&self) -> Self {
                let mut key = Self::zeroed();
                key.bytes_mut().copy_from_slice(self.expose());
                key
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
        let mut key = Self::zeroed();
        fill_random(key.bytes_mut());
        key
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
    if plain.len() != KEY_LEN {
        return Err(AuthFailed);
    }
    let mut key = DataKey::zeroed();
    key.bytes_mut().copy_from_slice(&plain);
    Ok(key)
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
///
/// The cipher (its expanded key) and the keys derived from the data key live on a
/// locked page of their own ([`Locked`]), wiped when the sealer is dropped.
pub struct Sealer {
    keys: Locked<SealerKeys>,
}

/// What a [`Sealer`] keeps: the record cipher and the HMAC keys.
struct SealerKeys {
    cipher: Aes256Gcm,
    index_key: Zeroizing<[u8; KEY_LEN]>,
    fingerprint_key: Zeroizing<[u8; KEY_LEN]>,
    audit_key: Zeroizing<[u8; KEY_LEN]>,
}

// Every field wipes itself on drop: the cipher through the `zeroize` feature of
// aes-gcm (AES round keys and the GHASH key), the others as `Zeroizing`.
impl ZeroizeOnDrop for SealerKeys {}

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

/// Writes a key derived from `key` for one purpose (HMAC-SHA256 with a label) into
/// `out`, and wipes the temporary copy.
fn derive_subkey(key: &[u8; KEY_LEN], label: &[u8], out: &mut [u8; KEY_LEN]) {
    let mut derived = hmac_sha256(key, label);
    out.copy_from_slice(&derived);
    derived.zeroize();
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
        let mut keys = Locked::new(SealerKeys {
            cipher: Aes256Gcm::new(key.expose().into()),
            index_key: Zeroizing::new([0; KEY_LEN]),
            fingerprint_key: Zeroizing::new([0; KEY_LEN]),
            audit_key: Zeroizing::new([0; KEY_LEN]),
        });
        let k = keys.get_mut();
        derive_subkey(key.expose(), b"keyward name index v1", &mut k.index_key);
        // Placeholders until the vault's own keys are loaded (set_stable_keys).
        derive_subkey(
            key.expose(),
            b"keyward fingerprint v1",
            &mut k.fingerprint_key,
        );
        derive_subkey(key.expose(), b"keyward audit chain v1", &mut k.audit_key);
        Self { keys }
    }

    /// Sets the fingerprint and audit-chain keys: random keys of the vault, sealed in
    /// it, that stay the same across rekeys (so revoked versions keep comparable
    /// fingerprints and the audit chain needs no rebuilding).
    pub fn set_stable_keys(&mut self, keys: &StableKeys) {
        let k = self.keys.get_mut();
        k.fingerprint_key.copy_from_slice(&keys.fingerprint);
        k.audit_key.copy_from_slice(&keys.audit);
    }

    /// Whether the cipher and its keys are on a page locked into RAM.
    pub fn is_locked(&self) -> bool {
        self.keys.is_locked()
    }

    /// A keyed fingerprint of a secret: equal secrets give equal fingerprints (to find
    /// duplicates and refuse reuse), and nothing can be learnt from it without the key.
    pub fn fingerprint(&self, secret: &[u8]) -> [u8; 32] {
        hmac_sha256(self.keys.fingerprint_key.as_slice(), secret)
    }

    /// The next link of the audit chain: a MAC over the previous link and the event.
    pub fn audit_link(&self, previous: &[u8; 32], event: &[u8]) -> [u8; 32] {
        let mut data = Vec::with_capacity(32 + event.len());
        data.extend_from_slice(previous);
        data.extend_from_slice(event);
        hmac_sha256(self.keys.audit_key.as_slice(), &data)
    }

    /// Encrypts `plaintext` with `aad` bound to it.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; SEAL_NONCE_LEN] = random_bytes();
        let ct = self
            .keys
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
        self.keys
            .cipher
            .decrypt(&nonce.into(), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| AuthFailed)
    }

    /// A keyed tag of `name` for the name index: equal names give equal tags, and
    /// nothing about the name can be read back without the data key.
    pub fn index_tag(&self, name: &str) -> [u8; 32] {
        hmac_sha256(self.keys.index_key.as_slice(), name.as_bytes())
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
    fn keys_live_on_locked_pages() {
        let dk = DataKey::generate();
        let wk = kdf::derive(b"pw", &[1; 16], &SMALL_KDF).unwrap();
        let sealer = Sealer::new(&dk);
        let copy = dk.clone();
        assert_eq!(copy.expose(), dk.expose());
        assert_ne!(dk.expose(), &[0; KEY_LEN]);
        if crate::hygiene::can_lock(8) {
            assert!(dk.is_locked() && wk.is_locked() && sealer.is_locked() && copy.is_locked());
        } else {
            eprintln!("skipped the lock checks: RLIMIT_MEMLOCK is too low here");
        }
        let sealed = sealer.seal(b"aad", b"x");
        assert_eq!(sealer.open(b"aad", &sealed).unwrap().as_slice(), b"x");
    }

    const SMALL_KDF: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

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
