//! Handlers of `/v1/instance-types/price-history` and `/v1/long-term/periods[/…]`.

use super::answer::{json, AppState};
use super::api::{currency, ApiResult};
use super::extract::Query;
use crate::error::ApiError;
use crate::pricing::{self, DEFAULT_HISTORY_MONTHS, MAX_HISTORY_MONTHS};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use datacrunch_models::LongTermScope;

pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route("/instance-types/price-history", get(price_history));
    for scope in LongTermScope::ALL {
        let path = match scope.segment() {
            Some(segment) => format!("/long-term/periods/{segment}"),
            None => "/long-term/periods".to_owned(),
        };
        router = router.route(&path, get(move || long_term_periods(scope)));
    }
    router
}

/// `?num_of_months=`: absent means the current month only; otherwise 1 to the maximum.
fn months(q: &Query) -> Result<u32, ApiError> {
    let Some(raw) = q.get(&["num_of_months", "numOfMonths"]) else {
        return Ok(DEFAULT_HISTORY_MONTHS);
    };
    raw.parse::<u32>()
        .ok()
        .filter(|m| (1..=MAX_HISTORY_MONTHS).contains(m))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid num_of_months {raw:?}: expected a whole number from 1 to {MAX_HISTORY_MONTHS}"
            ))
        })
}

async fn price_history(State(s): State<AppState>, q: Query) -> ApiResult {
    let months = months(&q)?;
    let currency = currency(&q)?;
    let history = pricing::price_history(&s.catalog, s.clock.now(), months, currency);
    Ok(json(StatusCode::OK, &history))
}

async fn long_term_periods(scope: LongTermScope) -> ApiResult {
    Ok(json(StatusCode::OK, &pricing::long_term_periods(scope)))
}
