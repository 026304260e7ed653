//! Handlers that page through the catalog: ListFeatureGroups and Search.

use almanac_online::StoreError;
use almanac_proto as pb;
use almanac_types::FeatureGroup;
use almanac_types::names::MAX_NAME_CHARS;
use tonic::Status;

use super::FeatureStoreService;
use crate::status::to_status;

/// Largest page of ListFeatureGroups and Search.
const MAX_PAGE: usize = 100;

/// Longest Search query, in bytes, and most words in it: the work of a
/// search is words x features, so both are bounded.
pub(super) const MAX_SEARCH_QUERY_BYTES: usize = 1024;
pub(super) const MAX_SEARCH_TERMS: usize = 16;

fn invalid(message: String) -> Status {
    to_status(StoreError::Invalid(message))
}

/// The distinct lower-case words of a Search query, within the limits.
fn search_terms(query: &str) -> Result<Vec<String>, Status> {
    if query.len() > MAX_SEARCH_QUERY_BYTES {
        return Err(invalid(format!(
            "query is {} bytes long; the limit is {MAX_SEARCH_QUERY_BYTES}",
            query.len()
        )));
    }
    let mut terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    terms.sort();
    terms.dedup();
    if terms.len() > MAX_SEARCH_TERMS {
        return Err(invalid(format!(
            "query has {} distinct words; the limit is {MAX_SEARCH_TERMS}",
            terms.len()
        )));
    }
    Ok(terms)
}

impl FeatureStoreService {
    pub(super) fn list_groups(
        &self,
        request: pb::ListFeatureGroupsRequest,
    ) -> Result<pb::ListFeatureGroupsResponse, Status> {
        let page_size = page_size(request.max_results)?;
        let offset = parse_token(&request.next_token)?;
        let status = pb::FeatureGroupStatus::try_from(request.status_equals).map_err(|_| {
            to_status(StoreError::Invalid(format!(
                "status_equals: {} is not a status",
                request.status_equals
            )))
        })?;
        if request.name_contains.len() > MAX_NAME_CHARS {
            return Err(invalid(format!(
                "name_contains is {} bytes long; names are at most {MAX_NAME_CHARS} characters",
                request.name_contains.len()
            )));
        }
        let sort_by = pb::SortBy::try_from(request.sort_by).map_err(|_| {
            invalid(format!(
                "sort_by: {} is not SORT_BY_NAME (0) or SORT_BY_CREATION_TIME (1)",
                request.sort_by
            ))
        })?;
        let sort_order = pb::SortOrder::try_from(request.sort_order).map_err(|_| {
            invalid(format!(
                "sort_order: {} is not SORT_ORDER_ASCENDING (0) or SORT_ORDER_DESCENDING (1)",
                request.sort_order
            ))
        })?;
        let needle = request.name_contains.to_lowercase();
        let mut groups: Vec<_> = self
            .engine
            .groups()
            .into_iter()
            .filter(|g| g.name.to_lowercase().contains(&needle))
            .filter(|_| {
                matches!(
                    status,
                    pb::FeatureGroupStatus::Unspecified | pb::FeatureGroupStatus::Created
                )
            })
            .filter(|g| {
                request
                    .created_after_micros
                    .is_none_or(|t| g.created_micros > t)
            })
            .filter(|g| {
                request
                    .created_before_micros
                    .is_none_or(|t| g.created_micros < t)
            })
            .collect();
        match sort_by {
            pb::SortBy::CreationTime => {
                groups.sort_by(|a, b| (a.created_micros, &a.name).cmp(&(b.created_micros, &b.name)))
            }
            pb::SortBy::Name => groups.sort_by(|a, b| a.name.cmp(&b.name)),
        }
        if sort_order == pb::SortOrder::Descending {
            groups.reverse();
        }
        let (page, next_token) = paginate(groups, offset, page_size);
        let summaries = page
            .iter()
            .map(|g| pb::FeatureGroupSummary {
                feature_group_name: g.name.clone(),
                status: pb::FeatureGroupStatus::Created as i32,
                creation_time_micros: g.created_micros,
                offline_store_status: self.describe(g).offline_store_state.map_or(0, |s| s.status),
            })
            .collect();
        Ok(pb::ListFeatureGroupsResponse {
            feature_group_summaries: summaries,
            next_token,
        })
    }

    pub(super) fn search_catalog(
        &self,
        request: pb::SearchRequest,
    ) -> Result<pb::SearchResponse, Status> {
        let page_size = page_size(request.max_results)?;
        let offset = parse_token(&request.next_token)?;
        let resource = pb::SearchResource::try_from(request.resource).map_err(|_| {
            to_status(StoreError::Invalid(format!(
                "resource: {} is not a search resource",
                request.resource
            )))
        })?;
        let terms = search_terms(&request.query)?;
        let mut groups = self.engine.groups();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let mut hits = Vec::new();
        for group in &groups {
            if resource != pb::SearchResource::Feature && matches_all(&terms, &group_text(group)) {
                hits.push(pb::SearchHit {
                    resource: pb::SearchResource::FeatureGroup as i32,
                    feature_group_name: group.name.clone(),
                    feature_name: String::new(),
                    description: group.description.clone(),
                });
            }
            if resource != pb::SearchResource::FeatureGroup {
                for feature in &group.features {
                    let metadata = group.feature_metadata.get(&feature.name);
                    let mut text = vec![feature.name.to_lowercase()];
                    if let Some(metadata) = metadata {
                        text.push(metadata.description.to_lowercase());
                        for (key, value) in &metadata.parameters {
                            text.push(key.to_lowercase());
                            text.push(value.to_lowercase());
                        }
                    }
                    if matches_all(&terms, &text) {
                        hits.push(pb::SearchHit {
                            resource: pb::SearchResource::Feature as i32,
                            feature_group_name: group.name.clone(),
                            feature_name: feature.name.clone(),
                            description: metadata
                                .map(|m| m.description.clone())
                                .unwrap_or_default(),
                        });
                    }
                }
            }
        }
        let (hits, next_token) = paginate(hits, offset, page_size);
        Ok(pb::SearchResponse { hits, next_token })
    }
}

fn group_text(group: &FeatureGroup) -> Vec<String> {
    let mut text = vec![group.name.to_lowercase(), group.description.to_lowercase()];
    for (key, value) in &group.tags {
        text.push(key.to_lowercase());
        text.push(value.to_lowercase());
    }
    text
}

/// Whether every term occurs in one of the texts.
fn matches_all(terms: &[String], texts: &[String]) -> bool {
    terms
        .iter()
        .all(|term| texts.iter().any(|text| text.contains(term.as_str())))
}

fn page_size(max_results: u32) -> Result<usize, Status> {
    match max_results as usize {
        0 => Ok(MAX_PAGE),
        n if n <= MAX_PAGE => Ok(n),
        n => Err(to_status(StoreError::Invalid(format!(
            "max_results {n} is over the limit of {MAX_PAGE}"
        )))),
    }
}

fn parse_token(token: &str) -> Result<usize, Status> {
    if token.is_empty() {
        return Ok(0);
    }
    token.parse().map_err(|_| {
        to_status(StoreError::Invalid(format!(
            "next_token '{token}' is not a token this server issued"
        )))
    })
}

fn paginate<T>(items: Vec<T>, offset: usize, page_size: usize) -> (Vec<T>, String) {
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(page_size).collect();
    let end = offset + page.len();
    let next = if end < total {
        end.to_string()
    } else {
        String::new()
    };
    (page, next)
}
