//! Personal identity numbers at rest: sealed with AES-256-GCM and found through a keyed blind
//! index (HMAC-SHA256), so the database alone reveals neither the number nor, by enumerating
//! the small ID space, which row belongs to whom (PIPL art. 28, 等保 level 3).
//!
//! Key rotation (docs/operations/keys.md): values are sealed with the current key
//! (`CIVIL_PII_KEY`) and opened with the current or the previous one (`CIVIL_PII_KEY_PREVIOUS`);
//! AES-GCM's tag tells which key sealed a value, so the sealed text carries no key id and
//! values sealed before rotation existed stay valid. The blind index is keyed from
//! `CIVIL_PII_INDEX_KEY` when set, else from `CIVIL_PII_KEY`, derived exactly as before either
//! way, so existing indexes keep matching while the sealing key changes.
//!
//! The algorithms sit behind this one type so SM4 / SM3 can replace them by configuration
//! where approved commercial cryptography is required.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::{Config, Secret};

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
    /// The key being rotated away from: opens, never seals.
    previous: Option<Aes256Gcm>,
    blind: civil_id::BlindIndex,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value cannot be opened (wrong key or corrupted)")]
pub struct OpenError;

/// One derived key of a 32-byte master key (the derivation every release has used).
fn derive(label: &[u8], master: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(master);
    h.finalize().into()
}

fn cipher_of(master: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(&derive(b"civil/pii/seal/v1", master)).expect("32-byte key")
}

fn parse_key(name: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(text.trim()).map_err(|_| anyhow::anyhow!("{name} must be hex"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("{name} must be 32 bytes (64 hex characters)"))
}

impl Sealer {
    /// Derives the sealing and index keys from one 32-byte master key.
    pub fn new(master: &[u8; 32]) -> Self {
        Self::with_keys(master, None, None)
    }

    /// A sealer during a key rotation: seals with `current`, opens with `current` or
    /// `previous`, and keys the blind index from `index` (a master key, derived as in
    /// [`Sealer::new`]) or else from `current`.
    pub fn with_keys(
        current: &[u8; 32],
        previous: Option<&[u8; 32]>,
        index: Option<&[u8; 32]>,
    ) -> Self {
        let idx = derive(b"civil/pii/blind-index/v1", index.unwrap_or(current));
        Self {
            cipher: cipher_of(current),
            previous: previous.map(cipher_of),
            blind: civil_id::BlindIndex::new(&idx),
        }
    }

    /// From `CIVIL_PII_KEY` (with `CIVIL_PII_KEY_PREVIOUS` and `CIVIL_PII_INDEX_KEY` when set),
    /// or a dev key kept in the data directory (created on first start).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let hex_key = match &config.pii_key {
            Some(k) => k.0.clone(),
            None => {
                let path = config.data_dir.join("pii.key");
                if path.exists() {
                    std::fs::read_to_string(&path)?.trim().to_owned()
                } else {
                    if config.database_url.is_some() {
                        tracing::warn!(
                            "CIVIL_PII_KEY is not set; using a generated key file (development only)"
                        );
                    }
                    std::fs::create_dir_all(&config.data_dir)?;
                    let mut key = [0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut key);
                    let text = hex::encode(key);
                    std::fs::write(&path, &text)?;
                    text
                }
            }
        };
        let current = parse_key("CIVIL_PII_KEY", &hex_key)?;
        let optional = |name: &str, s: &Option<Secret>| -> anyhow::Result<Option<[u8; 32]>> {
            s.as_ref().map(|k| parse_key(name, &k.0)).transpose()
        };
        let previous = optional("CIVIL_PII_KEY_PREVIOUS", &config.pii_key_previous)?;
        let index = optional("CIVIL_PII_INDEX_KEY", &config.pii_index_key)?;
        Ok(Self::with_keys(&current, previous.as_ref(), index.as_ref()))
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .expect("AES-GCM encrypts");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    /// Opens a value sealed with the current or the previous key.
    pub fn open(&self, sealed: &str) -> Result<String, OpenError> {
        self.open_with_key(sealed).map(|(text, _)| text)
    }

    /// Re-seals a value for a key rotation: `Ok(None)` when it is already sealed with the
    /// current key, `Ok(Some(resealed))` when it was sealed with the previous one.
    pub fn reseal(&self, sealed: &str) -> Result<Option<String>, OpenError> {
        match self.open_with_key(sealed)? {
            (_, Key::Current) => Ok(None),
            (text, Key::Previous) => Ok(Some(self.seal(&text))),
        }
    }

    fn open_with_key(&self, sealed: &str) -> Result<(String, Key), OpenError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| OpenError)?;
        if raw.len() < 12 {
            return Err(OpenError);
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError)?;
        let nonce = Nonce::from(nonce);
        let (pt, key) = match self.cipher.decrypt(&nonce, ct) {
            Ok(pt) => (pt, Key::Current),
            Err(_) => {
                let previous = self.previous.as_ref().ok_or(OpenError)?;
                let pt = previous.decrypt(&nonce, ct).map_err(|_| OpenError)?;
                (pt, Key::Previous)
            }
        };
        String::from_utf8(pt)
            .map(|t| (t, key))
            .map_err(|_| OpenError)
    }

    /// The blind index of an identity number (lookups, uniqueness, audit object names).
    pub fn index(&self, id: &civil_id::IdNumber) -> String {
        self.blind.index(id)
    }

    /// Seals and indexes an identity number in one go: `(sealed, index)`.
    pub fn protect(&self, id: &civil_id::IdNumber) -> (String, String) {
        (self.seal(id.as_str()), self.index(id))
    }
}

