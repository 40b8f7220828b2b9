//! `terraform-provider-verda`: a stand-in for the official Verda provider
//! (`registry.terraform.io/verda-cloud/verda`), for the end-to-end tests of `moved`
//! blocks from it to `linux-kdevops/datacrunch`. Terraform needs the source provider
//! installed to hold a state of its resources, but the real one cannot be downloaded
//! offline. This one declares `verda_instance`, `verda_cluster`, `verda_ssh_key`,
//! `verda_startup_script` and `verda_volume` with the official provider's attribute
//! names and types (its `internal/provider/resource_*.go`) and holds their state:
//! a read returns the state as it is, and anything that would change an object is
//! refused, so a test notices when Terraform plans to create or destroy through it.

// Test-only binary: the test-support crate's lints allow what tests need.
use std::sync::Arc;

use tfplugin::{
    async_trait, Attribute, Context, Diagnostic, Diagnostics, Nesting, ProviderData, Resource,
    Schema, Type, Value,
};

struct Verda;

#[async_trait]
impl tfplugin::Provider for Verda {
    fn address(&self) -> String {
        "registry.terraform.io/verda-cloud/verda".into()
    }

    /// The official provider's settings; the stand-in uses none of them.
    fn schema(&self) -> Schema {
        Schema::new()
            .attribute(Attribute::string("client_id").optional())
            .attribute(Attribute::string("client_secret").optional().sensitive())
            .attribute(Attribute::string("base_url").optional())
    }

    async fn configure(
        &self,
        _ctx: &Context,
        _config: &Value,
    ) -> Result<ProviderData, Diagnostics> {
        Ok(Arc::new(()))
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        [
            ("verda_instance", instance as fn() -> Schema),
            ("verda_cluster", cluster),
            ("verda_ssh_key", ssh_key),
            ("verda_startup_script", startup_script),
            ("verda_volume", volume),
        ]
        .into_iter()
        .map(|(type_name, schema)| Arc::new(HeldState { type_name, schema }) as Arc<dyn Resource>)
        .collect()
    }
}

fn id() -> Attribute {
    Attribute::string("id").computed().use_state_for_unknown()
}

/// Their `location`: defaults to FIN-01, so computed too; a change replaces.
fn location() -> Attribute {
    Attribute::string("location")
        .optional()
        .computed()
        .requires_replace()
        .use_state_for_unknown()
}

/// A required argument whose change replaces the object.
fn fixed(attribute: Attribute) -> Attribute {
    attribute.required().requires_replace()
}

fn computed(name: &str) -> Attribute {
    Attribute::string(name).computed()
}

/// Their `cpu`, `gpu`, `memory`, `gpu_memory` and `storage`: a computed object of a
/// description and, except for storage, one number.
fn summary(name: &str, number: Option<&str>) -> Attribute {
    let mut fields = vec![Attribute::string("description").computed()];
    if let Some(number) = number {
        fields.push(Attribute::number(number).computed());
    }
    Attribute::nested(name, Nesting::Single, fields)
        .computed()
        .use_state_for_unknown()
}

fn instance() -> Schema {
    let volume_fields = |with_location: bool| {
        let mut fields = vec![
            Attribute::string("name").required(),
            Attribute::number("size").required(),
            Attribute::string("type").required(),
        ];
        if with_location {
            fields.push(Attribute::string("location").optional());
        }
        fields.push(Attribute::string("on_spot_discontinue").optional());
        fields
    };
    Schema::new()
        .attribute(id())
        .attribute(fixed(Attribute::string("instance_type")))
        .attribute(fixed(Attribute::string("image")))
        .attribute(fixed(Attribute::string("hostname")))
        .attribute(fixed(Attribute::string("description")))
        .attribute(Attribute::number("price_per_hour").computed())
        .attribute(computed("ip"))
        .attribute(computed("status"))
        .attribute(computed("created_at"))
        .attribute(
            Attribute::set("ssh_key_ids", Type::String)
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown(),
        )
        .attribute(location())
        .attribute(Attribute::bool("is_spot").optional().computed())
        .attribute(computed("os_name"))
        .attribute(
            Attribute::string("startup_script_id")
                .optional()
                .requires_replace(),
        )
        .attribute(computed("os_volume_id"))
        .attribute(
            Attribute::string("contract")
                .optional()
                .computed()
                .requires_replace(),
        )
        .attribute(
            Attribute::string("pricing")
                .optional()
                .computed()
                .requires_replace(),
        )
        .attribute(summary("cpu", Some("number_of_cores")))
        .attribute(summary("gpu", Some("number_of_gpus")))
        .attribute(summary("memory", Some("size_in_gigabytes")))
        .attribute(summary("gpu_memory", Some("size_in_gigabytes")))
        .attribute(summary("storage", None))
        .attribute(
            Attribute::nested("volumes", Nesting::List, volume_fields(true))
                .optional()
                .requires_replace(),
        )
        .attribute(
            Attribute::list("existing_volumes", Type::String)
                .optional()
                .requires_replace(),
        )
        .attribute(
            Attribute::nested("os_volume", Nesting::Single, volume_fields(false))
                .optional()
                .requires_replace(),
        )
}

