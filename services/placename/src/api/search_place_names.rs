//! SearchPlaceNames: exact, prefix, pinyin or ranked fuzzy search in the in-memory index,
//! filtered by region prefix and category, paged (AIP-158). Any authenticated caller.

use contracts::civil::placename::v1 as pb;
use kit::{ServiceError, Violations};
use tonic::Request;

use super::{Answer, PlaceNameApi, limits};
use crate::convert;
use crate::domain::name::Category;
use crate::index::{Mode, Query};

pub struct Search {
    text: String,
    mode: Mode,
    region: String,
    category: Option<Category>,
    include_historic: bool,
    page_size: usize,
    page_token: String,
}

impl TryFrom<pb::SearchPlaceNamesRequest> for Search {
    type Error = Violations;

    fn try_from(r: pb::SearchPlaceNamesRequest) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let mode = convert::mode_in(r.mode);
        v.check(
            mode.is_some(),
            "mode",
            "must be EXACT, PREFIX, PINYIN or FUZZY",
        );
        limits::required_text(&mut v, &r.query, "query", 50, false);
        limits::region_filter(&mut v, &r.region_code, "region_code");
        let category = convert::category_in(r.category);
        v.check(
            r.category == 0 || category.is_some(),
            "category",
            "is not a category",
        );
        let page_size = limits::page_size(&mut v, r.page_size, "page_size");
        v.check(
            r.page_token.len() <= 4096,
            "page_token",
            "is not a token of this search",
        );
        match mode {
            Some(mode) if v.is_empty() => Ok(Search {
                text: r.query.trim().to_owned(),
                mode,
                region: r.region_code,
                category,
                include_historic: r.include_historic,
                page_size,
                page_token: r.page_token,
            }),
            _ => Err(v),
        }
    }
}

pub async fn handle(
    api: &PlaceNameApi,
    request: Request<pb::SearchPlaceNamesRequest>,
) -> Answer<pb::SearchPlaceNamesResponse> {
    api.rpc
        .lookup(request, async |_, s: Search| {
            let query = Query {
                text: &s.text,
                mode: s.mode,
                region_prefix: &s.region,
                category: s.category,
                include_historic: s.include_historic,
                page_size: s.page_size,
                page_token: &s.page_token,
            };
            let index = api.places.read_index();
            let page = index
                .search(&query)
                .map_err(|e| ServiceError::invalid("page_token", e.to_string()))?;
            let place_names = page
                .ids
                .iter()
                .filter_map(|id| index.get(id))
                .map(convert::entry_out)
                .collect();
            Ok(pb::SearchPlaceNamesResponse {
                place_names,
                next_page_token: page.next_page_token,
            })
        })
        .await
}
