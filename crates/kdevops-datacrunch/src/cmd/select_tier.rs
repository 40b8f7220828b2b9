//! `select-tier GROUP [--exclude TYPE]...`: the first type of a tier group with live
//! capacity, kdevops' `datacrunch_select_tier.py` done with real availability. Prints
//! `TYPE LOCATION` on stdout and why each better tier was skipped on stderr.

use anyhow::{bail, Result};
use clap::Args;
use datacrunch_client::offer::{OfferQuery, TierGroup};
use datacrunch_models::Price;

use crate::api;
use crate::cmd::load_settings;
use crate::fleet::placement::skip_notes;
use crate::project::Project;

#[derive(Debug, Args)]
pub struct SelectTierArgs {
    /// B300_OR_LESS, B200_OR_LESS, H100_OR_LESS, A100_80_OR_LESS, A100_40_OR_LESS or ANY_1H100
    /// (also kdevops' spelling, e.g. h100-or-less).
    group: String,
    /// A type to leave out (repeatable), e.g. one that just failed.
    #[arg(long, short = 'x')]
    exclude: Vec<String>,
    /// Ask about spot capacity instead of on-demand (from .config when not given).
    #[arg(long)]
    spot: bool,
    /// Only this location.
    #[arg(long)]
    location: Option<String>,
    /// Print the offer as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(project: &Project, args: SelectTierArgs) -> Result<()> {
    let group: TierGroup = args.group.parse()?;
    let settings = load_settings(project)?;
    let api = api::connect(project, &settings).await?;
    let is_spot = args.spot || settings.spot;
    let query = OfferQuery {
        candidates: group
            .instance_types()
            .iter()
            .map(|t| t.to_string())
            .collect(),
        locations: args
            .location
            .or(settings.location.clone())
            .into_iter()
            .collect(),
        is_spot,
        max_price_per_hour: settings.max_price_per_hour.map(Price::from_f64),
        exclude: args.exclude,
    };
    let selection = api
        .client
        .find_offer(&query, None)
        .await
        .map_err(|e| api.explain(e))?;
    let pool = if is_spot { "spot" } else { "on-demand" };
    for note in skip_notes(&selection, pool) {
        eprintln!("{note}");
    }
    let Some(offer) = selection.offer else {
        bail!("no {pool} capacity for any type of {group}");
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "instance_type": offer.instance_type,
                "location": offer.location,
                "is_spot": offer.is_spot,
                "price_per_hour": offer.price_per_hour.to_f64(),
                "currency": offer.currency,
            })
        );
    } else {
        println!("{} {}", offer.instance_type, offer.location);
    }
    Ok(())
}