/// A computed list of objects of computed strings (and numbers).
fn computed_objects(name: &str, strings: &[&str], numbers: &[&str]) -> Attribute {
    let fields = strings
        .iter()
        .map(|f| Attribute::string(*f).computed())
        .chain(numbers.iter().map(|f| Attribute::number(*f).computed()))
        .collect();
    Attribute::nested(name, Nesting::List, fields).computed()
}

fn cluster() -> Schema {
    Schema::new()
        .attribute(id())
        .attribute(fixed(Attribute::string("cluster_type")))
        .attribute(fixed(Attribute::string("image")))
        .attribute(fixed(Attribute::string("hostname")))
        .attribute(fixed(Attribute::string("description")))
        .attribute(fixed(Attribute::nested(
            "shared_volume",
            Nesting::Single,
            vec![
                Attribute::string("name").required(),
                Attribute::number("size").required(),
            ],
        )))
        .attribute(
            Attribute::nested(
                "existing_volumes",
                Nesting::List,
                vec![Attribute::string("id").required()],
            )
            .optional()
            .requires_replace(),
        )
        .attribute(location())
        .attribute(
            Attribute::string("contract")
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::list("ssh_key_ids", Type::String)
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown(),
        )
        .attribute(
            Attribute::string("startup_script_id")
                .optional()
                .requires_replace(),
        )
        .attribute(
            Attribute::bool("auto_rental_extension")
                .optional()
                .computed(),
        )
        .attribute(
            Attribute::bool("turn_to_pay_as_you_go")
                .optional()
                .computed(),
        )
        .attribute(computed("ip"))
        .attribute(computed("status"))
        .attribute(computed("created_at"))
        .attribute(Attribute::number("price_per_hour").computed())
        .attribute(computed("os_name"))
        .attribute(summary("cpu", Some("number_of_cores")))
        .attribute(summary("gpu", Some("number_of_gpus")))
        .attribute(summary("memory", Some("size_in_gigabytes")))
        .attribute(summary("gpu_memory", Some("size_in_gigabytes")))
        .attribute(summary("storage", None))
        .attribute(computed_objects(
            "shared_volumes",
            &["id", "name", "mount_point"],
            &["size_in_gigabytes"],
        ))
        .attribute(computed("long_term_period"))
        .attribute(computed_objects(
            "worker_nodes",
            &["id", "hostname", "status", "private_ip", "public_ip"],
            &[],
        ))
}

fn ssh_key() -> Schema {
    Schema::new()
        .attribute(id())
        .attribute(Attribute::string("name").required())
        .attribute(fixed(Attribute::string("public_key")))
        .attribute(computed("fingerprint"))
        .attribute(computed("created_at"))
}

fn startup_script() -> Schema {
    Schema::new()
        .attribute(id())
        .attribute(Attribute::string("name").required())
        .attribute(Attribute::string("script").required())
        .attribute(computed("created_at"))
}

fn volume() -> Schema {
    Schema::new()
        .attribute(id())
        .attribute(fixed(Attribute::string("name")))
        .attribute(fixed(Attribute::number("size")))
        .attribute(fixed(Attribute::string("type")))
        .attribute(location())
        .attribute(
            Attribute::string("on_spot_discontinue")
                .optional()
                .requires_replace(),
        )
        .attribute(computed("status"))
        .attribute(computed("instance_id"))
        .attribute(computed("created_at"))
}

/// A resource type whose objects exist only as the state Terraform holds.
struct HeldState {
    type_name: &'static str,
    schema: fn() -> Schema,
}

impl HeldState {
    fn refused(&self, what: &str) -> Diagnostics {
        Diagnostic::error(
            format!("The Verda stand-in cannot {what}"),
            format!(
                "{} of this test stand-in only holds state; a test that reaches this \
                 planned a change the move should not have needed.",
                self.type_name
            ),
        )
        .into()
    }
}

#[async_trait]
impl Resource for HeldState {
    fn type_name(&self) -> String {
        self.type_name.into()
    }

    fn schema(&self) -> Schema {
        (self.schema)()
    }

    async fn create(&self, _: &Context, _: &Value, _: &Value) -> Result<Value, Diagnostics> {
        Err(self.refused("create"))
    }

    async fn read(&self, _: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        Ok(Some(state.clone()))
    }

    async fn update(
        &self,
        _: &Context,
        _: &Value,
        _: &Value,
        _: &Value,
    ) -> Result<Value, Diagnostics> {
        Err(self.refused("update"))
    }

    async fn delete(&self, _: &Context, _: &Value) -> Result<(), Diagnostics> {
        Err(self.refused("delete"))
    }
}

fn main() {
    tfplugin::serve(Verda)
}
