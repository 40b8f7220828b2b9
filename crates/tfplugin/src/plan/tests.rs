//! One test per planner rule and per consistency check.

use std::sync::Arc;

use super::*;
use crate::schema::{Attribute, Schema};

fn schema() -> Schema {
    Schema::new()
        .attribute(Attribute::string("id").computed().use_state_for_unknown())
        .attribute(Attribute::string("name").required().requires_replace())
        .attribute(Attribute::string("size").default("small"))
        .attribute(Attribute::number("price").computed())
        .attribute(Attribute::string("label").optional().computed())
        .attribute(Attribute::string("token").optional().write_only())
        .attribute(Attribute::number("disk").optional().plan_modifier(
            PlanModifier::RequiresReplaceIf(Arc::new(|old, new| {
                match (old.as_number(), new.as_number()) {
                    // Shrinking needs a new disk; growing is in place.
                    (Some(o), Some(n)) => n < o,
                    _ => false,
                }
            })),
        ))
        .attribute(Attribute::nested(
            "disks",
            Nesting::List,
            vec![
                Attribute::number("gb").required().requires_replace(),
                Attribute::string("kind").default("ssd"),
            ],
        ))
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    let mut m = std::collections::BTreeMap::new();
    for name in [
        "id", "name", "size", "price", "label", "token", "disk", "disks",
    ] {
        m.insert(name.to_string(), Value::Null);
    }
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::Map(m)
}

fn prior() -> Value {
    obj(&[
        ("id", "i-1".into()),
        ("name", "a".into()),
        ("size", "small".into()),
        ("price", Value::number(1)),
        ("label", "computed-label".into()),
        ("disk", Value::number(10)),
    ])
}

#[test]
fn create_marks_computed_unknown_applies_defaults_and_nulls_write_only() {
    let s = schema();
    let config = obj(&[("name", "a".into()), ("token", "secret".into())]);
    let (planned, replace) = plan(&s.block, None, config.clone(), &config);
    assert_eq!(planned.get("id"), Some(&Value::Unknown));
    assert_eq!(planned.get("price"), Some(&Value::Unknown));
    assert_eq!(planned.get("label"), Some(&Value::Unknown));
    assert_eq!(planned.get("size"), Some(&Value::string("small")));
    assert_eq!(planned.get("token"), Some(&Value::Null));
    assert!(replace.is_empty());
    assert!(check_plan(&s.block, None, &config, &planned).is_empty());
}

#[test]
fn nested_defaults_apply_per_element() {
    let s = schema();
    let disks = Value::List(vec![
        Value::object([("gb", Value::number(1)), ("kind", Value::Null)]),
        Value::object([("gb", Value::number(2)), ("kind", Value::string("hdd"))]),
    ]);
    let config = obj(&[("name", "a".into()), ("disks", disks)]);
    let (planned, _) = plan(&s.block, None, config.clone(), &config);
    let kinds: Vec<_> = planned
        .get("disks")
        .unwrap()
        .as_list()
        .unwrap()
        .iter()
        .map(|d| d.get("kind").unwrap().as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["ssd", "hdd"]);
    assert!(check_plan(&s.block, None, &config, &planned).is_empty());
}

#[test]
fn unchanged_update_keeps_every_prior_value() {
    let s = schema();
    let p = prior();
    let config = obj(&[("name", "a".into()), ("disk", Value::number(10))]);
    // proposed = config merged with prior computed values, as Terraform sends it.
    let (planned, replace) = plan(&s.block, Some(&p), p.clone(), &config);
    assert_eq!(planned, p);
    assert!(replace.is_empty());
}

#[test]
fn changed_update_unknowns_computed_unless_use_state_for_unknown() {
    let s = schema();
    let p = prior();
    let config = obj(&[
        ("name", "a".into()),
        ("size", "large".into()),
        ("disk", Value::number(10)),
    ]);
    let mut proposed = p.clone();
    *proposed.at_mut(&AttributePath::new("size")).unwrap() = "large".into();
    let (planned, replace) = plan(&s.block, Some(&p), proposed, &config);
    assert_eq!(
        planned.get("id"),
        Some(&Value::string("i-1")),
        "use-state-for-unknown keeps id"
    );
    assert_eq!(planned.get("price"), Some(&Value::Unknown));
    assert_eq!(planned.get("label"), Some(&Value::Unknown));
    assert!(replace.is_empty(), "size is updatable in place");
}

