//! `reap`: deletes every instance and cluster of the account whose expiry (tag
//! [`EXPIRES_TAG`](crate::ttl::EXPIRES_TAG)) has passed, whichever checkout or machine
//! made it, after showing what it is and what it has cost so far. Instances and
//! clusters without both kdevops tags (project and expiry) are never touched. Needs no `.config`: the
//! endpoint and credentials may come from flags or the environment, so it runs from
//! cron or from any checkout.

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;

use datacrunch_models::{Cluster, Instance};

use crate::api::{self, Api, Target};
use crate::cmd::load_settings;
use crate::emulator;
use crate::fleet::cleanup;
use crate::project::{Project, PROJECT_TAG};
use crate::settings::Endpoint;
use crate::ttl::{self, Expiring};

#[derive(Debug, Args)]
pub struct ReapArgs {
    /// Show what would be deleted, delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON (for cron) instead of lines.
    #[arg(long)]
    json: bool,
    /// API base URL ending in /v1; default: .config's endpoint, or DataCrunch without one.
    #[arg(long, env = "DATACRUNCH_SERVER_URL", value_name = "URL")]
    url: Option<String>,
    /// INI credentials file (default: the usual discovery, including
    /// DATACRUNCH_CLIENT_ID / DATACRUNCH_CLIENT_SECRET).
    #[arg(long, value_name = "FILE")]
    credentials_file: Option<String>,
    /// Section of the credentials file.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
}

/// What bills by the hour: an instance, or a cluster (all its nodes at one price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Instance,
    Cluster,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Instance => "instance",
            Kind::Cluster => "cluster",
        }
    }
}

/// One expired instance or cluster.
#[derive(Debug, Serialize)]
pub struct Expired {
    pub kind: Kind,
    pub id: String,
    pub hostname: String,
    pub project: String,
    pub status: String,
    pub expires_at: String,
    pub price_per_hour: f64,
    pub hours: f64,
    pub spent: f64,
    pub deleted: bool,
    /// Why the delete failed, when it did (the others are still deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn run(project: &Project, args: ReapArgs) -> Result<()> {
    let Some(api) = connect(project, &args).await? else {
        report(&args, &[], "the local emulator of this tree is not running")?;
        return Ok(());
    };
    let now = api.now().await;
    let instances = api
        .client
        .instances(None)
        .await
        .map_err(|e| api.explain(e))?;
    let clusters = api
        .client
        .clusters(None)
        .await
        .map_err(|e| api.explain(e))?;
    let mut expired = expired(&instances, &clusters, now);
    if !args.dry_run {
        let deadline = std::time::Instant::now() + cleanup::DELETE_TIMEOUT;
        // One failure does not stop the rest: each machine left bills on.
        for e in &mut expired {
            let deleted = match e.kind {
                Kind::Instance => cleanup::delete_instance(&api, &e.id, false).await,
                Kind::Cluster => cleanup::delete_cluster(&api, &e.id, deadline).await,
            };
            match deleted {
                Ok(()) => e.deleted = true,
                Err(err) => e.error = Some(format!("{err:#}")),
            }
        }
    }
    report(&args, &expired, &api.server_url)?;
    let failed: Vec<String> = expired
        .iter()
        .filter_map(|e| {
            Some(format!(
                "{} {} ({}): {}",
                e.kind.noun(),
                e.hostname,
                e.id,
                e.error.as_ref()?
            ))
        })
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} expired machines could not be deleted and still bill: {}",
            failed.len(),
            expired.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

/// Instances and clusters carrying a kdevops project tag and an expiry that has passed
/// by `now`.
pub fn expired(instances: &[Instance], clusters: &[Cluster], now: OffsetDateTime) -> Vec<Expired> {
    let instances = instances
        .iter()
        .filter(|i| !i.status.is_gone())
        .map(|i| (Kind::Instance, i as &dyn Expiring));
    let clusters = clusters
        .iter()
        .filter(|c| !c.status.is_gone())
        .map(|c| (Kind::Cluster, c as &dyn Expiring));
    instances
        .chain(clusters)
        .filter_map(|(kind, item)| {
            let project = ttl::tag(item, PROJECT_TAG)?.to_owned();
            let at = ttl::expires_at(item).filter(|at| *at <= now)?;
            let hours = ttl::hours_running(item, now);
            let price = item.price_per_hour();
            Some(Expired {
                kind,
                id: item.id().to_owned(),
                hostname: item.name().to_owned(),
                project,
                status: item.status_text(),
                expires_at: ttl::format(at),
                price_per_hour: price,
                hours,
                spent: price * hours,
                deleted: false,
                error: None,
            })
        })
        .collect()
}

