//! RecordExpertReview: the expert review (专家论证) with its reports; a favourable review
//! addresses every warning and carries the expert and public-consultation reports (art. 12).
//! Role: PlaceNameOfficer within the application's region.

use contracts::civil::placename::v1 as pb;
use kit::Violations;
use kit::rpc::Call;
use tonic::Request;

use super::shared::officer_application;
use super::{Answer, PlaceNameApi, limits};
use crate::convert;
use crate::domain::naming;
use crate::store::{self, ApplicationRow};

pub struct Review {
    favourable: bool,
    opinion: String,
    addressed: Vec<String>,
    heritage_assessed: bool,
    expert_report: String,
    public_opinion_report: String,
}

impl TryFrom<pb::RecordExpertReviewRequest> for Review {
    type Error = Violations;

    fn try_from(r: pb::RecordExpertReviewRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        limits::required_text(&mut v, &r.opinion, "opinion", limits::MAX_TEXT, true);
        let codes_ok = r.addressed_warnings.len() <= 20
            && r.addressed_warnings
                .iter()
                .all(|w| w.len() <= 64 && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
        v.check(
            codes_ok,
            "addressed_warnings",
            "must be at most 20 warning codes",
        );
        v.date(r.reviewed_on.as_ref(), "reviewed_on");
        for (value, field) in [
            (&r.expert_report, "expert_report"),
            (&r.public_opinion_report, "public_opinion_report"),
        ] {
            if r.favourable {
                limits::required_text(&mut v, value, field, limits::MAX_TEXT, true);
            } else {
                limits::text(&mut v, value, field, limits::MAX_TEXT, true);
            }
        }
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Review {
            favourable: r.favourable,
            opinion: r.opinion.trim().to_owned(),
            addressed: r.addressed_warnings,
            heritage_assessed: r.heritage_assessed,
            expert_report: r.expert_report.trim().to_owned(),
            public_opinion_report: r.public_opinion_report.trim().to_owned(),
        })
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::RecordExpertReviewRequest>,
) -> Answer<pb::NamingApplication> {
    api.rpc
        .write(
            request,
            async |c: &mut Call, r: &pb::RecordExpertReviewRequest| {
                officer_application(c, &r.application_id).await
            },
            async |c: &mut Call, review: Review, app: ApplicationRow| {
                let stage = naming::review(
                    app.stage,
                    &app.warnings,
                    review.favourable,
                    &review.addressed,
                    review.heritage_assessed,
                )?;
                let app = ApplicationRow {
                    stage,
                    review_opinion: review.opinion,
                    addressed_warnings: review.addressed,
                    heritage_assessed: review.heritage_assessed,
                    expert_report: review.expert_report,
                    public_opinion_report: review.public_opinion_report,
                    ..app
                };
                let now_ms = c.now_ms();
                store::update_application(c.db(), &app, now_ms).await?;
                Ok(convert::application_out(&app))
            },
        )
        .await
}
