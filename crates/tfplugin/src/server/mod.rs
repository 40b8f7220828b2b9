//! Serving: [`serve`] runs the whole life of a provider process — logging,
//! panic hook, handshake, TLS, the gRPC services, and a prompt exit when
//! Terraform calls GRPCController.Shutdown. SIGINT is ignored (Terraform
//! signals the whole process group on Ctrl-C and then calls StopProvider,
//! which cancels in-flight operations instead of killing them), except once
//! StopProvider was called: a second Ctrl-C makes Terraform exit at once
//! without Shutdown, so the provider stops too. SIGTERM, that second SIGINT
//! and Shutdown all end serving gracefully, which removes the socket file.

mod actions;
mod calls;
mod controller;
mod convert;
mod grpc;
pub mod handshake;
mod identity;
mod metadata;
mod ops;
mod query;
pub mod tls;
mod transport;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use crate::proto::plugin::{
    grpc_broker_server::GrpcBrokerServer, grpc_controller_server::GrpcControllerServer,
    grpc_stdio_server::GrpcStdioServer,
};
use crate::proto::tfplugin6::provider_server::ProviderServer;
use crate::traits::Provider;

pub use grpc::ProviderService;

/// terraform-plugin-go's limit; tonic's default of 4 MiB is too small for big states.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// Options for [`serve_with`]; [`serve`] reads them from argv and the environment.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Serve without Terraform starting us: no cookie, no TLS, print the
    /// `TF_REATTACH_PROVIDERS` value and keep serving until Ctrl-C.
    pub debug: bool,
}

/// Runs the provider: call it from `main` and nothing else.
/// `--debug` on the command line selects reattach mode. Never returns.
///
/// The server runs on a single-threaded tokio runtime and each provider
/// call on a thread of its own (`calls`), so a resource that blocks or burns
/// CPU in one call does not stall StopProvider or Shutdown arriving
/// meanwhile, nor the other calls. Resources should still use async I/O:
/// a blocked call holds a thread for as long as it blocks.
pub fn serve<P: Provider>(provider: P) -> ! {
    let debug = std::env::args()
        .skip(1)
        .any(|a| a == "--debug" || a == "-debug");
    serve_with(provider, ServeOptions { debug })
}

/// [`serve`] with explicit options.
pub fn serve_with<P: Provider>(provider: P, opts: ServeOptions) -> ! {
    crate::log::install_panic_hook();
    crate::log::init();
    if !opts.debug {
        if let Err(e) = handshake::check_environment(|k| std::env::var(k).ok()) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(run(Arc::new(provider), opts));
    // Dropping the runtime could wait on blocked tasks; exit right away.
    std::process::exit(code)
}

async fn run(provider: Arc<dyn Provider>, opts: ServeOptions) -> i32 {
    match run_inner(provider, opts).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("Error: {e:#}");
            1
        }
    }
}

/// Removes the socket file when serving ends, however it ends.
struct SocketGuard(PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn run_inner(provider: Arc<dyn Provider>, opts: ServeOptions) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let stop_requested = CancellationToken::new();
    watch_signals(opts.debug, shutdown.clone(), stop_requested.clone())?;
    if !opts.debug {
        exit_with_parent(shutdown.clone());
    }

    let path = handshake::socket_path(std::env::var("PLUGIN_UNIX_SOCKET_DIR").ok());
    let listener =
        UnixListener::bind(&path).map_err(|source| handshake::HandshakeError::Listen {
            dir: path.parent().map(PathBuf::from).unwrap_or_default(),
            source,
        })?;
    let _guard = SocketGuard(path.clone());

    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|c| !c.is_empty());
    let (tls, cert_der) = match (&client_cert, opts.debug) {
        (Some(pem), false) => {
            let identity = tls::generate_identity()?;
            let client_der = tls::parse_client_cert(pem)?;
            let cfg = tls::server_config(&identity, client_der)?;
            (Some(Arc::new(cfg)), Some(identity.cert_der))
        }
        // No client cert: Terraform runs with TF_DISABLE_PLUGIN_TLS (or we debug).
        _ => (None, None),
    };

    if opts.debug {
        print_reattach(&provider.address(), &path)?;
    } else {
        handshake::announce(&handshake::handshake_line(&path, cert_der.as_deref()))?;
    }
    tracing::debug!(socket = %path.display(), tls = tls.is_some(), "plugin server listening");

    let incoming = transport::incoming(listener, tls);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let server = Server::builder()
        .add_service(calls::OwnThread::new(move || {
            let service =
                ProviderService::new(provider.clone()).notify_stop(stop_requested.clone());
            ProviderServer::new(service)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE)
        }))
        .add_service(GrpcControllerServer::new(controller::Controller::new(
            shutdown.clone(),
            opts.debug,
        )))
        .add_service(GrpcStdioServer::new(controller::Unused))
        .add_service(GrpcBrokerServer::new(controller::Unused))
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());

    tokio::select! {
        r = server => r?,
        // Graceful shutdown waits for Terraform to hang up; don't let that
        // exceed its 2-second patience.
        _ = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_millis(500)).await } => {}
    }
    tracing::debug!("plugin server stopped");
    Ok(())
}

/// Replaces SIGINT's default action (terminate) by a handler that only logs,
/// so Ctrl-C in Terraform's terminal does not kill us mid-apply. A SIGINT
/// after StopProvider is the second Ctrl-C, on which Terraform exits without
/// calling Shutdown: it stops the server. In debug mode Ctrl-C is for the
/// human running us and stops the server. SIGTERM stops the server
/// gracefully. Stopping the server removes the socket file.
fn watch_signals(
    debug: bool,
    shutdown: CancellationToken,
    stop_requested: CancellationToken,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = sigint.recv() => {
                    if debug {
                        break;
                    }
                    if stop_requested.is_cancelled() {
                        tracing::info!("SIGINT after StopProvider: Terraform is exiting at once; stopping");
                        break;
                    }
                    tracing::debug!("ignoring SIGINT; Terraform will call StopProvider");
                }
                Some(()) = sigterm.recv() => break,
                else => return,
            }
        }
        shutdown.cancel();
    });
    Ok(())
}

/// Stops serving when Terraform dies without calling Shutdown (killed,
/// crashed): we would otherwise linger forever holding a socket. The
/// parent changes (to init or a subreaper) exactly when it exits.
fn exit_with_parent(shutdown: CancellationToken) {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if std::os::unix::process::parent_id() != parent {
                tracing::warn!("Terraform exited without stopping the provider; exiting too");
                shutdown.cancel();
                return;
            }
        }
    });
}

/// The human-facing output of `--debug` (the one sanctioned stdout use
/// besides the handshake line).
fn print_reattach(address: &str, socket: &std::path::Path) -> anyhow::Result<()> {
    let value = serde_json::json!({
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": {"Network": "unix", "String": socket.display().to_string()},
        }
    });
    let text = format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{value}'\n\n"
    );
    handshake::announce(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests;
