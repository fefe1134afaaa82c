//! The effects of the GrievanceService (RULES.md "Second round" §6): filing, assignment (and
//! 信访 acceptance), the outcome, escalation of overdue grievances. The rules are in
//! [`crate::domain::grievance`]; this loads, seals and stores.

use contracts::civil::assistance::v1 as pb;
use kit::ServiceError;
use kit::error::to_proto_date;
use kit::rpc::{Call, Refusal};
use serde::{Deserialize, Serialize};

use crate::domain::grievance::{
    self as rules, Category, GrievancePolicy, GrievanceRefusal, Outcome,
};
use crate::records::{fmt_date, parse_date};
use crate::store;

impl Refusal for GrievanceRefusal {
    fn reason(&self) -> &'static str {
        GrievanceRefusal::reason(self)
    }
}

/// A grievance as stored (sealed: it holds the complainant's name and words).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrievanceRecord {
    pub id: String,
    pub category: Category,
    pub portal: bool,
    pub region: String,
    pub subject_ref: String,
    pub description: String,
    pub complainant_name: String,
    pub filed_on: String,
    pub known_on: Option<String>,
    pub accepted_on: Option<String>,
    pub deadline: String,
    pub filed_by: String,
    pub owner: String,
    pub escalated_on: Option<String>,
    pub outcome: Option<Outcome>,
    pub resolved_by: String,
    pub resolved_on: Option<String>,
    #[serde(skip)]
    pub version: i64,
}

impl GrievanceRecord {
    /// The stored state: filed, in_hand, resolved.
    pub fn state(&self) -> &'static str {
        if self.outcome.is_some() {
            "resolved"
        } else if !self.owner.is_empty() {
            "in_hand"
        } else {
            "filed"
        }
    }
}

/// A grievance as filed, decoded.
pub(crate) struct Filing {
    pub category: Category,
    pub region: String,
    pub subject_ref: String,
    pub description: String,
    pub complainant_name: String,
    pub known_on: Option<time::Date>,
}

fn date_to_proto(text: Option<&str>) -> Option<contracts::civil::common::v1::Date> {
    text.and_then(parse_date).map(to_proto_date)
}

pub(crate) fn category_to_proto(c: Category) -> pb::GrievanceCategory {
    match c {
        Category::NoticeObjection => pb::GrievanceCategory::ObjectionNotice,
        Category::StaffComplaint => pb::GrievanceCategory::ComplaintStaff,
        Category::Petition => pb::GrievanceCategory::PetitionFirst,
        Category::PetitionReview => pb::GrievanceCategory::PetitionReview,
        Category::PetitionReReview => pb::GrievanceCategory::PetitionReReview,
        Category::AdministrativeReview => pb::GrievanceCategory::AdministrativeReview,
    }
}

pub(crate) fn category_from_proto(v: i32) -> Option<Category> {
    rules::CATEGORIES
        .into_iter()
        .find(|c| category_to_proto(*c) as i32 == v)
}

/// The grievance as answered; `today` decides whether it is overdue.
pub(crate) fn to_proto(rec: &GrievanceRecord, today: time::Date) -> pb::Grievance {
    let deadline = parse_date(&rec.deadline);
    let (corrected, rejected) = match &rec.outcome {
        Some(Outcome::Corrected { decision_ref, .. }) => (decision_ref.clone(), String::new()),
        Some(Outcome::Rejected { reasons }) => (String::new(), reasons.clone()),
        None => (String::new(), String::new()),
    };
    pb::Grievance {
        id: rec.id.clone(),
        category: category_to_proto(rec.category) as i32,
        channel: if rec.portal {
            pb::GrievanceChannel::Portal
        } else {
            pb::GrievanceChannel::Counter
        } as i32,
        state: match rec.state() {
            "resolved" => pb::GrievanceState::Resolved,
            "in_hand" => pb::GrievanceState::InHand,
            _ => pb::GrievanceState::Filed,
        } as i32,
        region: rec.region.clone(),
        subject_ref: rec.subject_ref.clone(),
        description: rec.description.clone(),
        complainant_name: rec.complainant_name.clone(),
        filed_on: date_to_proto(Some(&rec.filed_on)),
        known_on: date_to_proto(rec.known_on.as_deref()),
        accepted_on: date_to_proto(rec.accepted_on.as_deref()),
        deadline: deadline.map(to_proto_date),
        filed_by: rec.filed_by.clone(),
        owner: rec.owner.clone(),
        overdue: deadline.is_some_and(|d| rules::is_overdue(rec.outcome.is_some(), d, today)),
        escalated: rec.escalated_on.is_some(),
        escalated_on: date_to_proto(rec.escalated_on.as_deref()),
        corrected_decision_ref: corrected,
        rejection_reasons: rejected,
        resolved_by: rec.resolved_by.clone(),
        resolved_on: date_to_proto(rec.resolved_on.as_deref()),
    }
}

fn person(c: &Call) -> String {
    auth::duties::person_of(c.principal()).to_owned()
}

