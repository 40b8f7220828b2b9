//! `kdevops-datacrunch`: the kdevops workflow for DataCrunch (Verda) GPU machines.
//!
//! The Makefile targets (`make bringup`, `status`, `destroy`, `catalog`, `credentials`)
//! call this binary; users never type `terraform`. Layout, one module per concern:
//!
//! * [`kconfig`], [`settings`]: `.config` to typed settings (every Kconfig symbol is read
//!   in `settings`);
//! * [`project`]: the paths and the per-project hash;
//! * [`credentials`]: the workflow's options mapped onto the client's credentials module;
//! * [`api`], [`emulator`]: an API client for the configured endpoint, starting the
//!   local emulator when that is the endpoint;
//! * [`fleet`]: what exists (API and state), what to keep, adopt or delete, where
//!   nodes go and the capacity fallback;
//! * [`terraform_binary`]: which Terraform runs, and why;
//! * [`terraform`], [`tfvars`], [`backend`]: running Terraform and feeding it, and where
//!   its state lives (this checkout, or a team's PostgreSQL); [`owner_only`]: its
//!   state files stay private;
//! * [`sshconfig`], [`sshkey`]: what is written for ssh and Ansible, and the key pair;
//! * [`atomic_write`]: every rewrite of a file the user may own: atomic, keeping its
//!   mode, owner, line endings and symbolic link;
//! * [`state_lock`]: who holds the team state's lock, and what releases it;
//! * [`budget`], [`ttl`]: what the fleet costs over its lifetime, the refusals before
//!   creating, and each node's expiry tag;
//! * [`progress`]: phase lines with elapsed time;
//! * [`interrupt`], [`interrupt_report`], [`process`]: Ctrl-C and SIGTERM during bringup
//!   and destroy (Terraform stops gracefully, nothing billed is left unknown), and what
//!   is left afterwards;
//! * `cmd/*`: one file per subcommand, thin entry points over [`fleet`].

mod api;
mod atomic_write;
mod backend;
mod budget;
mod cmd;
mod credentials;
mod emulator;
mod fleet;
mod interrupt;
mod interrupt_report;
mod kconfig;
mod owner_only;
mod process;
mod progress;
mod project;
mod settings;
mod ssh_wait;
mod sshconfig;
mod sshkey;
mod state_lock;
mod terraform;
mod terraform_binary;
mod tfvars;
mod ttl;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The kdevops workflow for DataCrunch (Verda) GPU machines: bring nodes up from
/// `.config`, show what they cost, tear them down.
#[derive(Debug, Parser)]
#[command(name = "kdevops-datacrunch", version)]
struct Cli {
    /// The kdevops tree (holds terraform/datacrunch/, .local/ and the inventory).
    #[arg(long, global = true, default_value = ".")]
    topdir: PathBuf,
    /// The Kconfig .config to read (default: TOPDIR/.config).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write, check or test the API credentials file.
    #[command(subcommand)]
    Credentials(cmd::credentials::CredentialsCommand),
    /// Instance types with prices and live availability per location.
    Catalog(cmd::catalog::CatalogArgs),
    /// Pick the first type of a tier group with live capacity.
    SelectTier(cmd::select_tier::SelectTierArgs),
    /// Create the configured nodes (or the missing ones), then write ssh config and inventory.
    Bringup(cmd::bringup::BringupArgs),
    /// Nodes, type, location, IP, hourly price and money spent so far.
    Status(cmd::status::StatusArgs),
    /// Delete every node of this project, verify through the API, clean up.
    Destroy,
    /// Move the expiry of this project's nodes (or cluster) to now + TTL (e.g. `4h`);
    /// also brings up nodes that are missing.
    Extend(cmd::extend::ExtendArgs),
    /// Delete every expired kdevops instance and cluster of the account (any project,
    /// any checkout), after showing what each cost; needs no .config.
    Reap(cmd::reap::ReapArgs),
    /// List this project's instances that Terraform's state lacks (as `terraform
    /// query` does) and import the ones that are configured nodes.
    Adopt(cmd::adopt::AdoptArgs),
    /// Shut down this project's nodes (or `--node NAME`); they still bill while off.
    PowerOff(cmd::power::PowerArgs),
    /// Start this project's nodes (or `--node NAME`) again.
    PowerOn(cmd::power::PowerArgs),
    /// Print the settings read from .config (what bringup will use) as JSON.
    ShowConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Everything this tool writes (state, tfvars, keys, ssh config, credentials) is
    // private; Terraform inherits the mask too.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A stop by signal was explained by the report already.
            if !err.is::<interrupt::Interrupted>() {
                // One line that says what to fix; the causes follow on the same line.
                eprintln!("error: {}", format!("{err:#}").replace('\n', " "));
            }
            match interrupt::requested() {
                Some(stop) => ExitCode::from(stop.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let project = project::Project::new(&cli.topdir, cli.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Credentials(c) => runtime.block_on(cmd::credentials::run(&project, c)),
        Command::Catalog(a) => runtime.block_on(cmd::catalog::run(&project, a)),
        Command::SelectTier(a) => runtime.block_on(cmd::select_tier::run(&project, a)),
        Command::Bringup(a) => stoppable(&runtime, &project, cmd::bringup::run(&project, a)),
        Command::Status(a) => runtime.block_on(cmd::status::run(&project, a)),
        Command::Destroy => stoppable(&runtime, &project, cmd::destroy::run(&project)),
        Command::Extend(a) => stoppable(&runtime, &project, cmd::extend::run(&project, a)),
        Command::Reap(a) => runtime.block_on(cmd::reap::run(&project, a)),
        Command::Adopt(a) => stoppable(&runtime, &project, cmd::adopt::run(&project, a)),
        Command::PowerOff(a) => stoppable(
            &runtime,
            &project,
            cmd::power::run(&project, a, cmd::power::Power::Off),
        ),
        Command::PowerOn(a) => stoppable(
            &runtime,
            &project,
            cmd::power::run(&project, a, cmd::power::Power::On),
        ),
        Command::ShowConfig => cmd::show_config(&project),
    }
}

/// Runs a command that runs Terraform with Ctrl-C and SIGTERM caught ([`interrupt`]):
/// a running Terraform stops gracefully; otherwise the command stops at its next await.
/// After a stop, the report says what exists and what to run next.
fn stoppable(
    runtime: &tokio::runtime::Runtime,
    project: &project::Project,
    command: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    interrupt::install()?;
    runtime.block_on(async {
        let result = tokio::select! {
            result = command => result,
            () = interrupt::stop_requested() => Err(interrupt::Interrupted.into()),
        };
        if let (Err(_), Some(stop)) = (&result, interrupt::requested()) {
            interrupt_report::print(project, stop).await;
        }
        result
    })
}
