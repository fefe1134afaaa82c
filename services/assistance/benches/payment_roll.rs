//! Payment roll over 5,000 active 低保 benefits, through gRPC. Not run in CI.
//!
//! ```text
//! cargo bench -p assistance --bench payment_roll                       # SQLite
//! CIVIL_TEST_PG=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p assistance --bench payment_roll                     # PostgreSQL
//! CIVIL_BENCH_BENEFITS=500 cargo bench -p assistance --bench payment_roll   # a smaller run
//! ```
//!
//! Every benefit is created the way a county creates it: submit, accept, home visit, economic
//! check (against the checking-centre double of tests/support, a real gRPC server), public
//! notice and approval, all through the service's gRPC API. Then GeneratePaymentRoll runs for the
//! first month paid, twice (two request ids); the two rolls must be identical, and every line
//! must carry the amount computed here from the policy in force for the month.

#[path = "../tests/support/checking_centre.rs"]
mod checking_centre;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assistance::domain::month::Month;
use assistance::domain::policy::Policy;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::assistance::v1::assistance_service_client::AssistanceServiceClient;
use contracts::civil::common::v1::PersonRef;
use kit::error::to_proto_date;
use kit::testing::{Role, TestSuite};

const DEFAULT_BENEFITS: usize = 5_000;
/// Households taken through the procedure at once.
const CONCURRENCY: usize = 8;
const COUNTY: &str = "330723";

/// One household: its village, and its members as (identity number, monthly wages in fen).
struct Household {
    village: String,
    members: Vec<(String, i64)>,
}

/// Deterministic households of 1-3 working-age members (no add-ons: aged 24-56, no
/// disability) in 200 villages of 10 townships, with wages well below the standard.
fn households(n: usize) -> Vec<Household> {
    let base = time::macros::date!(1970 - 01 - 01);
    let mut k = 0usize;
    (0..n)
        .map(|i| {
            let size = 1 + i % 3;
            let members = (0..size)
                .map(|_| {
                    // (birth day, sequence) is unique per k: 7919 is prime to 12000.
                    let birth = base + time::Duration::days(((k * 7919) % 12_000) as i64);
                    let seq = 100 + k / 12_000;
                    let first17 = format!(
                        "{COUNTY}{:04}{:02}{:02}{seq:03}",
                        birth.year(),
                        u8::from(birth.month()),
                        birth.day()
                    );
                    let id = format!("{first17}{}", civil_id::IdNumber::check_char(&first17));
                    let wages = ((k * 37) % 40) as i64 * 1_000;
                    k += 1;
                    (id, wages)
                })
                .collect();
            Household {
                village: format!("{COUNTY}{:03}{:03}", 101 + i % 10, 1 + (i / 10) % 20),
                members,
            }
        })
        .collect()
}

struct Env {
    suite: TestSuite,
    clerk: String,
    approver: String,
}

impl Env {
    fn client(&self) -> AssistanceServiceClient<tonic::transport::Channel> {
        AssistanceServiceClient::new(self.suite.channel.clone())
            .max_decoding_message_size(64 * 1024 * 1024)
    }
}

/// Takes one household from application to approval; returns the benefit id.
async fn approve(env: &Env, tag: &str, h: &Household) -> String {
    let today = kit::today_cst();
    let days_ago = |d: i64| Some(to_proto_date(today - time::Duration::days(d)));
    let mut c = env.client();
    let members = h
        .members
        .iter()
        .enumerate()
        .map(|(j, (id, wages))| pb::Member {
            person: Some(PersonRef {
                id_number: id.clone(),
                name: "张三".into(),
            }),
            relationship: if j == 0 {
                pb::Relationship::Applicant
            } else {
                pb::Relationship::Spouse
            } as i32,
            incomes: vec![pb::IncomeItem {
                kind: pb::IncomeKind::Wages as i32,
                monthly_fen: *wages,
            }],
            ..Default::default()
        })
        .collect();
    let app = c
        .submit_application(env.suite.request(
            pb::SubmitApplicationRequest {
                request_id: format!("{tag}-submit"),
                kind: pb::BenefitKind::MinimumLivingAllowance as i32,
                channel: pb::Channel::InPerson as i32,
                household: Some(pb::Household {
                    region: h.village.clone(),
                    area: pb::AreaKind::Rural as i32,
                    members,
                }),
                ..Default::default()
            },
            &env.clerk,
        ))
        .await
        .expect("submit")
        .into_inner();
    let id = app.id;
    c.accept_application(env.suite.request(
        pb::AcceptApplicationRequest {
            request_id: format!("{tag}-accept"),
            application_id: id.clone(),
        },
        &env.clerk,
    ))
    .await
    .expect("accept");
    let staff = ["staff-a", "staff-b"]
        .iter()
        .map(|s| pb::Signatory {
            staff_subject: (*s).into(),
            staff_name: (*s).into(),
            signed: true,
        })
        .collect();
    c.record_investigation(env.suite.request(
        pb::RecordInvestigationRequest {
            request_id: format!("{tag}-visit"),
            application_id: id.clone(),
            visit_date: days_ago(21),
            staff,
            household_signed: true,
            findings: "household visited".into(),
        },
        &env.clerk,
    ))
    .await
    .expect("visit");
    c.request_economic_check(env.suite.request(
        pb::RequestEconomicCheckRequest {
            request_id: format!("{tag}-check"),
            application_id: id.clone(),
            authorisation_reference: format!("AUTH-{tag}"),
            authorisation_signed_on: days_ago(21),
        },
        &env.clerk,
    ))
    .await
    .expect("check");
    c.start_public_notice(env.suite.request(
        pb::StartPublicNoticeRequest {
            request_id: format!("{tag}-notice"),
            application_id: id.clone(),
            start_date: days_ago(20),
        },
        &env.clerk,
    ))
    .await
    .expect("notice");
    let app = c
        .decide_application(env.suite.request(
            pb::DecideApplicationRequest {
                request_id: format!("{tag}-decide"),
                application_id: id,
                approve: true,
                reasons: vec![],
            },
            &env.approver,
        ))
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(app.state, pb::ApplicationState::Approved as i32);
    app.benefit_id
}

