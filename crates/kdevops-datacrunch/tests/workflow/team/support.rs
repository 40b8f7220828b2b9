//! What the team tests run against: a private PostgreSQL, the standalone emulator a
//! team shares, the team's checkouts and credentials file, and a stopped lock holder.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{http, http_with, text, workflow_bin, Project};

/// `datacrunch-emulator` run standalone, as a team runs it: one API for every checkout.
pub(super) struct TeamEmulator {
    child: std::process::Child,
    pub(super) base: String,
    client_id: String,
    client_secret: String,
    _log: tempfile::TempDir,
}

impl TeamEmulator {
    pub(super) fn start() -> Self {
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

    pub(super) fn url(&self) -> String {
        format!("{}/v1", self.base)
    }

    /// Instances the API lists and that are not gone.
    pub(super) fn live(&self) -> Vec<serde_json::Value> {
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

    pub(super) fn ssh_keys(&self) -> usize {
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
pub(super) struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// Set when the tests run as root: the server runs as `nobody` (it refuses root).
    as_nobody: bool,
}

const NOBODY: u32 = 65534;
const PORT: u16 = 5433;

impl Postgres {
    /// Starts one, or `None` (with the reason printed) when the binaries are absent.
    pub(super) fn start() -> Option<Self> {
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
    pub(super) fn conn_str(&self) -> String {
        format!(
            "host={} port={PORT} user=postgres dbname=postgres sslmode=disable",
            self.dir.path().display()
        )
    }
}

/// A `psql` session holding the state's advisory lock (as Terraform's pg backend
/// takes it: the id of the workspace's row); killed on drop.
pub(super) struct LockHolder(std::process::Child);

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Postgres {
    pub(super) fn hold_state_lock(&self) -> LockHolder {
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

impl Postgres {
    /// `psql -At -c SQL` on the state's database.
    pub(super) fn sql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([&self.conn_str(), "-X", "-At", "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Whether a Terraform run of workflow process `pid` holds the state's lock (the
    /// workflow names its runs' sessions `... pid <pid>`).
    pub(super) fn lock_held_by(&self, pid: u32) -> bool {
        self.sql(&format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
             WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE '% pid {pid}'"
        )) != "0"
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
pub(super) fn checkout(url: &str, credentials: &Path) -> Project {
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

pub(super) fn credentials_file(dir: &Path, id: &str, secret: &str) -> PathBuf {
    let path = dir.join("credentials");
    std::fs::write(
        &path,
        format!("[default]\nclient_id = {id}\nclient_secret = {secret}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// What every team test starts from: the database, the shared emulator and the
/// credentials file every checkout names.
pub(super) struct Team {
    pub(super) pg: Postgres,
    pub(super) emu: TeamEmulator,
    pub(super) creds: PathBuf,
    pub(super) _creds_dir: tempfile::TempDir,
}

impl Team {
    /// `None` (said why) without PostgreSQL.
    pub(super) fn start() -> Option<Self> {
        let pg = Postgres::start()?;
        let emu = TeamEmulator::start();
        let creds_dir = tempfile::tempdir().unwrap();
        let creds = credentials_file(creds_dir.path(), &emu.client_id, &emu.client_secret);
        Some(Self {
            pg,
            emu,
            creds,
            _creds_dir: creds_dir,
        })
    }
}

/// `pid` and every process below it (Terraform runs in a process group of its own, so
/// a signal to the workflow's group would miss it).
pub(super) fn process_tree(pid: u32) -> Vec<i32> {
    let mut tree = vec![i32::try_from(pid).unwrap()];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(parent) && !tree.contains(&child) {
                tree.push(child);
            }
        }
        next += 1;
    }
    tree
}

/// A workflow run stopped with its process tree; killed on drop (a stopped process
/// left behind would hold its database session, and its lock, for good).
pub(super) struct Stopped {
    pub(super) child: std::process::Child,
    pub(super) tree: Vec<i32>,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal_all(&self.tree, rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn signal_all(pids: &[i32], signal: rustix::process::Signal) {
    for pid in pids
        .iter()
        .filter_map(|&p| rustix::process::Pid::from_raw(p))
    {
        let _ = rustix::process::kill_process(pid, signal);
    }
}
