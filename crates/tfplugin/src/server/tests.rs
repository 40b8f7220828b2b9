//! The gRPC service in-process: every answer to a user-facing problem is a
//! diagnostic in an OK response, never a gRPC error.

use std::sync::Arc;

use tonic::Request;

use super::ProviderService;
use crate::proto::tfplugin6 as pb;
use crate::proto::tfplugin6::provider_server::Provider as _;
use crate::schema::{validators, Attribute, IdentityAttribute, IdentitySchema, Schema};
use crate::{async_trait, Context, Diagnostics, PlanChange, ProviderData, Resource, Type, Value};

struct P;
struct R;

#[async_trait]
impl crate::Provider for P {
    fn address(&self) -> String {
        "example.com/test/t".into()
    }
    fn schema(&self) -> Schema {
        Schema::new()
    }
    async fn configure(&self, _: &Context, _: &Value) -> Result<ProviderData, Diagnostics> {
        Ok(Arc::new(()))
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(R)]
    }
}

fn rschema() -> Schema {
    Schema::new()
        .version(2)
        .attribute(Attribute::string("id").computed().use_state_for_unknown())
        .attribute(
            Attribute::string("name")
                .required()
                .validator(validators::one_of(["a", "b", "slow", "bad", "half"])),
        )
}

#[async_trait]
impl Resource for R {
    fn type_name(&self) -> String {
        "t_res".into()
    }
    fn schema(&self) -> Schema {
        rschema()
    }
    async fn modify_plan(&self, ctx: &Context, _: &mut PlanChange) -> Result<(), Diagnostics> {
        ctx.warn("planned", "hook ran");
        Ok(())
    }
    async fn plan_destroy(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        if prior.get("name").and_then(Value::as_str) == Some("bad") {
            return Err(crate::Diagnostic::error("cannot be destroyed", "as the test says").into());
        }
        ctx.warn("destroy planned", "hook ran");
        Ok(())
    }
    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _: &Value,
    ) -> Result<Value, Diagnostics> {
        ctx.check()?;
        let name = planned
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name == "slow" {
            ctx.run(std::future::pending::<Result<(), Diagnostics>>())
                .await?;
        }
        if name == "half" {
            // Created remotely, then failed: say what exists.
            let half = Value::object([("id", Value::string("h")), ("name", Value::Unknown)]);
            return Err(
                Diagnostics::from(crate::Diagnostic::error("never ready", "")).with_state(half),
            );
        }
        let returned = if name == "bad" {
            "not-bad".to_string()
        } else {
            name
        };
        Ok(Value::object([
            ("id", Value::string("x")),
            ("name", Value::string(returned)),
        ]))
    }
    async fn read(&self, _: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        Ok(Some(state.clone()))
    }
    async fn update(
        &self,
        _: &Context,
        _: &Value,
        planned: &Value,
        _: &Value,
    ) -> Result<Value, Diagnostics> {
        Ok(planned.clone())
    }
    async fn delete(&self, _: &Context, _: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }
    async fn upgrade(
        &self,
        _: &Context,
        version: i64,
        mut state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        assert_eq!(version, 1);
        if let Some(o) = state.as_object_mut() {
            if let Some(t) = o.remove("title") {
                o.insert("name".into(), t);
            }
        }
        Ok(state)
    }
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new().attribute(IdentityAttribute::required("id", Type::String)))
    }
    async fn move_state(
        &self,
        _: &Context,
        source: &crate::MoveSource,
    ) -> Result<Value, Diagnostics> {
        assert_eq!(source.type_name, "old_res");
        let id = source.state["ident"].as_str().unwrap_or_default();
        Ok(Value::object([
            ("id", Value::string(id)),
            ("name", Value::string("a")),
        ]))
    }
}

fn service() -> Arc<ProviderService> {
    Arc::new(ProviderService::new(Arc::new(P)))
}

fn ty() -> Type {
    rschema().value_type()
}

fn dv(v: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: v.to_msgpack(&ty()).unwrap(),
        json: Vec::new(),
    })
}