#[derive(Clone, Copy)]
enum Key {
    Current,
    Previous,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_number_opens_only_with_the_same_key() {
        let a = Sealer::new(&[7; 32]);
        let b = Sealer::new(&[8; 32]);
        let sealed = a.seal("11010519491231002X");
        assert!(!sealed.contains("110105"));
        assert_eq!(a.open(&sealed).expect("opens"), "11010519491231002X");
        assert!(b.open(&sealed).is_err());
    }

    #[test]
    fn the_blind_index_is_stable_and_keyed() {
        let id = civil_id::IdNumber::parse("11010519491231002X").expect("valid");
        assert_eq!(
            Sealer::new(&[7; 32]).index(&id),
            Sealer::new(&[7; 32]).index(&id)
        );
        assert_ne!(
            Sealer::new(&[7; 32]).index(&id),
            Sealer::new(&[8; 32]).index(&id)
        );
    }
    #[test]
    fn during_a_rotation_both_keys_open_and_only_the_new_one_seals() {
        let old = Sealer::new(&[7; 32]);
        let rotating = Sealer::with_keys(&[8; 32], Some(&[7; 32]), Some(&[7; 32]));
        let under_old = old.seal("11010519491231002X");
        assert_eq!(
            rotating.open(&under_old).expect("opens"),
            "11010519491231002X"
        );
        let resealed = rotating
            .reseal(&under_old)
            .expect("opens")
            .expect("re-sealed");
        assert!(rotating.reseal(&resealed).expect("opens").is_none());
        assert!(old.open(&resealed).is_err());
        let after = Sealer::with_keys(&[8; 32], None, Some(&[7; 32]));
        assert_eq!(after.open(&resealed).expect("opens"), "11010519491231002X");
        assert!(after.open(&under_old).is_err());
    }

    #[test]
    fn the_index_key_keeps_the_blind_index_byte_identical_across_a_rotation() {
        let id = civil_id::IdNumber::parse("11010519491231002X").expect("valid");
        let before = Sealer::new(&[7; 32]).index(&id);
        assert_eq!(
            Sealer::with_keys(&[8; 32], Some(&[7; 32]), Some(&[7; 32])).index(&id),
            before
        );
        assert_eq!(
            Sealer::with_keys(&[8; 32], None, Some(&[7; 32])).index(&id),
            before
        );
        assert_ne!(Sealer::with_keys(&[8; 32], None, None).index(&id), before);
    }
}
