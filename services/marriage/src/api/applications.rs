//! What the divorce-application RPCs share: loading an application for a registrar of the
//! accepting office's region (before anything is written), and its marriage.

use contracts::civil::marriage::v1 as pb;
use kit::ServiceError;
use kit::rpc::Call;

use super::MarriageApi;
use super::shared::REGISTRAR;
use crate::store::{self, ApplicationRow, MarriageRow, OfficeRow};

/// Loads the application `id` names and checks the caller is a registrar of its office's
/// region.
pub async fn authorized_application(
    c: &mut Call,
    api: &MarriageApi,
    id: &str,
) -> Result<(ApplicationRow, OfficeRow), ServiceError> {
    if id.trim().is_empty() {
        return Err(ServiceError::invalid("application_id", "is required"));
    }
    c.object(format!("divorceApplications/{id}"));
    let app = store::get_application(c.db(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("divorce application {id:?}")))?;
    let office = api.offices.get(c.db(), &app.office_id).await?;
    c.authorize(REGISTRAR, Some(&office.region_code))?;
    Ok((app, office))
}

/// The marriage an application is about (always there: the application references it).
pub async fn marriage_of(c: &mut Call, app: &ApplicationRow) -> Result<MarriageRow, ServiceError> {
    store::get_marriage(c.db(), &app.marriage_certificate)
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("application without its marriage")))
}

/// Whether the marriage's parties are exactly these two persons (by blind index).
pub fn same_pair(m: &MarriageRow, x: &str, y: &str) -> bool {
    (m.a.index == x && m.b.index == y) || (m.a.index == y && m.b.index == x)
}

/// The application's event when its state changed by withdrawal.
pub fn withdrawn_event(app: &ApplicationRow, on: time::Date) -> pb::DivorceApplicationWithdrawn {
    pb::DivorceApplicationWithdrawn {
        application_id: app.application_id.clone(),
        marriage_certificate_number: app.marriage_certificate.clone(),
        withdrawn_on: Some(kit::error::to_proto_date(on)),
    }
}