fn decode(d: &Option<pb::DynamicValue>) -> Value {
    Value::from_msgpack(&d.as_ref().unwrap().msgpack, &ty()).unwrap()
}

fn obj(id: Value, name: &str) -> Value {
    Value::object([("id", id), ("name", Value::string(name))])
}

#[tokio::test]
async fn unknown_type_is_a_diagnostic_not_a_grpc_error() {
    let r = service()
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "nope".into(),
            current_state: dv(&obj(Value::string("x"), "a")),
            ..Default::default()
        }))
        .await
        .expect("OK status")
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "Unknown resource type");
}

/// GetMetadata (used by terraform-plugin-mux) names every type with the
/// same capabilities as GetProviderSchema; GetResourceIdentitySchemas,
/// called right after the schema, answers an empty set rather than an error.
#[tokio::test]
async fn metadata_and_identity_schemas() {
    let svc = service();
    let m = svc
        .get_metadata(Request::new(pb::get_metadata::Request {}))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = m.resources.iter().map(|r| r.type_name.as_str()).collect();
    assert_eq!(names, ["t_res"]);
    assert!(m.data_sources.is_empty() && m.diagnostics.is_empty());
    let caps = m.server_capabilities.unwrap();
    assert!(caps.plan_destroy && caps.get_provider_schema_optional);
    assert!(caps.move_resource_state && caps.generate_resource_config);

    let ids = svc
        .get_resource_identity_schemas(Request::new(pb::get_resource_identity_schemas::Request {}))
        .await
        .expect("answered, not Unimplemented")
        .into_inner();
    let attrs = &ids.identity_schemas["t_res"].identity_attributes;
    assert_eq!(attrs.len(), 1);
    assert_eq!(attrs[0].name, "id");
    assert_eq!(attrs[0].r#type, br#""string""#);
    assert!(attrs[0].required_for_import && ids.diagnostics.is_empty());
}

fn identity_of(d: &Option<pb::ResourceIdentityData>) -> Value {
    let data = &d.as_ref().expect("an identity").identity_data;
    Value::from_msgpack(
        &data.as_ref().unwrap().msgpack,
        &Type::object([("id", Type::String)]),
    )
    .unwrap()
}

fn identity_dv(id: &str) -> pb::ResourceIdentityData {
    let v = Value::object([("id", Value::string(id))]);
    let ty = Type::object([("id", Type::String)]);
    pb::ResourceIdentityData {
        identity_data: Some(pb::DynamicValue {
            msgpack: v.to_msgpack(&ty).unwrap(),
            json: Vec::new(),
        }),
    }
}

/// Read, import (by id and by identity) and a cross-type move all answer
/// with the object's identity; a stored identity of the current version
/// comes back as it was.
#[tokio::test]
async fn identity_travels_with_read_import_move_and_upgrade() {
    let svc = service();
    let read = svc
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "t_res".into(),
            current_state: dv(&obj(Value::string("x"), "a")),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        identity_of(&read.new_identity),
        Value::object([("id", Value::string("x"))])
    );

    let imported = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "t_res".into(),
            identity: Some(identity_dv("by-identity")),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let r = &imported.imported_resources[0];
    assert_eq!(
        decode(&r.state).get("id"),
        Some(&Value::string("by-identity"))
    );
    assert_eq!(
        identity_of(&r.identity).get("id"),
        Some(&Value::string("by-identity"))
    );

    let moved = svc
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_provider_address: "registry.terraform.io/other/old".into(),
            source_type_name: "old_res".into(),
            source_state: Some(pb::RawState {
                json: br#"{"ident":"m-1"}"#.to_vec(),
                ..Default::default()
            }),
            target_type_name: "t_res".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(moved.diagnostics.is_empty(), "{:?}", moved.diagnostics);
    assert_eq!(decode(&moved.target_state), obj(Value::string("m-1"), "a"));
    assert_eq!(
        identity_of(&moved.target_identity).get("id"),
        Some(&Value::string("m-1"))
    );

    let upgraded = svc
        .upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
            type_name: "t_res".into(),
            version: 0,
            raw_identity: Some(pb::RawState {
                json: br#"{"id":"u-1"}"#.to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        identity_of(&upgraded.upgraded_identity).get("id"),
        Some(&Value::string("u-1"))
    );
}

/// Generated configuration keeps what a user sets and drops what only the
/// provider computes.
#[tokio::test]
async fn generated_config_drops_computed_only_values() {
    let r = service()
        .generate_resource_config(Request::new(pb::generate_resource_config::Request {
            type_name: "t_res".into(),
            state: dv(&obj(Value::string("x"), "b")),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decode(&r.config), obj(Value::Null, "b"));
}

/// The diagnostic's path is exactly the top-level attribute `name`.
fn assert_points_at_name(d: &pb::Diagnostic) {
    let steps = &d.attribute.as_ref().expect("a path").steps;
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(
        steps[0].selector,
        Some(pb::attribute_path::step::Selector::AttributeName(
            "name".into()
        ))
    );
}

#[tokio::test]
async fn validate_reports_the_attribute_path() {
    let r = service()
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: "t_res".into(),
            config: dv(&obj(Value::Null, "zzz")),
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner();
    let d = &r.diagnostics[0];
    assert_eq!(d.severity, pb::diagnostic::Severity::Error as i32);
    assert_points_at_name(d);
}

async fn upgrade(version: i64, json: &str, flatmap: bool) -> pb::upgrade_resource_state::Response {
    let raw = if flatmap {
        pb::RawState {
            json: Vec::new(),
            flatmap: [("id".to_string(), "x".to_string())].into(),
        }
    } else {
        pb::RawState {
            json: json.as_bytes().to_vec(),
            flatmap: Default::default(),
        }
    };
    service()
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "t_res".into(),
            version,
            raw_state: Some(raw),
        }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn upgrade_from_json_current_old_removed_attribute_and_flatmap() {
    let r = upgrade(2, r#"{"id":"x","name":"a"}"#, false).await;
    assert!(r.diagnostics.is_empty());
    assert_eq!(decode(&r.upgraded_state), obj(Value::string("x"), "a"));

    let r = upgrade(1, r#"{"id":"x","title":"b"}"#, false).await;
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(decode(&r.upgraded_state), obj(Value::string("x"), "b"));

    // Same version, with an attribute the schema has since dropped: forgotten.
    let r = upgrade(2, r#"{"id":"x","name":"a","title":"b"}"#, false).await;
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(decode(&r.upgraded_state), obj(Value::string("x"), "a"));

    // What an upgrade function returns must match the schema exactly.
    let r = upgrade(1, r#"{"id":"x","title":"b","color":"red"}"#, false).await;
    assert!(
        r.diagnostics[0].detail.contains("color"),
        "{:?}",
        r.diagnostics
    );

    let r = upgrade(0, "", true).await;
    assert!(r.diagnostics[0].detail.contains("flatmap"));
}

#[tokio::test]
async fn plan_create_writes_unknown_and_runs_the_hook() {
    let config = obj(Value::Null, "a");
    let r = service()
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "t_res".into(),
            prior_state: dv(&Value::Null),
            proposed_new_state: dv(&config),
            config: dv(&config),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let bytes = &r.planned_state.as_ref().unwrap().msgpack;
    assert!(
        bytes.windows(3).any(|w| w == [0xd4, 0, 0]),
        "unknown id on the wire"
    );
    assert_eq!(decode(&r.planned_state), obj(Value::Unknown, "a"));
    assert_eq!(
        r.diagnostics[0].summary, "planned",
        "hook warning is returned"
    );
    assert!(!r.legacy_type_system);

    // Destroy plans null, after the destroy hook (which may refuse it).
    let destroy = |name: &'static str| async move {
        service()
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: "t_res".into(),
                prior_state: dv(&obj(Value::string("x"), name)),
                proposed_new_state: dv(&Value::Null),
                config: dv(&Value::Null),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
    };
    let r = destroy("a").await;
    assert!(decode(&r.planned_state).is_null());
    assert_eq!(r.diagnostics[0].summary, "destroy planned");
    let r = destroy("bad").await;
    assert_eq!(r.diagnostics[0].summary, "cannot be destroyed");
}

fn apply_req(name: &str) -> pb::apply_resource_change::Request {
    pb::apply_resource_change::Request {
        type_name: "t_res".into(),
        prior_state: dv(&Value::Null),
        planned_state: dv(&obj(Value::Unknown, name)),
        config: dv(&obj(Value::Null, name)),
        ..Default::default()
    }
}

#[tokio::test]
async fn apply_names_the_attribute_a_buggy_resource_changed() {
    let r = service()
        .apply_resource_change(Request::new(apply_req("bad")))
        .await
        .unwrap()
        .into_inner();
    let d = &r.diagnostics[0];
    assert_eq!(
        d.summary,
        "Provider produced inconsistent result after apply"
    );
    assert_points_at_name(d);

    let ok = service()
        .apply_resource_change(Request::new(apply_req("a")))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.diagnostics.is_empty());
    assert_eq!(decode(&ok.new_state), obj(Value::string("x"), "a"));
}

/// A create that fails after the object exists records it (Terraform then
/// taints it), with values still unknown recorded as null.
#[tokio::test]
async fn failed_create_records_the_state_its_error_carries() {
    let r = service()
        .apply_resource_change(Request::new(apply_req("half")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "never ready");
    assert_eq!(
        decode(&r.new_state),
        Value::object([("id", Value::string("h")), ("name", Value::Null)])
    );
}

/// An absent new state would make Terraform forget the object; when the
/// request cannot be handled the prior state is echoed back instead.
#[tokio::test]
async fn apply_that_cannot_run_keeps_the_prior_state() {
    let prior = obj(Value::string("x"), "a");
    let unreadable_plan = pb::apply_resource_change::Request {
        type_name: "t_res".into(),
        prior_state: dv(&prior),
        planned_state: Some(pb::DynamicValue {
            msgpack: vec![0xa1, b'x'], // a string where an object belongs
            json: Vec::new(),
        }),
        config: dv(&prior),
        ..Default::default()
    };
    let unknown_type = pb::apply_resource_change::Request {
        type_name: "nope".into(),
        ..unreadable_plan.clone()
    };
    for req in [unreadable_plan, unknown_type] {
        let r = service()
            .apply_resource_change(Request::new(req))
            .await
            .unwrap()
            .into_inner();
        assert!(r.diagnostics[0].severity == pb::diagnostic::Severity::Error as i32);
        assert_eq!(decode(&r.new_state), prior);
    }
}

#[tokio::test]
async fn stop_provider_cancels_in_flight_applies_only() {
    let svc = service();
    let running = {
        let svc = svc.clone();
        tokio::spawn(async move {
            svc.apply_resource_change(Request::new(apply_req("slow")))
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let stop = svc
        .stop_provider(Request::new(pb::stop_provider::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stop.error, "");
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), running)
        .await
        .expect("apply returned after StopProvider")
        .unwrap()
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics[0].summary, "Operation cancelled");
    assert!(
        decode(&r.new_state).is_null(),
        "failed create records no object"
    );

    // Only what was in flight is cancelled: later calls run normally.
    let later = svc
        .apply_resource_change(Request::new(apply_req("a")))
        .await
        .unwrap()
        .into_inner();
    assert!(later.diagnostics.is_empty(), "{:?}", later.diagnostics);
    assert_eq!(decode(&later.new_state), obj(Value::string("x"), "a"));
}

#[tokio::test]
async fn import_puts_the_id_in_place() {
    let r = service()
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "t_res".into(),
            id: "abc".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let imported = &r.imported_resources[0];
    assert_eq!(imported.type_name, "t_res");
    let expected = Value::object([("id", Value::string("abc")), ("name", Value::Null)]);
    assert_eq!(decode(&imported.state), expected);
}