/// Files a grievance; its deadline from the category.
pub(crate) async fn file(
    c: &mut Call,
    f: Filing,
    portal: bool,
) -> Result<pb::Grievance, ServiceError> {
    let today = c.today();
    let calendar = c.rpc().calendar();
    let deadline = rules::on_filing(
        calendar,
        &GrievancePolicy::default(),
        f.category,
        today,
        f.known_on,
    )?;
    let rec = GrievanceRecord {
        id: uuid::Uuid::now_v7().to_string(),
        category: f.category,
        portal,
        region: f.region,
        subject_ref: f.subject_ref,
        description: f.description,
        complainant_name: f.complainant_name,
        filed_on: fmt_date(today),
        known_on: f.known_on.map(fmt_date),
        accepted_on: None,
        deadline: fmt_date(deadline),
        filed_by: person(c),
        owner: String::new(),
        escalated_on: None,
        outcome: None,
        resolved_by: String::new(),
        resolved_on: None,
        version: 1,
    };
    let (sealer, now) = (c.sealer().clone(), c.now_ms());
    store::insert_grievance(c.db(), &sealer, &rec, now).await?;
    c.object(rec.id.clone());
    metrics::counter!("civil_grievances_filed_total", "category" => rec.category.code())
        .increment(1);
    Ok(to_proto(&rec, today))
}

async fn save(c: &mut Call, rec: &GrievanceRecord) -> Result<pb::Grievance, ServiceError> {
    let (sealer, now) = (c.sealer().clone(), c.now_ms());
    store::update_grievance(c.db(), &sealer, rec, now).await?;
    Ok(to_proto(rec, c.today()))
}

/// Names the owner; a 信访 not yet accepted is accepted today (deadline: 60 days after).
pub(crate) async fn assign(
    c: &mut Call,
    mut rec: GrievanceRecord,
    owner: String,
) -> Result<pb::Grievance, ServiceError> {
    if rec.outcome.is_some() {
        return Err(GrievanceRefusal::Resolved.into());
    }
    let today = c.today();
    if rec.category.needs_acceptance() && rec.accepted_on.is_none() {
        rec.accepted_on = Some(fmt_date(today));
        rec.deadline = fmt_date(rules::on_acceptance(c.rpc().calendar(), today));
    }
    rec.owner = owner;
    save(c, &rec).await
}

/// Records the outcome; a corrected decision must be an application or benefit the caller
/// may see.
pub(crate) async fn resolve(
    c: &mut Call,
    mut rec: GrievanceRecord,
    outcome: Outcome,
) -> Result<pb::Grievance, ServiceError> {
    rules::resolve(
        rec.category,
        rec.accepted_on.is_some(),
        rec.outcome.is_some(),
    )?;
    if let Outcome::Corrected { decision_ref, .. } = &outcome {
        let region = store::decision_region(c.db(), decision_ref).await?;
        let known =
            region.is_some_and(|r| c.authorize(crate::api::shared::READERS, Some(&r)).is_ok());
        if !known {
            return Err(crate::api::refuse(
                "GRIEVANCE_DECISION_UNKNOWN",
                "the corrected decision is no application or benefit of the county",
            ));
        }
    }
    rec.outcome = Some(outcome);
    rec.resolved_by = person(c);
    rec.resolved_on = Some(fmt_date(c.today()));
    save(c, &rec).await
}

/// Most grievances one list or escalation answers.
const LIST_MAX: i64 = 500;

/// The region's overdue grievances.
pub(crate) async fn overdue(
    c: &mut Call,
    region: &str,
) -> Result<pb::ListOverdueGrievancesResponse, ServiceError> {
    let (sealer, today) = (c.sealer().clone(), c.today());
    let rows =
        store::overdue_grievances(c.db(), &sealer, region, &fmt_date(today), false, LIST_MAX)
            .await?;
    Ok(pb::ListOverdueGrievancesResponse {
        grievances: rows.iter().map(|r| to_proto(r, today)).collect(),
    })
}

/// Escalates the county's overdue grievances not escalated yet.
pub(crate) async fn escalate(
    c: &mut Call,
    county: &str,
) -> Result<pb::ListOverdueGrievancesResponse, ServiceError> {
    let (sealer, today) = (c.sealer().clone(), c.today());
    let rows = store::overdue_grievances(c.db(), &sealer, county, &fmt_date(today), true, LIST_MAX)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for mut rec in rows {
        let due = parse_date(&rec.deadline).unwrap_or(today);
        if !rules::needs_escalation(
            rec.outcome.is_some(),
            rec.escalated_on.is_some(),
            due,
            today,
        ) {
            continue;
        }
        rec.escalated_on = Some(fmt_date(today));
        out.push(save(c, &rec).await?);
    }
    metrics::counter!("civil_grievances_escalated_total").increment(out.len() as u64);
    Ok(pb::ListOverdueGrievancesResponse { grievances: out })
}

/// Sets the overdue gauge every minute (civil_grievances_overdue; alert CivilGrievancesOverdue).
pub(crate) async fn overdue_gauge(db: kit::store::Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let today = fmt_date(kit::today_cst());
        let Ok(mut conn) = db.pool.acquire().await else {
            continue;
        };
        if let Ok(n) = store::count_overdue_grievances(&mut conn, &today).await {
            metrics::gauge!("civil_grievances_overdue").set(n as f64);
        }
    }
}
