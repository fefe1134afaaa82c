//! Effects on benefits: status for other bureaus, death, income changes, terminations and
//! temporary assistance.

use std::time::Duration;

use auth::{Principal, Role};
use base64::Engine as _;
use contracts::civil::assistance::v1 as pb;
use contracts::civil::common::v1::PersonRef;
use kit::{ServiceError, Violations};
use prost::Message;
use sqlx::AnyConnection;

use crate::api::{Inner, audit_change, authorize, refuse, status_key};
use crate::convert::{
    benefit_state_to_proto, benefit_to_proto, kind_to_proto, parse_incomes,
    termination_reason_from_proto, visible_state,
};
use crate::domain::allowance::{AmountLine, Computation};
use crate::domain::benefit::{
    self, BenefitKind, ChangeError, DeathOutcome, IncomeChangeOutcome, TerminationReason, Terms,
};
use crate::domain::month::Month;
use crate::domain::temporary::{TemporaryType, check_bounds};
use crate::procedure::{covered_indexes, not_in_future};
use crate::records::{BenefitRecord, BenefitState, TerminationRecord, fmt_date};
use crate::store;

/// How long a shared (Redis) copy of a recipient status lives; changes invalidate it at once.
const STATUS_TTL: Duration = Duration::from_secs(300);

const STATUS_READERS: &[Role] = &[
    Role::Service,
    Role::TownshipClerk,
    Role::CountyApprover,
    Role::FuneralHome,
];

fn change_error(e: ChangeError) -> ServiceError {
    let reason = match e {
        ChangeError::NotAMember => "ASSISTANCE_NOT_A_MEMBER",
        ChangeError::Ended => "ASSISTANCE_BENEFIT_ENDED",
        ChangeError::InPhaseOut => "ASSISTANCE_IN_PHASE_OUT",
        ChangeError::NotApplicable => "ASSISTANCE_NOT_APPLICABLE",
    };
    refuse(reason, e.to_string())
}

fn this_month() -> Month {
    Month::of(kit::today_cst())
}

