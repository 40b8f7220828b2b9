//! `.config` to typed settings: every symbol of the Kconfig tree is read here, and only
//! here, so "is this option used?" has one place to look (an option nothing reads is a promise the menu breaks).
//!
//! Values are checked as they are read: a bad one is an error naming the `CONFIG_`
//! symbol, what it holds and what is expected.

use anyhow::{bail, Context, Result};
use serde::Serialize;

use datacrunch_client::offer::{TierGroup, UnknownTierGroup};
use datacrunch_client::suggest::{closest, did_you_mean};

use crate::kconfig::KconfigValues;

/// Where the API is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// The local emulator, started on demand by bringup.
    Emulator,
    /// A real (or custom) API base URL, ending in `/v1`.
    Url(String),
}

/// The configured instance type: one name, or a rule resolved from live availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeRequest {
    /// An explicit type such as `1H100.80S.30V`.
    Explicit(String),
    /// A tier wildcard as written in Kconfig, e.g. `H100_OR_LESS` or `ANY_1H100`.
    Wildcard(String),
}

/// How the SSH key reaches the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SshKeyMode {
    /// Upload `key_file.pub` under the project's own key name (from its identity, never
    /// from `.config`, so a copied `.config` cannot name another project's key);
    /// Terraform owns the key.
    Unique,
    /// Use the key already in the account under this name; nothing is uploaded.
    Manual { name: String },
}

/// Key-pair generation (kdevops' `TERRAFORM_SSH_CONFIG_GENKEY*` trio).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GenKey {
    pub enabled: bool,
    pub overwrite: bool,
    pub empty_passphrase: bool,
}

/// The ssh client configuration written after bringup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshConfigSettings {
    /// The main config that gets the Include block, e.g. `~/.ssh/config`.
    pub main: String,
    /// Prefix of the per-project file, e.g. `~/.ssh/config_kdevops_`.
    pub prefix: String,
    /// Add the no-host-key-check options.
    pub strict: bool,
}

/// Everything `.config` says, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub endpoint: Endpoint,
    /// Credentials file and profile (ignored for the emulator, which has its own).
    pub credentials_file: String,
    pub credentials_profile: String,
    pub nodes: Vec<String>,
    pub hosts_file: String,
    pub instance_type: TypeRequest,
    pub image: String,
    /// `None` is AUTO: the first location with capacity.
    pub location: Option<String>,
    pub spot: bool,
    pub max_price_per_hour: Option<f64>,
    pub keep_volumes: bool,
    /// A script attached to every node (run once at first boot); `None`: none.
    pub startup_script_file: Option<String>,
    pub ssh_key: SshKeyMode,
    /// `None`: the project's own key pair, named from its identity.
    pub ssh_key_file: Option<String>,
    pub genkey: GenKey,
    pub ssh_user: String,
    /// `None` when KDEVOPS_SSH_CONFIG_UPDATE is off.
    pub ssh_config: Option<SshConfigSettings>,
    /// USD the fleet may cost over its TTL; `None`: no budget.
    pub budget_usd: Option<f64>,
    /// How long new nodes are meant to live (their expiry tag).
    pub ttl: std::time::Duration,
    /// Terraform state in PostgreSQL (the `pg` backend) instead of the local file.
    pub state_pg: Option<PgState>,
    /// One cluster instead of single instances (CONFIG_TERRAFORM_DATACRUNCH_CLUSTER).
    pub cluster: Option<ClusterSettings>,
}

/// The cluster bringup makes in cluster mode; its hostname is the node name prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterSettings {
    pub hostname: String,
    /// Checked against the live `/cluster-types` at bringup.
    pub cluster_type: String,
    pub image: String,
    pub shared_volume_gb: u32,
}

/// Team state: where the `pg` backend's database is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgState {
    /// The connection string from `.config`; `None`: from `$PG_CONN_STR`. Never printed
    /// (it may hold a password).
    #[serde(skip)]
    pub conn_str: Option<String>,
}

pub const KNOWN_LOCATIONS: &[&str] = &["FIN-01", "FIN-02", "FIN-03", "ICE-01"];

