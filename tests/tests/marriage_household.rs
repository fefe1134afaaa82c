//! 婚育户一件事 end to end (Rules issue, one-matter): a marriage registered at the county office
//! starts the marriage-birth-household case without application, and the case opens a review
//! of the household composition in assistance for the spouse who receives 低保; the township
//! clerk reads it on the benefit. Every service real, the outside systems doubled.

mod common;

use common::*;
use contracts::civil::assistance::v1 as assistance;
use contracts::civil::onematter::v1 as pb;

#[tokio::test]
async fn a_registered_marriage_opens_the_households_assistance_review_without_application() {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |c| {
        c.extra
            .insert("onematter_proactive_marriage".into(), "on".into());
    })
    .await;
    let staff = Staff::of(&suite);
    let people = People::new(5);
    let benefit_id = grant_minimum_living_allowance(&suite, &staff, &people).await;
    let certificate = marry(&suite, &staff, &people).await;

    // The registration alone starts the case; it runs to completion.
    let case = wait_for_marriage_case(&suite, &staff).await;
    assert_eq!(case.applicant, "");
    let done = settle(&suite, &staff.operator, &case.name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    assert_eq!(
        step(&done, "assistance_household_check").summary,
        "1 household review(s) opened in assistance for the township clerk"
    );

    // The township clerk sees the review on the benefit, grounded on the marriage.
    let mut c =
        assistance::assistance_service_client::AssistanceServiceClient::new(suite.channel.clone());
    let benefit = c
        .get_benefit(suite.request(
            assistance::GetBenefitRequest {
                benefit_id: benefit_id.clone(),
            },
            &staff.clerk,
        ))
        .await
        .expect("benefit")
        .into_inner();
    assert_eq!(benefit.household_reviews.len(), 1, "{benefit:#?}");
    let review = &benefit.household_reviews[0];
    assert_eq!(review.cause(), assistance::HouseholdReviewCause::Marriage);
    assert_eq!(review.reference, certificate);
    assert_eq!(review.benefit_id, benefit_id);
    assert!(review.changed_on.is_some() && review.opened_on.is_some());

    // Nothing twice: a retried step (another request id) answers the same review.
    let again = c
        .open_household_review(suite.request(
            assistance::OpenHouseholdReviewRequest {
                request_id: "e2e-review-again".into(),
                id_number: people.deceased.id_number.clone(),
                cause: assistance::HouseholdReviewCause::Marriage.into(),
                reference: certificate.clone(),
                changed_on: review.changed_on,
            },
            &staff.service,
        ))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.reviews.len(), 1);
    assert_eq!(again.reviews[0].review_id, review.review_id);
}

/// Waits for the marriage-birth-household case the registration started.
async fn wait_for_marriage_case(suite: &kit::testing::TestSuite, staff: &Staff) -> pb::Case {
    for _ in 0..400 {
        let listed = onematter(suite)
            .list_cases(suite.request(
                pb::ListCasesRequest {
                    page_size: 50,
                    ..Default::default()
                },
                &staff.operator,
            ))
            .await
            .expect("list")
            .into_inner();
        if let Some(case) = listed
            .cases
            .into_iter()
            .find(|c| c.kind() == pb::MatterKind::MarriageBirthHousehold)
        {
            return case;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no marriage-birth-household case started");
}
