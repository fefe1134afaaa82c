//! CompleteCremation: records the cremation, issues the cremation certificate (火化证明) with its
//! unique number, starts the ashes trail at the funeral home and publishes CremationCompleted.

use contracts::civil::funeral::v1 as pb;
use kit::ServiceError;
use kit::clock::date_text;
use kit::error::to_proto_date;
use kit::rpc::{Call, Rpc};
use tonic::{Request, Response, Status};

use super::shared::{HOME, add_ashes, authorized_case, case_name};
use crate::domain::case::Step;
use crate::domain::cremation;
use crate::store::{self, CaseRow};

pub async fn handle(
    rpc: &Rpc,
    request: Request<pb::CompleteCremationRequest>,
) -> Result<Response<pb::CremationCertificate>, Status> {
    rpc.write(
        request,
        async |c, req: &pb::CompleteCremationRequest| {
            authorized_case(c, &req.death_case, "death_case", HOME).await
        },
        async |c, _: pb::CompleteCremationRequest, case| cremate(c, &case).await,
    )
    .await
}

async fn cremate(c: &mut Call, case: &CaseRow) -> Result<pb::CremationCertificate, ServiceError> {
    let next = case.state.apply(Step::CompleteCremation)?;
    let (today, county) = (c.today(), c.rpc().ctx().config.county.clone());
    let counter = format!("cremation/{county}/{}", today.year());
    let sequence = store::next_sequence(c.db(), &counter).await?;
    let number = cremation::certificate_number(&county, today.year(), sequence);
    store::set_cremation_certificate(c.db(), &case.id, &number, &date_text(today)).await?;
    let now = c.now_ms();
    store::transition(c.db(), &case.id, case.state, next, now).await?;
    // The ashes start their trail with the funeral home that cremated.
    let p = c.principal();
    let home = p.organisation.clone().filter(|o| !o.trim().is_empty());
    let home = home.unwrap_or_else(|| p.name.clone());
    add_ashes(
        c,
        &case.id,
        pb::AshesHolderKind::FuneralHome,
        &home,
        "crematorium",
        today,
    )
    .await?;
    let certificate = pb::CremationCertificate {
        death_case: case_name(&case.id),
        number,
        cremated_on: Some(to_proto_date(today)),
    };
    let event = event(case, &certificate);
    let (topic, kind) = (
        crate::TOPIC_CREMATION_COMPLETED,
        "civil.funeral.v1.CremationCompleted",
    );
    c.publish(topic, kind, &case.id, &event).await?;
    Ok(certificate)
}

fn event(case: &CaseRow, certificate: &pb::CremationCertificate) -> pb::CremationCompleted {
    pb::CremationCompleted {
        event_id: String::new(),
        death_case: certificate.death_case.clone(),
        person_index: case.person_index.clone(),
        certificate_number: certificate.number.clone(),
        cremated_on: certificate.cremated_on,
    }
}
