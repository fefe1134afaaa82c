//! List paging (AIP-158): page sizes and opaque page tokens bound to the list's filter.
//!
//! - `page_size` below 0 is INVALID_ARGUMENT; 0 means the default; above the maximum it is
//!   capped to the maximum (never refused).
//! - A page token is opaque to the caller. It carries where the next page starts (a cursor the
//!   service chooses, e.g. the last id it returned) and a fingerprint of the filter it was issued
//!   for: a token reused with a different filter, or one that is not a token at all, is
//!   INVALID_ARGUMENT. Tokens are not secret and not signed: forging one only moves the cursor
//!   within a query the caller is already allowed to run.
//!
//! ```
//! use kit::paging::Paging;
//!
//! const PAGING: Paging = Paging::new(50, 500);
//!
//! // ListCases(region = "330723", state = "OPEN", page_size = 0, page_token = "")
//! let mut v = kit::Violations::new();
//! let page = PAGING.page(&mut v, 0, "", &["330723", "OPEN"]).expect("valid");
//! v.finish().expect("no violations");
//! assert_eq!(page.size(), 50);
//! assert_eq!(page.cursor(), None);
//! // ... query `page.size() + 1` rows after the cursor; if there are more, hand out a token:
//! let token = page.next_token("0190c2a4-last-id-returned");
//!
//! // The next call with the same filter resumes after the last row.
//! let mut v = kit::Violations::new();
//! let next = PAGING.page(&mut v, 100_000, &token, &["330723", "OPEN"]).expect("valid");
//! assert_eq!(next.size(), 500, "capped, not refused");
//! assert_eq!(next.cursor(), Some("0190c2a4-last-id-returned"));
//!
//! // The same token with another filter, a garbage token, a negative size: INVALID_ARGUMENT.
//! let mut v = kit::Violations::new();
//! assert!(PAGING.page(&mut v, 10, &token, &["330723", "CLOSED"]).is_none());
//! assert!(PAGING.page(&mut v, 10, "garbage", &["330723", "OPEN"]).is_none());
//! assert!(PAGING.page(&mut v, -1, "", &["330723", "OPEN"]).is_none());
//! assert_eq!(kit::error::violated_fields(&kit::to_status(v.finish().unwrap_err())),
//!            vec!["page_token", "page_token", "page_size"]);
//! ```

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, Violations};

const TOKEN_VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 8;
const CHECK_LEN: usize = 4;
/// The longest cursor a token carries (bytes).
pub const MAX_CURSOR_BYTES: usize = 512;

/// A list's paging policy: default and maximum page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    default_size: u32,
    max_size: u32,
}

/// The suite's usual policy: 50 by default, at most 1000.
pub const DEFAULT: Paging = Paging::new(50, 1000);

impl Paging {
    /// A policy; `default_size` is capped to `max_size`, and both are at least 1.
    pub const fn new(default_size: u32, max_size: u32) -> Self {
        let max_size = if max_size == 0 { 1 } else { max_size };
        let default_size = if default_size == 0 || default_size > max_size {
            max_size
        } else {
            default_size
        };
        Self {
            default_size,
            max_size,
        }
    }

    /// Reads a request's `page_size` and `page_token` for the list whose filter values are
    /// `filter` (every field that selects rows, in a fixed order; not the page fields).
    /// Records violations on fields `page_size` and `page_token`; `None` when there was one.
    pub fn page(
        &self,
        v: &mut Violations,
        page_size: i32,
        page_token: &str,
        filter: &[&str],
    ) -> Option<Page> {
        let size = match u32::try_from(page_size) {
            Err(_) => {
                v.add("page_size", "must not be negative");
                None
            }
            Ok(0) => Some(self.default_size),
            Ok(n) => Some(n.min(self.max_size)),
        };
        let fingerprint = fingerprint(filter);
        let cursor = if page_token.is_empty() {
            Some(None)
        } else {
            match decode(page_token) {
                Some((fp, _)) if fp != fingerprint => {
                    v.add(
                        "page_token",
                        "was issued for a different filter; start again without a token",
                    );
                    None
                }
                Some((_, cursor)) => Some(Some(cursor)),
                None => {
                    v.add("page_token", "is not a page token this list issued");
                    None
                }
            }
        };
        Some(Page {
            size: size?,
            cursor: cursor?,
            fingerprint,
        })
    }
}

impl Paging {
    /// [`Paging::page`] on its own: the page, or INVALID_ARGUMENT naming `page_size` and / or
    /// `page_token`. For a list whose other fields are checked elsewhere.
    ///
    /// ```
    /// let page = kit::paging::DEFAULT.decode(0, "", &["330723"]).expect("first page");
    /// assert_eq!(page.size(), 50);
    /// assert!(kit::paging::DEFAULT.decode(-1, "", &["330723"]).is_err());
    /// ```
    pub fn decode(
        &self,
        page_size: i32,
        page_token: &str,
        filter: &[&str],
    ) -> Result<Page, ServiceError> {
        let mut v = Violations::new();
        let page = self.page(&mut v, page_size, page_token, filter);
        v.finish()?;
        page.ok_or_else(|| ServiceError::invalid("page_token", "is not a page token"))
    }
}

/// One page of a list, as the caller asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    size: u32,
    cursor: Option<String>,
    fingerprint: [u8; FINGERPRINT_LEN],
}

