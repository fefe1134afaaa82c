//! A household and its incomes, from the request (every bad field named).

use super::*;

/// Parses income items, recording a violation per bad item.
pub fn parse_incomes(v: &mut Violations, items: &[pb::IncomeItem], field: &str) -> Vec<Income> {
    if items.len() > MAX_ITEMS {
        v.add(field, format!("must list at most {MAX_ITEMS} items"));
    }
    let mut incomes = Vec::with_capacity(items.len().min(MAX_ITEMS));
    for (i, item) in items.iter().enumerate().take(MAX_ITEMS) {
        let kind = income_kind_from_proto(item.kind);
        if kind.is_none() {
            v.add(&format!("{field}[{i}].kind"), "is required");
        }
        let amount = fen(v, item.monthly_fen, &format!("{field}[{i}].monthly_fen"));
        if let (Some(kind), Some(monthly_fen)) = (kind, amount) {
            incomes.push(Income { kind, monthly_fen });
        }
    }
    incomes
}

fn parse_member(v: &mut Violations, m: &pb::Member, field: &str) -> Option<Member> {
    let person = m.person.clone().unwrap_or_default();
    let id = v.id_number(&person.id_number, &format!("{field}.person.id_number"));
    let name = v.text(
        &person.name,
        &format!("{field}.person.name"),
        kit::rpc::NAME_MAX,
    );
    let relationship = relationship_from_proto(m.relationship);
    v.check(
        relationship.is_some(),
        &format!("{field}.relationship"),
        "is required",
    );
    let incomes = parse_incomes(v, &m.incomes, &format!("{field}.incomes"));
    if m.properties.len() > MAX_ITEMS {
        v.add(
            &format!("{field}.properties"),
            format!("must list at most {MAX_ITEMS} items"),
        );
    }
    let mut properties = Vec::with_capacity(m.properties.len().min(MAX_ITEMS));
    for (i, item) in m.properties.iter().enumerate().take(MAX_ITEMS) {
        let kind = property_kind_from_proto(item.kind);
        if kind.is_none() {
            v.add(&format!("{field}.properties[{i}].kind"), "is required");
        }
        let amount = fen(
            v,
            item.value_fen,
            &format!("{field}.properties[{i}].value_fen"),
        );
        if let (Some(kind), Some(value_fen)) = (kind, amount) {
            properties.push(Property { kind, value_fen });
        }
    }
    let disability = match m.disability_grade {
        0 => None,
        grade @ 1..=4 => match disability_kind_from_proto(m.disability_kind) {
            Some(kind) => Some(Disability {
                grade: grade as u8,
                kind,
            }),
            None => {
                v.add(
                    &format!("{field}.disability_kind"),
                    "is required with a disability grade",
                );
                None
            }
        },
        _ => {
            v.add(
                &format!("{field}.disability_grade"),
                "must be 0 (none) or 1-4",
            );
            None
        }
    };
    let activities = m
        .activities
        .map_or(DailyActivities::ALL, |a| DailyActivities {
            eat: a.can_eat,
            dress: a.can_dress,
            transfer: a.can_transfer,
            toilet: a.can_use_toilet,
            walk_indoors: a.can_walk_indoors,
            bathe: a.can_bathe,
        });
    let own_area = match pb::AreaKind::try_from(m.own_area) {
        Ok(pb::AreaKind::Urban) => Some(Area::Urban),
        Ok(pb::AreaKind::Rural) => Some(Area::Rural),
        Ok(pb::AreaKind::Unspecified) => None,
        Err(_) => {
            v.add(
                &format!("{field}.own_area"),
                "must be urban, rural or unspecified",
            );
            None
        }
    };
    let id = id?;
    Some(Member {
        id_number: id.as_str().to_owned(),
        name,
        birth_date: id.birth_date(),
        relationship: relationship?,
        incomes,
        properties,
        disability,
        serious_illness: m.serious_illness,
        in_school: m.in_school,
        no_capable_supporter: m.no_capable_supporter,
        activities,
        left_month: None,
        own_area,
    })
}

/// Parses a household: township or village region, area, 1-20 members.
pub fn parse_household(
    v: &mut Violations,
    h: Option<&pb::Household>,
    field: &str,
) -> Option<Household> {
    let Some(h) = h else {
        v.add(field, "is required");
        return None;
    };
    let region = v.region(&h.region, &format!("{field}.region"));
    if let Some(r) = &region {
        v.check(
            r.as_str().len() >= 9,
            &format!("{field}.region"),
            "must be a township (9) or village (12) code",
        );
    }
    let area = match pb::AreaKind::try_from(h.area) {
        Ok(pb::AreaKind::Urban) => Some(Area::Urban),
        Ok(pb::AreaKind::Rural) => Some(Area::Rural),
        _ => {
            v.add(&format!("{field}.area"), "must be urban or rural");
            None
        }
    };
    if h.members.is_empty() || h.members.len() > MAX_MEMBERS {
        v.add(&format!("{field}.members"), "must list 1-20 members");
    }
    let members: Vec<Option<Member>> = h
        .members
        .iter()
        .take(MAX_MEMBERS)
        .enumerate()
        .map(|(i, m)| parse_member(v, m, &format!("{field}.members[{i}]")))
        .collect();
    let members: Vec<Member> = members.into_iter().collect::<Option<_>>()?;
    Some(Household {
        region: region?.as_str().to_owned(),
        area: area?,
        members,
    })
}
