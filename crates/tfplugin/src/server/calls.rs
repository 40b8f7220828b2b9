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
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::{http, Service};
use tonic::server::NamedService;
use tonic::Status;

/// A gRPC service whose calls each run on a blocking-pool thread (see the
/// module docs), built by the first call: what building it takes (every
/// resource's schema, for the provider service) is not done before Terraform
/// asks for anything.
pub(super) struct OwnThread<S> {
    service: Arc<OnceLock<S>>,
    build: Arc<dyn Fn() -> S + Send + Sync>,
}

impl<S> OwnThread<S> {
    pub fn new(build: impl Fn() -> S + Send + Sync + 'static) -> Self {
        Self {
            service: Arc::new(OnceLock::new()),
            build: Arc::new(build),
        }
    }
}

impl<S> Clone for OwnThread<S> {
    fn clone(&self) -> Self {
        Self {
            service: self.service.clone(),
            build: self.build.clone(),
        }
    }
}

impl<S: NamedService> NamedService for OwnThread<S> {
    const NAME: &'static str = S::NAME;
}

type CallFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

impl<S> Service<http::Request<Body>> for OwnThread<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = CallFuture;

    /// Always ready: the services wrapped here are tonic's generated servers,
    /// which are always ready themselves (they accept every call and run it).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> CallFuture {
        let this = self.clone();
        let handle = tokio::runtime::Handle::current();
        Box::pin(async move {
            let call = move || {
                let mut service = this.service.get_or_init(|| (this.build)()).clone();
                // The server's thread keeps driving the sockets and timers the call waits on.
                handle.block_on(service.call(req))
            };
            match tokio::task::spawn_blocking(call).await {
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
