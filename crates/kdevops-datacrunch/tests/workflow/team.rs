//! Team state on PostgreSQL end to end: a real PostgreSQL (Debian `postgresql`, run as
//! an unprivileged user on a private socket directory in a temp dir), one shared
//! emulator reached through the custom URL option, and checkouts of the team started at
//! once on a fresh database.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{http, http_with, text, workflow_bin, Project};

/// `datacrunch-emulator` run standalone, as a team runs it: one API for every checkout.
struct TeamEmulator {
    child: std::process::Child,
    base: String,
    client_id: String,
    client_secret: String,
    _log: tempfile::TempDir,
}

impl TeamEmulator {
    fn start() -> Self {
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("log");
        let client_id = "team".to_owned();
        let client_secret = uuid::Uuid::new_v4().simple().to_string();
        let mut child = Command::new(workflow_bin().with_file_name("datacrunch-emulator"))
            .args(["--listen", "127.0.0.1:0", "--client-id", &client_id])
            .env("DATACRUNCH_EMULATOR_CLIENT_SECRET", &client_secret)
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..300 {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text
                .split_whitespace()
                .find(|w| w.starts_with("http://127."))
            {
                let base = url
                    .trim_end_matches(['.', ',', '/'])
                    .trim_end_matches("/v1")
                    .to_owned();
                return Self {
                    child,
                    base,
                    client_id,
                    client_secret,
                    _log: log_dir,
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the emulator printed no URL");
    }

    fn url(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Instances the API lists and that are not gone.
    fn live(&self) -> Vec<serde_json::Value> {
        let login = format!(
            r#"{{"grant_type":"client_credentials","client_id":"{}","client_secret":"{}"}}"#,
            self.client_id, self.client_secret
        );
        let (_, token) = http(&self.base, "POST", "/v1/oauth2/token", Some(&login));
        let token: serde_json::Value = serde_json::from_str(&token).unwrap();
        let get = |path: &str| {
            let (status, body) = http_with(
                &self.base,
                "GET",
                path,
                None,
                token["access_token"].as_str(),
            );
            assert_eq!(status, 200, "{body}");
            serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap()
        };
        get("/v1/instances")
            .into_iter()
            .filter(|i| {
                !["deleting", "discontinued", "deleted"]
                    .contains(&i["status"].as_str().unwrap_or(""))
            })
            .collect()
    }

    fn ssh_keys(&self) -> usize {
        let login = format!(
            r#"{{"grant_type":"client_credentials","client_id":"{}","client_secret":"{}"}}"#,
            self.client_id, self.client_secret
        );
        let (_, token) = http(&self.base, "POST", "/v1/oauth2/token", Some(&login));
        let token: serde_json::Value = serde_json::from_str(&token).unwrap();
        let (_, body) = http_with(
            &self.base,
            "GET",
            "/v1/sshkeys",
            None,
            token["access_token"].as_str(),
        );
        serde_json::from_str::<Vec<serde_json::Value>>(&body)
            .unwrap()
            .len()
    }
}

impl Drop for TeamEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private PostgreSQL server, stopped on drop.
struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// Set when the tests run as root: the server runs as `nobody` (it refuses root).
    as_nobody: bool,
}

const NOBODY: u32 = 65534;
const PORT: u16 = 5433;

impl Postgres {
    /// Starts one, or `None` (with the reason printed) when the binaries are absent.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file());
        let Some(bin) = bin else {
            println!(
                "SKIPPED: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin \
                 (install the Debian package `postgresql`; .ci/run does)"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("kdevops-pg")
            .tempdir()
            .unwrap();
        let as_nobody = rustix::process::geteuid().is_root();
        if as_nobody {
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pg = Postgres {
            bin,
            dir,
            as_nobody,
        };
        let data = pg.dir.path().join("data");
        let out = pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-N",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        let options = format!(
            "-p {PORT} -k {} -c listen_addresses=''",
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("log");
        let out = pg.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        assert!(out.status.success(), "pg_ctl start: {}", text(&out));
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    /// Keyword form: a socket directory as host, no TCP.
    fn conn_str(&self) -> String {
        format!(
            "host={} port={PORT} user=postgres dbname=postgres sslmode=disable",
            self.dir.path().display()
        )
    }
}

/// A `psql` session holding the state's advisory lock (as Terraform's pg backend
/// takes it: the id of the workspace's row); killed on drop.
struct LockHolder(std::process::Child);

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Postgres {
    fn hold_state_lock(&self) -> LockHolder {
        let child = Command::new(self.bin.join("psql"))
            .args([&self.conn_str(), "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(
                // The server notices the killed client while the session sleeps, as
                // it notices a killed Terraform's closed connection.
                "SET client_connection_check_interval = '100ms'; \
                 SELECT pg_advisory_lock(id) FROM terraform_remote_state.states WHERE name = 'default'; \
                 SELECT pg_sleep(600);",
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        LockHolder(child)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

/// A checkout of the team: the shared emulator through the custom URL option and its
/// credentials file, 2 nodes, team state on.
fn checkout(url: &str, credentials: &Path) -> Project {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    for line in [
        "TERRAFORM_DATACRUNCH_API_EMULATOR=n".to_owned(),
        "TERRAFORM_DATACRUNCH_API_CUSTOM=y".to_owned(),
        format!("TERRAFORM_DATACRUNCH_API_URL=\"{url}\""),
        format!(
            "TERRAFORM_DATACRUNCH_API_KEY_FILE=\"{}\"",
            credentials.display()
        ),
        "TERRAFORM_DATACRUNCH_API_KEY_PROFILE=\"default\"".to_owned(),
        "KDEVOPS_NODE_COUNT=2".to_owned(),
        "TERRAFORM_DATACRUNCH_STATE_PG=y".to_owned(),
    ] {
        p.set(&line);
    }
    p
}

fn credentials_file(dir: &Path, id: &str, secret: &str) -> PathBuf {
    let path = dir.join("credentials");
    std::fs::write(
        &path,
        format!("[default]\nclient_id = {id}\nclient_secret = {secret}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn two_checkouts_share_one_fleet_and_bring_it_up_at_once() {
    let Some(pg) = Postgres::start() else { return };
    let emu = TeamEmulator::start();
    let creds_dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(creds_dir.path(), &emu.client_id, &emu.client_secret);
    let a = checkout(&emu.url(), &creds);
    // One checkout names the database in .config, the other through PG_CONN_STR.
    a.set(&format!(
        "TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR=\"{}\"",
        pg.conn_str()
    ));
    let b = checkout(&emu.url(), &creds);
    let with_env = |p: &Project, args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.env("PG_CONN_STR", pg.conn_str());
        cmd
    };

    // Both first bringups at once, on a database with no schema yet.
    let first = a.command(&["bringup"]).spawn().unwrap();
    let second = with_env(&b, &["bringup"]).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "A: {}", text(&first));
    assert!(second.status.success(), "B: {}", text(&second));
    let live = emu.live();
    assert_eq!(live.len(), 2, "exactly the configured nodes: {live:#?}");
    assert_eq!(emu.ssh_keys(), 1, "one team key");
    assert!(!a
        .dir()
        .join("terraform/datacrunch/terraform.tfstate")
        .exists());

    // B sees what A made; a second bringup from B changes nothing.
    let out = with_env(&b, &["status", "--json"]).output().unwrap();
    let nodes: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(nodes.len(), 2, "{}", text(&out));
    let again = with_env(&b, &["bringup"]).output().unwrap();
    assert!(again.status.success(), "{}", text(&again));
    let ids: Vec<_> = emu.live().iter().map(|i| i["id"].clone()).collect();
    assert_eq!(
        ids,
        live.iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
    );

    // A lock held by a process that is then killed: bringup waits, saying so, and goes
    // on once the database drops the dead session's lock.
    let holder = pg.hold_state_lock();
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("stderr");
    let mut waiting = with_env(&b, &["bringup"])
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut said = false;
    for _ in 0..1200 {
        said = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("waiting for the state lock held by another checkout");
        if said {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(holder);
    let status = waiting.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(said && status.success(), "{stderr}");
    assert_eq!(emu.live().len(), 2);

    // A destroy from B removes them all, A's view included.
    let out = with_env(&b, &["destroy"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(emu.live().is_empty());
    assert!(a.status().is_empty());
}

#[test]
fn a_database_that_is_down_is_named_and_nothing_is_created() {
    if Postgres::start().is_none() {
        return;
    }
    let emu = TeamEmulator::start();
    let creds_dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(creds_dir.path(), &emu.client_id, &emu.client_secret);
    let p = checkout(&emu.url(), &creds);
    let nowhere = tempfile::tempdir().unwrap();
    let conn = format!(
        "host={} port=5999 user=postgres dbname=postgres sslmode=disable",
        nowhere.path().display()
    );
    p.set(&format!(
        "TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR=\"{conn}\""
    ));
    let err = p.fails(&["bringup"]);
    assert!(
        err.contains(&format!(
            "cannot use the Terraform state in PostgreSQL host={}",
            nowhere.path().display()
        )) && err.contains("nothing was created"),
        "{err}"
    );
    assert!(emu.live().is_empty());

    // No connection string at all: the options to set are named.
    let q = checkout(&emu.url(), &creds);
    let out = q
        .command(&["bringup"])
        .env_remove("PG_CONN_STR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("CONFIG_TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR")
            && err.contains("PG_CONN_STR"),
        "{err}"
    );
}
