//! `terraform-provider-testbed`: a provider used only by this crate's
//! end-to-end tests and benchmarks (never shipped). One resource uses every
//! attribute kind the library supports, backed by a JSON file store so that
//! tests can change or delete objects behind Terraform's back; one data
//! source reads a static catalog; `surface` adds a list resource, an action
//! and a function.

mod resource;
mod store;
mod surface;

use std::sync::Arc;

use tfplugin::schema::{Attribute, Schema};
use tfplugin::{
    async_trait, Context, DataSource, Diagnostic, Diagnostics, ProviderData, Resource, Value,
};

struct Testbed;

#[async_trait]
impl tfplugin::Provider for Testbed {
    fn address(&self) -> String {
        "registry.terraform.io/example/testbed".into()
    }

    fn schema(&self) -> Schema {
        // Lets the tests check the panic hook in a real provider process.
        if std::env::var_os("TESTBED_PANIC").is_some() {
            panic!("testbed asked to panic");
        }
        Schema::new().attribute(
            Attribute::string("store_path")
                .optional()
                .description("JSON file holding the objects; defaults to `$TESTBED_STORE`."),
        )
    }

    async fn configure(&self, _ctx: &Context, config: &Value) -> Result<ProviderData, Diagnostics> {
        #[derive(serde::Deserialize)]
        struct Config {
            store_path: Option<String>,
        }
        let c: Config = config.decode()?;
        let path = c
            .store_path
            .or_else(|| std::env::var("TESTBED_STORE").ok())
            .ok_or_else(|| {
                Diagnostic::error(
                    "Missing store path",
                    "Set `store_path` in the provider block or the TESTBED_STORE environment variable.",
                )
                .at(tfplugin::AttributePath::new("store_path"))
            })?;
        Ok(Arc::new(store::Store::new(path.into())))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(resource::Thing)]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(resource::Catalog)]
    }

    fn list_resources(&self) -> Vec<Arc<dyn tfplugin::list::ListResource>> {
        vec![Arc::new(surface::ThingList)]
    }

    fn actions(&self) -> Vec<Arc<dyn tfplugin::action::Action>> {
        vec![Arc::new(surface::Resize)]
    }

    fn functions(&self) -> Vec<Arc<dyn tfplugin::function::Function>> {
        vec![Arc::new(surface::PriceOf)]
    }
}

fn main() {
    tfplugin::serve(Testbed)
}