#[test]
fn requires_replace_and_requires_replace_if() {
    let s = schema();
    let p = prior();
    let rename = obj(&[("name", "b".into()), ("disk", Value::number(10))]);
    let mut proposed = p.clone();
    *proposed.at_mut(&AttributePath::new("name")).unwrap() = "b".into();
    let (_, replace) = plan(&s.block, Some(&p), proposed, &rename);
    assert_eq!(replace, vec![AttributePath::new("name")]);

    for (disk, expect) in [(20, false), (5, true)] {
        let config = obj(&[("name", "a".into()), ("disk", Value::number(disk))]);
        let mut proposed = p.clone();
        *proposed.at_mut(&AttributePath::new("disk")).unwrap() = Value::number(disk);
        let (_, replace) = plan(&s.block, Some(&p), proposed, &config);
        assert_eq!(
            replace.contains(&AttributePath::new("disk")),
            expect,
            "disk {disk}"
        );
    }
}

#[test]
fn requires_replace_inside_nested_list_names_the_element() {
    let s = schema();
    let disks = |gb| {
        Value::List(vec![Value::object([
            ("gb", Value::number(gb)),
            ("kind", Value::string("ssd")),
        ])])
    };
    let p = obj(&[
        ("id", "i".into()),
        ("name", "a".into()),
        ("size", "small".into()),
        ("price", Value::number(1)),
        ("label", "l".into()),
        ("disks", disks(1)),
    ]);
    let config = obj(&[("name", "a".into()), ("disks", disks(2))]);
    let mut proposed = p.clone();
    *proposed.at_mut(&AttributePath::new("disks")).unwrap() = disks(2);
    let (_, replace) = plan(&s.block, Some(&p), proposed, &config);
    assert_eq!(
        replace,
        vec![AttributePath::new("disks").index(0).attr("gb")]
    );
}

#[test]
fn check_plan_names_attributes_that_break_the_rules() {
    let s = schema();
    let config = obj(&[("name", "a".into()), ("token", "t".into())]);
    let (mut planned, _) = plan(&s.block, None, config.clone(), &config);
    // A hook that rewrites a configured value and leaks a write-only one.
    *planned.at_mut(&AttributePath::new("name")).unwrap() = "A".into();
    *planned.at_mut(&AttributePath::new("token")).unwrap() = "t".into();
    let d = check_plan(&s.block, None, &config, &planned);
    let paths: Vec<String> = d
        .iter()
        .map(|d| d.path.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["name", "token"]);
    assert!(d
        .iter()
        .all(|d| d.summary == "Provider produced an invalid plan"));
}

#[test]
fn check_plan_allows_prior_value_normalisation() {
    let s = schema();
    let p = prior();
    // Config says "A", prior has "a", provider keeps prior: allowed only as normalisation
    // when the attribute is computed; for a non-computed attribute too (Terraform's rule).
    let config = obj(&[("name", "A".into()), ("disk", Value::number(10))]);
    let d = check_plan(&s.block, Some(&p), &config, &p);
    assert!(d.is_empty(), "{d}");
}

#[test]
fn check_applied_reports_changed_and_unknown_values() {
    let ty = schema().value_type();
    let planned = obj(&[
        ("id", Value::Unknown),
        ("name", "a".into()),
        ("price", Value::number(1)),
    ]);
    let good = obj(&[
        ("id", "i".into()),
        ("name", "a".into()),
        ("price", Value::number(1)),
    ]);
    assert!(check_applied(&ty, &planned, &good).is_empty());
    let bad = obj(&[
        ("id", Value::Unknown),
        ("name", "b".into()),
        ("price", Value::Number("1.0".parse().unwrap())),
    ]);
    let d = check_applied(&ty, &planned, &bad);
    let paths: Vec<String> = d
        .iter()
        .map(|d| d.path.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["id", "name"], "1.0 equals 1 exactly");
}

#[test]
fn check_applied_sets_ignore_order_and_dynamic_keeps_type() {
    let ty = Type::object([("zones", Type::set(Type::String)), ("meta", Type::Dynamic)]);
    let dynamic = Value::Dynamic(
        Box::new(Type::list(Type::String)),
        Box::new(Value::List(vec!["x".into()])),
    );
    let planned = Value::object([
        ("zones", Value::List(vec!["a".into(), "b".into()])),
        ("meta", dynamic.clone()),
    ]);
    let new = Value::object([
        ("zones", Value::List(vec!["b".into(), "a".into()])),
        ("meta", Value::List(vec!["x".into()])),
    ]);
    assert!(check_applied(&ty, &planned, &new).is_empty());
    let new = Value::object([("zones", Value::List(vec!["a".into()])), ("meta", dynamic)]);
    let d = check_applied(&ty, &planned, &new);
    assert_eq!(
        d.iter().next().unwrap().path.as_ref().unwrap().to_string(),
        "zones"
    );
}

