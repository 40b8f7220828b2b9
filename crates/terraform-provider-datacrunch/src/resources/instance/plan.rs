//! Plan-time checks of `datacrunch_instance` against the live catalog, so that nothing
//! is spent on a configuration the API would refuse: an unknown type, image or location
//! (with a "did you mean"), an image the type does not support, and a type with no
//! capacity where it was asked for.

use crate::convert::{known_str, price_number};
use crate::diagnostics::api_error;
use crate::state::ProviderState;
use std::sync::Arc;
use tfplugin::{AttributePath, Context, Diagnostic, Diagnostics, PlanChange, Value};

/// True when `name` is new or differs from the prior state (so it is worth checking).
fn changed(plan: &PlanChange, name: &str) -> bool {
    match &plan.prior {
        None => true,
        Some(prior) => prior.get(name) != plan.planned.get(name),
    }
}

fn invalid(diags: &mut Diagnostics, attr: &str, summary: &str, detail: String) {
    diags.push(Diagnostic::error(summary, detail).at(AttributePath::new(attr)));
}

/// `os_volume.on_spot_discontinue` only means something for a spot instance (`is_spot`
/// or the `SPOT` contract): on any other it would be silently ignored, so it is refused.
/// Unknown values (known only at apply) pass.
pub fn check_spot_policy(config: &Value) -> Result<(), Diagnostics> {
    let policy = config
        .get("os_volume")
        .and_then(|v| v.get("on_spot_discontinue"))
        .and_then(Value::as_str);
    let Some(policy) = policy else {
        return Ok(());
    };
    let is_spot = config.get("is_spot").unwrap_or(&Value::Null);
    let contract = config.get("contract").unwrap_or(&Value::Null);
    // Either one saying spot is enough; either one still unknown may yet say it.
    let spot = matches!(is_spot, Value::Bool(true))
        || contract.as_str() == Some("SPOT")
        || is_spot.is_unknown()
        || contract.is_unknown();
    if spot {
        return Ok(());
    }
    Err(Diagnostic::error(
        "on_spot_discontinue needs a spot instance",
        format!(
            "os_volume.on_spot_discontinue = {policy:?} says what happens to the OS volume \
             when the provider discontinues a spot instance, but this instance is not spot. \
             Set is_spot = true, or remove on_spot_discontinue."
        ),
    )
    .at(AttributePath::new("os_volume").attr("on_spot_discontinue"))
    .into())
}

pub async fn check(ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
    // Without a configured provider (e.g. `terraform validate`) there is no catalog.
    let Ok(st) = ctx.provider_data::<ProviderState>() else {
        return Ok(());
    };
    let to_check = ["instance_type", "image", "location_code", "is_spot"];
    if !to_check.iter().any(|n| changed(plan, n)) {
        return Ok(());
    }
    check_catalog(&st, &plan.planned, plan.is_create()).await?;
    if plan.is_create() || changed(plan, "instance_type") || changed(plan, "is_spot") {
        plan_price(&st, plan).await?;
    }
    Ok(())
}

/// Fills `price_per_hour` and `currency` from the catalog, as the API prices a new
/// instance: the spot price for a spot instance (the on-demand price when the type has
/// none), the on-demand price otherwise. Left unknown while the type or `is_spot` is,
/// and for a long-term contract or an explicit pricing model.
async fn plan_price(st: &Arc<ProviderState>, plan: &mut PlanChange) -> Result<(), Diagnostics> {
    let Some(instance_type) = known_str(&plan.planned, "instance_type") else {
        return Ok(());
    };
    let Some(spot_flag) = plan.planned.get("is_spot").and_then(Value::as_bool) else {
        return Ok(());
    };
    // A long-term contract or a configured pricing model is priced by the API alone.
    let contract = plan.config.get("contract").unwrap_or(&Value::Null);
    let pricing = plan.config.get("pricing").unwrap_or(&Value::Null);
    let is_spot = match contract {
        Value::Null => spot_flag,
        Value::String(c) if c == "SPOT" => true,
        Value::String(c) if c == "PAY_AS_YOU_GO" => spot_flag,
        _ => return Ok(()),
    };
    if !pricing.is_null() {
        return Ok(());
    }
    let catalog = st
        .catalog
        .get(&st.client)
        .await
        .map_err(|e| api_error("Reading the catalog to price the plan", &e))?;
    let Some(entry) = catalog
        .instance_types
        .iter()
        .find(|t| t.instance_type == instance_type)
    else {
        return Ok(());
    };
    let price = match is_spot {
        true => entry.spot_price.as_ref().unwrap_or(&entry.price_per_hour),
        false => &entry.price_per_hour,
    };
    if let Some(number) = price_number(price) {
        plan.set(&AttributePath::new("price_per_hour"), Value::Number(number))?;
    }
    plan.set(
        &AttributePath::new("currency"),
        Value::String(entry.currency.clone()),
    )
}

