//! The aggregator's caller profile (crates/auth/profiles.toml, `[onematter]`) against what its
//! workflows really call: the after-death plan with a cremation day the family chose, through
//! the real funeral, assistance, eldercare, marriage and social-organisation services. A call
//! the profile does not allow is refused PERMISSION_DENIED AUTH_PROFILE_RPC_NOT_ALLOWED, a
//! terminal failure that parks the case: the case completing with every step done once is the
//! proof; the funeral service's audit shows the booking made by the aggregator's credential.

mod common;

use auth::Role;
use common::*;
use contracts::civil::common::v1::Date;
use contracts::civil::funeral::v1 as funeral;
use contracts::civil::onematter::v1 as pb;

const FAMILY: u32 = 9;

#[tokio::test]
async fn every_call_of_the_after_death_plan_with_a_family_chosen_cremation_day_is_allowed_by_the_profile()
 {
    let outside = Outside::start().await;
    let suite = spawn_suite(&outside, |_| {}).await;
    let staff = Staff::of(&suite);
    let people = People::new(FAMILY);
    let son = suite.token_for("citizen-wang-xiaoming", &[Role::Citizen], COUNTY);

    // The family books the furnace through the case: the day and slot they chose.
    let today = kit::today_cst();
    let day = Date {
        year: today.year(),
        month: i32::from(u8::from(today.month())),
        day: i32::from(today.day()),
    };
    let mut start = people.start_case("family-profile");
    if let Some(m) = start.after_death.as_mut() {
        m.arrangement = Some(pb::FuneralArrangement {
            cremation_day: Some(day),
            cremation_slot: 3,
            ..Default::default()
        });
    }
    let case = onematter(&suite)
        .start_case(suite.request(start, &son))
        .await
        .expect("the family applies")
        .into_inner();

    // The case registers the death and books the cremation; the funeral home cremates.
    let booked = wait_case(
        &suite,
        &son,
        &case.name,
        std::time::Duration::from_secs(30),
        "the cremation booked",
        |c| {
            c.state() == pb::CaseState::Parked
                || c.steps
                    .iter()
                    .any(|s| s.name == "funeral_disposal" && s.summary.contains("waiting"))
        },
    )
    .await;
    assert_ne!(booked.state(), pb::CaseState::Parked, "{booked:#?}");
    let registered = &step(&booked, "funeral_death_case").summary;
    let death_case = registered
        .rsplit(": ")
        .next()
        .expect("the death case's name")
        .to_owned();
    let mut f = funeral::funeral_service_client::FuneralServiceClient::new(suite.channel.clone());
    f.complete_cremation(suite.request(
        funeral::CompleteCremationRequest {
            request_id: "cremate-profile".into(),
            death_case: death_case.clone(),
        },
        &staff.funeral_home,
    ))
    .await
    .expect("cremated");

    let done = settle(&suite, &son, &case.name).await;
    assert_eq!(done.state(), pb::CaseState::Completed, "{done:#?}");
    for s in &done.steps {
        assert_eq!(s.state(), pb::StepState::Succeeded, "{}: {s:?}", s.name);
        assert!(
            !s.last_error.contains("AUTH_PROFILE"),
            "{}: {}",
            s.name,
            s.last_error
        );
    }
    // The booking was the aggregator's, under its caller profile, on the family's behalf.
    let booked_by = count(
        &suite,
        "funeral",
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE '%BookCremation%'
            AND on_behalf_of = 'citizen-wang-xiaoming' AND outcome = 'ok'",
    )
    .await;
    assert_eq!(booked_by, 1);
}