#[test]
fn null_computed_values_stay_null_without_changes() {
    // A computed attribute the remote system leaves null must not plan as
    // unknown on every run (that would be a permanent diff).
    let s = schema();
    let mut p = prior();
    *p.at_mut(&AttributePath::new("label")).unwrap() = Value::Null;
    let config = obj(&[("name", "a".into()), ("disk", Value::number(10))]);
    let (planned, _) = plan(&s.block, Some(&p), p.clone(), &config);
    assert_eq!(planned, p);
}

#[test]
fn new_nested_elements_get_unknown_computed_values_on_update() {
    let s = Schema::new().attribute(Attribute::nested(
        "nics",
        Nesting::List,
        vec![
            Attribute::string("net").required(),
            Attribute::string("mac").computed(),
        ],
    ));
    let nic = |net: &str, mac: Value| Value::object([("net", Value::string(net)), ("mac", mac)]);
    let p = Value::object([("nics", Value::List(vec![nic("a", "m1".into())]))]);
    let config = Value::object([(
        "nics",
        Value::List(vec![nic("a", Value::Null), nic("b", Value::Null)]),
    )]);
    let proposed = Value::object([(
        "nics",
        Value::List(vec![nic("a", "m1".into()), nic("b", Value::Null)]),
    )]);
    let (planned, _) = plan(&s.block, Some(&p), proposed, &config);
    let nics = planned.get("nics").unwrap().as_list().unwrap();
    assert_eq!(nics[0].get("mac"), Some(&Value::string("m1")));
    assert_eq!(nics[1].get("mac"), Some(&Value::Unknown));
}

#[test]
fn unconfigured_nested_computed_keeps_prior_even_when_proposed_null() {
    let s = Schema::new()
        .attribute(Attribute::string("name").required())
        .attribute(
            Attribute::nested(
                "os_volume",
                Nesting::Single,
                vec![Attribute::number("size").optional().computed()],
            )
            .optional()
            .computed(),
        );
    let vol = Value::object([("size", Value::number(50))]);
    let p = Value::object([("name", "a".into()), ("os_volume", vol.clone())]);
    let config = Value::object([("name", "a".into()), ("os_volume", Value::Null)]);
    // Terraform proposes null for the nested attribute the configuration leaves out.
    let proposed = config.clone();
    let (planned, replace) = plan(&s.block, Some(&p), proposed, &config);
    assert_eq!(planned, p);
    assert!(replace.is_empty());
}

#[test]
fn recomputed_values_do_not_force_replacement() {
    let s = Schema::new()
        .attribute(Attribute::string("name").required())
        .attribute(
            Attribute::string("image")
                .optional()
                .computed()
                .requires_replace(),
        );
    let p = Value::object([("name", "a".into()), ("image", Value::Null)]);
    let config = Value::object([("name", "b".into()), ("image", Value::Null)]);
    let proposed = config.clone();
    let (planned, replace) = plan(&s.block, Some(&p), proposed, &config);
    // The change of `name` makes `image` unknown (recomputed), not a replacement.
    assert_eq!(planned.get("image"), Some(&Value::Unknown));
    assert!(replace.is_empty(), "{replace:?}");
    // Configuring a different image does replace.
    let config = Value::object([("name", "a".into()), ("image", "ubuntu".into())]);
    let (_, replace) = plan(&s.block, Some(&p), config.clone(), &config);
    assert_eq!(replace, vec![AttributePath::new("image")]);
}

#[test]
fn data_source_results_keep_configured_values() {
    let s = Schema::new()
        .attribute(Attribute::string("size").optional())
        .attribute(Attribute::number("price").computed());
    let config = Value::object([("size", "large".into()), ("price", Value::Null)]);
    let good = Value::object([("size", "large".into()), ("price", Value::number(2))]);
    assert!(check_data_source(&s.block, &config, &good).is_empty());
    let bad = Value::object([("size", "LARGE".into()), ("price", Value::number(2))]);
    let d = check_data_source(&s.block, &config, &bad);
    assert_eq!(
        d.iter().next().unwrap().summary,
        "Provider produced an invalid object"
    );
    assert_eq!(
        d.iter().next().unwrap().path,
        Some(AttributePath::new("size"))
    );
}