impl Settings {
    /// Interprets a parsed `.config`.
    pub fn from_kconfig(v: &KconfigValues) -> Result<Self> {
        if !v.enabled("TERRAFORM") || !v.enabled("TERRAFORM_DATACRUNCH") {
            bail!(
                "this .config does not select Terraform with the DataCrunch provider (CONFIG_TERRAFORM=y, CONFIG_TERRAFORM_DATACRUNCH=y): \
                 run `make defconfig-emulator-3-nodes` or `make menuconfig`"
            );
        }
        let text = |name: &str| -> Result<String> {
            v.string(name).map(str::to_owned).with_context(|| {
                format!("CONFIG_{name} is missing from .config: run `make olddefconfig` to fill in defaults")
            })
        };

        let url = text("TERRAFORM_DATACRUNCH_API_URL")?;
        let endpoint = if url == "emulator" {
            Endpoint::Emulator
        } else if url.starts_with("https://") || url.starts_with("http://") {
            Endpoint::Url(url.trim_end_matches('/').to_owned())
        } else {
            bail!("CONFIG_TERRAFORM_DATACRUNCH_API_URL is {url:?}: expected \"emulator\" or an http(s):// URL ending in /v1");
        };

        let instance_type = text("TERRAFORM_DATACRUNCH_INSTANCE_TYPE")?;
        let instance_type = if instance_type.is_empty() {
            bail!("CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE is empty: choose an instance type in `make menuconfig`");
        } else if instance_type.parse::<TierGroup>().is_ok() {
            TypeRequest::Wildcard(instance_type)
        } else if looks_like_tier_group(&instance_type) {
            let unknown = UnknownTierGroup(instance_type);
            bail!("CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE: {unknown}");
        } else {
            TypeRequest::Explicit(instance_type)
        };

        let location = match text("TERRAFORM_DATACRUNCH_LOCATION")?.as_str() {
            "AUTO" | "" => None,
            code if KNOWN_LOCATIONS.contains(&code) => Some(code.to_owned()),
            other => bail!(
                "CONFIG_TERRAFORM_DATACRUNCH_LOCATION is {other:?}: expected AUTO or one of {}.{}",
                KNOWN_LOCATIONS.join(", "),
                did_you_mean(other, KNOWN_LOCATIONS)
            ),
        };

        let max_price_per_hour = match v.string("TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR").unwrap_or("").trim() {
            "" => None,
            s => Some(s.parse::<f64>().ok().filter(|p| *p > 0.0 && p.is_finite()).with_context(|| {
                format!("CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR is {s:?}: expected a positive number of USD per hour such as \"2.50\", or empty for no cap")
            })?),
        };

        let ssh_key = if v.enabled("TERRAFORM_DATACRUNCH_SSH_KEY_MANUAL") {
            let name = text("TERRAFORM_DATACRUNCH_SSH_KEY_NAME")?;
            if name.is_empty() {
                bail!("CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_NAME_CUSTOM is empty: set the name of your key in `make menuconfig`");
            }
            SshKeyMode::Manual { name }
        } else if v.enabled("TERRAFORM_DATACRUNCH_SSH_KEY_UNIQUE") {
            SshKeyMode::Unique
        } else {
            bail!("neither CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_UNIQUE nor CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_MANUAL is set: choose the SSH key management in `make menuconfig`");
        };

        let ssh_config = v
            .enabled("KDEVOPS_SSH_CONFIG_UPDATE")
            .then(|| SshConfigSettings {
                main: v
                    .string("KDEVOPS_SSH_CONFIG")
                    .unwrap_or("~/.ssh/config")
                    .to_owned(),
                prefix: v
                    .string("KDEVOPS_SSH_CONFIG_PREFIX")
                    .unwrap_or("~/.ssh/config_kdevops_")
                    .to_owned(),
                strict: v.enabled("KDEVOPS_SSH_CONFIG_UPDATE_STRICT"),
            });

        let image = text("TERRAFORM_DATACRUNCH_IMAGE")?;
        if image.is_empty() {
            bail!(
                "CONFIG_TERRAFORM_DATACRUNCH_IMAGE is empty: choose an image in `make menuconfig`"
            );
        }

        let budget_usd = match v.string("TERRAFORM_DATACRUNCH_BUDGET_USD").unwrap_or("").trim() {
            "" => None,
            s => Some(s.parse::<f64>().ok().filter(|p| *p > 0.0 && p.is_finite()).with_context(|| {
                format!("CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD is {s:?}: expected a positive number of USD such as \"100\", or empty for no budget")
            })?),
        };
        let ttl = crate::ttl::parse(
            v.string("TERRAFORM_DATACRUNCH_TTL").unwrap_or("8h"),
            "CONFIG_TERRAFORM_DATACRUNCH_TTL",
        )?;
        let state_pg = v.enabled("TERRAFORM_DATACRUNCH_STATE_PG").then(|| PgState {
            conn_str: v
                .string("TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        });

        let cluster = cluster_settings(v)?;
        Ok(Self {
            cluster,
            budget_usd,
            ttl,
            state_pg,
            credentials_file: v
                .string("TERRAFORM_DATACRUNCH_API_KEY_FILE")
                .unwrap_or("~/.datacrunch/credentials")
                .to_owned(),
            credentials_profile: v
                .string("TERRAFORM_DATACRUNCH_API_KEY_PROFILE")
                .unwrap_or("default")
                .to_owned(),
            endpoint,
            nodes: node_names(v)?,
            hosts_file: v.string("KDEVOPS_HOSTS").unwrap_or("hosts").to_owned(),
            instance_type,
            image,
            location,
            spot: v.enabled("TERRAFORM_DATACRUNCH_SPOT"),
            max_price_per_hour,
            keep_volumes: v.enabled("TERRAFORM_DATACRUNCH_KEEP_VOLUMES"),
            startup_script_file: v
                .string("TERRAFORM_DATACRUNCH_STARTUP_SCRIPT_FILE")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            ssh_key,
            ssh_key_file: own_key_file(v.string("TERRAFORM_DATACRUNCH_SSH_KEY_FILE").unwrap_or("")),
            genkey: GenKey {
                enabled: v.enabled("TERRAFORM_SSH_CONFIG_GENKEY"),
                overwrite: v.enabled("TERRAFORM_SSH_CONFIG_GENKEY_OVERWRITE"),
                empty_passphrase: v.enabled("TERRAFORM_SSH_CONFIG_GENKEY_EMPTY_PASSPHRASE"),
            },
            ssh_user: v
                .string("TERRAFORM_SSH_CONFIG_USER")
                .unwrap_or("root")
                .to_owned(),
            ssh_config,
        })
    }
}

/// The cluster of cluster mode, `None` for single instances.
fn cluster_settings(v: &KconfigValues) -> Result<Option<ClusterSettings>> {
    if !v.enabled("TERRAFORM_DATACRUNCH_CLUSTER") {
        return Ok(None);
    }
    let hostname = v.string("KDEVOPS_HOSTS_PREFIX").unwrap_or("kdevops");
    if !valid_hostname(hostname) {
        bail!(
            "CONFIG_KDEVOPS_HOSTS_PREFIX is {hostname:?}, which names the cluster and must be a valid hostname: \
             use letters, digits and '-', at least one letter, at most 60 characters, no leading or trailing '-'"
        );
    }
    let cluster_type = v
        .string("TERRAFORM_DATACRUNCH_CLUSTER_TYPE")
        .unwrap_or("")
        .trim();
    if cluster_type.is_empty() {
        bail!("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE is empty: choose a cluster type (e.g. 16H200) in `make menuconfig`");
    }
    let image = v
        .string("TERRAFORM_DATACRUNCH_CLUSTER_IMAGE")
        .unwrap_or("")
        .trim();
    if image.is_empty() {
        bail!("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_IMAGE is empty: choose a cluster image (e.g. ubuntu-22.04-cuda-12.4-cluster) in `make menuconfig`");
    }
    let raw = v
        .number("TERRAFORM_DATACRUNCH_CLUSTER_SHARED_VOLUME_GB")
        .unwrap_or("1000");
    let shared_volume_gb = raw
        .parse()
        .ok()
        .filter(|gb| (1..=102_400).contains(gb))
        .with_context(|| {
            format!("CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_SHARED_VOLUME_GB is {raw:?}: expected a number of GB from 1 to 102400")
        })?;
    Ok(Some(ClusterSettings {
        hostname: hostname.to_owned(),
        cluster_type: cluster_type.to_owned(),
        image: image.to_owned(),
        shared_volume_gb,
    }))
}

/// Whether an instance type that is no tier group was meant as one: kdevops' wildcard
/// shapes, or a near miss of a group's name (`H100_OR_LES`). Real type names such as
/// `1H100.80S.30V` are nowhere near a group name.
fn looks_like_tier_group(instance_type: &str) -> bool {
    let names: Vec<&str> = TierGroup::ALL.iter().map(|g| g.name()).collect();
    let spelled = instance_type.to_ascii_uppercase().replace('-', "_");
    spelled.ends_with("_OR_LESS")
        || spelled.starts_with("ANY_")
        || closest(&spelled, &names).is_some()
}

/// The configured key file, `None` for the project's own. Earlier versions filled in
/// `~/.ssh/kdevops_terraform_<8 hex digits of the path>` by default; that value is the
/// project's own key too, not a choice to carry into a copy.
fn own_key_file(configured: &str) -> Option<String> {
    let legacy_default = configured
        .strip_prefix("~/.ssh/kdevops_terraform_")
        .is_some_and(|h| h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()));
    (!configured.is_empty() && !legacy_default).then(|| configured.to_owned())
}

/// The node names: the explicit list, or PREFIX-0 .. PREFIX-(N-1). Names become
/// hostnames, so they must satisfy the API's hostname rule.
fn node_names(v: &KconfigValues) -> Result<Vec<String>> {
    let explicit: Vec<String> = v
        .string("KDEVOPS_NODE_NAMES")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let names = if explicit.is_empty() {
        let prefix = v.string("KDEVOPS_HOSTS_PREFIX").unwrap_or("kdevops");
        let raw = v.number("KDEVOPS_NODE_COUNT").unwrap_or("1");
        let count: usize = raw
            .parse()
            .ok()
            .filter(|n| (1..=32).contains(n))
            .with_context(|| {
                format!("CONFIG_KDEVOPS_NODE_COUNT is {raw:?}: expected a number from 1 to 32")
            })?;
        (0..count).map(|i| format!("{prefix}-{i}")).collect()
    } else {
        explicit
    };
    let mut seen = std::collections::BTreeSet::new();
    for name in &names {
        if !valid_hostname(name) {
            bail!(
                "node name {name:?} (from CONFIG_KDEVOPS_HOSTS_PREFIX or CONFIG_KDEVOPS_NODE_NAMES) is not a valid hostname: \
                 use letters, digits and '-', at least one letter, at most 60 characters, no leading or trailing '-'"
            );
        }
        if !seen.insert(name) {
            bail!("node name {name:?} appears twice in CONFIG_KDEVOPS_NODE_NAMES");
        }
    }
    Ok(names)
}

/// The API's hostname rule (`^(?!-)(?!.*-$)[a-zA-Z0-9-]*[a-zA-Z][a-zA-Z0-9-]*$`), with
/// dstack's 60-character limit.
fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 60
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output of `olddefconfig` for the default Kconfig, trimmed to what is read.
    pub(crate) const DEFAULT_CONFIG: &str = r#"
CONFIG_TERRAFORM=y
CONFIG_TERRAFORM_DATACRUNCH=y
CONFIG_TERRAFORM_DATACRUNCH_API_EMULATOR=y
CONFIG_TERRAFORM_DATACRUNCH_API_URL="emulator"
CONFIG_KDEVOPS_HOSTS_PREFIX="kdevops"
CONFIG_KDEVOPS_NODE_COUNT=3
CONFIG_KDEVOPS_NODE_NAMES=""
CONFIG_KDEVOPS_HOSTS="hosts"
CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE_H100_OR_LESS=y
CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE="H100_OR_LESS"
# CONFIG_TERRAFORM_DATACRUNCH_SPOT is not set
CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR=""
# CONFIG_TERRAFORM_DATACRUNCH_KEEP_VOLUMES is not set
CONFIG_TERRAFORM_DATACRUNCH_IMAGE="ubuntu-24.04-cuda-12.8-open-docker"
CONFIG_TERRAFORM_DATACRUNCH_LOCATION="AUTO"
CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_UNIQUE=y
CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_NAME="kdevops-datacrunch-f2af6c09"
CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_FILE="~/.ssh/kdevops_terraform_f2af6c09"
CONFIG_TERRAFORM_SSH_CONFIG_GENKEY=y
CONFIG_TERRAFORM_SSH_CONFIG_GENKEY_EMPTY_PASSPHRASE=y
CONFIG_TERRAFORM_SSH_CONFIG_USER="root"
CONFIG_KDEVOPS_SSH_CONFIG_UPDATE=y
CONFIG_KDEVOPS_SSH_CONFIG="~/.ssh/config"
CONFIG_KDEVOPS_SSH_CONFIG_PREFIX="~/.ssh/config_kdevops_"
CONFIG_KDEVOPS_SSH_CONFIG_UPDATE_STRICT=y
"#;

    fn settings(extra: &str) -> Result<Settings> {
        Settings::from_kconfig(&KconfigValues::parse(&format!("{DEFAULT_CONFIG}{extra}")).unwrap())
    }

    #[test]
    fn cluster_mode_is_read_and_bad_values_name_their_symbol() {
        assert_eq!(settings("").unwrap().cluster, None);
        let on = "CONFIG_TERRAFORM_DATACRUNCH_CLUSTER=y\nCONFIG_KDEVOPS_HOSTS_PREFIX=\"gpu\"\n\
                  CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE=\"16H200\"\n\
                  CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_IMAGE=\"ubuntu-22.04-cuda-12.4-cluster\"\n\
                  CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_SHARED_VOLUME_GB=500\n";
        assert_eq!(
            settings(on).unwrap().cluster,
            Some(ClusterSettings {
                hostname: "gpu".into(),
                cluster_type: "16H200".into(),
                image: "ubuntu-22.04-cuda-12.4-cluster".into(),
                shared_volume_gb: 500,
            })
        );
        for (bad, symbol) in [
            (
                "CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_TYPE=\"\"\n",
                "CLUSTER_TYPE is empty",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_IMAGE=\"\"\n",
                "CLUSTER_IMAGE is empty",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_CLUSTER_SHARED_VOLUME_GB=0\n",
                "SHARED_VOLUME_GB is \"0\"",
            ),
        ] {
            let err = settings(&format!("{on}{bad}")).unwrap_err().to_string();
            assert!(err.contains(symbol), "{err}");
        }
    }

    #[test]
    fn reads_the_default_configuration() {
        let s = settings("").unwrap();
        assert_eq!(s.endpoint, Endpoint::Emulator);
        assert_eq!(s.nodes, ["kdevops-0", "kdevops-1", "kdevops-2"]);
        assert_eq!(
            s.instance_type,
            TypeRequest::Wildcard("H100_OR_LESS".into())
        );
        assert_eq!(s.location, None);
        assert!(!s.spot && !s.keep_volumes);
        assert_eq!(s.max_price_per_hour, None);
        assert_eq!(s.ssh_key, SshKeyMode::Unique);
        // The default key file (what earlier versions wrote too) is the project's own.
        assert_eq!(s.ssh_key_file, None);
        let mine = settings("CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_FILE=\"~/.ssh/mine\"\n").unwrap();
        assert_eq!(mine.ssh_key_file.as_deref(), Some("~/.ssh/mine"));
        assert!(s.genkey.enabled && s.genkey.empty_passphrase && !s.genkey.overwrite);
        let ssh = s.ssh_config.unwrap();
        assert!(ssh.strict);
        assert_eq!(ssh.prefix, "~/.ssh/config_kdevops_");
    }

    #[test]
    fn later_lines_override_and_options_are_typed() {
        let s = settings(
            "CONFIG_TERRAFORM_DATACRUNCH_API_URL=\"https://api.verda.com/v1/\"\n\
             CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"1B200.30V\"\n\
             CONFIG_TERRAFORM_DATACRUNCH_LOCATION=\"FIN-03\"\n\
             CONFIG_TERRAFORM_DATACRUNCH_SPOT=y\n\
             CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR=\"2.5\"\n\
             CONFIG_KDEVOPS_NODE_NAMES=\"xfs ext4\"\n\
             CONFIG_TERRAFORM_DATACRUNCH_SSH_KEY_MANUAL=y\n\
             # CONFIG_KDEVOPS_SSH_CONFIG_UPDATE is not set\n",
        )
        .unwrap();
        assert_eq!(s.endpoint, Endpoint::Url("https://api.verda.com/v1".into()));
        assert_eq!(s.instance_type, TypeRequest::Explicit("1B200.30V".into()));
        assert_eq!(s.location.as_deref(), Some("FIN-03"));
        assert!(s.spot);
        assert_eq!(s.max_price_per_hour, Some(2.5));
        assert_eq!(s.nodes, ["xfs", "ext4"]);
        assert!(matches!(s.ssh_key, SshKeyMode::Manual { .. }));
        assert_eq!(s.ssh_config, None);
        // Cost control: no budget and 8 hours unless configured.
        assert_eq!((s.budget_usd, s.ttl.as_secs()), (None, 8 * 3600));
        let costed = settings(
            "CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD=\"50\"\nCONFIG_TERRAFORM_DATACRUNCH_TTL=\"20m\"\n\
             CONFIG_TERRAFORM_DATACRUNCH_STATE_PG=y\n",
        )
        .unwrap();
        assert_eq!(
            (costed.budget_usd, costed.ttl.as_secs()),
            (Some(50.0), 1200)
        );
        assert_eq!(costed.state_pg, Some(PgState { conn_str: None }));
    }

    #[test]
    fn bad_values_name_the_symbol() {
        let cases = [
            (
                "CONFIG_TERRAFORM_DATACRUNCH_LOCATION=\"MARS-01\"\n",
                "CONFIG_TERRAFORM_DATACRUNCH_LOCATION",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR=\"cheap\"\n",
                "MAX_PRICE_PER_HOUR",
            ),
            ("CONFIG_KDEVOPS_NODE_COUNT=0\n", "CONFIG_KDEVOPS_NODE_COUNT"),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD=\"lots\"\n",
                "CONFIG_TERRAFORM_DATACRUNCH_BUDGET_USD is \"lots\"",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_TTL=\"forever\"\n",
                "CONFIG_TERRAFORM_DATACRUNCH_TTL is \"forever\"",
            ),
            (
                "CONFIG_KDEVOPS_NODE_NAMES=\"a_b\"\n",
                "not a valid hostname",
            ),
            ("CONFIG_KDEVOPS_NODE_NAMES=\"a a\"\n", "appears twice"),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"H200_OR_LESS\"\n",
                "unknown tier group",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"H100_OR_LES\"\n",
                "CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE: unknown tier group \"H100_OR_LES\": \
                 expected one of B300_OR_LESS, B200_OR_LESS, H100_OR_LESS, A100_80_OR_LESS, \
                 A100_40_OR_LESS, ANY_1H100. Did you mean \"H100_OR_LESS\"?",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_LOCATION=\"FIN-3\"\n",
                "expected AUTO or one of FIN-01, FIN-02, FIN-03, ICE-01. Did you mean \"FIN-03\"?",
            ),
            (
                "CONFIG_TERRAFORM_DATACRUNCH_API_URL=\"ftp://x\"\n",
                "CONFIG_TERRAFORM_DATACRUNCH_API_URL",
            ),
            (
                "# CONFIG_TERRAFORM_DATACRUNCH is not set\n",
                "CONFIG_TERRAFORM_DATACRUNCH=y",
            ),
        ];
        for (extra, expected) in cases {
            let err = settings(extra).unwrap_err().to_string();
            assert!(err.contains(expected), "{extra:?} gave {err:?}");
        }
    }

    #[test]
    fn hostname_rule() {
        assert!(valid_hostname("kdevops-0"));
        assert!(!valid_hostname("0-1"));
        assert!(!valid_hostname("-a"));
        assert!(!valid_hostname(&"a".repeat(61)));
    }
}