impl Page {
    /// How many rows to return (at least 1, at most the policy's maximum).
    pub fn size(&self) -> u32 {
        self.size
    }

    /// [`Page::size`] as `i64`, for a SQL `LIMIT` (query one more to know whether a next
    /// page exists).
    pub fn limit(&self) -> i64 {
        i64::from(self.size)
    }

    /// Where this page starts: the cursor given to [`Page::next_token`] for the previous page,
    /// `None` for the first page.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The token of the page after this one, starting after `cursor` (bound to this filter).
    /// A cursor longer than [`MAX_CURSOR_BYTES`] is cut there (use short cursors: an id).
    pub fn next_token(&self, cursor: &str) -> String {
        let mut end = cursor.len().min(MAX_CURSOR_BYTES);
        while !cursor.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = Vec::with_capacity(1 + FINGERPRINT_LEN + end + CHECK_LEN);
        bytes.push(TOKEN_VERSION);
        bytes.extend_from_slice(&self.fingerprint);
        bytes.extend_from_slice(&cursor.as_bytes()[..end]);
        let check = Sha256::digest(&bytes);
        bytes.extend_from_slice(&check[..CHECK_LEN]);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

fn fingerprint(filter: &[&str]) -> [u8; FINGERPRINT_LEN] {
    let mut hash = Sha256::new();
    for part in filter {
        // Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut out = [0; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

fn decode(token: &str) -> Option<([u8; FINGERPRINT_LEN], String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    if bytes.len() < 1 + FINGERPRINT_LEN + CHECK_LEN || bytes[0] != TOKEN_VERSION {
        return None;
    }
    let (body, check) = bytes.split_at(bytes.len() - CHECK_LEN);
    if Sha256::digest(body)[..CHECK_LEN] != *check {
        return None;
    }
    let mut fingerprint = [0; FINGERPRINT_LEN];
    fingerprint.copy_from_slice(&body[1..=FINGERPRINT_LEN]);
    let cursor = String::from_utf8(body[1 + FINGERPRINT_LEN..].to_vec()).ok()?;
    Some((fingerprint, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(size: i32, token: &str, filter: &[&str]) -> Result<Page, Vec<String>> {
        let mut v = Violations::new();
        let page = DEFAULT.page(&mut v, size, token, filter);
        match v.finish() {
            Ok(()) => Ok(page.expect("a page when no violation")),
            Err(e) => Err(crate::error::violated_fields(&crate::to_status(e))),
        }
    }

    #[test]
    fn page_size_zero_is_the_default_and_above_the_maximum_is_capped() {
        // AIP-158: 0 = server default; larger than the maximum is coerced down, not refused.
        assert_eq!(page(0, "", &[]).expect("ok").size(), 50);
        assert_eq!(page(7, "", &[]).expect("ok").size(), 7);
        assert_eq!(page(100_000, "", &[]).expect("ok").size(), 1000);
        assert_eq!(page(i32::MAX, "", &[]).expect("ok").size(), 1000);
    }

    #[test]
    fn a_negative_page_size_is_invalid() {
        assert_eq!(page(-1, "", &[]), Err(vec!["page_size".to_owned()]));
        assert_eq!(page(i32::MIN, "", &[]), Err(vec!["page_size".to_owned()]));
    }

    #[test]
    fn a_token_resumes_the_same_filter_only() {
        let first = page(10, "", &["330723", "OPEN"]).expect("ok");
        let token = first.next_token("case-42");
        let next = page(10, &token, &["330723", "OPEN"]).expect("same filter");
        assert_eq!(next.cursor(), Some("case-42"));
        assert_eq!(
            page(10, &token, &["330723", "CLOSED"]),
            Err(vec!["page_token".to_owned()])
        );
        assert_eq!(
            page(10, &token, &["330723OPEN"]),
            Err(vec!["page_token".to_owned()])
        );
    }

    #[test]
    fn garbage_and_tampered_tokens_are_invalid() {
        let token = page(10, "", &[]).expect("ok").next_token("case-42");
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 6;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        for bad in [
            "garbage".to_owned(),
            "%%%".to_owned(),
            "AAAA".to_owned(),
            String::from_utf8(tampered).expect("ascii"),
        ] {
            assert_eq!(
                page(10, &bad, &[]),
                Err(vec!["page_token".to_owned()]),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_paging_violation_is_reported_at_once() {
        assert_eq!(
            page(-5, "garbage", &[]),
            Err(vec!["page_size".to_owned(), "page_token".to_owned()])
        );
    }

    #[test]
    fn decode_answers_invalid_argument_for_a_bad_page() {
        let token = DEFAULT.decode(5, "", &["a"]).expect("ok").next_token("c");
        assert_eq!(
            DEFAULT.decode(5, &token, &["a"]).expect("ok").cursor(),
            Some("c")
        );
        let status = crate::to_status(DEFAULT.decode(5, &token, &["b"]).expect_err("bad"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(crate::error::violated_fields(&status), vec!["page_token"]);
    }

    #[test]
    fn a_long_cursor_is_cut_on_a_character_boundary() {
        let first = page(10, "", &[]).expect("ok");
        let token = first.next_token(&"名".repeat(400));
        let next = page(10, &token, &[]).expect("valid");
        assert!(next.cursor().expect("cursor").len() <= MAX_CURSOR_BYTES);
    }
}
