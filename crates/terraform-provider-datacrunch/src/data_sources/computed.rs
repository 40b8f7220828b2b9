//! Schema pieces the data sources share.

use tfplugin::{Attribute, Nesting};

/// A computed list of objects whose fields are all computed.
pub fn computed_list(name: &str, description: &str, fields: Vec<Attribute>) -> Attribute {
    Attribute::nested(
        name,
        Nesting::List,
        fields.into_iter().map(Attribute::computed).collect(),
    )
    .computed()
    .description(description)
}
