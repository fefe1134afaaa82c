//! Bounded text: every free-text field of a request is checked for length and control
//! characters before it reaches the domain (a 100,000-character name is refused, not stored).

use crate::error::Violations;

/// Limit for a name (a person's, an organisation's, a place's).
pub const NAME_MAX: usize = 100;
/// Limit for a short free text (an address, a unit, a reference).
pub const SHORT_MAX: usize = 200;
/// Limit for a long free text (a reason, a remark, a summary).
pub const LONG_MAX: usize = 2000;

/// Text checks on [`Violations`]; `use kit::rpc::Text as _`.
pub trait Text {
    /// A required text of at most `max` characters without control characters; returns it
    /// trimmed.
    fn text(&mut self, value: &str, field: &str, max: usize) -> String;
    /// Like [`Text::text`], but an empty value is allowed.
    fn optional_text(&mut self, value: &str, field: &str, max: usize) -> String;
}

impl Text for Violations {
    fn text(&mut self, value: &str, field: &str, max: usize) -> String {
        if value.trim().is_empty() {
            self.add(field, "is required");
            return String::new();
        }
        self.optional_text(value, field, max)
    }

    fn optional_text(&mut self, value: &str, field: &str, max: usize) -> String {
        let trimmed = value.trim();
        let length = trimmed.chars().count();
        if length > max {
            self.add(
                field,
                format!("is {length} characters long; at most {max} are allowed"),
            );
        }
        if trimmed.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
        }
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_name_and_a_control_character_are_both_reported() {
        let mut v = Violations::new();
        v.text(&"名".repeat(NAME_MAX + 1), "name", NAME_MAX);
        v.text("张\u{7}三", "rep.name", NAME_MAX);
        v.text("  ", "address", SHORT_MAX);
        let status = crate::to_status(v.finish().expect_err("three violations"));
        assert_eq!(
            crate::error::violated_fields(&status),
            vec!["name", "rep.name", "address"]
        );
    }

    #[test]
    fn a_name_at_the_limit_passes_trimmed() {
        let mut v = Violations::new();
        let name = format!(" {} ", "名".repeat(NAME_MAX));
        assert_eq!(v.text(&name, "name", NAME_MAX).chars().count(), NAME_MAX);
        assert!(v.is_empty());
    }
}
