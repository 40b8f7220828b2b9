//! GetMetadata and GetProviderSchema: every type the provider serves (resources, data
//! sources, list resources, actions, functions) with its schema and the capabilities.

use super::convert;
use super::grpc::{capabilities, ProviderService};
use crate::proto::tfplugin6 as pb;

impl ProviderService {
    pub(super) fn metadata(&self) -> pb::get_metadata::Response {
        use pb::get_metadata::{
            ActionMetadata, DataSourceMetadata, FunctionMetadata, ListResourceMetadata,
            ResourceMetadata,
        };
        pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: self
                .functions
                .keys()
                .map(|k| FunctionMetadata { name: k.clone() })
                .collect(),
            list_resources: self
                .list_resources
                .keys()
                .map(|k| ListResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            actions: self
                .actions
                .keys()
                .map(|k| ActionMetadata {
                    type_name: k.clone(),
                })
                .collect(),
        }
    }

    pub(super) fn provider_schemas(&self) -> pb::get_provider_schema::Response {
        pb::get_provider_schema::Response {
            provider: Some(convert::schema(&self.provider_schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, e)| (k.clone(), convert::schema(&e.schema)))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, (_, s))| (k.clone(), convert::schema(s)))
                .collect(),
            functions: self.function_signatures(),
            list_resource_schemas: self
                .list_resources
                .iter()
                .map(|(k, e)| (k.clone(), convert::schema(&e.schema)))
                .collect(),
            action_schemas: self
                .actions
                .iter()
                .map(|(k, e)| {
                    let schema = Some(convert::schema(&e.schema));
                    (k.clone(), pb::ActionSchema { schema })
                })
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }
    }
}
