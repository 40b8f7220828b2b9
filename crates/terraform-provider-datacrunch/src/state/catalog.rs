//! The live catalog (instance types, images, locations) as plan-time validation sees it.
//!
//! A typo in `instance_type`, `image` or `location_code` must fail `terraform plan` with
//! a suggestion, not turn into a 404 halfway through an apply that already created other
//! billed machines. The catalog is fetched once per provider process (Terraform starts a
//! process per command, so it is never staler than the command) and shared by every
//! resource and data source; the images a given type supports are fetched once per type.

use datacrunch_client::suggest::check_choice;
use datacrunch_client::Client;
use datacrunch_models::{Image, InstanceType, Location, LocationAvailability};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};

/// What the account's API offers.
#[derive(Debug, Default)]
pub struct Catalog {
    pub instance_types: Vec<InstanceType>,
    pub images: Vec<Image>,
    pub locations: Vec<Location>,
}

impl Catalog {
    /// Checks an instance type name; the error says what was meant and what exists.
    pub fn check_instance_type(&self, name: &str) -> Result<(), String> {
        let names: Vec<&str> = self
            .instance_types
            .iter()
            .map(|t| t.instance_type.as_str())
            .collect();
        check_choice("instance type", name, &names)
    }

    /// Checks a location code.
    pub fn check_location(&self, code: &str) -> Result<(), String> {
        let codes: Vec<&str> = self.locations.iter().map(|l| l.code.as_str()).collect();
        check_choice("location", code, &codes)
    }

    /// Checks an image given as an `image_type` or an image id. A UUID that is no image
    /// id passes: the API also boots from the id of a detached OS volume.
    pub fn check_image(&self, image: &str) -> Result<(), String> {
        if looks_like_uuid(image) || self.images.iter().any(|i| i.id == image) {
            return Ok(());
        }
        let names: Vec<&str> = self.images.iter().map(|i| i.image_type.as_str()).collect();
        check_choice("image", image, &names)
    }
}

/// True for the 8-4-4-4-12 hex form of ids.
pub fn looks_like_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The per-process catalog cache.
#[derive(Default)]
pub struct CatalogCache {
    catalog: OnceCell<Arc<Catalog>>,
    images_by_type: Mutex<HashMap<String, Arc<Vec<Image>>>>,
    availability: Mutex<HashMap<bool, Arc<Vec<LocationAvailability>>>>,
}

impl CatalogCache {
    /// The catalog, fetched on first use (three calls) and then shared.
    pub async fn get(&self, client: &Client) -> Result<Arc<Catalog>, datacrunch_client::Error> {
        self.catalog
            .get_or_try_init(|| async {
                let (instance_types, images, locations) = tokio::try_join!(
                    client.instance_types(None),
                    client.images(None),
                    client.locations()
                )?;
                Ok(Arc::new(Catalog {
                    instance_types,
                    images,
                    locations,
                }))
            })
            .await
            .cloned()
    }

    /// The images `instance_type` supports (`GET /images?instance_type=`), cached.
    pub async fn images_for(
        &self,
        client: &Client,
        instance_type: &str,
    ) -> Result<Arc<Vec<Image>>, datacrunch_client::Error> {
        // Holding the lock across the fetch makes concurrent plans of many instances of
        // one type share one request.
        let mut map = self.images_by_type.lock().await;
        if let Some(images) = map.get(instance_type) {
            return Ok(images.clone());
        }
        let images = Arc::new(client.images(Some(instance_type)).await?);
        map.insert(instance_type.to_owned(), images.clone());
        Ok(images)
    }
}

impl CatalogCache {
    /// Capacity per location, on-demand or spot (`GET /instance-availability`), fetched
    /// once per process: planning ten instances asks once.
    pub async fn availability(
        &self,
        client: &Client,
        is_spot: bool,
    ) -> Result<Arc<Vec<LocationAvailability>>, datacrunch_client::Error> {
        let mut map = self.availability.lock().await;
        if let Some(a) = map.get(&is_spot) {
            return Ok(a.clone());
        }
        let a = Arc::new(client.instance_availability(Some(is_spot), None).await?);
        map.insert(is_spot, a.clone());
        Ok(a)
    }
}

/// Checks that `image` (a type name or id) is among `supported`, the images of
/// `instance_type`. UUIDs not naming an image are accepted (volume ids).
pub fn check_image_for_type(
    image: &str,
    instance_type: &str,
    supported: &[Image],
) -> Result<(), String> {
    if supported
        .iter()
        .any(|i| i.image_type == image || i.id == image)
        || (looks_like_uuid(image) && !supported.iter().any(|i| i.id == image))
    {
        return Ok(());
    }
    let mut names: Vec<&str> = supported.iter().map(|i| i.image_type.as_str()).collect();
    names.sort_unstable();
    Err(format!(
        "image {image:?} is not available for instance type {instance_type} (the API would \
         refuse the deploy with \"Operating system is not valid for this instance type\"). \
         Images for {instance_type}: {}.",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_and_uuids() {
        assert!(looks_like_uuid("2088da25-bb0d-41cc-a191-dccae45d96fd"));
        assert!(!looks_like_uuid("ubuntu-24.04-cuda-12.8-open-docker"));
        let img = |t: &str, id: &str| Image {
            id: id.into(),
            image_type: t.into(),
            name: String::new(),
            details: vec![],
            is_default: false,
            is_cluster: false,
            category: String::new(),
        };
        let supported = [img("ubuntu-22.04", "2088da25-bb0d-41cc-a191-dccae45d96fd")];
        assert!(check_image_for_type("ubuntu-22.04", "1V100.6V", &supported).is_ok());
        let err = check_image_for_type("ubuntu-24.04", "1V100.6V", &supported).unwrap_err();
        assert!(
            err.contains("not available for instance type 1V100.6V")
                && err.contains("ubuntu-22.04"),
            "{err}"
        );
        let cat = Catalog {
            images: supported.to_vec(),
            ..Default::default()
        };
        assert!(cat
            .check_image("2088da25-bb0d-41cc-a191-dccae45d96fd")
            .is_ok());
        assert!(cat
            .check_image("ubuntu-22.4")
            .unwrap_err()
            .contains("Did you mean \"ubuntu-22.04\""));
    }
}
