//! 我的数据谁用了 (who used my data): the citizen's view of the audit trail,
//! `civil.audit.v1.AuditTrailService/ListMyRecordAccess` (PIPL arts. 44-45, 48).
//!
//! The person is the one the token's verified identity number (claim `idn`) names, never a
//! request field. Each trail of this process is read through its own [`crate::rpc::Rpc::read`]
//! pipeline, so the view is authorised, and audited in every trail it reads (purpose
//! `citizen_view`, the person named by blind index) before the answer goes out. What the
//! citizen sees of a row: service, time, acting organisation and role, action, purpose and
//! outcome; never the actor's subject or name.

use contracts::civil::audit::v1 as pb;
use tonic::{Request, Response, Status};

use crate::error::{ServiceError, Violations};
use crate::rpc::Call;

/// `purpose` of the rows this view leaves.
pub const CITIZEN_VIEW_PURPOSE: &str = "citizen_view";

/// FAILED_PRECONDITION reason: the token names no verified identity number.
pub const IDENTITY_NOT_VERIFIED: &str = "IDENTITY_NOT_VERIFIED";

/// Rows read per trail at most.
const PER_TRAIL_MAX: usize = 1000;

/// The view over every trail of the server at `addr`.
pub async fn list_my_record_access(
    addr: std::net::SocketAddr,
    request: Request<pb::ListMyRecordAccessRequest>,
) -> Result<Response<pb::ListMyRecordAccessResponse>, Status> {
    let (meta, ext, msg) = request.into_parts();
    let mut answer = pb::ListMyRecordAccessResponse::default();
    for (service, rpc) in crate::trust::trails(addr) {
        let profiles = crate::trust::settings_of(addr, &rpc.ctx().config).profiles;
        let one = Request::from_parts(meta.clone(), ext.clone(), msg);
        let found = rpc
            .read(one, authorize, async |c, req, index| {
                rows_of(c, &req, index).await
            })
            .await?
            .into_inner();
        answer.truncated |= found.truncated;
        answer
            .accesses
            .extend(found.accesses.into_iter().map(|mut a| {
                a.service = service.clone();
                // A calling system is recorded by its profile name; citizens see the
                // organisation the county configured for it (profiles.toml).
                if let Some(p) = profiles.get(&a.organisation) {
                    a.organisation = p.organisation.clone();
                }
                a
            }));
    }
    answer
        .accesses
        .sort_by_key(|a| std::cmp::Reverse(a.at_unix_ms));
    Ok(Response::new(answer))
}

/// The person's blind index in this trail, from the token's verified identity number.
async fn authorize(
    c: &mut Call,
    req: &pb::ListMyRecordAccessRequest,
) -> Result<String, ServiceError> {
    c.purpose(CITIZEN_VIEW_PURPOSE);
    c.authorize(&[auth::Role::Citizen], None)?;
    let claimed = c.principal().id_number.clone();
    let id = claimed.and_then(|n| civil_id::IdNumber::parse_on(&n.0, c.today()).ok());
    let Some(id) = id else {
        return Err(ServiceError::refused(
            IDENTITY_NOT_VERIFIED,
            "the token carries no verified identity number (实名认证)",
        ));
    };
    let index = c.sealer().index(&id);
    c.object(format!("people/{index}"));
    c.person(index.clone());
    let mut v = Violations::new();
    v.check(
        req.from_unix_ms >= 0,
        "from_unix_ms",
        "must not be negative",
    );
    v.check(
        req.to_unix_ms == 0 || req.to_unix_ms > req.from_unix_ms,
        "to_unix_ms",
        "must be after from_unix_ms (or 0 for no bound)",
    );
    v.finish()?;
    Ok(index)
}

/// The rows about the person in this trail, oldest dropped beyond [`PER_TRAIL_MAX`].
async fn rows_of(
    c: &mut Call,
    req: &pb::ListMyRecordAccessRequest,
    index: String,
) -> Result<pb::ListMyRecordAccessResponse, ServiceError> {
    let query = auth::audit::Query {
        person: Some(index),
        from_ms: (req.from_unix_ms > 0).then_some(req.from_unix_ms),
        to_ms: (req.to_unix_ms > 0).then_some(req.to_unix_ms),
        ..auth::audit::Query::default()
    };
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let page =
            auth::audit::query_on(c.db(), &query, after, auth::audit::QUERY_PAGE_MAX).await?;
        rows.extend(page.rows.into_iter().filter(shown).map(access_of));
        match page.next_after {
            Some(next) => after = next,
            None => break,
        }
    }
    let truncated = rows.len() > PER_TRAIL_MAX;
    if truncated {
        rows.drain(..rows.len() - PER_TRAIL_MAX);
    }
    Ok(pb::ListMyRecordAccessResponse {
        accesses: rows,
        truncated,
    })
}

/// Security events and the citizen's own uses of this view are not shown.
fn shown(r: &auth::audit::AuditRecord) -> bool {
    r.entry.purpose != CITIZEN_VIEW_PURPOSE && r.entry.purpose != auth::layer::SECURITY_PURPOSE
}

/// What the citizen sees of a row: no actor subject, no object, no trace id.
fn access_of(r: auth::audit::AuditRecord) -> pb::RecordAccess {
    pb::RecordAccess {
        service: String::new(),
        at_unix_ms: r.at_ms,
        organisation: r.entry.organisation,
        role: r.entry.role,
        action: r.entry.action,
        purpose: r.entry.purpose,
        outcome: r.entry.outcome,
        on_behalf: !r.entry.on_behalf_of.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(purpose: &str, actor: &str) -> auth::audit::AuditRecord {
        auth::audit::AuditRecord {
            seq: 1,
            at_ms: 5,
            entry: auth::audit::AuditEntry {
                actor: actor.into(),
                action: "marriage.RecordDeath".into(),
                object: "secret-object".into(),
                purpose: purpose.into(),
                organisation: "县民政局".into(),
                role: "registrar".into(),
                ..Default::default()
            },
            prev_hash: String::new(),
            hash: String::new(),
            purged_by: 0,
        }
    }

    #[test]
    fn the_citizen_sees_organisation_and_role_but_not_the_clerk() {
        let a = access_of(record("death", "clerk-zhang-007"));
        let shown = format!("{a:?}");
        assert!(!shown.contains("clerk-zhang-007"), "{shown}");
        assert!(!shown.contains("secret-object"), "{shown}");
        assert_eq!(
            (a.organisation.as_str(), a.role.as_str()),
            ("县民政局", "registrar")
        );
    }

    #[test]
    fn security_events_and_earlier_views_are_left_out() {
        assert!(shown(&record("death", "x")));
        assert!(!shown(&record(CITIZEN_VIEW_PURPOSE, "x")));
        assert!(!shown(&record(auth::layer::SECURITY_PURPOSE, "x")));
    }
}
