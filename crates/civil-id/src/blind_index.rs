//! Keyed blind index of identity numbers, for lookups and uniqueness without the clear number.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::IdNumber;

/// A keyed blind index: hex HMAC-SHA256 of the canonical identity number.
///
/// Stored beside the sealed number (`id_index` next to `id_sealed`) so records can be found and
/// kept unique without decrypting. A plain hash would not do: there are only about 10^11 valid
/// numbers (a few thousand counties x ~50,000 birth dates x 1,000 sequences), so anyone holding
/// the table could hash them all and reverse it. With a secret key, enumeration needs the key.
/// The key must be a secret of at least 32 random bytes, kept apart from the database, and is
/// never printed (`Debug` redacts it).
#[derive(Clone)]
pub struct BlindIndex {
    mac: Hmac<Sha256>,
}

impl BlindIndex {
    /// Creates an index keyed with `key`.
    pub fn new(key: &[u8]) -> BlindIndex {
        let mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
        BlindIndex { mac }
    }

    /// Returns the index of a parsed identity number (64 lower-case hex characters).
    pub fn index(&self, id: &IdNumber) -> String {
        self.index_canonical(id.as_str())
    }

    /// Returns the index of a raw string, canonicalised as [`IdNumber::parse`] would store it
    /// (surrounding whitespace trimmed, letters upper-cased), so a search typed with a lower-case
    /// `x` finds the record. The string is not validated.
    pub fn index_str(&self, raw: &str) -> String {
        self.index_canonical(&raw.trim().to_ascii_uppercase())
    }

    fn index_canonical(&self, canonical: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(canonical.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndex")
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(number: &str) -> IdNumber {
        match IdNumber::parse(number) {
            Ok(id) => id,
            Err(error) => panic!("{error:?}"),
        }
    }

    #[test]
    fn the_index_is_hex_hmac_sha256_of_the_canonical_number() {
        // RFC 4231 does not cover this input; the expected value comes from
        // `printf 11010519491231002X | openssl dgst -sha256 -hmac key`.
        let index = BlindIndex::new(b"key").index(&id("11010519491231002x"));
        assert_eq!(
            index,
            "c702e187e6363f417304a7cb1ac993b0f8d3b0255ed35027ccd9ddc60b32b2d4"
        );
    }

    #[test]
    fn the_same_number_gets_the_same_index_however_it_was_typed() {
        let blind = BlindIndex::new(b"0123456789abcdef0123456789abcdef");
        let parsed = blind.index(&id("11010519491231002X"));
        assert_eq!(blind.index_str("11010519491231002x"), parsed);
        assert_eq!(blind.index_str(" 11010519491231002X\n"), parsed);
        assert_eq!(parsed.len(), 64);
    }

    #[test]
    fn a_different_key_gives_a_different_index_so_the_index_cannot_be_rebuilt_without_it() {
        let number = id("11010519491231002X");
        assert_ne!(
            BlindIndex::new(b"key one").index(&number),
            BlindIndex::new(b"key two").index(&number)
        );
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let debug = format!("{:?}", BlindIndex::new(b"super-secret"));
        assert!(!debug.contains("super-secret"), "{debug}");
    }
}
