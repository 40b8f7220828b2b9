//! Where provider calls run. The server (sockets, TLS, HTTP/2, the controller
//! and health services) runs on a single-threaded runtime; each call of the
//! tfplugin6.Provider service runs on a thread of the runtime's blocking pool
//! of its own, which polls the call's future to completion there. A call that
//! blocks its thread (CPU work, a blocking library) therefore holds only that
//! thread: StopProvider, Shutdown and the other calls in flight are still
//! answered. The pool starts a thread at the first call and keeps idle ones
//! for a few seconds, so a plan's sequence of calls reuses one thread; as many
//! run at once as Terraform has calls in flight (ten by default).
//!
//! Why not a multi-threaded runtime: its scheduler costs resident memory in
//! every provider process Terraform starts (two worker threads waiting from
//! the first instant, and libm, loaded for one `powf` in its statistics), and
//! a call that blocks still takes a worker from every other call.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{http, Service};
use tonic::server::NamedService;
use tonic::Status;

/// A gRPC service whose calls each run on a blocking-pool thread (see the module docs).
#[derive(Clone)]
pub(super) struct OwnThread<S>(pub S);

impl<S: NamedService> NamedService for OwnThread<S> {
    const NAME: &'static str = S::NAME;
}

type CallFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

impl<S> Service<http::Request<Body>> for OwnThread<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> CallFuture {
        let call = self.0.call(req);
        let handle = tokio::runtime::Handle::current();
        Box::pin(async move {
            // The server's thread keeps driving the sockets and timers the call waits on.
            match tokio::task::spawn_blocking(move || handle.block_on(call)).await {
                Ok(response) => response,
                // Only when panics unwind (the library's tests): a provider binary
                // reports the panic to Terraform and exits from the panic hook.
                Err(e) => {
                    Ok(Status::internal(format!("the provider call failed: {e}")).into_http())
                }
            }
        })
    }
}