impl Inner {
    pub(crate) async fn invalidate_benefit(&self, benefit_id: &str) {
        if benefit_id.is_empty() {
            return;
        }
        let indexes = match self.db.pool.acquire().await {
            Ok(mut conn) => store::member_indexes(&mut conn, benefit_id)
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        self.invalidate(&indexes).await;
    }

    /// The person's status as stored (all regions), from the cache or the store.
    async fn status_of(&self, index: &str) -> Result<pb::RecipientStatus, ServiceError> {
        let key = status_key(index);
        if let Some(bytes) = self.cache.get(&key).await
            && let Ok(status) = pb::RecipientStatus::decode(bytes.as_slice())
        {
            return Ok(status);
        }
        let generation = self.invalidations.load(std::sync::atomic::Ordering::SeqCst);
        let mut conn = self.db.pool.acquire().await?;
        let month = this_month();
        let mut status = pb::RecipientStatus::default();
        // Benefits first, the death record second: a TerminateForDeath committing in between
        // then shows as the death (with what the person received), never as "nothing at all".
        let benefits = store::benefits_of_person(&mut conn, &self.sealer, index).await?;
        // A person whose death is recorded receives nothing any more; `at_death` keeps what
        // they received, for decisions taken after the death (the funeral fee waiver).
        if let Some(stored) = store::death_response(&mut conn, index).await? {
            status.at_death = decode_death(&stored)?.effects;
        } else {
            for rec in benefits {
                let state = visible_state(&rec, month);
                if state == BenefitState::Terminated {
                    continue;
                }
                let still_member = rec.terms.current().household.members.iter().any(|m| {
                    m.counts_in(month)
                        && crate::procedure::index_of(self, &m.id_number).as_deref() == Some(index)
                });
                if !still_member {
                    continue;
                }
                status.active_benefits.push(pb::RecipientBenefit {
                    benefit_id: rec.id.clone(),
                    kind: kind_to_proto(rec.kind()),
                    state: benefit_state_to_proto(state),
                    since_month: rec.terms.paid_from.to_string(),
                    approved_on: crate::records::parse_date(&rec.approved_on)
                        .map(kit::error::to_proto_date),
                    household_region: rec.region().to_owned(),
                });
            }
        }
        drop(conn);
        // A change committed while we read may already have invalidated the key: caching
        // what we read then would serve the old status until the TTL ends.
        if self.invalidations.load(std::sync::atomic::Ordering::SeqCst) == generation {
            self.cache
                .set(&key, status.encode_to_vec(), STATUS_TTL)
                .await;
            // An invalidation that slipped in between the check and the set wins.
            if self.invalidations.load(std::sync::atomic::Ordering::SeqCst) != generation {
                self.cache.invalidate(&key).await;
            }
        }
        Ok(status)
    }

    pub(crate) async fn recipient_status(
        &self,
        p: &Principal,
        req: pb::GetRecipientStatusRequest,
    ) -> Result<pb::RecipientStatus, ServiceError> {
        authorize(p, STATUS_READERS, None)?;
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        v.finish()?;
        let Some(id) = id else {
            return Err(ServiceError::invalid("id_number", "is required"));
        };
        let index = self.sealer.index(&id);
        let mut status = self.status_of(&index).await?;
        if !p.has_role(Role::Service) {
            status
                .active_benefits
                .retain(|b| p.covers_region(&b.household_region));
        }
        let shown = if p.sees_full_identity_numbers() {
            id.as_str().to_owned()
        } else {
            id.masked()
        };
        status.person = Some(PersonRef {
            id_number: shown,
            name: String::new(),
        });
        self.audit_read(p, "assistance.GetRecipientStatus", &index, &req.purpose)
            .await;
        Ok(status)
    }

    /// Ends or recalculates every benefit of the deceased. The outcome is stored per person, so
    /// any later call (another request id, a retried workflow step) returns the same answer.
    pub(crate) async fn terminate_for_death(
        &self,
        p: &Principal,
        req: pb::TerminateForDeathRequest,
    ) -> Result<pb::TerminateForDeathResponse, ServiceError> {
        authorize(p, &[Role::Service, Role::CountyApprover], None)?;
        let mut v = Violations::new();
        let id = v.id_number(&req.id_number, "id_number");
        let died = v.date(req.date_of_death.as_ref(), "date_of_death");
        v.finish()?;
        let (Some(id), Some(died)) = (id, died) else {
            return Err(ServiceError::invalid("id_number", "is required"));
        };
        if died > kit::today_cst() {
            return Err(refuse(
                "ASSISTANCE_DEATH_IN_FUTURE",
                "the date of death is after today",
            ));
        }
        let index = self.sealer.index(&id);
        let policy = self.policy.clone();
        let sealer = self.sealer.clone();
        let principal = p.clone();
        let (key, body) = (req.request_id.clone(), req.clone());
        let person_index = index.clone();
        let (response, touched) = {
            let response =
                kit::idempotency::once(&self.db, "TerminateForDeath", &key, &body, move |conn| {
                    Box::pin(async move {
                        if let Some(stored) = store::death_response(conn, &person_index).await? {
                            return decode_death(&stored);
                        }
                        let mut response = pb::TerminateForDeathResponse::default();
                        for mut rec in
                            store::benefits_of_person(conn, &sealer, &person_index).await?
                        {
                            if !principal.has_role(Role::Service) {
                                authorize(&principal, &[Role::CountyApprover], Some(rec.region()))?;
                            }
                            let Some(outcome) =
                                benefit::record_death(&mut rec.terms, &policy, id.as_str(), died)
                            else {
                                continue;
                            };
                            let effect =
                                apply_death(conn, &principal, &mut rec, outcome, &policy).await?;
                            store::update_benefit(conn, &sealer, &rec).await?;
                            response.effects.push(effect);
                        }
                        store::insert_death(
                            conn,
                            &person_index,
                            &fmt_date(died),
                            &encode(&response),
                        )
                        .await?;
                        audit_change(
                            conn,
                            &principal,
                            "assistance.TerminateForDeath",
                            &person_index,
                        )
                        .await?;
                        Ok(response)
                    })
                })
                .await?;
            let touched: Vec<String> = response
                .effects
                .iter()
                .map(|e| e.benefit_id.clone())
                .collect();
            (response, touched)
        };
        self.invalidate(std::slice::from_ref(&index)).await;
        for benefit_id in touched {
            self.invalidate_benefit(&benefit_id).await;
        }
        Ok(response)
    }

    pub(crate) async fn get_benefit(
        &self,
        p: &Principal,
        req: pb::GetBenefitRequest,
    ) -> Result<pb::Benefit, ServiceError> {
        let roles = &[Role::TownshipClerk, Role::CountyApprover];
        authorize(p, roles, None)?;
        let mut conn = self.db.pool.acquire().await?;
        let rec = store::load_benefit(&mut conn, &self.sealer, &req.benefit_id).await?;
        authorize(p, roles, Some(rec.region()))?;
        self.audit_read(p, "assistance.GetBenefit", &rec.id, "")
            .await;
        Ok(benefit_to_proto(
            &rec,
            p.sees_full_identity_numbers(),
            this_month(),
        ))
    }

    pub(crate) async fn income_change(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::RecordIncomeChangeRequest,
    ) -> Result<pb::Benefit, ServiceError> {
        let mut v = Violations::new();
        let member = v.id_number(&req.member_id_number, "member_id_number");
        let incomes = parse_incomes(&mut v, &req.incomes, "incomes");
        v.finish()?;
        let Some(member) = member else {
            return Err(ServiceError::invalid("member_id_number", "is required"));
        };
        authorize(p, &[Role::TownshipClerk], None)?;
        let mut rec = store::load_benefit(conn, &self.sealer, &req.benefit_id).await?;
        authorize(p, &[Role::TownshipClerk], Some(rec.region()))?;
        let today = kit::today_cst();
        let outcome = benefit::record_income_change(
            &mut rec.terms,
            &self.policy,
            member.as_str(),
            incomes,
            req.from_employment,
            today,
        )
        .map_err(change_error)?;
        let (from, reason) = match outcome {
            IncomeChangeOutcome::Recomputed { from, .. } => (from, "income change"),
            IncomeChangeOutcome::PhaseOut { from, .. } => {
                rec.state = BenefitState::PhaseOut;
                (from, "phase-out after income from work")
            }
            IncomeChangeOutcome::Lapsed { from } => {
                rec.state = BenefitState::Terminated;
                rec.termination = Some(TerminationRecord {
                    reason: TerminationReason::Lapsed,
                    effective_month: from,
                    decided_by: p.subject.clone(),
                    note: "income no longer below the standard".into(),
                });
                (from, "lapsed")
            }
        };
        if let Some(computation) = rec.terms.amount_for(&self.policy, from) {
            rec.computation = computation;
        }
        self.record_change(conn, p, &rec, from, reason).await?;
        store::update_benefit(conn, &self.sealer, &rec).await?;
        audit_change(conn, p, "assistance.RecordIncomeChange", &rec.id).await?;
        Ok(benefit_to_proto(
            &rec,
            p.sees_full_identity_numbers(),
            this_month(),
        ))
    }

    /// Writes BenefitTerminated when the benefit ended, else BenefitChanged.
    async fn record_change(
        &self,
        conn: &mut AnyConnection,
        _p: &Principal,
        rec: &BenefitRecord,
        from: Month,
        reason: &str,
    ) -> Result<(), ServiceError> {
        if let Some(t) = rec
            .termination
            .as_ref()
            .filter(|_| rec.state == BenefitState::Terminated)
        {
            let event = pb::BenefitTerminated {
                benefit_id: rec.id.clone(),
                reason: termination_reason_to_i32(t.reason),
                effective_month: t.effective_month.to_string(),
            };
            kit::outbox::append(
                conn,
                "assistance.benefit_terminated",
                "civil.assistance.v1.BenefitTerminated",
                &rec.id,
                &event,
            )
            .await?;
        } else {
            let event = pb::BenefitChanged {
                benefit_id: rec.id.clone(),
                from_month: from.to_string(),
                monthly_amount_fen: rec.computation.total_fen,
                reason: reason.to_owned(),
            };
            kit::outbox::append(
                conn,
                "assistance.benefit_changed",
                "civil.assistance.v1.BenefitChanged",
                &rec.id,
                &event,
            )
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn terminate_benefit(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::TerminateBenefitRequest,
    ) -> Result<pb::Benefit, ServiceError> {
        let mut v = Violations::new();
        let reason = termination_reason_from_proto(req.reason);
        v.check(reason.is_some(), "reason", "is required");
        let event = v.date(req.event_date.as_ref(), "event_date");
        v.finish()?;
        let (Some(reason), Some(event)) = (reason, event) else {
            return Err(ServiceError::invalid("reason", "is required"));
        };
        authorize(p, &[Role::CountyApprover], None)?;
        let mut rec = store::load_benefit(conn, &self.sealer, &req.benefit_id).await?;
        authorize(p, &[Role::CountyApprover], Some(rec.region()))?;
        not_in_future(event, kit::today_cst())?;
        if rec.state == BenefitState::Terminated {
            return Err(change_error(ChangeError::Ended));
        }
        let from = benefit::terminate(&mut rec.terms, event).map_err(change_error)?;
        rec.state = BenefitState::Terminated;
        rec.termination = Some(TerminationRecord {
            reason,
            effective_month: from,
            decided_by: p.subject.clone(),
            note: req.note,
        });
        self.record_change(conn, p, &rec, from, "terminated")
            .await?;
        store::update_benefit(conn, &self.sealer, &rec).await?;
        audit_change(conn, p, "assistance.TerminateBenefit", &rec.id).await?;
        Ok(benefit_to_proto(
            &rec,
            p.sees_full_identity_numbers(),
            this_month(),
        ))
    }

    /// 临时救助: granted at once (急难型 by the township, help first), a one-off amount
    /// within the policy bounds of its type.
    pub(crate) async fn grant_temporary(
        &self,
        conn: &mut AnyConnection,
        p: &Principal,
        req: pb::GrantTemporaryAssistanceRequest,
    ) -> Result<pb::Benefit, ServiceError> {
        let roles: &[Role] = if req.emergency {
            &[Role::TownshipClerk, Role::CountyApprover]
        } else {
            &[Role::CountyApprover]
        };
        authorize(p, roles, None)?;
        let mut v = Violations::new();
        let household =
            crate::convert::parse_household(&mut v, req.household.as_ref(), "household");
        v.required(&req.circumstances, "circumstances");
        v.finish()?;
        let Some(household) = household else {
            return Err(ServiceError::invalid("household", "is required"));
        };
        // An emergency may be helped where it happened, regardless of household register, so
        // the caller's scope must cover the place given as the household's region.
        authorize(p, roles, Some(&household.region))?;
        let today = kit::today_cst();
        let version = self.policy.in_force_on(today);
        let kind = if req.emergency {
            TemporaryType::Emergency
        } else {
            TemporaryType::Expenditure
        };
        check_bounds(version, kind, req.amount_fen)
            .map_err(|e| refuse("ASSISTANCE_TEMPORARY_OUT_OF_BOUNDS", e.to_string()))?;
        let item = if req.emergency {
            "temporary:emergency"
        } else {
            "temporary:expenditure"
        };
        let computation = Computation {
            policy_version: version.id.clone(),
            members: household.members.len(),
            lines: vec![AmountLine {
                item: item.into(),
                amount_fen: req.amount_fen,
                note: "one-off".into(),
            }],
            total_fen: req.amount_fen,
        };
        let mut terms = Terms::new(BenefitKind::Temporary, household, None, false, today);
        terms.ends = Some(Month::of(today).next());
        let rec = BenefitRecord {
            id: uuid::Uuid::now_v7().to_string(),
            application_id: None,
            state: BenefitState::Active,
            approved_on: fmt_date(today),
            approved_by: p.subject.clone(),
            terms,
            computation,
            termination: None,
            emergency: req.emergency,
            circumstances: req.circumstances,
            next_review: fmt_date(today),
            version: 1,
        };
        let indexes = covered_indexes(self, &rec.terms.current().household, None);
        store::insert_benefit(conn, &self.sealer, &rec, &indexes).await?;
        let event = pb::BenefitApproved {
            benefit_id: rec.id.clone(),
            kind: kind_to_proto(BenefitKind::Temporary),
            region: rec.region().to_owned(),
            member_indexes: indexes,
            paid_from_month: Month::of(today).to_string(),
            monthly_amount_fen: req.amount_fen,
        };
        kit::outbox::append(
            conn,
            "assistance.benefit_approved",
            "civil.assistance.v1.BenefitApproved",
            &rec.id,
            &event,
        )
        .await?;
        audit_change(conn, p, "assistance.GrantTemporaryAssistance", &rec.id).await?;
        Ok(benefit_to_proto(
            &rec,
            p.sees_full_identity_numbers(),
            this_month(),
        ))
    }
}

fn termination_reason_to_i32(reason: TerminationReason) -> i32 {
    (match reason {
        TerminationReason::Death => pb::TerminationReason::Death,
        TerminationReason::MovedAway => pb::TerminationReason::MovedAway,
        TerminationReason::Lapsed => pb::TerminationReason::Lapsed,
    }) as i32
}

/// Records a death's outcome on the benefit: its state, termination, computation and event.
async fn apply_death(
    conn: &mut AnyConnection,
    p: &Principal,
    rec: &mut BenefitRecord,
    outcome: DeathOutcome,
    policy: &crate::domain::policy::Policy,
) -> Result<pb::DeathEffect, ServiceError> {
    let kind = kind_to_proto(rec.kind());
    match outcome {
        DeathOutcome::Terminated { from } => {
            rec.state = BenefitState::Terminated;
            rec.termination = Some(TerminationRecord {
                reason: TerminationReason::Death,
                effective_month: from,
                decided_by: p.subject.clone(),
                note: "death of the recipient".into(),
            });
            let event = pb::BenefitTerminated {
                benefit_id: rec.id.clone(),
                reason: pb::TerminationReason::Death as i32,
                effective_month: from.to_string(),
            };
            kit::outbox::append(
                conn,
                "assistance.benefit_terminated",
                "civil.assistance.v1.BenefitTerminated",
                &rec.id,
                &event,
            )
            .await?;
            audit_change(conn, p, "assistance.TerminateBenefit", &rec.id).await?;
            Ok(pb::DeathEffect {
                benefit_id: rec.id.clone(),
                kind,
                outcome: pb::DeathOutcome::Terminated as i32,
                effective_month: from.to_string(),
                monthly_amount_fen: 0,
            })
        }
        DeathOutcome::Recalculated { from, amount_fen } => {
            if let Some(computation) = rec.terms.amount_for(policy, from.max(rec.terms.paid_from)) {
                rec.computation = computation;
            }
            let event = pb::BenefitChanged {
                benefit_id: rec.id.clone(),
                from_month: from.to_string(),
                monthly_amount_fen: amount_fen,
                reason: "member died".into(),
            };
            kit::outbox::append(
                conn,
                "assistance.benefit_changed",
                "civil.assistance.v1.BenefitChanged",
                &rec.id,
                &event,
            )
            .await?;
            audit_change(conn, p, "assistance.RecalculateBenefit", &rec.id).await?;
            Ok(pb::DeathEffect {
                benefit_id: rec.id.clone(),
                kind,
                outcome: pb::DeathOutcome::Recalculated as i32,
                effective_month: from.to_string(),
                monthly_amount_fen: amount_fen,
            })
        }
    }
}

fn encode(response: &pb::TerminateForDeathResponse) -> String {
    base64::engine::general_purpose::STANDARD.encode(response.encode_to_vec())
}

fn decode_death(stored: &str) -> Result<pb::TerminateForDeathResponse, ServiceError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored death outcome: {e}")))?;
    pb::TerminateForDeathResponse::decode(bytes.as_slice())
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored death outcome: {e}")))
}
