//! The `datacrunch_instance` schema: the original provider's attributes with the same
//! names and meanings, plus what the API offers and the original left out.

use crate::resources::tags::tags_validator;
use crate::resources::validators::hostname_validator;
use std::time::Duration;
use tfplugin::schema::timeouts::{Operation, TimeoutDefaults};
use tfplugin::schema::validators;
use tfplugin::{Attribute, Nesting, Schema, Type};

/// The `timeouts` block: create waits this long for `running` unless
/// `timeouts.create` says otherwise; update and delete get ten minutes.
pub const TIMEOUTS: TimeoutDefaults = TimeoutDefaults(&[
    (Operation::Create, Duration::from_secs(20 * 60)),
    (Operation::Update, Duration::from_secs(10 * 60)),
    (Operation::Delete, Duration::from_secs(10 * 60)),
]);

/// The values of `os_volume.on_spot_discontinue`, as the API spells them.
pub const SPOT_POLICIES: &[&str] = &["keep_detached", "move_to_trash", "delete_permanently"];

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

fn summary(name: &str, what: &str, fields: Vec<Attribute>) -> Attribute {
    Attribute::nested(name, Nesting::Single, fields)
        .computed()
        .use_state_for_unknown()
        .description(what)
}

fn size_summary(name: &str, what: &str) -> Attribute {
    summary(
        name,
        what,
        vec![
            Attribute::string("description").computed(),
            Attribute::number("size_gb").computed(),
        ],
    )
}

pub fn schema() -> Schema {
    Schema::new()
        .description(
            "A DataCrunch (Verda) GPU or CPU instance. Create waits until the instance is \
             `running` with an IP; one that fails, times out or is interrupted on the way \
             stays in state, tainted, so the next apply replaces it and a destroy deletes \
             it. Every argument the API cannot change in place forces a \
             replacement; `tags` change in place. Destroy deletes the OS volume unless \
             `delete_os_volume_on_destroy = false`, so nothing keeps billing by accident.",
        )
        .attribute(computed_string("id", "The instance id."))
        .attribute(
            replace_string(
                "hostname",
                "Hostname; letters, digits and `-`, at most 60 characters.",
            )
            .validator(hostname_validator()),
        )
        .attribute(replace_string("description", "Free-text description."))
        .attribute(replace_string(
            "image",
            "OS image: an `image_type` such as `ubuntu-24.04-cuda-12.8-open-docker`, an image id, \
             or the id of a detached OS volume to boot. Checked at plan time against the \
             images the instance type supports.",
        ))
        .attribute(replace_string(
            "instance_type",
            "Instance type such as `1H100.80S.30V`; checked at plan time against the catalog.",
        ))
        .attribute(
            Attribute::string("location_code")
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown()
                .description(
                    "Location to deploy in (e.g. `FIN-01`). When left out the API chooses, and \
                     this shows where the instance landed.",
                ),
        )
        .attribute(
            Attribute::list("ssh_key_ids", Type::String)
                .required()
                .requires_replace()
                .description("Ids of the SSH keys installed for root."),
        )
        .attribute(
            Attribute::string("startup_script_id")
                .optional()
                .requires_replace()
                .description("Id of a startup script run at first boot."),
        )
        .attribute(
            Attribute::bool("is_spot")
                .default(false)
                .requires_replace()
                .description("Deploy as a spot instance (cheaper; may be discontinued)."),
        )
        .attribute(
            Attribute::string("contract")
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown()
                .validator(validators::one_of(["PAY_AS_YOU_GO", "SPOT", "LONG_TERM"]))
                .description("Billing contract: `PAY_AS_YOU_GO`, `SPOT` or `LONG_TERM`."),
        )
        .attribute(
            Attribute::string("pricing")
                .optional()
                .computed()
                .requires_replace()
                .use_state_for_unknown()
                .validator(validators::one_of(["FIXED_PRICE", "DYNAMIC_PRICE"]))
                .description("Pricing model: `FIXED_PRICE` or `DYNAMIC_PRICE`."),
        )
        .attribute(
            Attribute::nested(
                "os_volume",
                Nesting::Single,
                vec![
                    Attribute::string("name")
                        .optional()
                        .computed()
                        .description("Name of the OS volume, default `<hostname>-os`."),
                    Attribute::number("size")
                        .required()
                        .validator(validators::range(Some(1.into()), Some(100_000.into())))
                        .description("Size of the OS volume in GB."),
                    Attribute::string("on_spot_discontinue")
                        .optional()
                        .validator(validators::one_of(SPOT_POLICIES.iter().copied()))
                        .description(
                            "Spot instances only: what happens to the OS volume when the \
                             provider discontinues the instance: `keep_detached` (the API's \
                             default; it stays, detached and billed), `move_to_trash` \
                             (it still counts against the storage quota until purged) or \
                             `delete_permanently`.",
                        ),
                ],
            )
            .optional()
            .computed()
            .requires_replace()
            .use_state_for_unknown()
            .description("The OS volume to create. Left out, the API's default size is used."),
        )
        .attribute(
            Attribute::list("existing_volume_ids", Type::String)
                .optional()
                .requires_replace()
                .description(
                    "Ids of detached volumes to attach at deploy. For a volume managed as a \
                     `datacrunch_volume`, attach it with its `instance_id` instead: one place \
                     owns the attachment.",
                ),
        )
        .attribute(
            Attribute::map("tags", Type::String)
                .optional()
                .validator(tags_validator())
                .description(
                    "Tags (at most 10; lowercase keys up to 63 characters, values up to 127). \
                     Changed in place.",
                ),
        )
        .attribute(
            Attribute::bool("delete_os_volume_on_destroy")
                .default(true)
                .description(
                    "Delete the OS volume with the instance (default). `false` keeps it, \
                     detached and still billed, for reuse.",
                ),
        )
        .attribute(computed_string("ip", "Public IPv4 address."))
        .attribute(
            Attribute::string("status")
                .computed()
                .description("Status as the API reports it (`running`, `offline`, ...)."),
        )
        .attribute(computed_string("created_at", "Creation time (ISO 8601)."))
        .attribute(computed_string("os_volume_id", "Id of the OS volume."))
        .attribute(
            Attribute::number("price_per_hour")
                .computed()
                .use_state_for_unknown()
                .description(
                    "Price per hour in `currency`: known at plan time from the catalog \
                     (the spot price for a spot instance), so `terraform plan` shows what \
                     each node will cost.",
                ),
        )
        .attribute(computed_string(
            "currency",
            "Currency of `price_per_hour` (the catalog's, e.g. `usd`).",
        ))
        .attribute(computed_string(
            "location",
            "Where the instance really is (the API's `location`).",
        ))
        .attribute(summary(
            "cpu",
            "CPU summary.",
            vec![
                Attribute::string("description").computed(),
                Attribute::number("cores").computed(),
            ],
        ))
        .attribute(summary(
            "gpu",
            "GPU summary.",
            vec![
                Attribute::string("description").computed(),
                Attribute::number("count").computed(),
            ],
        ))
        .attribute(size_summary("memory", "System memory."))
        .attribute(size_summary("gpu_memory", "GPU memory (per GPU)."))
        .block(TIMEOUTS.block())
}