fn report(args: &ReapArgs, expired: &[Expired], at: &str) -> Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(expired)?);
        return Ok(());
    }
    if expired.is_empty() {
        println!("Nothing to reap: no expired kdevops instance or cluster ({at}).");
        return Ok(());
    }
    for e in expired {
        let verb = match (&e.error, args.dry_run) {
            (Some(_), _) => "could not delete",
            (None, true) => "would delete",
            (None, false) => "deleted",
        };
        println!(
            "{verb} {} {} ({}, project {}, {}): expired {}, {:.2} $/h, {:.2} h, {:.2} $ so far",
            e.kind.noun(),
            e.hostname,
            e.id,
            e.project,
            e.status,
            e.expires_at,
            e.price_per_hour,
            e.hours,
            e.spent
        );
    }
    let spent: f64 = expired.iter().map(|e| e.spent).sum();
    let clusters = expired.iter().filter(|e| e.kind == Kind::Cluster).count();
    println!(
        "{} expired instance(s) and {clusters} cluster(s), {spent:.2} $ spent on them",
        expired.len() - clusters
    );
    Ok(())
}

/// The API to reap on: the flags' endpoint, else `.config`'s (a local emulator only when
/// it runs: `None` when it does not), else DataCrunch with the usual credentials.
async fn connect(project: &Project, args: &ReapArgs) -> Result<Option<Api>> {
    let flagged = |endpoint: Endpoint| Target {
        endpoint,
        credentials_file: args.credentials_file.clone().unwrap_or_default(),
        profile: args.profile.clone().unwrap_or_else(|| "default".to_owned()),
    };
    let target = match (&args.url, project.config.exists()) {
        (Some(url), _) if url.starts_with("http://") || url.starts_with("https://") => {
            flagged(Endpoint::Url(url.trim_end_matches('/').to_owned()))
        }
        (Some(url), _) => {
            bail!("--url (or DATACRUNCH_SERVER_URL) is {url:?}: expected an http(s):// URL ending in /v1")
        }
        (None, true) => {
            let settings = load_settings(project)?;
            if settings.endpoint == Endpoint::Emulator && emulator::find(project)?.is_none() {
                return Ok(None);
            }
            let mut target = Target::of(&settings);
            if let Some(file) = &args.credentials_file {
                target.credentials_file = file.clone();
            }
            if let Some(profile) = &args.profile {
                target.profile = profile.clone();
            }
            target
        }
        (None, false) => flagged(Endpoint::Url(
            datacrunch_client::DEFAULT_BASE_URL.to_owned(),
        )),
    };
    api::connect_to(project, &target).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, tags: serde_json::Value) -> Instance {
        serde_json::from_value(serde_json::json!({
            "id": id, "hostname": id, "status": "running", "tags": tags,
            "price_per_hour": 2.0, "created_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    fn cluster(id: &str, tags: serde_json::Value) -> Cluster {
        serde_json::from_value(serde_json::json!({
            "id": id, "hostname": id, "status": "running", "tags": tags,
            "price_per_hour": 40.0, "created_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    #[test]
    fn only_instances_and_clusters_with_both_tags_and_a_past_expiry_are_reaped() {
        let now = OffsetDateTime::parse(
            "2026-01-01T10:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let tagged = |expiry: &str| {
            serde_json::json!([
                {"key": PROJECT_TAG, "value": "p"},
                {"key": ttl::EXPIRES_TAG, "value": expiry},
            ])
        };
        let all = [
            instance("past", tagged("2026-01-01T09:00:00Z")),
            instance("future", tagged("2026-01-01T11:00:00Z")),
            instance("garbled", tagged("tomorrow")),
            instance(
                "no-project",
                serde_json::json!([{"key": ttl::EXPIRES_TAG, "value": "2026-01-01T09:00:00Z"}]),
            ),
            instance("untagged", serde_json::json!([])),
        ];
        let clusters = [
            cluster("past-cluster", tagged("2026-01-01T09:00:00Z")),
            cluster("future-cluster", tagged("2026-01-01T11:00:00Z")),
            cluster(
                "no-project-cluster",
                serde_json::json!([{"key": ttl::EXPIRES_TAG, "value": "2026-01-01T09:00:00Z"}]),
            ),
            cluster("untagged-cluster", serde_json::json!([])),
        ];
        let reaped = expired(&all, &clusters, now);
        assert_eq!(reaped.len(), 2, "{reaped:?}");
        let e = &reaped[0];
        assert_eq!((e.id.as_str(), e.project.as_str()), ("past", "p"));
        assert_eq!((e.kind, e.hours, e.spent), (Kind::Instance, 10.0, 20.0));
        let c = &reaped[1];
        assert_eq!((c.id.as_str(), c.kind), ("past-cluster", Kind::Cluster));
        assert_eq!((c.hours, c.spent), (10.0, 400.0));
    }
}