async fn generate(env: &Env, request_id: &str, month: Month) -> (pb::PaymentRoll, Duration) {
    let request = env.suite.request(
        pb::GeneratePaymentRollRequest {
            request_id: request_id.into(),
            month: month.to_string(),
        },
        &env.approver,
    );
    let start = Instant::now();
    let roll = env
        .client()
        .generate_payment_roll(request)
        .await
        .expect("roll")
        .into_inner();
    (roll, start.elapsed())
}

async fn run(n: usize) {
    let backend = match std::env::var("CIVIL_TEST_PG") {
        Ok(url) if !url.is_empty() => "PostgreSQL",
        _ => "SQLite",
    };
    println!("payment roll benchmark: {n} active 低保 benefits, {backend}");
    let centre = checking_centre::Centre::default();
    let url = checking_centre::start_centre(centre.clone()).await;
    let suite = kit::testing::spawn_with(&[assistance::SERVICE], |config| {
        config.upstreams.insert("checking_centre".into(), url);
    })
    .await;
    let env = Arc::new(Env {
        clerk: suite.token_for("clerk-county", &[Role::TownshipClerk], COUNTY),
        approver: suite.token_for("approver-1", &[Role::CountyApprover], COUNTY),
        suite,
    });
    let all = Arc::new(households(n));

    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (env, all, next) = (env.clone(), all.clone(), next.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= all.len() {
                        break done;
                    }
                    done.push((approve(&env, &format!("b{i}"), &all[i]).await, i));
                }
            })
        })
        .collect();
    let mut benefit_of = HashMap::new();
    for w in workers {
        for (benefit_id, i) in w.await.expect("worker") {
            benefit_of.insert(benefit_id, i);
        }
    }
    let seeded = start.elapsed();
    println!(
        "seeded {} benefits through the approval procedure (6 RPCs each) in {seeded:.2?} ({:.0} benefits/s)",
        benefit_of.len(),
        benefit_of.len() as f64 / seeded.as_secs_f64()
    );
    assert_eq!(benefit_of.len(), n, "every application approved once");
    assert_eq!(
        centre.0.lock().expect("lock").calls.len(),
        n,
        "one economic check per household"
    );

    // Approved today: first paid next month. Each line's amount, computed here from the policy
    // in force for that month: the rural standard x members - wages, rounded as the policy says.
    let month = Month::of(kit::today_cst()).next();
    let policy = Policy::default_policy();
    let version = policy.in_force_for_month(month);
    let expected = |h: &Household| {
        let income: i64 = h.members.iter().map(|(_, w)| w).sum();
        version
            .rounding
            .apply(money::Fen::new(
                version.rural_standard_fen.get() * h.members.len() as i64 - income,
            ))
            .map(money::Fen::get)
    };

    let (first, first_time) = generate(&env, "roll-1", month).await;
    let (second, second_time) = generate(&env, "roll-2", month).await;
    println!(
        "GeneratePaymentRoll {month} (generated): {first_time:.2?}, {} lines, total {} fen",
        first.lines.len(),
        first.total_fen
    );
    println!(
        "GeneratePaymentRoll {month} (again, another request id): {second_time:.2?}, {} lines, total {} fen",
        second.lines.len(),
        second.total_fen
    );
    assert_eq!(first, second, "a month has one roll");
    assert_eq!(first.lines.len(), n);
    let mut total = 0;
    for line in &first.lines {
        let i = benefit_of[&line.benefit_id];
        let h = &all[i];
        assert_eq!(Some(line.amount_fen), expected(h), "line of household {i}");
        assert_eq!(line.members as usize, h.members.len());
        assert_eq!(line.region, h.village);
        assert_eq!(
            line.payee_id_number,
            civil_id::mask_id_number(&h.members[0].0)
        );
        assert_eq!(line.policy_version, version.id);
        total += line.amount_fen;
    }
    assert_eq!(first.total_fen, total);
    let expected_total: i64 = all.iter().filter_map(expected).sum();
    assert_eq!(total, expected_total);
    println!("rolls identical; every line and the total match the policy ({expected_total} fen)");
}

fn main() {
    let n = std::env::var("CIVIL_BENCH_BENEFITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BENEFITS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(n));
}
