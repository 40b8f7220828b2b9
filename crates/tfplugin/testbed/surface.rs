//! The Terraform 1.14+ surface of the testbed: `testbed_thing` listed by
//! `terraform query` (filter `name_prefix`), the action `testbed_resize`
//! (changes a thing's size in the store, reporting progress), and the
//! function `provider::testbed::price_of(size)`.

use serde::Deserialize;
use tfplugin::action::{Action, Progress};
use tfplugin::function::{Function, FunctionError, Parameter, Signature};
use tfplugin::list::{ListItem, ListRequest, ListResource, ListSink};
use tfplugin::schema::{validators, Attribute, Schema};
use tfplugin::{async_trait, Context, Diagnostic, Diagnostics, Type, Value};

use crate::resource::{price_of, ThingModel};
use crate::store::Store;

/// `list "testbed_thing"`: every thing in the store, by id order.
pub struct ThingList;

#[async_trait]
impl ListResource for ThingList {
    fn type_name(&self) -> String {
        "testbed_thing".into()
    }

    fn schema(&self) -> Schema {
        Schema::new().attribute(
            Attribute::string("name_prefix")
                .optional()
                .description("Only things whose name starts with this."),
        )
    }

    async fn list(
        &self,
        ctx: &Context,
        request: &ListRequest,
        sink: &ListSink,
    ) -> Result<(), Diagnostics> {
        #[derive(Deserialize)]
        struct Filter {
            name_prefix: Option<String>,
        }
        let filter: Filter = request.config.decode()?;
        let store = ctx.provider_data::<Store>()?;
        for remote in store.all().await? {
            let m: ThingModel = serde_json::from_value(remote)
                .map_err(|e| Diagnostic::error("Corrupt object in store", e.to_string()))?;
            let prefix = filter.name_prefix.as_deref().unwrap_or("");
            if !m.name.starts_with(prefix) {
                continue;
            }
            let item = ListItem {
                display_name: m.name.clone(),
                state: Value::encode(&m)?,
            };
            if !sink.send(item).await {
                break;
            }
        }
        Ok(())
    }
}

/// `action "testbed_resize"`: sets a thing's size behind Terraform's back.
pub struct Resize;

#[async_trait]
impl Action for Resize {
    fn type_name(&self) -> String {
        "testbed_resize".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .attribute(Attribute::string("id").required())
            .attribute(
                Attribute::string("size")
                    .required()
                    .validator(validators::one_of(["small", "medium", "large"])),
            )
    }

    async fn invoke(
        &self,
        ctx: &Context,
        config: &Value,
        progress: &Progress,
    ) -> Result<(), Diagnostics> {
        #[derive(Deserialize)]
        struct Config {
            id: String,
            size: String,
        }
        let c: Config = config.decode()?;
        let store = ctx.provider_data::<Store>()?;
        let Some(mut remote) = store.get(&c.id).await? else {
            return Err(Diagnostic::error(
                "No such thing",
                format!("{:?} is not in the store.", c.id),
            )
            .into());
        };
        progress
            .report(format!("resizing {} to {}", c.id, c.size))
            .await;
        remote["size"] = c.size.clone().into();
        remote["price"] = serde_json::to_value(price_of(&c.size))
            .map_err(|e| Diagnostic::error("encode", e.to_string()))?;
        store.put(&c.id, remote).await?;
        progress.report(format!("{} is now {}", c.id, c.size)).await;
        Ok(())
    }
}

/// `provider::testbed::price_of(size)`: the catalog price of a size.
pub struct PriceOf;

impl Function for PriceOf {
    fn name(&self) -> String {
        "price_of".into()
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new("size", Type::String).description("A size.")],
            returns: Type::Number,
            summary: "The hourly price of a size".into(),
            description: "The catalog price of `small`, `medium` or `large`.".into(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let size = args.first().and_then(Value::as_str).unwrap_or_default();
        price_of(size).map(Value::Number).ok_or_else(|| {
            FunctionError::argument(
                0,
                format!("{size:?} is not a size: use small, medium or large"),
            )
        })
    }
}
