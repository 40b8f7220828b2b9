//! Plan-time checks of `datacrunch_cluster` against the live cluster catalog, so nothing
//! is spent on a configuration the API would refuse: an unknown cluster type, an image
//! that is not a cluster image (from `/images/cluster`, with a "did you mean"), an image
//! the type does not support, an unknown location, and a type with no capacity where
//! it is asked for.

use crate::convert::known_str;
use crate::diagnostics::api_error;
use crate::state::catalog::looks_like_uuid;
use crate::state::ProviderState;
use datacrunch_client::offer::Availability;
use datacrunch_client::suggest::check_choice;
use tfplugin::{AttributePath, Context, Diagnostic, Diagnostics, PlanChange, Value};

fn invalid(diags: &mut Diagnostics, attr: &str, summary: &str, detail: String) {
    diags.push(Diagnostic::error(summary, detail).at(AttributePath::new(attr)));
}

pub async fn check(ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
    // Without a configured provider (e.g. `terraform validate`) there is no catalog.
    let Ok(st) = ctx.provider_data::<ProviderState>() else {
        return Ok(());
    };
    // Only a create is checked: every argument but tags forces a replacement, and a
    // replacement is a create.
    if !plan.is_create() {
        return Ok(());
    }
    check_catalog(&st, &plan.planned).await
}

async fn check_catalog(st: &ProviderState, planned: &Value) -> Result<(), Diagnostics> {
    let (types, images, catalog) = tokio::try_join!(
        st.client.cluster_types(None),
        st.client.cluster_images(None),
        st.catalog.get(&st.client),
    )
    .map_err(|e| api_error("Reading the cluster catalog to check the plan", &e))?;
    let mut diags = Diagnostics::new();
    let cluster_type = known_str(planned, "cluster_type");
    let location = known_str(planned, "location_code");
    let mut type_ok = false;
    if let Some(t) = cluster_type {
        let names: Vec<&str> = types.iter().map(|t| t.cluster_type.as_str()).collect();
        match check_choice("cluster type", t, &names) {
            Ok(()) => type_ok = true,
            Err(e) => invalid(&mut diags, "cluster_type", "Unknown cluster type", e),
        }
    }
    if let Some(l) = location {
        if let Err(e) = catalog.check_location(l) {
            invalid(&mut diags, "location_code", "Unknown location", e);
        }
    }
    if let Some(image) = known_str(planned, "image") {
        let is_id = looks_like_uuid(image) && images.iter().any(|i| i.id == image);
        let names: Vec<&str> = images.iter().map(|i| i.image_type.as_str()).collect();
        match check_choice("cluster image", image, &names) {
            Err(_) if is_id => {}
            Err(e) => invalid(
                &mut diags,
                "image",
                "Unknown cluster image",
                format!("{e} Clusters boot only the images of GET /images/cluster."),
            ),
            Ok(()) if type_ok => {
                let t = cluster_type.unwrap_or_default();
                let supported = st
                    .client
                    .cluster_images(Some(t))
                    .await
                    .map_err(|e| api_error("Reading the images of the cluster type", &e))?;
                if !supported.iter().any(|i| i.image_type == image) {
                    let names: Vec<&str> =
                        supported.iter().map(|i| i.image_type.as_str()).collect();
                    invalid(
                        &mut diags,
                        "image",
                        "Image not available for this cluster type",
                        format!(
                            "image {image:?} is not available for cluster type {t}. Images for \
                             {t}: {}.",
                            names.join(", ")
                        ),
                    );
                }
            }
            Ok(()) => {}
        }
    }
    diags.clone().into_result()?;
    match cluster_type {
        Some(t) if type_ok => check_capacity(st, t, location).await,
        _ => Ok(()),
    }
}

/// Fails the plan when the cluster type has no capacity where it is asked for, naming
/// the locations that do have it.
async fn check_capacity(
    st: &ProviderState,
    cluster_type: &str,
    location: Option<&str>,
) -> Result<(), Diagnostics> {
    let availability = st
        .client
        .cluster_availability(None)
        .await
        .map_err(|e| api_error("Reading cluster availability", &e))?;
    // Clusters are not sold as spot: the answer is the on-demand inventory.
    let capacity = Availability::new().with(false, &availability);
    let Err(with_capacity) = capacity.check_capacity(cluster_type, location, false) else {
        return Ok(());
    };
    let where_ = location.map(|l| format!(" in {l}")).unwrap_or_default();
    let elsewhere = if with_capacity.is_empty() {
        "It has no capacity in any location right now.".to_owned()
    } else {
        format!("It has capacity in: {}.", with_capacity.join(", "))
    };
    let attr = if location.is_some() {
        "location_code"
    } else {
        "cluster_type"
    };
    Err(Diagnostic::error(
        format!("No capacity for cluster type {cluster_type}{where_}"),
        format!(
            "{elsewhere} Nothing was created. Choose another location or type (data source \
             datacrunch_cluster_availability)."
        ),
    )
    .at(AttributePath::new(attr))
    .into())
}