async fn check_catalog(
    st: &Arc<ProviderState>,
    planned: &Value,
    is_create: bool,
) -> Result<(), Diagnostics> {
    let catalog = st
        .catalog
        .get(&st.client)
        .await
        .map_err(|e| api_error("Reading the catalog to check the plan", &e))?;
    let mut diags = Diagnostics::new();
    let instance_type = known_str(planned, "instance_type");
    let image = known_str(planned, "image");
    let location = known_str(planned, "location_code");
    let mut type_ok = false;
    if let Some(t) = instance_type {
        match catalog.check_instance_type(t) {
            Ok(()) => type_ok = true,
            Err(e) => invalid(&mut diags, "instance_type", "Unknown instance type", e),
        }
    }
    if let Some(l) = location {
        if let Err(e) = catalog.check_location(l) {
            invalid(&mut diags, "location_code", "Unknown location", e);
        }
    }
    if let Some(i) = image {
        match catalog.check_image(i) {
            Err(e) => invalid(&mut diags, "image", "Unknown image", e),
            Ok(()) if type_ok => {
                let t = instance_type.unwrap_or_default();
                let supported = st
                    .catalog
                    .images_for(&st.client, t)
                    .await
                    .map_err(|e| api_error("Reading the images of the instance type", &e))?;
                if let Err(e) = crate::state::catalog::check_image_for_type(i, t, &supported) {
                    invalid(
                        &mut diags,
                        "image",
                        "Image not available for this instance type",
                        e,
                    );
                }
            }
            Ok(()) => {}
        }
    }
    diags.clone().into_result()?;
    if is_create && type_ok {
        check_capacity(st, planned, instance_type.unwrap_or_default(), location).await?;
    }
    Ok(())
}

/// Fails the plan when the type has no capacity where it is asked for, naming the
/// locations that do have it.
async fn check_capacity(
    st: &ProviderState,
    planned: &Value,
    instance_type: &str,
    location: Option<&str>,
) -> Result<(), Diagnostics> {
    let is_spot = planned
        .get("is_spot")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let availability = st
        .catalog
        .availability(&st.client, is_spot)
        .await
        .map_err(|e| api_error("Reading instance availability", &e))?;
    let with_capacity: Vec<&str> = availability
        .iter()
        .filter(|l| l.availabilities.iter().any(|t| t == instance_type))
        .map(|l| l.location_code.as_str())
        .collect();
    let kind = if is_spot { "spot" } else { "on-demand" };
    let ok = match location {
        Some(l) => with_capacity.contains(&l),
        None => !with_capacity.is_empty(),
    };
    if ok {
        return Ok(());
    }
    let where_ = location.map(|l| format!(" in {l}")).unwrap_or_default();
    let elsewhere = if with_capacity.is_empty() {
        "It has no capacity in any location right now.".to_owned()
    } else {
        format!("It has capacity in: {}.", with_capacity.join(", "))
    };
    let attr = if location.is_some() {
        "location_code"
    } else {
        "instance_type"
    };
    Err(Diagnostic::error(
        format!("No {kind} capacity for {instance_type}{where_}"),
        format!(
            "{elsewhere} Nothing was created. Choose another location or type; the data \
             source datacrunch_offer picks the first candidate with capacity."
        ),
    )
    .at(AttributePath::new(attr))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(is_spot: Value, contract: Value) -> Value {
        Value::object([
            ("is_spot", is_spot),
            ("contract", contract),
            (
                "os_volume",
                Value::object([("on_spot_discontinue", Value::string("delete_permanently"))]),
            ),
        ])
    }

    #[test]
    fn on_spot_discontinue_passes_while_spot_may_yet_be_set() {
        let cases = [
            (Value::Bool(true), Value::Null),
            (Value::Null, Value::string("SPOT")),
            (Value::Bool(false), Value::string("SPOT")),
            (Value::Bool(false), Value::Unknown),
            (Value::Unknown, Value::Null),
            (Value::Unknown, Value::string("PAY_AS_YOU_GO")),
        ];
        for (is_spot, contract) in cases {
            let c = config(is_spot.clone(), contract.clone());
            assert!(
                check_spot_policy(&c).is_ok(),
                "is_spot {is_spot:?}, contract {contract:?}"
            );
        }
    }

    #[test]
    fn on_spot_discontinue_is_refused_on_a_known_non_spot_instance() {
        let cases = [
            (Value::Bool(false), Value::Null),
            (Value::Null, Value::Null),
            (Value::Bool(false), Value::string("PAY_AS_YOU_GO")),
        ];
        for (is_spot, contract) in cases {
            let c = config(is_spot.clone(), contract.clone());
            assert!(
                check_spot_policy(&c).is_err(),
                "is_spot {is_spot:?}, contract {contract:?}"
            );
        }
    }
}
