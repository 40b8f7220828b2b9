//! Offer selection for kdevops-style runs: the GPU tier table, tier groups, and picking
//! the first (type, location, price) with capacity. [`select_offer`] is pure logic over
//! data passed in; [`Client::find_offer`] fetches that data and runs it.

mod refusal;
mod select;
mod tiers;

pub use refusal::{is_no_capacity_summary, no_capacity_summary};
pub use select::{select_offer, Availability, Offer, OfferQuery, Selection, SkipReason, Skipped};
pub use tiers::{Tier, TierGroup, UnknownTierGroup, TIERS};

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// Fetches live availability (the spot or the on-demand list, as the query asks) and
    /// the catalog's prices, then runs [`select_offer`]. `currency` picks the catalog's
    /// price currency (`usd` by default on the service).
    pub async fn find_offer(
        &self,
        query: &OfferQuery,
        currency: Option<&str>,
    ) -> Result<Selection> {
        let (availability, catalog) = tokio::try_join!(
            self.instance_availability(Some(query.is_spot), None),
            self.instance_types(currency),
        )?;
        let availability = Availability::new().with(query.is_spot, &availability);
        Ok(select_offer(query, &availability, &catalog))
    }
}
