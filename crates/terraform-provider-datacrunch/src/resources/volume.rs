//! `datacrunch_volume`: a block volume. Renames, growth, attach/detach and tags happen
//! in place through the volume actions; shrinking is refused at plan time (the API only
//! grows volumes, and replacing one would lose its data); type and location force a
//! replacement. Destroy deletes it for good unless `delete_permanently = false` sends it
//! to the trash (where it would still count against the storage quota).

use crate::diagnostics::api_error;
use crate::diagnostics::deleted_or_gone;
use crate::diagnostics::found_or_gone;
use crate::diagnostics::missing;
use crate::resources::create_once::find_or_create;
use crate::resources::tags::{api_tags, sync_tags, tags_validator};
use crate::state::ProviderState;
use datacrunch_client::{Client, TaggedKind};
use datacrunch_models::{
    CreateVolumeRequest, Volume, VolumeAction, VolumeActionRequest, VolumeStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tfplugin::schema::validators;
use tfplugin::{
    async_trait, Attribute, AttributePath, Context, Diagnostic, Diagnostics, PlanChange, Resource,
    Schema, Type, Value,
};

pub struct VolumeResource;

impl VolumeResource {
    /// Attaches the volume to `to` (detaching it from where it is), or detaches it.
    /// Compared with the API, not the prior state: after an import the volume may be
    /// attached where the configuration wants it already.
    async fn move_attachment(
        &self,
        client: &Client,
        id: &str,
        to: Option<&str>,
    ) -> Result<(), Diagnostics> {
        let current = client
            .volume(id)
            .await
            .map_err(|e| api_error(format!("Reading volume {id}"), &e))?
            .instance_id
            .filter(|s| !s.is_empty());
        if current.as_deref() == to {
            return Ok(());
        }
        if let Some(from) = current {
            let mut r = action(VolumeAction::Detach, id);
            r.instance_id = Some(from);
            run_action(client, r, "Detaching").await?;
        }
        if let Some(to) = to {
            let mut r = action(VolumeAction::Attach, id);
            r.instance_id = Some(to.to_owned());
            run_action(client, r, "Attaching").await?;
        }
        Ok(())
    }
}

/// Volume types the API offers.
const VOLUME_TYPES: &[&str] = &["NVMe", "HDD", "NVMe_Shared", "HDD_Shared"];

/// `delete_permanently` of a state that never had it set: an imported volume, one
/// moved from `verda_volume`. Nobody asked for permanent deletion there, so the state
/// says `false` and the first plan shows the change to the default (`true`), for the
/// user to accept or to write `false` in the configuration, instead of a later destroy
/// deleting it for good silently.
const NOT_ASKED: bool = false;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct VolumeModel {
    id: Option<String>,
    name: Option<String>,
    size: Option<u32>,
    #[serde(rename = "type")]
    volume_type: Option<String>,
    location_code: Option<String>,
    instance_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    delete_permanently: Option<bool>,
    status: Option<String>,
    created_at: Option<String>,
}

impl VolumeModel {
    /// The attachment this resource manages: only one it made (`instance_id` set). A
    /// volume this resource leaves detached may be attached by a
    /// `datacrunch_volume_attachment` (or an instance's `existing_volume_ids`); that is
    /// theirs to track, not drift here. (An import takes no attachment either; an
    /// `instance_id` in the configuration then finds the volume attached already.)
    fn tracked_instance(&self, api: &Volume) -> Option<String> {
        api.instance_id
            .clone()
            .filter(|s| self.instance_id.is_some() && !s.is_empty())
    }

    fn refreshed(&self, api: &Volume) -> Self {
        let tags: BTreeMap<String, String> = api
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
            .collect();
        Self {
            id: Some(api.id.clone()),
            name: Some(api.name.clone()),
            size: Some(api.size),
            volume_type: Some(api.volume_type.clone()),
            location_code: Some(api.location.clone()),
            instance_id: self.tracked_instance(api),
            tags: if tags.is_empty() && self.tags.as_ref().is_none_or(|t| t.is_empty()) {
                self.tags.clone()
            } else {
                Some(tags)
            },
            delete_permanently: Some(self.delete_permanently.unwrap_or(NOT_ASKED)),
            status: Some(api.status.to_string()),
            created_at: Some(api.created_at.clone()),
        }
    }
}

fn action(action: VolumeAction, id: &str) -> VolumeActionRequest {
    VolumeActionRequest {
        action,
        id: vec![id.to_owned()],
        instance_id: None,
        name: None,
        size: None,
        is_permanent: None,
        volume_type: None,
    }
}

/// Reads the volume until it has left `ordered`/`creating` (or the deadline passes).
async fn settled(ctx: &Context, client: &Client, id: &str) -> Result<Volume, Diagnostics> {
    read_until(ctx, client, id, |v| {
        !matches!(v.status, VolumeStatus::Ordered | VolumeStatus::Creating)
    })
    .await
}

/// Reads volume `id` until `done` holds, backing off from 250 ms to 10 s between reads;
/// an error when the operation is cancelled or its deadline passes.
pub(crate) async fn read_until(
    ctx: &Context,
    client: &Client,
    id: &str,
    done: impl Fn(&Volume) -> bool,
) -> Result<Volume, Diagnostics> {
    let mut wait = Duration::from_millis(250);
    loop {
        let v = client
            .volume(id)
            .await
            .map_err(|e| api_error(format!("Reading volume {id}"), &e))?;
        if done(&v) {
            return Ok(v);
        }
        ctx.sleep(wait).await?;
        wait = (wait * 2).min(Duration::from_secs(10));
    }
}

async fn run_action(
    client: &Client,
    request: VolumeActionRequest,
    what: &str,
) -> Result<(), Diagnostics> {
    let id = request.id.join(", ");
    client
        .volume_action(&request)
        .await
        .map(drop)
        .map_err(|e| api_error(format!("{what} volume {id}"), &e))
}

/// A volume neither deleted nor in the trash: a deleted volume may still answer GET
/// (status `deleted`, or listed in the trash), but for Terraform it is gone.
pub(crate) fn is_live(v: &Volume) -> bool {
    !matches!(v.status, VolumeStatus::Deleted | VolumeStatus::Deleting) && v.deleted_at.is_none()
}

/// The state of a volume as `terraform query` lists it (what an import then reads).
pub(crate) fn listed_state(api: &Volume) -> Result<Value, Diagnostics> {
    Ok(Value::encode(&VolumeModel::default().refreshed(api))?)
}

#[async_trait]
impl Resource for VolumeResource {
    fn type_name(&self) -> String {
        "datacrunch_volume".into()
    }

    fn identity_schema(&self) -> Option<tfplugin::schema::IdentitySchema> {
        crate::resources::id_identity()
    }

    /// `moved` from the official provider's `verda_volume`.
    async fn move_state(
        &self,
        _ctx: &Context,
        source: &tfplugin::MoveSource,
    ) -> Result<Value, Diagnostics> {
        let mapping = crate::resources::moved::VerdaMapping {
            from_type: "verda_volume",
            attributes: &[
                ("id", "id"),
                ("name", "name"),
                ("size", "size"),
                ("type", "type"),
                ("location", "location_code"),
            ],
        };
        let not_asked = [("delete_permanently", serde_json::Value::Bool(NOT_ASKED))];
        crate::resources::moved::from_verda(source, &mapping, &self.schema(), &not_asked)
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "A block volume. `name`, `size` (grow only), `instance_id` and `tags` change in \
                 place; attaching and detaching need the instance shut down (`offline`), as the \
                 API requires (`datacrunch_volume_attachment` can power-cycle it for you). \
                 Destroy deletes the volume for good by default (`delete_permanently`): a \
                 volume in the trash still counts against the account's storage quota (and \
                 may bill) until purged, and a kdevops destroy should leave nothing behind.",
            )
            .attribute(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The volume id."),
            )
            .attribute(
                Attribute::string("name")
                    .required()
                    .description("Name; renamed in place."),
            )
            .attribute(
                Attribute::number("size")
                    .required()
                    .validator(validators::range(Some(1.into()), Some(100_000.into())))
                    .description("Size in GB; grows in place, cannot shrink."),
            )
            .attribute(
                Attribute::string("type")
                    .default("NVMe")
                    .requires_replace()
                    .validator(validators::one_of(VOLUME_TYPES.iter().copied()))
                    .description(
                        "Volume type: `NVMe` (default), `HDD`, `NVMe_Shared` or `HDD_Shared`.",
                    ),
            )
            .attribute(
                Attribute::string("location_code")
                    .optional()
                    .computed()
                    .requires_replace()
                    .use_state_for_unknown()
                    .description("Location; the API's default when left out."),
            )
            .attribute(Attribute::string("instance_id").optional().description(
                "Instance to attach to (it must be shut down); detached when left out.",
            ))
            .attribute(
                Attribute::map("tags", Type::String)
                    .optional()
                    .validator(tags_validator())
                    .description("Tags; changed in place."),
            )
            .attribute(
                Attribute::bool("delete_permanently")
                    .default(true)
                    .description(
                    "On destroy, delete the volume for good (default). `false` moves it to the \
                 trash instead, where it can be restored but still counts against the \
                 account's storage quota (and may bill) until it is purged; the default makes \
                 a destroy leave nothing billed or counted. An imported volume (or one \
                 moved from `verda_volume`) starts with `false` in its state, so the first \
                 plan shows the change to the default instead of taking it silently.",
                ),
            )
            .attribute(
                Attribute::string("status")
                    .computed()
                    .description("Status, e.g. `detached` or `attached`."),
            )
            .attribute(
                Attribute::string("created_at")
                    .computed()
                    .use_state_for_unknown()
                    .description("Creation time (ISO 8601)."),
            )
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut PlanChange) -> Result<(), Diagnostics> {
        let size = |v: &Value| {
            v.get("size")
                .and_then(Value::as_number)
                .and_then(|n| n.to_u64())
        };
        if let (Some(old), Some(new)) = (plan.prior.as_ref().and_then(size), size(&plan.planned)) {
            if new < old {
                return Err(Diagnostic::error(
                    "Volumes cannot shrink",
                    format!(
                        "size would go from {old} GB to {new} GB; the API only grows volumes. To \
                         start over with a smaller one (losing its data), replace it: \
                         terraform apply -replace=<address>."
                    ),
                )
                .at(AttributePath::new("size"))
                .into());
            }
        }
        Ok(())
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let m: VolumeModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let request = CreateVolumeRequest {
            volume_type: m.volume_type.clone().unwrap_or_else(|| "NVMe".into()),
            name: m.name.clone().ok_or_else(|| missing("name"))?,
            size: m.size.ok_or_else(|| missing("size"))?,
            instance_id: m.instance_id.clone(),
            instance_ids: Vec::new(),
            location_code: m.location_code.clone(),
            on_spot_discontinue: None,
            tags: api_tags(&m.tags),
        };
        let (id, _) = find_or_create(
            || st.client.create_volume(&request),
            || async {
                let volumes = st.client.volumes(None).await?;
                Ok(volumes
                    .into_iter()
                    .find(|v| {
                        v.name == request.name
                            && v.size == request.size
                            && v.volume_type == request.volume_type
                            && request
                                .location_code
                                .as_ref()
                                .is_none_or(|l| *l == v.location)
                            && !matches!(v.status, VolumeStatus::Deleted | VolumeStatus::Deleting)
                    })
                    .map(|v| v.id))
            },
        )
        .await
        .map_err(|e| api_error(format!("Creating volume {:?}", request.name), &e))?;
        let api = settled(ctx, &st.client, &id).await?;
        let mut state_model = m.refreshed(&api);
        // Keep what the plan knew (Terraform requires it).
        state_model.tags = m.tags.clone();
        Ok(Value::encode(&state_model)?)
    }

    async fn read(&self, ctx: &Context, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let prior: VolumeModel = state_value.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = prior.id.clone().ok_or_else(|| missing("id"))?;
        let found = found_or_gone(st.client.volume(&id).await, || {
            format!("Reading volume {id}")
        })?;
        // A deleted volume may still answer GET (status `deleted`, or in the trash):
        // for Terraform it is gone.
        let live = found.filter(is_live);
        live.map(|v| Value::encode(&prior.refreshed(&v)))
            .transpose()
            .map_err(Into::into)
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let old: VolumeModel = prior.decode()?;
        let new: VolumeModel = planned.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = new.id.clone().ok_or_else(|| missing("id"))?;
        if new.name != old.name {
            let mut r = action(VolumeAction::Rename, &id);
            r.name = new.name.clone();
            run_action(&st.client, r, "Renaming").await?;
        }
        if new.size > old.size {
            let mut r = action(VolumeAction::Resize, &id);
            r.size = new.size;
            run_action(&st.client, r, "Resizing").await?;
        }
        if new.instance_id != old.instance_id {
            self.move_attachment(&st.client, &id, new.instance_id.as_deref())
                .await?;
        }
        let (before, after) = (
            old.tags.clone().unwrap_or_default(),
            new.tags.clone().unwrap_or_default(),
        );
        if before != after {
            sync_tags(&st.client, TaggedKind::Volume, &id, &before, &after)
                .await
                .map_err(|e| api_error(format!("Updating the tags of volume {id}"), &e))?;
        }
        let api = settled(ctx, &st.client, &id).await?;
        let mut m = new.refreshed(&api);
        m.tags = new.tags.clone();
        m.delete_permanently = new.delete_permanently;
        Ok(Value::encode(&m)?)
    }

    async fn delete(&self, ctx: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let m: VolumeModel = prior.decode()?;
        let st = ProviderState::of(ctx)?;
        let id = m.id.clone().ok_or_else(|| missing("id"))?;
        if let Some(owner) = &m.instance_id {
            let mut r = action(VolumeAction::Detach, &id);
            r.instance_id = Some(owner.clone());
            match st.client.volume_action(&r).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => {
                    return Err(api_error(
                        format!("Detaching volume {id} before deleting it"),
                        &e,
                    ))
                }
            }
        }
        deleted_or_gone(
            st.client
                .delete_volume(&id, m.delete_permanently.unwrap_or(NOT_ASKED))
                .await,
            || format!("Deleting volume {id}"),
        )
    }
}
