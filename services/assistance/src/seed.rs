//! Bulk seeding for the payment benchmark (benches/payment_cycle.rs): approved 低保 benefits
//! with payee accounts, written straight to the service's store with its sealer. Not an API:
//! the procedure that makes benefits is measured elsewhere; this only sets the stage.

use kit::config::Config;
use time::Date;

use crate::domain::benefit::{BenefitKind, Terms};
use crate::domain::household::{DailyActivities, Household, Member, Relationship};
use crate::domain::month::Month;
use crate::domain::payment::Account;
use crate::domain::policy::{Area, Policy};
use crate::records::{BenefitRecord, BenefitState, fmt_date};

/// Writes `n` one-person 低保 benefits approved on `approved_on` (paid from the month after),
/// each with an account; returns their ids.
pub async fn benefits_with_accounts(
    config: &Config,
    n: usize,
    approved_on: Date,
) -> anyhow::Result<Vec<String>> {
    let db = kit::store::Db::open(config, "assistance", &crate::MIGRATOR).await?;
    let sealer = kit::pii::Sealer::from_config(config)?;
    let policy = Policy::default_policy();
    let month = Month::of(approved_on).next();
    let mut tx = db.begin().await?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let birth = time::macros::date!(1970 - 01 - 01) + time::Duration::days((i % 9000) as i64);
        let first17 = format!(
            "330723{:04}{:02}{:02}{:03}",
            birth.year(),
            u8::from(birth.month()),
            birth.day(),
            100 + i / 9000
        );
        let id_number = format!("{first17}{}", civil_id::IdNumber::check_char(&first17));
        let member = Member {
            id_number: id_number.clone(),
            name: "张三".into(),
            birth_date: birth,
            relationship: Relationship::Applicant,
            incomes: vec![],
            properties: vec![],
            disability: None,
            serious_illness: false,
            in_school: false,
            no_capable_supporter: false,
            activities: DailyActivities::ALL,
            left_month: None,
            own_area: None,
        };
        let household = Household {
            region: format!("330723{:03}{:03}", 101 + i % 10, 1 + (i / 10) % 20),
            area: Area::Rural,
            members: vec![member],
        };
        let terms = Terms::new(
            BenefitKind::MinimumLiving,
            household,
            None,
            false,
            approved_on,
        );
        let computation = terms
            .amount_for(&policy, month)
            .map_err(|_| anyhow::anyhow!("amount out of range"))?
            .ok_or_else(|| anyhow::anyhow!("the seeded benefit does not pay"))?;
        let rec = BenefitRecord {
            id: uuid::Uuid::now_v7().to_string(),
            application_id: None,
            state: BenefitState::Active,
            approved_on: fmt_date(approved_on),
            approved_by: "bench-approver".into(),
            terms,
            computation,
            termination: None,
            emergency: false,
            paperwork: None,
            circumstances: String::new(),
            next_review: fmt_date(month.plus(12).first_day()),
            history: vec![],
            household_reviews: vec![],
            version: 1,
        };
        let index = sealer.index(&civil_id::IdNumber::parse(&id_number)?);
        crate::store::insert_benefit(&mut tx, &sealer, &rec, &[index], 0).await?;
        let account = Account {
            bank_code: "402331000007".into(),
            number: format!("62220200{i:08}"),
            holder: "张三".into(),
        };
        let sealed = crate::store::seal(&sealer, &account)?;
        crate::store::upsert_payee_account(&mut tx, &rec.id, &sealed, "bench", 0).await?;
        ids.push(rec.id);
    }
    tx.commit().await?;
    Ok(ids)
}
