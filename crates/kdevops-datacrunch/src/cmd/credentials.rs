//! `credentials set|check|test`: write the INI file (mode 0600), check what the shared
//! discovery finds (INI or JSON, file or environment), or prove the API accepts it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use datacrunch_client::credentials::{ProcessEnv, Setting};
use datacrunch_client::{Credentials, Secret};

use crate::credentials;
use crate::project::Project;

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Write a profile (asks for values not given as options).
    Set {
        #[command(flatten)]
        file: FileArgs,
        #[arg(long)]
        client_id: Option<String>,
        /// Prefer typing it at the prompt: options end up in shell history.
        #[arg(long)]
        client_secret: Option<String>,
    },
    /// Find the credentials as bringup and the provider do; check the file is private.
    Check {
        #[command(flatten)]
        file: FileArgs,
    },
    /// Ask the API for a token with the credentials found.
    Test {
        #[command(flatten)]
        file: FileArgs,
        /// API base URL.
        #[arg(long, default_value = datacrunch_client::DEFAULT_BASE_URL)]
        url: String,
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
}

pub async fn run(project: &Project, command: CredentialsCommand) -> Result<()> {
    match command {
        CredentialsCommand::Set {
            file,
            client_id,
            client_secret,
        } => {
            let path = file.target(project);
            let profile = file.profile.as_deref().unwrap_or("default");
            let client_id = match client_id {
                Some(v) => v,
                None => prompt("DataCrunch client ID: ")?,
            };
            let client_secret = match client_secret {
                Some(v) => v,
                None => prompt("DataCrunch client secret: ")?,
            };
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
            let found = file.find(project)?;
            let client = datacrunch_client::Client::builder()
                .base_url(&url)
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
            let balance = client.balance().await.ok();
            match balance {
                Some(b) => println!(
                    "OK: {url} accepted {}; balance {} {}",
                    found.describe(),
                    b.amount,
                    b.currency
                ),
                None => println!("OK: {url} accepted {}", found.describe()),
            }
        }
    }
    Ok(())
}

/// One line from the terminal (or stdin when piped).
fn prompt(question: &str) -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{question}");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    if line.is_empty() {
        bail!("no input for {question:?}: pass --client-id and --client-secret");
    }
    Ok(line.trim().to_owned())
}
