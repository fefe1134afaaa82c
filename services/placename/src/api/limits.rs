//! Input limits shared by the request decoders: bounded free text, region filters and paging
//! (AIP-158). Every check adds its violation to the request's [`Violations`] so a caller fixes
//! every field in one round.

use kit::Violations;

use crate::regions;

/// Longest 专名 (characters). Standard names are short; the longest village names in the
/// national set are under 20 characters.
pub const MAX_SPECIFIC: usize = 30;
/// Longest 通名.
pub const MAX_GENERIC: usize = 10;
/// Longest one-line text: a location description, an approval document number, an opinion
/// summary's title.
pub const MAX_LINE: usize = 200;
/// Longest multi-line text: reasons, origin and meaning, an expert or public-opinion report.
pub const MAX_TEXT: usize = 10_000;
/// Longest id a caller may send (UUIDv7 strings are 36).
pub const MAX_ID: usize = 64;
/// Page size when the request leaves it at 0, and the largest page (larger sizes are capped,
/// AIP-158).
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 200;

/// Checks a free-text field: at most `max` characters, and no control characters except, when
/// `multiline`, line breaks and tabs.
pub fn text(v: &mut Violations, value: &str, field: &str, max: usize, multiline: bool) {
    let count = value.chars().count();
    if count > max {
        v.add(
            field,
            format!("must be at most {max} characters, got {count}"),
        );
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        v.add(field, "must not contain control characters");
    }
}

/// A required, bounded free-text field.
pub fn required_text(v: &mut Violations, value: &str, field: &str, max: usize, multiline: bool) {
    v.required(value, field);
    text(v, value, field, max, multiline);
}

/// An id a caller sends: required, at most [`MAX_ID`] characters of `[0-9A-Za-z-]`.
pub fn id(v: &mut Violations, value: &str, field: &str) {
    if value.trim().is_empty() {
        v.add(field, "is required");
    } else if value.len() > MAX_ID
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        v.add(field, "is not an id");
    }
}

/// A region filter of a list or search: empty for all, else a division code of 2, 4, 6, 9 or
/// 12 digits whose province exists (a 5-, 7- or 11-digit code, or an unknown province, is
/// refused rather than silently matching nothing or too much).
pub fn region_filter(v: &mut Violations, value: &str, field: &str) {
    if value.is_empty() {
        return;
    }
    match civil_id::RegionCode::parse(value) {
        Ok(code) if regions::national().name(&code.as_str()[..2]).is_none() => {
            v.add(field, format!("province {} does not exist", &value[..2]));
        }
        Ok(_) => {}
        Err(e) => v.add(field, e.to_string()),
    }
}

/// The page size of a list (AIP-158): negative is refused, 0 means the default, larger than
/// [`MAX_PAGE`] is capped.
pub fn page_size(v: &mut Violations, value: i32, field: &str) -> usize {
    match usize::try_from(value) {
        Err(_) => {
            v.add(field, "must not be negative");
            DEFAULT_PAGE
        }
        Ok(0) => DEFAULT_PAGE,
        Ok(n) => n.min(MAX_PAGE),
    }
}

/// A page token of a keyset-paged list: the filter it was issued for (a token of another
/// filter is refused, AIP-158), then the last row's sort key and id.
pub fn encode_keyset(filter: &str, key: &str, id: &str) -> String {
    hex::encode(format!("{filter}\u{1f}{key}\u{1f}{id}"))
}

/// Decodes a token of [`encode_keyset`] issued for `filter`; `None` for the first page.
pub fn decode_keyset(
    v: &mut Violations,
    token: &str,
    filter: &str,
    field: &str,
) -> Option<(String, String)> {
    if token.is_empty() {
        return None;
    }
    let decoded = hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| {
            let mut parts = t.splitn(3, '\u{1f}');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(f), Some(key), Some(id)) if f == filter && !id.is_empty() => {
                    Some((key.to_owned(), id.to_owned()))
                }
                _ => None,
            }
        });
    if decoded.is_none() {
        v.add(field, "is not a token of this list");
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(check: impl FnOnce(&mut Violations)) -> Vec<String> {
        let mut v = Violations::new();
        check(&mut v);
        match v.finish() {
            Ok(()) => Vec::new(),
            Err(kit::ServiceError::InvalidArgument(list)) => {
                list.into_iter().map(|f| f.description).collect()
            }
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn text_is_bounded_and_free_of_control_characters() {
        assert!(fields(|v| text(v, "解放路", "f", 3, false)).is_empty());
        assert_eq!(fields(|v| text(v, "解放路x", "f", 3, false)).len(), 1);
        assert_eq!(fields(|v| text(v, "a\u{7}b", "f", 10, true)).len(), 1);
        assert_eq!(fields(|v| text(v, "a\nb", "f", 10, false)).len(), 1);
        assert!(fields(|v| text(v, "a\nb", "f", 10, true)).is_empty());
    }

    #[test]
    fn region_filters_of_5_7_or_11_digits_or_an_unknown_province_are_refused() {
        for good in ["", "33", "3307", "330723", "330723001", "330723001001"] {
            assert!(fields(|v| region_filter(v, good, "r")).is_empty(), "{good}");
        }
        for bad in ["33072", "3307230", "33072300100", "990723", "33x723"] {
            assert_eq!(fields(|v| region_filter(v, bad, "r")).len(), 1, "{bad}");
        }
    }

    #[test]
    fn page_sizes_follow_aip_158() {
        assert_eq!(page_size(&mut Violations::new(), 0, "p"), DEFAULT_PAGE);
        assert_eq!(page_size(&mut Violations::new(), 5, "p"), 5);
        assert_eq!(page_size(&mut Violations::new(), i32::MAX, "p"), MAX_PAGE);
        assert_eq!(
            fields(|v| {
                page_size(v, -1, "p");
            })
            .len(),
            1
        );
    }
}
