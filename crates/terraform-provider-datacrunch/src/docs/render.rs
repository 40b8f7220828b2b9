//! Markdown for one provider, resource or data source, in tfplugindocs' layout, so the
//! pages look like every other provider's on the registry.

use crate::{actions, data_sources, functions, lists, provider, resources};
use anyhow::{Context as _, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tfplugin::schema::AttributeType;
use tfplugin::{Attribute, Block, Nesting, Schema, Type};

const PROVIDER_NAME: &str = "datacrunch";

/// What changes for configurations written for the Go provider (v0.0.2-v0.0.5).
const UPGRADING: &str = "## Upgrading from the Go provider (v0.0.x)\n\n\
Configurations written for it run unchanged: every attribute keeps its name and \
meaning. What behaves differently, on purpose:\n\n\
- Changing `hostname`, `description` or `ssh_key_ids` replaces the instance (it used to \
  be silently ignored and then broke the apply); `tags` change in place.\n\
- Create waits for status `running` with an IP (`timeouts` block, default 20m). If the \
  instance fails (`error`, `no_capacity`, `installation_failed`), the wait times out or \
  the apply is interrupted, the apply fails saying so and the instance stays in state, \
  tainted: the next apply replaces it and a destroy deletes it, so nothing is left \
  billing outside the state. A re-run after an apply killed before it recorded anything \
  adopts the instance that apply created instead of deploying another.\n\
- `location_code` and `location` show where the instance really is.\n\
- `instance_type`, `image` and `location_code` are checked against the live catalog at \
  plan time, with a suggestion for typos.\n\
- The data sources' `cpu`, `gpu`, `memory`, `storage` and `country` are filled.\n\
- Credentials can come from the environment or `~/.datacrunch/credentials`; no \
  `hashicorp/external` helper is needed.\n\n";

/// Every page: `(path relative to the docs dir, text)`.
pub fn pages(examples: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut pages = vec![(
        PathBuf::from("index.md"),
        index_page(&provider::provider_schema(), examples)?,
    )];
    for r in resources::all() {
        let name = r.type_name();
        let identity: Vec<String> = r
            .identity_schema()
            .map(|i| i.attributes.into_iter().map(|a| a.name).collect())
            .unwrap_or_default();
        let mut text = object_page(&name, Kind::Resource, &r.schema(), examples)?;
        text.push_str(&import_section(&name, &identity, examples)?);
        pages.push((
            PathBuf::from("resources").join(format!("{}.md", short(&name))),
            text,
        ));
    }
    for d in data_sources::all() {
        let name = d.type_name();
        let text = object_page(&name, Kind::DataSource, &d.schema(), examples)?;
        pages.push((
            PathBuf::from("data-sources").join(format!("{}.md", short(&name))),
            text,
        ));
    }
    for l in lists::all() {
        let name = l.type_name();
        let text = object_page(&name, Kind::ListResource, &l.schema(), examples)?;
        pages.push((
            PathBuf::from("list-resources").join(format!("{}.md", short(&name))),
            text,
        ));
    }
    for a in actions::all() {
        let name = a.type_name();
        let text = object_page(&name, Kind::Action, &a.schema(), examples)?;
        pages.push((
            PathBuf::from("actions").join(format!("{}.md", short(&name))),
            text,
        ));
    }
    for f in functions::all() {
        let name = f.name();
        let text = function_page(&name, &f.signature(), examples)?;
        pages.push((PathBuf::from("functions").join(format!("{name}.md")), text));
    }
    Ok(pages)
}

/// A provider function: signature, example, arguments and result type.
fn function_page(
    name: &str,
    sig: &tfplugin::function::Signature,
    examples: &Path,
) -> Result<String> {
    let mut out = front_matter(
        &format!("{name} function - terraform-provider-{PROVIDER_NAME}"),
        &sig.summary,
    );
    let params: Vec<String> = sig
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, type_name(&p.ty)))
        .collect();
    let example_text = example(&examples.join("functions").join(name).join("function.tf"))?;
    let _ = write!(
        out,
        "# function: {name}\n\n{}\n\n## Example Usage\n\n```terraform\n{example_text}\n```\n\n",
        sig.description
    );
    let _ = write!(
        out,
        "## Signature\n\n```text\n{name}({}) {}\n```\n\n## Arguments\n\n",
        params.join(", "),
        type_name(&sig.returns),
    );
    for (i, p) in sig.parameters.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. `{}` ({}) {}",
            i + 1,
            p.name,
            type_name(&p.ty),
            p.description.clone().unwrap_or_default()
        );
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Resource,
    DataSource,
    ListResource,
    Action,
}

