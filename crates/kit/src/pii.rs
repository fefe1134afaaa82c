//! Personal identity numbers at rest: sealed with AES-256-GCM and found through a keyed blind
//! index (HMAC-SHA256), so the database alone reveals neither the number nor, by enumerating
//! the small ID space, which row belongs to whom (PIPL art. 28, 等保 level 3).
//!
//! The algorithms sit behind this one type so SM4 / SM3 can replace them by configuration
//! where approved commercial cryptography is required.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Config;

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
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

impl Sealer {
    /// Derives the sealing and index keys from one 32-byte master key.
    pub fn new(master: &[u8; 32]) -> Self {
        let derive = |label: &[u8]| {
            let mut h = Sha256::new();
            h.update(label);
            h.update(master);
            h.finalize()
        };
        let enc = derive(b"civil/pii/seal/v1");
        let idx = derive(b"civil/pii/blind-index/v1");
        Self {
            cipher: Aes256Gcm::new_from_slice(&enc).expect("32-byte key"),
            blind: civil_id::BlindIndex::new(&idx),
        }
    }

    /// From `CIVIL_PII_KEY`, or a dev key kept in the data directory (created on first start).
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
        let bytes = hex::decode(hex_key.trim())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("PII key must be 32 bytes"))?;
        Ok(Self::new(&key))
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

    pub fn open(&self, sealed: &str) -> Result<String, OpenError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| OpenError)?;
        if raw.len() < 12 {
            return Err(OpenError);
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError)?;
        let pt = self
            .cipher
            .decrypt(&Nonce::from(nonce), ct)
            .map_err(|_| OpenError)?;
        String::from_utf8(pt).map_err(|_| OpenError)
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
}
