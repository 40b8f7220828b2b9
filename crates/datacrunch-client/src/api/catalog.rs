//! The catalog: balance, instance types and their price history, long-term periods,
//! images, locations, availability, volume types.

use crate::client::Client;
use crate::client::Dated;
use crate::decode::{decode_bool, decode_json};
use crate::error::Result;
use crate::transport::Request;
use datacrunch_models::{
    Balance, Image, InstanceType, Location, LocationAvailability, LongTermPeriod, LongTermScope,
    PriceHistory, VolumeType,
};

impl Client {
    /// `GET /balance`.
    pub async fn balance(&self) -> Result<Balance> {
        self.fetch_json(Request::get(&["balance"]), "a {amount, currency} object")
            .await
    }

    /// [`Client::balance`] with the API's clock at the time of the answer (its `Date`
    /// header): the clock the API bills and expires on. One small authenticated call, so
    /// it is the cheapest way to read that clock (an emulator's clock may be moved).
    pub async fn balance_dated(&self) -> Result<Dated<Balance>> {
        let req = Request::get(&["balance"]);
        let resp = self.execute(&req).await?;
        Ok(Dated {
            value: decode_json(&req.endpoint(), "a {amount, currency} object", &resp.body)?,
            server_time: resp.server_date,
        })
    }

    /// `GET /instance-types[?currency=usd|eur]`.
    pub async fn instance_types(&self, currency: Option<&str>) -> Result<Vec<InstanceType>> {
        let req = Request::get(&["instance-types"]).query("currency", currency);
        self.fetch_json(req, "an array of instance types").await
    }

    /// `GET /instance-types/price-history[?num_of_months=&currency=]`: every type's fixed
    /// and dynamic price per hour over the last months, keyed by type, oldest first.
    pub async fn instance_type_price_history(
        &self,
        num_of_months: Option<u32>,
        currency: Option<&str>,
    ) -> Result<PriceHistory> {
        let req = Request::get(&["instance-types", "price-history"])
            .query("num_of_months", num_of_months)
            .query("currency", currency);
        self.fetch_json(req, "an object mapping instance types to price points")
            .await
    }

    /// `GET /long-term/periods[/instances|/clusters]`: the commitment periods offered and
    /// their discounts.
    pub async fn long_term_periods(&self, scope: LongTermScope) -> Result<Vec<LongTermPeriod>> {
        let mut segments = vec!["long-term", "periods"];
        segments.extend(scope.segment());
        self.fetch_json(Request::get(&segments), "an array of long-term periods")
            .await
    }

    /// `GET /images[?instance_type=…]`: the OS images, optionally only those valid for a type.
    pub async fn images(&self, instance_type: Option<&str>) -> Result<Vec<Image>> {
        let req = Request::get(&["images"]).query("instance_type", instance_type);
        self.fetch_json(req, "an array of images").await
    }

    /// `GET /locations`.
    pub async fn locations(&self) -> Result<Vec<Location>> {
        self.fetch_json(Request::get(&["locations"]), "an array of locations")
            .await
    }

    /// `GET /instance-availability[?is_spot=&location_code=]`: the types with capacity,
    /// per location. On-demand and spot capacity are different lists: ask for each.
    pub async fn instance_availability(
        &self,
        is_spot: Option<bool>,
        location_code: Option<&str>,
    ) -> Result<Vec<LocationAvailability>> {
        let req = Request::get(&["instance-availability"])
            .query("is_spot", is_spot)
            .query("location_code", location_code);
        self.fetch_json(req, "an array of {location_code, availabilities}")
            .await
    }

    /// `GET /instance-availability/{type}?is_spot=&location_code=`: whether the type has
    /// capacity (anywhere, or in the given location).
    pub async fn is_instance_type_available(
        &self,
        instance_type: &str,
        is_spot: bool,
        location_code: Option<&str>,
    ) -> Result<bool> {
        let instance_type = super::require_id("instance_type", instance_type)?;
        let req = Request::get(&["instance-availability", instance_type])
            .query("is_spot", Some(is_spot))
            .query("location_code", location_code);
        let resp = self.execute(&req).await?;
        decode_bool(&req.endpoint(), &resp.body)
    }

    /// `GET /volume-types`.
    pub async fn volume_types(&self) -> Result<Vec<VolumeType>> {
        self.fetch_json(Request::get(&["volume-types"]), "an array of volume types")
            .await
    }
}
