//! `credentials set|check|test`: write the INI file (mode 0600), check what the shared
//! discovery finds (INI or JSON, file or environment), or prove the API accepts it.
//!
//! The secret never goes on a command line (shell history, `ps`): `set` reads it from
//! the terminal without echo, or as one line from standard input when that is not a
//! terminal (a pipe from a password manager). `test` asks the endpoint `.config`
//! configures, the one bringup will use.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};

use datacrunch_client::credentials::{ProcessEnv, Setting};
use datacrunch_client::{Credentials, Secret};

use crate::api;
use crate::cmd::load_settings;
use crate::credentials;
use crate::project::Project;
use crate::settings::{Endpoint, Settings};

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Write a profile: asks for the client ID (unless given) and the client secret, which
    /// is not shown while typed (read as one line from standard input when that is not a
    /// terminal).
    Set {
        #[command(flatten)]
        file: FileArgs,
        #[arg(long)]
        client_id: Option<String>,
    },
    /// Find the credentials as bringup and the provider do; check the file is private.
    Check {
        #[command(flatten)]
        file: FileArgs,
    },
    /// Ask the API for a token with the credentials found: the API .config configures
    /// (the local emulator, with its own credentials, when that is the endpoint).
    Test {
        #[command(flatten)]
        file: FileArgs,
        /// API base URL instead of the configured one (DataCrunch's without a .config).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// The credentials file, INI or JSON. Without it: DATACRUNCH_CLIENT_ID/_SECRET, else
    /// DATACRUNCH_CREDENTIALS_FILE, else ~/.datacrunch/credentials, else
    /// ~/datacrunch-credentials.json (`set` writes ~/.datacrunch/credentials).
    #[arg(long)]
    file: Option<String>,
    /// The profile (INI section); default DATACRUNCH_PROFILE, else "default".
    #[arg(long)]
    profile: Option<String>,
}

impl FileArgs {
    fn path_of(project: &Project, file: &str) -> PathBuf {
        // Relative paths are relative to where the command runs, not the topdir.
        if file.starts_with('~') {
            project.expand(file)
        } else {
            PathBuf::from(file)
        }
    }

    /// The named file, `~` expanded.
    fn explicit(&self, project: &Project) -> Option<String> {
        self.file
            .as_deref()
            .map(|f| Self::path_of(project, f).display().to_string())
    }

    /// Where `set` writes: the named file, else DATACRUNCH_CREDENTIALS_FILE, else the
    /// default INI file.
    fn target(&self, project: &Project) -> PathBuf {
        let file = self
            .file
            .clone()
            .or_else(|| {
                Setting::CredentialsFile
                    .from_env(&ProcessEnv)
                    .map(|(_, f)| f)
            })
            .unwrap_or_else(|| credentials::DEFAULT_INI_FILE.to_owned());
        Self::path_of(project, &file)
    }

    fn find(&self, project: &Project) -> Result<credentials::Resolved> {
        credentials::resolve(
            self.explicit(project).as_deref(),
            self.profile.as_deref(),
            &ProcessEnv,
        )
    }

    /// As bringup finds them for `settings` (its file and profile options), unless
    /// `--file`/`--profile` say otherwise.
    fn find_configured(
        &self,
        project: &Project,
        settings: &Settings,
    ) -> Result<credentials::Resolved> {
        let file = self.explicit(project).or_else(|| {
            credentials::explicit_file(&settings.credentials_file)
                .map(|f| project.expand(f).display().to_string())
        });
        let profile = self
            .profile
            .as_deref()
            .unwrap_or(&settings.credentials_profile);
        credentials::resolve(file.as_deref(), Some(profile), &ProcessEnv)
    }
}

pub async fn run(project: &Project, command: CredentialsCommand) -> Result<()> {
    match command {
        CredentialsCommand::Set { file, client_id } => {
            let path = file.target(project);
            let profile = file.profile.as_deref().unwrap_or("default");
            let client_id = match client_id {
                Some(v) => v,
                None => read_client_id()?,
            };
            let client_secret = read_secret()?;
            if client_id.trim().is_empty() || client_secret.trim().is_empty() {
                bail!("client ID and client secret must not be empty");
            }
            credentials::write_profile(&path, profile, &client_id, &Secret::new(client_secret))?;
            println!(
                "Wrote profile [{profile}] to {} (mode 0600)",
                path.display()
            );
        }
        CredentialsCommand::Check { file } => {
            let found = file.find(project)?;
            match &found.credentials {
                Credentials::ClientCredentials { client_id, .. } => println!(
                    "{}: client_id {client_id}, secret present",
                    found.describe()
                ),
                Credentials::Bearer(_) => println!("{}: a bearer token", found.describe()),
            }
        }
        CredentialsCommand::Test { file, url } => {
            let settings = project
                .config
                .is_file()
                .then(|| load_settings(project))
                .transpose()?;
            let configured = settings.as_ref().map(|s| &s.endpoint);
            match (url, configured) {
                (Some(url), _) => test_url(&url, &file.find(project)?).await?,
                (None, Some(Endpoint::Url(url))) => {
                    let settings = settings.as_ref().context("settings")?;
                    test_url(url, &file.find_configured(project, settings)?).await?
                }
                (None, Some(Endpoint::Emulator)) => {
                    let settings = settings.as_ref().context("settings")?;
                    let api = api::connect(project, settings).await?;
                    println!(
                        "OK: {} selects the local emulator, which accepted {} at {}; \
                         your DataCrunch credentials are used once .config selects DataCrunch \
                         (or test them now with --url)",
                        project.config.display(),
                        api.credentials_source,
                        api.server_url
                    );
                }
                (None, None) => {
                    test_url(datacrunch_client::DEFAULT_BASE_URL, &file.find(project)?).await?
                }
            }
        }
    }
    Ok(())
}

/// Asks `url` for a token with `found`, and for the balance to show.
async fn test_url(url: &str, found: &credentials::Resolved) -> Result<()> {
    let client = datacrunch_client::Client::builder()
        .base_url(url)
        .credentials(found.credentials.clone())
        .timeout(Duration::from_secs(30))
        .build()
        .with_context(|| format!("bad API URL {url:?}"))?;
    if let Err(e) = client.authenticate().await {
        if e.is_unauthorized() || e.status() == Some(400) {
            bail!(
                "{url} rejected the credentials from {}: {e}",
                found.describe()
            );
        }
        bail!("cannot get a token from {url}: {e}");
    }
    match client.balance().await.ok() {
        Some(b) => println!(
            "OK: {url} accepted {}; balance {} {}",
            found.describe(),
            b.amount,
            b.currency
        ),
        None => println!("OK: {url} accepted {}", found.describe()),
    }
    Ok(())
}

/// The client ID: asked for on a terminal (it is no secret, so shown), else one line of
/// standard input.
fn read_client_id() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("DataCrunch client ID: ");
        std::io::stderr().flush()?;
    }
    read_line("the client ID")
}

/// The client secret: typed at the terminal without echo, else one line of standard
/// input (nothing is printed either way).
fn read_secret() -> Result<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("DataCrunch client secret (not shown): ")
            .context("cannot read the client secret from the terminal");
    }
    read_line("the client secret")
}

/// One line of standard input without its line ending.
fn read_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("cannot read {what} from standard input"))?;
    if line.is_empty() {
        return Err(anyhow!(
            "no input for {what}: run `make credentials` in a terminal, or pipe it in on its own line"
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
