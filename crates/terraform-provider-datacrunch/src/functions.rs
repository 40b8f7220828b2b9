//! Provider-defined functions: pure, no API calls.
//! - `parse_instance_type("8H100.80S.176V")`: what an instance type name encodes.
//! - `tier_members("H100_OR_LESS")`: the types a kdevops tier group falls back
//!   through, from the same table the workflow uses ([`datacrunch_client::offer`]).

use datacrunch_client::offer::TierGroup;
use std::sync::Arc;
use tfplugin::function::{Function, FunctionError, Parameter, Signature};
use tfplugin::{Type, Value};

/// Every function.
pub fn all() -> Vec<Arc<dyn Function>> {
    vec![Arc::new(ParseInstanceType), Arc::new(TierMembers)]
}

fn string_arg(args: &[Value]) -> Result<&str, FunctionError> {
    args.first()
        .and_then(Value::as_str)
        .ok_or_else(|| FunctionError::argument(0, "expected a string"))
}

/// What a type name such as `8H100.80S.176V` or `CPU.4V.16G` encodes.
#[derive(Debug, PartialEq, Eq)]
struct ParsedType {
    gpu_count: u32,
    gpu_model: Option<String>,
    memory_class: Option<String>,
    vcpus: u32,
    memory_gb: Option<u32>,
}

fn number_with_suffix(part: &str, suffix: char) -> Option<u32> {
    part.strip_suffix(suffix)?.parse().ok().filter(|n| *n > 0)
}

fn parse_type(name: &str) -> Result<ParsedType, String> {
    let expected = "expected `<gpus><model>[.<memory class>].<vcpus>V` such as \
                    `8H100.80S.176V` or `1A100.22V`, or `CPU.<vcpus>V.<memory>G` such as `CPU.4V.16G`";
    let parts: Vec<&str> = name.split('.').collect();
    if parts.first() == Some(&"CPU") {
        return match parts.as_slice() {
            [_, v, g] => match (number_with_suffix(v, 'V'), number_with_suffix(g, 'G')) {
                (Some(vcpus), Some(memory_gb)) => Ok(ParsedType {
                    gpu_count: 0,
                    gpu_model: None,
                    memory_class: None,
                    vcpus,
                    memory_gb: Some(memory_gb),
                }),
                _ => Err(format!("{name:?}: {expected}")),
            },
            _ => Err(format!("{name:?}: {expected}")),
        };
    }
    let (head, memory_class, vcpus) = match parts.as_slice() {
        [head, v] => (*head, None, *v),
        [head, m, v] => (*head, Some(*m), *v),
        _ => return Err(format!("{name:?}: {expected}")),
    };
    let digits = head.chars().take_while(char::is_ascii_digit).count();
    let (count, model) = head.split_at(digits);
    let gpu_count: u32 = count
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{name:?}: no GPU count before the model; {expected}"))?;
    if model.is_empty() || !model.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{name:?}: no GPU model after the count; {expected}"
        ));
    }
    let vcpus = number_with_suffix(vcpus, 'V').ok_or_else(|| {
        format!("{name:?}: {vcpus:?} is not a vCPU count such as `30V`; {expected}")
    })?;
    if memory_class.is_some_and(|m| m.is_empty() || !m.chars().all(|c| c.is_ascii_alphanumeric())) {
        return Err(format!("{name:?}: {expected}"));
    }
    Ok(ParsedType {
        gpu_count,
        gpu_model: Some(model.to_owned()),
        memory_class: memory_class.map(str::to_owned),
        vcpus,
        memory_gb: None,
    })
}

fn parsed_type() -> Type {
    Type::object([
        ("gpu_count", Type::Number),
        ("gpu_model", Type::String),
        ("memory_class", Type::String),
        ("vcpus", Type::Number),
        ("memory_gb", Type::Number),
    ])
}

struct ParseInstanceType;

impl Function for ParseInstanceType {
    fn name(&self) -> String {
        "parse_instance_type".into()
    }

    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new("instance_type", Type::String)
                .description("An instance type name, e.g. `8H100.80S.176V`.")],
            returns: parsed_type(),
            summary: "What an instance type name encodes".into(),
            description: "An object with `gpu_count`, `gpu_model` (e.g. `H100`), \
                `memory_class` (e.g. `80S`, null when the name has none), `vcpus` and, for \
                CPU-only types (`CPU.4V.16G`), `memory_gb`. Spot pricing is not part of a \
                type name (it is the instance's `is_spot`)."
                .into(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let p = parse_type(string_arg(args)?).map_err(|e| FunctionError::argument(0, e))?;
        let opt_str = |s: Option<String>| s.map(Value::string).unwrap_or(Value::Null);
        Ok(Value::object([
            ("gpu_count", Value::number(i64::from(p.gpu_count))),
            ("gpu_model", opt_str(p.gpu_model)),
            ("memory_class", opt_str(p.memory_class)),
            ("vcpus", Value::number(i64::from(p.vcpus))),
            (
                "memory_gb",
                p.memory_gb
                    .map(|g| Value::number(i64::from(g)))
                    .unwrap_or(Value::Null),
            ),
        ]))
    }
}

struct TierMembers;

impl Function for TierMembers {
    fn name(&self) -> String {
        "tier_members".into()
    }

    fn signature(&self) -> Signature {
        let groups: Vec<&str> = TierGroup::ALL.iter().map(|g| g.name()).collect();
        Signature {
            parameters: vec![Parameter::new("tier_group", Type::String)
                .description(format!("One of {}.", groups.join(", ")))],
            returns: Type::list(Type::String),
            summary: "The instance types a tier group falls back through".into(),
            description: "The instance types of a kdevops tier group, most preferred \
                first: the order in which the workflow tries them."
                .into(),
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let group: TierGroup = string_arg(args)?.parse().map_err(
            |e: datacrunch_client::offer::UnknownTierGroup| {
                FunctionError::argument(0, e.to_string())
            },
        )?;
        Ok(Value::List(
            group
                .instance_types()
                .into_iter()
                .map(Value::string)
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_type_names_parse_and_bad_ones_say_why() {
        let p = parse_type("8H100.80S.176V").unwrap();
        assert_eq!(
            p,
            ParsedType {
                gpu_count: 8,
                gpu_model: Some("H100".into()),
                memory_class: Some("80S".into()),
                vcpus: 176,
                memory_gb: None
            }
        );
        assert_eq!(parse_type("1A100.22V").unwrap().memory_class, None);
        assert_eq!(parse_type("CPU.4V.16G").unwrap().memory_gb, Some(16));
        for bad in [
            "",
            "H100.80S.176V",
            "8H100.80S",
            "8H100.80S.176",
            "8.80S.176V",
            "a.b.c.d",
        ] {
            let e = parse_type(bad).unwrap_err();
            assert!(e.contains("expected"), "{bad}: {e}");
        }
    }

    #[test]
    fn tier_members_come_from_the_workflow_table() {
        let v = TierMembers.call(&[Value::string("ANY_1H100")]).unwrap();
        assert_eq!(
            v,
            Value::List(vec![
                Value::string("1H100.80S.30V"),
                Value::string("1H100.80S.32V")
            ])
        );
        let e = TierMembers.call(&[Value::string("H200")]).unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(e.text.contains("H100_OR_LESS"), "{}", e.text);
    }
}
