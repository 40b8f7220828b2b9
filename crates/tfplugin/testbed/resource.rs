//! `testbed_thing` (every attribute kind) and `testbed_catalog`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tfplugin::schema::timeouts::{Operation, TimeoutDefaults, Timeouts};
use tfplugin::schema::{
    validators, Attribute, Block, IdentityAttribute, IdentitySchema, NestedBlock, Nesting, Schema,
};
use tfplugin::{
    async_trait, AttributePath, Context, DataSource, Diagnostic, Diagnostics, MoveSource, Number,
    PlanChange, Resource, Tf, Type, Value,
};

use crate::store::Store;

/// `timeouts { create, delete }` and their defaults.
const TIMEOUTS: TimeoutDefaults = TimeoutDefaults(&[
    (Operation::Create, Duration::from_secs(600)),
    (Operation::Delete, Duration::from_secs(600)),
]);

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Disk {
    size_gb: i64,
    kind: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Network {
    vpc: String,
    public: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Rule {
    port: i64,
}

/// The model of `testbed_thing`; what the store keeps, minus the
/// Terraform-only attributes (timeouts, create_delay, the write-only token).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub(crate) struct ThingModel {
    id: Tf<String>,
    pub(crate) name: String,
    size: Option<String>,
    replicas: Option<Number>,
    big: Option<Number>,
    price: Tf<Number>,
    enabled: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
    ports: Option<Vec<i64>>,
    zones: Option<BTreeSet<String>>,
    secret: Option<String>,
    #[serde(default, skip_serializing)]
    token_wo: Option<String>,
    meta: Option<serde_json::Value>,
    disks: Option<Vec<Disk>>,
    network: Option<Network>,
    created_at: Tf<String>,
    #[serde(default)]
    create_delay: Option<String>,
    #[serde(default)]
    timeouts: Option<Timeouts>,
    #[serde(default)]
    rule: Vec<Rule>,
}

pub(crate) fn price_of(size: &str) -> Option<Number> {
    let p = match size {
        "small" => "0.10",
        "medium" => "0.25",
        "large" => "1.50",
        _ => return None,
    };
    p.parse().ok()
}

pub struct Thing;

impl Thing {
    fn remote(m: &ThingModel) -> Result<serde_json::Value, Diagnostics> {
        let mut r = m.clone();
        r.create_delay = None;
        r.timeouts = None;
        serde_json::to_value(&r).map_err(|e| Diagnostic::error("encode", e.to_string()).into())
    }
}

#[async_trait]
impl Resource for Thing {
    fn type_name(&self) -> String {
        "testbed_thing".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("A thing with **every** kind of attribute.")
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("Identifier."),
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .validator(validators::regex(
                        "^[a-z][a-z0-9-]*$",
                        "must be lowercase letters, digits and dashes",
                    ))
                    .validator(validators::length_between(1, 32)),
            )
            .attribute(
                Attribute::string("size")
                    .default("small")
                    .validator(validators::one_of(["small", "medium", "large"])),
            )
            .attribute(
                Attribute::number("replicas")
                    .optional()
                    .validator(validators::range(Some(1.into()), Some(10.into()))),
            )
            .attribute(
                Attribute::number("big")
                    .optional()
                    .description("Any number, kept exactly."),
            )
            .attribute(
                Attribute::number("price")
                    .computed()
                    .description("Hourly price from the catalog."),
            )
            .attribute(Attribute::bool("enabled").default(true))
            .attribute(Attribute::map("tags", Type::String).optional())
            .attribute(Attribute::list("ports", Type::Number).optional())
            .attribute(Attribute::set("zones", Type::String).optional())
            .attribute(Attribute::string("secret").optional().sensitive())
            .attribute(
                Attribute::string("token_wo")
                    .optional()
                    .sensitive()
                    .write_only(),
            )
            .attribute(Attribute::dynamic("meta").optional())
            .attribute(
                Attribute::nested(
                    "disks",
                    Nesting::List,
                    vec![
                        Attribute::number("size_gb")
                            .required()
                            .validator(validators::at_least(1)),
                        Attribute::string("kind").default("ssd"),
                    ],
                )
                .optional(),
            )
            .attribute(
                Attribute::nested(
                    "network",
                    Nesting::Single,
                    vec![
                        Attribute::string("vpc").required(),
                        Attribute::bool("public").optional(),
                    ],
                )
                .optional(),
            )
            .attribute(
                Attribute::string("created_at")
                    .computed()
                    .use_state_for_unknown(),
            )
            .attribute(
                Attribute::string("create_delay")
                    .optional()
                    .validator(validators::duration()),
            )
            .attribute(TIMEOUTS.attribute())
            .block(NestedBlock::new(
                "rule",
                Nesting::List,
                Block::new().attribute(Attribute::number("port").required()),
            ))
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
        // Like checking a live catalog: the price follows the size.
        if let Some(size) = plan.planned.get("size").and_then(Value::as_str) {
            let price = price_of(size).map(Value::Number).unwrap_or(Value::Unknown);
            plan.set(&AttributePath::new("price"), price)?;
        }
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let store = ctx.provider_data::<Store>()?;
        let mut m: ThingModel = planned.decode()?;
        if let Some(d) = &m.create_delay {
            let d = tfplugin::duration::parse(d)
                .map_err(|e| Diagnostic::error("Invalid create_delay", e))?;
            tracing::info!(delay = ?d, "slow create");
            store.mark("creating");
            ctx.sleep(d).await?;
        }
        let id = format!("thing-{}", m.name);
        m.id = Tf::Known(id.clone());
        m.price =
            Tf::Known(price_of(m.size.as_deref().unwrap_or("small")).unwrap_or_else(Number::zero));
        m.created_at = Tf::Known("2026-01-01T00:00:00Z".into());
        m.token_wo = None;
        store.put(&id, Self::remote(&m)?).await?;
        Ok(Value::encode(&m)?)
    }

    async fn read(&self, ctx: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        /// What read needs from the current state: after an import only
        /// `id` is set, so the full model cannot be decoded here.
        #[derive(Deserialize)]
        struct Current {
            id: Option<String>,
            create_delay: Option<String>,
            timeouts: Option<Timeouts>,
        }
        let store = ctx.provider_data::<Store>()?;
        let current: Current = state.decode()?;
        let Some(id) = current.id else {
            return Ok(None);
        };
        let Some(remote) = store.get(&id).await? else {
            return Ok(None);
        };
        let mut m: ThingModel = serde_json::from_value(remote)
            .map_err(|e| Diagnostic::error("Corrupt object in store", e.to_string()))?;
        m.create_delay = current.create_delay;
        m.timeouts = current.timeouts;
        Ok(Some(Value::encode(&m)?))
    }

    async fn update(
        &self,
        ctx: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let store = ctx.provider_data::<Store>()?;
        let mut m: ThingModel = planned.decode()?;
        let id =
            m.id.known()
                .cloned()
                .ok_or_else(|| Diagnostic::error("Missing id", ""))?;
        m.price =
            Tf::Known(price_of(m.size.as_deref().unwrap_or("small")).unwrap_or_else(Number::zero));
        m.token_wo = None;
        store.put(&id, Self::remote(&m)?).await?;
        Ok(Value::encode(&m)?)
    }

    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let store = ctx.provider_data::<Store>()?;
        if let Some(id) = prior.get("id").and_then(Value::as_str) {
            store.delete(id).await?;
        }
        Ok(())
    }

    fn default_timeout(&self, op: Operation) -> Option<Duration> {
        TIMEOUTS.get(op)
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new().attribute(IdentityAttribute::required("id", Type::String)))
    }

    /// `moved` from `legacy_thing` of any provider, whose `title` is our `name`.
    async fn move_state(&self, _ctx: &Context, source: &MoveSource) -> Result<Value, Diagnostics> {
        if source.type_name != "legacy_thing" {
            return Err(Diagnostic::error(
                "Unsupported move",
                format!("testbed_thing cannot be moved from {}.", source.type_name),
            )
            .into());
        }
        let field = |name: &str| {
            source.state[name]
                .as_str()
                .map(Value::string)
                .unwrap_or(Value::Null)
        };
        Ok(Value::object([
            ("id", field("id")),
            ("name", field("title")),
        ]))
    }
}

