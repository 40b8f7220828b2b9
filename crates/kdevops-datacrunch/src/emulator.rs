//! The local emulator as this project's API: started in the background on first use,
//! found again by later commands, stopped by destroy.
//!
//! Everything lives in `<topdir>/.local/emulator/`: `state.sqlite` (so `status` and
//! `destroy` see the instances `bringup` made), `credentials` (a generated profile,
//! mode 0600, that the provider reads like any credentials file), `pid`, `url` and
//! `emulator.log`. The binary is `datacrunch-emulator` next to this one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use datacrunch_client::Secret;

use crate::credentials;
use crate::process::{is_alive, signal};
use crate::project::Project;

/// The profile name in the emulator's credentials file.
pub const PROFILE: &str = "emulator";
const BINARY: &str = "datacrunch-emulator";

/// A running emulator.
#[derive(Debug, Clone)]
pub struct Emulator {
    pub url: String,
    pub credentials_file: PathBuf,
    pub pid: i32,
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn pid(&self) -> PathBuf {
        self.dir.join("pid")
    }
    fn url(&self) -> PathBuf {
        self.dir.join("url")
    }
    fn log(&self) -> PathBuf {
        self.dir.join("emulator.log")
    }
    fn state(&self) -> PathBuf {
        self.dir.join("state.sqlite")
    }
    fn credentials(&self) -> PathBuf {
        self.dir.join("credentials")
    }
}

/// A sibling binary of this one (same cargo target directory).
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot locate the kdevops-datacrunch binary")?;
    let path = me.with_file_name(name);
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "{} not found next to {}: build it with `cargo build -p {name}` (make bringup does)",
            path.display(),
            me.display()
        )
    }
}

/// The running emulator of this project, if any.
pub fn find(project: &Project) -> Result<Option<Emulator>> {
    let files = Files {
        dir: project.emulator_dir(),
    };
    let (Ok(pid), Ok(url)) = (
        fs::read_to_string(files.pid()),
        fs::read_to_string(files.url()),
    ) else {
        return Ok(None);
    };
    let Ok(pid) = pid.trim().parse::<i32>() else {
        return Ok(None);
    };
    if !is_our_emulator(pid) {
        return Ok(None);
    }
    Ok(Some(Emulator {
        url: url.trim().to_owned(),
        credentials_file: files.credentials(),
        pid,
    }))
}

/// How to bring a dead or unanswering emulator back, for error messages.
pub fn restart_hint(project: &Project) -> String {
    format!(
        "`make bringup` restarts it (the workflow's command: `kdevops-datacrunch --topdir {} bringup`), \
         keeping its instances; its log is {}",
        project.topdir.display(),
        project.emulator_dir().join("emulator.log").display()
    )
}

/// The running emulator, started now when none runs, or restarted when its process
/// lives but its URL does not answer (stopped, hung, or the url file is stale): the
/// instances live in its state file, so a new process serves them again. Says so.
pub fn ensure_running(project: &Project) -> Result<Emulator> {
    if let Some(running) = find(project)? {
        if answers(&running.url) {
            return Ok(running);
        }
        eprintln!(
            "note: the local emulator (pid {}) does not answer at {}: restarting it",
            running.pid, running.url
        );
        stop(project)?;
    }
    let files = Files {
        dir: project.emulator_dir(),
    };
    fs::create_dir_all(&files.dir)
        .with_context(|| format!("cannot create {}", files.dir.display()))?;
    let (client_id, client_secret) = match credentials::read_file(&files.credentials(), PROFILE) {
        Ok(found) => found,
        Err(_) => {
            let id = format!("emulator-{}", uuid::Uuid::new_v4().simple());
            let secret = Secret::new(uuid::Uuid::new_v4().simple().to_string());
            credentials::write_profile(&files.credentials(), PROFILE, &id, &secret)?;
            (id, secret)
        }
    };
    let binary = sibling_binary(BINARY)?;
    let log = fs::File::create(files.log())
        .with_context(|| format!("cannot write {}", files.log().display()))?;
    let mut cmd = Command::new(&binary);
    cmd.arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--state")
        .arg(files.state())
        .arg("--client-id")
        .arg(&client_id)
        // In the environment, not on the command line, where every user sees it in `ps`.
        .env("DATACRUNCH_EMULATOR_CLIENT_SECRET", client_secret.expose())
        .env_remove("DATACRUNCH_EMULATOR_CLIENT_SECRET_FILE")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: Ctrl-C on `make bringup` must not kill the API that holds
    // the instances; `make destroy` stops it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = i32::try_from(child.id()).context("emulator pid out of range")?;
    let url = wait_for_url(&files.log(), pid, Duration::from_secs(15))?;
    fs::write(files.pid(), format!("{pid}\n"))?;
    fs::write(files.url(), format!("{url}\n"))?;
    println!(
        "Using the local emulator at {url} (free; no real machines). State: {}",
        files.state().display()
    );
    Ok(Emulator {
        url,
        credentials_file: files.credentials(),
        pid,
    })
}

