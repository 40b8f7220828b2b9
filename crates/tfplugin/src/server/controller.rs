//! go-plugin's side services: GRPCController (Shutdown → exit promptly) and
//! the stdio/broker services, which Terraform providers do not need and
//! which answer Unimplemented through the generated default methods.

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::proto::plugin::{
    grpc_broker_server::GrpcBroker, grpc_controller_server::GrpcController,
    grpc_stdio_server::GrpcStdio, Empty,
};

pub(super) struct Controller {
    shutdown: CancellationToken,
    debug: bool,
}

impl Controller {
    pub(super) fn new(shutdown: CancellationToken, debug: bool) -> Self {
        Self { shutdown, debug }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _req: Request<Empty>) -> Result<Response<Empty>, Status> {
        if self.debug {
            // A debug server outlives the Terraform commands attached to it.
            tracing::info!("ignoring Shutdown in debug mode");
        } else {
            tracing::debug!("Shutdown requested");
            self.shutdown.cancel();
        }
        Ok(Response::new(Empty {}))
    }
}

/// Placeholder for services we register but do not implement.
pub(super) struct Unused;

#[tonic::async_trait]
impl GrpcStdio for Unused {}

#[tonic::async_trait]
impl GrpcBroker for Unused {}