/// `testbed_catalog`: the sizes on offer and, for a chosen size, its price.
pub struct Catalog;

#[async_trait]
impl DataSource for Catalog {
    fn type_name(&self) -> String {
        "testbed_catalog".into()
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .attribute(Attribute::string("size").optional())
            .attribute(Attribute::list("sizes", Type::String).computed())
            .attribute(Attribute::number("price").computed())
    }

    async fn read(&self, _ctx: &Context, config: &Value) -> Result<Value, Diagnostics> {
        if let Some(release) = std::env::var_os("TESTBED_BLOCK_UNTIL") {
            block_thread_until(std::path::Path::new(&release));
        }
        #[derive(Serialize, Deserialize)]
        struct Cat {
            size: Option<String>,
            #[serde(default)]
            sizes: Vec<String>,
            price: Option<Number>,
        }
        let mut c: Cat = config.decode()?;
        c.sizes = vec!["small".into(), "medium".into(), "large".into()];
        if let Some(s) = &c.size {
            c.price = Some(price_of(s).ok_or_else(|| {
                Diagnostic::error("Unknown size", format!("{s:?} is not in the catalog"))
                    .at(AttributePath::new("size"))
            })?);
        }
        Ok(Value::encode(&c)?)
    }
}

/// Misbehaves on purpose for the tests: holds its thread (no `.await`)
/// until `release` exists, announcing the start by appending a line to
/// `release` + ".started" (one line per blocked call). The server must keep
/// answering meanwhile.
fn block_thread_until(release: &std::path::Path) {
    use std::io::Write;
    let mut started = release.as_os_str().to_owned();
    started.push(".started");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&started)
    {
        let _ = f.write_all(b"started\n");
    }
    while !release.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
}