/// Whether something accepts a connection at the host and port of `url`.
fn answers(url: &str) -> bool {
    use std::net::ToSocketAddrs;
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
        })
}

/// Reads the emulator's log until it prints its base URL.
fn wait_for_url(log: &Path, pid: i32, timeout: Duration) -> Result<String> {
    let start = Instant::now();
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if let Some(url) = text
            .split_whitespace()
            .find(|w| w.starts_with("http://127.") || w.starts_with("http://localhost"))
        {
            let url = url.trim_end_matches(['.', ',']).trim_end_matches('/');
            return Ok(if url.ends_with("/v1") {
                url.to_owned()
            } else {
                format!("{url}/v1")
            });
        }
        if !is_alive(pid) {
            bail!(
                "the emulator exited at start; its log {} says: {}",
                log.display(),
                text.trim()
            );
        }
        if start.elapsed() > timeout {
            bail!(
                "the emulator printed no URL within {timeout:?}; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops this project's emulator (if it runs) and forgets its pid and URL.
pub fn stop(project: &Project) -> Result<bool> {
    let files = Files {
        dir: project.emulator_dir(),
    };
    let stopped = match find(project)? {
        Some(running) => {
            signal(running.pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while is_alive(running.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if is_alive(running.pid) {
                signal(running.pid, rustix::process::Signal::KILL);
            }
            true
        }
        None => false,
    };
    for f in [files.pid(), files.url()] {
        let _ = fs::remove_file(f);
    }
    Ok(stopped)
}

/// The pid runs and is a `datacrunch-emulator` (pids are recycled).
fn is_our_emulator(pid: i32) -> bool {
    is_alive(pid)
        && fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .next()
                    .is_some_and(|argv0| String::from_utf8_lossy(argv0).ends_with(BINARY))
            })
            .unwrap_or(false)
}

/// What the emulator's nodes are, from its admin API (`GET /admin/nodes`).
#[derive(Debug, serde::Deserialize)]
pub struct Nodes {
    /// `sandbox` (nodes answer SSH) or `records` (addresses answer nothing).
    pub mode: String,
    /// Why sandboxes are off, when the emulator wanted them and this machine cannot.
    pub unavailable: Option<String>,
    pub nodes: Vec<NodeAddress>,
}

/// One node's SSH address.
#[derive(Debug, serde::Deserialize)]
pub struct NodeAddress {
    pub ip: std::net::IpAddr,
    pub port: u16,
}

/// Reads the emulator's nodes; `server_url` is its API base (`http://HOST:PORT/v1`).
pub async fn nodes(server_url: &str) -> Result<Nodes> {
    let base = server_url.strip_suffix("/v1").unwrap_or(server_url);
    let url = format!("{base}/admin/nodes");
    let answer = reqwest::get(&url)
        .await
        .with_context(|| format!("cannot read {url}"))?;
    if !answer.status().is_success() {
        anyhow::bail!("{url} answered {}", answer.status());
    }
    answer
        .json()
        .await
        .with_context(|| format!("{url} did not answer the expected JSON"))
}
