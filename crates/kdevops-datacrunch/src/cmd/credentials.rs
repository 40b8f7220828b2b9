//! `credentials set|check|test`: write the INI file (mode 0600), check it, or prove the
//! API accepts it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::credentials::{self, Credentials};
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
    /// Check the file exists, is private and has the profile.
    Check {
        #[command(flatten)]
        file: FileArgs,
    },
    /// Ask the API for a token with the profile.
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
    /// The credentials file.
    #[arg(
        long,
        env = "DATACRUNCH_CREDENTIALS_FILE",
        default_value = "~/.datacrunch/credentials"
    )]
    file: String,
    /// The profile (INI section).
    #[arg(long, default_value = "default")]
    profile: String,
}

impl FileArgs {
    fn path(&self, project: &Project) -> PathBuf {
        // Relative paths are relative to where the command runs, not the topdir.
        if self.file.starts_with('~') {
            project.expand(&self.file)
        } else {
            PathBuf::from(&self.file)
        }
    }
}

pub async fn run(project: &Project, command: CredentialsCommand) -> Result<()> {
    match command {
        CredentialsCommand::Set {
            file,
            client_id,
            client_secret,
        } => {
            let path = file.path(project);
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
            credentials::write_profile(
                &path,
                &file.profile,
                &Credentials {
                    client_id,
                    client_secret,
                },
            )?;
            println!(
                "Wrote profile [{}] to {} (mode 0600)",
                file.profile,
                path.display()
            );
        }
        CredentialsCommand::Check { file } => {
            let path = file.path(project);
            let creds = credentials::read_profile(&path, &file.profile)?;
            println!(
                "{} [{}]: client_id {}, secret present, mode 0600",
                path.display(),
                file.profile,
                creds.client_id
            );
        }
        CredentialsCommand::Test { file, url } => {
            let path = file.path(project);
            let creds = credentials::read_profile(&path, &file.profile)?;
            let client = datacrunch_client::Client::builder()
                .base_url(&url)
                .client_credentials(creds.client_id, creds.client_secret)
                .timeout(Duration::from_secs(30))
                .build()
                .with_context(|| format!("bad API URL {url:?}"))?;
            if let Err(e) = client.authenticate().await {
                if e.is_unauthorized() || e.status() == Some(400) {
                    bail!(
                        "{url} rejected the credentials in {} [{}]: {e}",
                        path.display(),
                        file.profile
                    );
                }
                bail!("cannot get a token from {url}: {e}");
            }
            let balance = client.balance().await.ok();
            match balance {
                Some(b) => println!(
                    "OK: {url} accepted [{}]; balance {} {}",
                    file.profile, b.amount, b.currency
                ),
                None => println!("OK: {url} accepted [{}]", file.profile),
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
