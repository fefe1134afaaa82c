//! PushSignal (civil.external.v1.SignalIntakeService): a department's system pushes what it
//! learnt about a person; once per (source, source record id), every violation at once, and
//! nothing stored unless all of it is.

use auth::Role;
use contracts::civil::external::v1 as ext;
use kit::rpc::{LONG_MAX, SHORT_MAX, Text as _};
use kit::{ServiceError, Violations};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use crate::convert::monitoring::{signal_kind_in, source_name};
use crate::domain::monitoring::SignalKind;
use crate::monitoring::intake::{Intake, Signal, ingest};

pub struct Pushed {
    source: String,
    record: String,
    kind: SignalKind,
    person: civil_id::IdNumber,
    region: String,
    occurred_on: time::Date,
    amount_fen: i64,
    detail: String,
}

impl TryFrom<ext::PushSignalRequest> for Pushed {
    type Error = Violations;

    fn try_from(r: ext::PushSignalRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let source = ext::SignalSource::try_from(r.source)
            .ok()
            .filter(|s| *s != ext::SignalSource::Unspecified);
        v.check(source.is_some(), "source", "must name the department");
        let record = v.text(&r.source_record_id, "source_record_id", SHORT_MAX);
        let kind = signal_kind_in(r.kind);
        v.check(kind.is_some(), "kind", "must name what happened");
        let person = r.person.as_ref().map_or("", |p| p.id_number.as_str());
        let person = v.id_number(person, "person.id_number");
        let region = v.region(&r.region, "region");
        v.check(
            region.as_ref().is_none_or(|r| r.as_str().len() >= 9),
            "region",
            "must be a village (12 digits) or township (9 digits) code",
        );
        let occurred_on = v.date(r.occurred_on.as_ref(), "occurred_on");
        match kind {
            Some(k) if k.needs_amount() => v.check(
                r.amount_fen > 0,
                "amount_fen",
                "must be a positive amount in fen",
            ),
            _ => v.check(r.amount_fen == 0, "amount_fen", "must be 0 for this kind"),
        }
        let detail = v.optional_text(&r.detail, "detail", LONG_MAX);
        match (source, kind, person, region, occurred_on) {
            (Some(source), Some(kind), Some(person), Some(region), Some(occurred_on))
                if v.is_empty() =>
            {
                Ok(Pushed {
                    source: source_name(source),
                    record,
                    kind,
                    person,
                    region: region.as_str().to_owned(),
                    occurred_on,
                    amount_fen: r.amount_fen,
                    detail,
                })
            }
            _ => Err(v),
        }
    }
}

/// A department pushes only its own signals: the source, named in lower case, is the caller
/// profile of its token.
fn own_source(c: &kit::rpc::Call, req: &ext::PushSignalRequest) -> Result<(), ServiceError> {
    c.authorize(&[Role::Service], None)?;
    let source = ext::SignalSource::try_from(req.source).unwrap_or_default();
    if source == ext::SignalSource::Unspecified {
        return Ok(()); // a violation, reported with the others
    }
    match c.principal().profile.as_deref() {
        Some(profile) if profile == source_name(source) => Ok(()),
        _ => Err(ServiceError::PermissionDenied(format!(
            "the caller may push only its own signals, not {}",
            source_name(source)
        ))),
    }
}

pub async fn handle(
    api: &MonitoringApi,
    request: Request<ext::PushSignalRequest>,
) -> Result<Response<ext::SignalReceipt>, Status> {
    let policy = api.policy.clone();
    api.rpc
        .write(
            request,
            async |c, req| own_source(c, req),
            async |c, p: Pushed, ()| {
                if p.occurred_on > c.today() {
                    return Err(ServiceError::invalid(
                        "occurred_on",
                        "must not be after today",
                    ));
                }
                let person = c.sealer().index(&p.person);
                c.object(person.clone());
                let signal = Signal {
                    source: p.source,
                    record: p.record,
                    kind: p.kind,
                    person,
                    region: p.region,
                    occurred_on: p.occurred_on,
                    amount_fen: p.amount_fen,
                    detail: p.detail,
                };
                let (sealer, calendar) = (c.sealer().clone(), c.rpc().calendar().clone());
                let intake = Intake {
                    sealer: &sealer,
                    calendar: &calendar,
                    policy: &policy,
                    today: c.today(),
                    now_ms: c.now_ms(),
                };
                ingest(c.db(), &intake, &signal).await
            },
        )
        .await
}