impl Kind {
    fn title(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::ListResource => "List Resource",
            Kind::Action => "Action",
        }
    }
    fn examples_dir(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::ListResource => "list-resources",
            Kind::Action => "actions",
        }
    }
    fn example_file(self) -> &'static str {
        match self {
            Kind::Resource => "resource.tf",
            Kind::DataSource => "data-source.tf",
            Kind::ListResource => "list.tfquery.hcl",
            Kind::Action => "action.tf",
        }
    }
}

fn short(type_name: &str) -> &str {
    type_name
        .strip_prefix(&format!("{PROVIDER_NAME}_"))
        .unwrap_or(type_name)
}

/// An example file, required: a page without an example is a documentation bug.
fn example(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading example {}", path.display()))
        .map(|s| s.trim_end().to_owned())
}

fn front_matter(title: &str, description: &str) -> String {
    let indented = description
        .lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    format!("---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n{indented}\n---\n\n")
}

fn index_page(schema: &Schema, examples: &Path) -> Result<String> {
    let description = schema.block.description.clone().unwrap_or_default();
    let mut out = front_matter("DataCrunch Provider", &description);
    let _ = write!(
        out,
        "# DataCrunch Provider\n\n{description}\n\n\
         Source address `linux-kdevops/datacrunch`. It also works with the rebranded \
         service (Verda): set `server_url` to `https://api.verda.com/v1`.\n\n\
         ## Credentials\n\n\
         A ready token (`bearer` or `DATACRUNCH_BEARER`) wins outright. Otherwise \
         `client_id` and `client_secret` are each taken from the first of: the attribute \
         in the provider block; the file named by `credentials_file`; the environment \
         (`DATACRUNCH_CLIENT_ID` and `DATACRUNCH_CLIENT_SECRET`, or the `VERDA_*` \
         spellings); and, when no `credentials_file` is set, the file named by \
         `DATACRUNCH_CREDENTIALS_FILE`, else `~/.datacrunch/credentials`, else \
         `~/datacrunch-credentials.json`. `server_url` and `profile` come from the \
         attribute, else the environment (`server_url` also from `VERDA_BASE_URL`). The \
         kdevops workflow reads credentials with the same code: a file works in both or \
         in neither.\n\n\
         The file is INI, profile `default` (also found as `[DEFAULT]`) unless `profile` \
         says otherwise:\n\n\
         ```ini\n[default]\nclient_id = ...\nclient_secret = ...\n```\n\n\
         A value is everything after the first `=` or `:`, trimmed, with one pair of \
         matching surrounding quotes (`\"...\"` or `'...'`) removed. Nothing else is \
         interpreted: there are no backslash escapes and no inline comments, so \
         `a\\b#c` is read as those five characters. Only whole lines starting with `#` \
         or `;` are comments. Or the file is JSON, `{{\"client_id\": \"...\", \
         \"client_secret\": \"...\"}}` or by profile `{{\"default\": {{...}}}}`; a \
         JSON file holding only `client_secret` (the original kdevops \
         `~/datacrunch-credentials.json`) takes the id from `DATACRUNCH_CLIENT_ID`. The \
         keys may also be spelled `datacrunch_client_id` and `datacrunch_client_secret`, \
         and the secret `datacrunch_api_key` or `api_key`. The file must be a regular \
         file (or a symlink to one) owned by you or root that group and others cannot \
         read (`chmod 600`). No secret is ever written to the state, the plan or the \
         logs.\n\n\
         ## Example Usage\n\n```terraform\n{}\n```\n\n{UPGRADING}",
        example(&examples.join("provider/provider.tf"))?
    );
    out.push_str(&schema_section(&schema.block));
    Ok(out)
}

