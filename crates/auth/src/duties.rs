//! Separation of duties (等保 2.0 level 3, GB/T 22239-2019: separate system, security and audit
//! administrators; and maker -> checker on two-person steps).
//!
//! - [`IncompatibleRoles`]: role pairs one token may not combine; the auth layer refuses such a
//!   token at authentication (PERMISSION_DENIED `AUTH_ROLES_INCOMPATIBLE`). By default
//!   `sys_admin`, `security_admin` and `auditor` pairwise; the county may configure its own list
//!   (`CIVIL_AUTH_INCOMPATIBLE_ROLES="sys_admin+auditor,sys_admin+security_admin,..."`).
//! - [`ensure_different_person`]: the checker of a two-person step (roll approval, correction,
//!   override) is not the person who made it, also when a service calls on the maker's behalf.

use tonic::Status;

use crate::{Principal, Role};

/// Role pairs a single token may not hold together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncompatibleRoles {
    pairs: Vec<(Role, Role)>,
}

impl Default for IncompatibleRoles {
    /// The three administrators of 等保 level 3, pairwise.
    fn default() -> Self {
        Self {
            pairs: vec![
                (Role::SysAdmin, Role::SecurityAdmin),
                (Role::SysAdmin, Role::Auditor),
                (Role::SecurityAdmin, Role::Auditor),
            ],
        }
    }
}

impl IncompatibleRoles {
    /// No pair is incompatible (tests of other matters only).
    pub fn none() -> Self {
        Self { pairs: Vec::new() }
    }

    /// Parses `a+b,c+d` (snake_case role names). Empty text is the default list; `none` is no
    /// pair. An unknown role name or a malformed pair is an error naming it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        if text == "none" {
            return Ok(Self::none());
        }
        let mut pairs = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (a, b) = item
                .split_once('+')
                .ok_or_else(|| format!("{item:?}: a pair is written role_a+role_b"))?;
            let role = |n: &str| {
                Role::from_name(n.trim()).ok_or_else(|| {
                    format!(
                        "{item:?}: unknown role {:?}; roles: {}",
                        n.trim(),
                        Role::ALL.map(|r| r.name()).join(", ")
                    )
                })
            };
            let (a, b) = (role(a)?, role(b)?);
            if a == b {
                return Err(format!("{item:?}: a role is not incompatible with itself"));
            }
            pairs.push((a, b));
        }
        Ok(Self { pairs })
    }

    /// The pairs, for documentation and tools.
    pub fn pairs(&self) -> &[(Role, Role)] {
        &self.pairs
    }

    /// PERMISSION_DENIED `AUTH_ROLES_INCOMPATIBLE` naming the first pair the caller combines.
    pub fn check(&self, principal: &Principal) -> Result<(), Status> {
        match self
            .pairs
            .iter()
            .find(|(a, b)| principal.has_role(*a) && principal.has_role(*b))
        {
            Some((a, b)) => Err(crate::reasons::roles_incompatible(&a.name(), &b.name())),
            None => Ok(()),
        }
    }
}

/// The person behind a call: the person a service acts for, else the caller itself.
pub fn person_of(principal: &Principal) -> &str {
    match principal.on_behalf_of_subject() {
        "" => &principal.subject,
        person => person,
    }
}

/// Maker -> checker: FAILED_PRECONDITION `MAKER_CHECKER_SAME_PERSON` when `checker` is the
/// person recorded as the maker (`maker_subject`, the maker's [`person_of`] when the step was
/// made). An empty maker (not recorded) is refused too: the check cannot be shown to be by
/// another person.
pub fn ensure_different_person(maker_subject: &str, checker: &Principal) -> Result<(), Status> {
    let checker = person_of(checker);
    if maker_subject.is_empty() || maker_subject == checker {
        return Err(crate::reasons::maker_is_checker());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OnBehalfOf;
    use tonic_types::StatusExt;

    fn caller(subject: &str, roles: &[Role]) -> Principal {
        Principal {
            subject: subject.into(),
            name: subject.into(),
            roles: roles.to_vec(),
            region: "330723".into(),
            organisation: None,
            on_behalf_of: None,
            profile: None,
            id_number: None,
        }
    }

    fn reason(s: &Status) -> String {
        s.get_details_error_info()
            .map(|i| i.reason)
            .unwrap_or_default()
    }

    #[test]
    fn the_three_administrators_are_pairwise_incompatible_by_default() {
        let rules = IncompatibleRoles::default();
        for pair in [
            [Role::SysAdmin, Role::Auditor],
            [Role::SysAdmin, Role::SecurityAdmin],
            [Role::SecurityAdmin, Role::Auditor],
        ] {
            let err = rules.check(&caller("a", &pair)).expect_err("refused");
            assert_eq!(err.code(), tonic::Code::PermissionDenied);
            assert_eq!(reason(&err), crate::reasons::AUTH_ROLES_INCOMPATIBLE);
        }
        assert!(rules.check(&caller("a", &[Role::Auditor])).is_ok());
        assert!(
            rules
                .check(&caller("a", &[Role::Registrar, Role::TownshipClerk]))
                .is_ok()
        );
    }

    #[test]
    fn the_county_list_replaces_the_default_and_refuses_unknown_roles() {
        let rules = IncompatibleRoles::parse("township_clerk+county_approver").expect("parses");
        assert!(
            rules
                .check(&caller("a", &[Role::TownshipClerk, Role::CountyApprover]))
                .is_err()
        );
        assert!(
            rules
                .check(&caller("a", &[Role::SysAdmin, Role::Auditor]))
                .is_ok()
        );
        assert!(IncompatibleRoles::parse("sys_admin+root").is_err());
        assert!(IncompatibleRoles::parse("sys_admin").is_err());
        assert!(IncompatibleRoles::parse("auditor+auditor").is_err());
        assert_eq!(
            IncompatibleRoles::parse("").expect("default"),
            IncompatibleRoles::default()
        );
    }

    #[test]
    fn a_maker_cannot_check_their_own_step() {
        let err = ensure_different_person("clerk-1", &caller("clerk-1", &[Role::CountyApprover]))
            .expect_err("same person");
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert_eq!(reason(&err), crate::reasons::MAKER_CHECKER_SAME_PERSON);
        assert!(
            ensure_different_person("clerk-1", &caller("approver-2", &[Role::CountyApprover]))
                .is_ok()
        );
    }

    #[test]
    fn a_maker_cannot_check_through_a_service_acting_for_them() {
        let mut svc = caller("svc-onematter", &[Role::Service]);
        svc.on_behalf_of = Some(OnBehalfOf {
            subject: "clerk-1".into(),
        });
        assert!(ensure_different_person("clerk-1", &svc).is_err());
        assert!(ensure_different_person("svc-onematter", &svc).is_ok());
    }

    #[test]
    fn an_unrecorded_maker_cannot_be_shown_to_differ() {
        assert!(ensure_different_person("", &caller("approver-2", &[])).is_err());
    }
}
