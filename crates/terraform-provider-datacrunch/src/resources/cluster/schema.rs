//! The `datacrunch_cluster` schema. The API changes nothing of a cluster in place but
//! its tags, so every argument but `tags` forces a replacement.

use crate::resources::tags::tags_validator;
use crate::resources::validators::hostname_validator;
use std::time::Duration;
use tfplugin::schema::timeouts::{Operation, TimeoutDefaults};
use tfplugin::schema::validators;
use tfplugin::{Attribute, Nesting, Schema, Type};

/// Create waits this long for `running` unless `timeouts.create` says otherwise
/// (clusters take longer than single machines); delete gets ten minutes.
pub const TIMEOUTS: TimeoutDefaults = TimeoutDefaults(&[
    (Operation::Create, Duration::from_secs(60 * 60)),
    (Operation::Update, Duration::from_secs(10 * 60)),
    (Operation::Delete, Duration::from_secs(10 * 60)),
]);

/// Reads have no `timeouts` entry; they get as long as a delete.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10 * 60);

fn replace_string(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .required()
        .requires_replace()
        .description(description)
}

fn computed_string(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .computed()
        .use_state_for_unknown()
        .description(description)
}

pub fn schema() -> Schema {
    Schema::new()
        .description(
            "A DataCrunch (Verda) cluster: several GPU nodes of one type behind a jump host \
             (`ip`), sharing a volume mounted as `/home`. Create waits until the cluster is \
             `running`; a cluster that fails on the way is deleted before the apply reports \
             the error, so nothing billed is left outside the state; one still on its way when \
             the create times out or is interrupted stays in state, tainted, so the next apply \
             replaces it and a destroy deletes it. A cluster whose create answer was lost, \
             or whose apply was killed before saving it (even before its tags were set), is \
             found by the next create of the same configuration and taken over (and tagged), \
             never created twice. Only `tags` change in place. Import with the cluster id.",
        )
        .attribute(computed_string("id", "The cluster id."))
        .attribute(replace_string(
            "cluster_type",
            "Cluster type, e.g. `16H200` (see data source `datacrunch_cluster_types`); \
             checked against the live catalog at plan time.",
        ))
        .attribute(replace_string(
            "image",
            "Cluster image type or id (see data source `datacrunch_cluster_images`; cluster \
             images end in `-cluster`); checked at plan time against `/images/cluster`.",
        ))
        .attribute(
            replace_string(
                "hostname",
                "Hostname of the cluster; nodes are named `<hostname>-1`, `<hostname>-2`, ...",
            )
            .validator(hostname_validator()),
        )
        .attribute(
            Attribute::string("description")
                .default("")
                .requires_replace()
                .description(
                    "Description. The API's copy ends with a create token (the API takes no \
                     tags at create): a create whose answer or apply was lost is found by it \
                     and taken over, never made twice. The token is not shown here.",
                ),
        )
        .attribute(
            Attribute::string("location_code")
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown()
                .description(
                    "Location to create the cluster in, e.g. `FIN-03` (the create request's \
                     `location_code`); the API's default when left out.",
                ),
        )
        .attribute(computed_string(
            "location",
            "Where the cluster really is (the API's `location`).",
        ))
        .attribute(
            Attribute::list("ssh_key_ids", Type::String)
                .optional()
                .requires_replace()
                .description("Ids of the SSH keys installed on every node."),
        )
        .attribute(
            Attribute::string("startup_script_id")
                .optional()
                .requires_replace()
                .description("Id of a startup script run on every node."),
        )
        .attribute(
            Attribute::string("contract")
                .default("PAY_AS_YOU_GO")
                .requires_replace()
                .validator(validators::one_of(["PAY_AS_YOU_GO", "LONG_TERM"]))
                .description("Billing contract: `PAY_AS_YOU_GO` (default) or `LONG_TERM`."),
        )
        .attribute(
            Attribute::nested(
                "shared_volume",
                Nesting::Single,
                vec![
                    Attribute::string("name")
                        .required()
                        .description("Name of the shared volume."),
                    Attribute::number("size")
                        .required()
                        .validator(validators::range(Some(1.into()), Some(102_400.into())))
                        .description("Size in GB."),
                ],
            )
            .optional()
            .computed()
            .requires_replace()
            .use_state_for_unknown()
            .description(
                "The volume shared by every node as `/home`. Left out, the API makes \
                 `<hostname>-shared-volume` of 30000 GB.",
            ),
        )
        .attribute(
            Attribute::list("existing_volume_ids", Type::String)
                .optional()
                .requires_replace()
                .description("Ids of detached volumes to attach at create."),
        )
        .attribute(
            Attribute::map("tags", Type::String)
                .optional()
                .validator(tags_validator())
                .description("Tags (lowercase keys). Changed in place."),
        )
        .attribute(
            Attribute::string("status")
                .computed()
                .description("Status as the API reports it (`running`, ...)."),
        )
        .attribute(computed_string(
            "ip",
            "Public address of the jump host; every worker is reached through it.",
        ))
        .attribute(
            Attribute::number("price_per_hour")
                .computed()
                .use_state_for_unknown()
                .description("Price per hour of the whole cluster."),
        )
        .attribute(computed_string("created_at", "Creation time (ISO 8601)."))
        .attribute(
            Attribute::nested(
                "worker_nodes",
                Nesting::List,
                vec![
                    Attribute::string("id").computed(),
                    Attribute::string("hostname").computed(),
                    Attribute::string("private_ip").computed(),
                    Attribute::string("public_ip").computed(),
                    Attribute::string("status").computed(),
                ],
            )
            .computed()
            .use_state_for_unknown()
            .description(
                "The nodes: `id`, `hostname`, `private_ip` (reached through the jump host), \
                 `public_ip` (when the API gives one) and `status`.",
            ),
        )
        .block(TIMEOUTS.block())
}