fn object_page(name: &str, kind: Kind, schema: &Schema, examples: &Path) -> Result<String> {
    let description = schema.block.description.clone().unwrap_or_default();
    let mut out = front_matter(
        &format!(
            "{name} {} - terraform-provider-{PROVIDER_NAME}",
            kind.title()
        ),
        &description,
    );
    let dir = examples.join(kind.examples_dir()).join(name);
    let _ = write!(
        out,
        "# {name} ({})\n\n{description}\n\n## Example Usage\n\n```terraform\n{}\n```\n\n",
        kind.title(),
        example(&dir.join(kind.example_file()))?
    );
    out.push_str(&schema_section(&schema.block));
    Ok(out)
}

/// "Import": the example's `import.sh`, an `import` block by id, and one by identity
/// (its attributes; `id` for most resources).
fn import_section(name: &str, identity: &[String], examples: &Path) -> Result<String> {
    let dir = examples.join(Kind::Resource.examples_dir()).join(name);
    let (what, fields) = match identity {
        // No identity of its own: documented as its id, as before identities existed.
        attrs if attrs.iter().all(|a| a == "id") => {
            ("the id".to_owned(), "id = \"<id>\"".to_owned())
        }
        attrs => (
            attrs
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(" and "),
            attrs
                .iter()
                .map(|a| format!("{a} = \"<{a}>\""))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    Ok(format!(
        "\n## Import\n\nImport is supported using the following syntax:\n\n\
         ```shell\n{}\n```\n\nOr, with Terraform 1.5 and later, an `import` block:\n\n\
         ```terraform\nimport {{\n  to = {name}.example\n  id = \"<id>\"\n}}\n```\n\n\
         With Terraform 1.12 and later, by identity ({what}; `terraform query` \
         writes these blocks for you, see the list resource):\n\n\
         ```terraform\nimport {{\n  to       = {name}.example\n  identity = {{ {fields} }}\n}}\n```\n",
        example(&dir.join("import.sh"))?
    ))
}

/// `<!-- schema -->` plus Required / Optional / Read-Only and the nested schemas.
fn schema_section(block: &Block) -> String {
    let mut out = String::from(
        "<!-- schema generated by terraform-provider-datacrunch docs -->\n## Schema\n",
    );
    let mut nested = Vec::new();
    render_groups(&mut out, block, "", &mut nested, true);
    // Nested schemas may themselves nest: render until none is left, in order.
    let mut i = 0;
    while i < nested.len() {
        let (anchor, title, inner): (String, String, Block) = nested[i].clone();
        let _ = write!(
            out,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{title}`\n"
        );
        render_groups(&mut out, &inner, &format!("{title}."), &mut nested, false);
        i += 1;
    }
    out
}

type NestedEntry = (String, String, Block);
/// Picks the attributes of one schema group.
type AttributeFilter = fn(&Attribute) -> bool;

fn render_groups(
    out: &mut String,
    block: &Block,
    prefix: &str,
    nested: &mut Vec<NestedEntry>,
    top: bool,
) {
    let groups: [(&str, AttributeFilter); 3] = [
        ("Required", |a| a.required),
        ("Optional", |a| !a.required && a.optional),
        ("Read-Only", |a| a.is_computed_only()),
    ];
    for (title, pick) in groups {
        let attrs: Vec<&Attribute> = block.attributes().iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = if title == "Optional" {
            block.blocks().iter().collect()
        } else {
            Vec::new()
        };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        if top {
            let _ = write!(out, "\n### {title}\n\n");
        } else {
            let _ = write!(out, "\n{title}:\n\n");
        }
        for a in attrs {
            let _ = writeln!(out, "{}", attribute_line(a, prefix, nested));
        }
        for b in blocks {
            let anchor = format!("nestedblock--{}{}", prefix.replace('.', "--"), b.name);
            let desc = b.block.description.clone().unwrap_or_default();
            let _ = writeln!(
                out,
                "- `{}` (Block, Optional) {} (see [below for nested schema](#{anchor}))",
                b.name,
                sentence(&desc)
            );
            nested.push((anchor, format!("{prefix}{}", b.name), b.block.clone()));
        }
    }
}

fn attribute_line(a: &Attribute, prefix: &str, nested: &mut Vec<NestedEntry>) -> String {
    let mut kind = match &a.ty {
        AttributeType::Plain(t) => type_name(t),
        AttributeType::Nested(n, _) => match n {
            Nesting::Single | Nesting::Group => "Attributes".to_owned(),
            Nesting::List => "Attributes List".to_owned(),
            Nesting::Set => "Attributes Set".to_owned(),
            Nesting::Map => "Attributes Map".to_owned(),
        },
    };
    if a.sensitive {
        kind.push_str(", Sensitive");
    }
    if a.deprecation.is_some() {
        kind.push_str(", Deprecated");
    }
    let mut line = format!("- `{}` ({kind})", a.name);
    if let Some(d) = &a.description {
        let _ = write!(line, " {}", sentence(d));
    }
    if let Some(default) = &a.default {
        if let Some(text) = default_text(default) {
            let _ = write!(line, " Defaults to `{text}`.");
        }
    }
    if a.has_requires_replace() {
        line.push_str(" Changing it replaces the resource.");
    }
    if let AttributeType::Nested(_, inner) = &a.ty {
        let anchor = format!("nestedatt--{}{}", prefix.replace('.', "--"), a.name);
        let _ = write!(line, " (see [below for nested schema](#{anchor}))");
        let block = inner
            .iter()
            .cloned()
            .fold(Block::new(), |b, attr| b.attribute(attr));
        nested.push((anchor, format!("{prefix}{}", a.name), block));
    }
    line
}

fn sentence(s: &str) -> String {
    let s = s.trim().replace('\n', " ");
    if s.is_empty() || s.ends_with('.') {
        s
    } else {
        format!("{s}.")
    }
}

fn default_text(v: &tfplugin::Value) -> Option<String> {
    match v {
        tfplugin::Value::Bool(b) => Some(b.to_string()),
        tfplugin::Value::String(s) => Some(format!("\"{s}\"")),
        tfplugin::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn type_name(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

trait ReplaceInfo {
    fn has_requires_replace(&self) -> bool;
}

impl ReplaceInfo for Attribute {
    fn has_requires_replace(&self) -> bool {
        self.plan_modifiers
            .iter()
            .any(|m| matches!(m, tfplugin::schema::PlanModifier::RequiresReplace))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_page_has_every_section_and_attribute() {
        let examples = crate::docs::examples_dir();
        let pages = pages(&examples).unwrap();
        let (_, text) = pages
            .iter()
            .find(|(p, _)| p == Path::new("resources/instance.md"))
            .unwrap();
        for needle in [
            "page_title: \"datacrunch_instance Resource - terraform-provider-datacrunch\"",
            "## Example Usage",
            "### Required",
            "- `hostname` (String)",
            "### Optional",
            "- `timeouts` (Block, Optional)",
            "### Read-Only",
            "- `ip` (String)",
            "### Nested Schema for `os_volume`",
            "- `delete_os_volume_on_destroy` (Boolean)",
            "Defaults to `true`.",
            "## Import",
            "terraform import 'datacrunch_instance.node",
        ] {
            assert!(text.contains(needle), "{needle} missing");
        }
        let names: Vec<_> = pages.iter().map(|(p, _)| p.display().to_string()).collect();
        for expected in [
            "index.md",
            "resources/ssh_key.md",
            "resources/volume.md",
            "resources/startup_script.md",
            "data-sources/offer.md",
            "data-sources/instance_types.md",
        ] {
            assert!(
                names.contains(&expected.to_owned()),
                "{expected} missing: {names:?}"
            );
        }
        let (_, index) = &pages[0];
        assert!(
            index.contains("- `client_secret` (String, Sensitive)"),
            "{index}"
        );
    }
}
