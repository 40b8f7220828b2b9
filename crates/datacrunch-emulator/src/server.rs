//! The accept loop: HTTP/1.1 with keep-alive on hyper directly (rather than
//! `axum::serve`) so each request carries its peer address (the admin API is
//! loopback-only) and a handle that closes or resets its connection without an answer
//! (the "drop" and "lost answer" faults). Shutdown stops accepting, lets in-flight
//! requests finish (up to [`DRAIN_TIMEOUT`]) and returns.
//!
//! Connections are bounded so a client that is gone or hostile cannot hold the server's
//! memory or sockets: a connection idle (or still sending its request headers) for the
//! configured idle timeout is closed, and request headers over
//! [`MAX_REQUEST_HEADER_BYTES`] get 431. Bodies are bounded in `http`.

use crate::http::ConnInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// How long shutdown waits for open requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest request line plus headers accepted: far above any real client's, far
/// below what would let a client make the server buffer without bound.
pub const MAX_REQUEST_HEADER_BYTES: usize = 64 * 1024;

pub async fn serve(
    router: Router,
    listener: TcpListener,
    idle_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let stop = CancellationToken::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Reap finished connections so the set does not grow without bound.
                    while connections.try_join_next().is_some() {}
                    connections.spawn(serve_connection(router.clone(), stream, peer, idle_timeout, stop.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
    stop.cancel();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("shutdown: closing connections still busy after {DRAIN_TIMEOUT:?}");
    }
}

async fn serve_connection(
    router: Router,
    stream: TcpStream,
    peer: SocketAddr,
    idle_timeout: Duration,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let info = ConnInfo::new(peer);
    let stream = ResettableStream {
        inner: stream,
        reset: info.reset_flag(),
    };
    let aborted = info.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        router.clone().oneshot(req)
    });
    // hyper starts the header-read timer as soon as it waits for the next request, so
    // one timeout closes idle keep-alive connections and clients that send their
    // headers too slowly alike.
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout)
        .max_header_size(MAX_REQUEST_HEADER_BYTES)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        }
        // Returning drops the connection: the socket closes (or resets) with no answer.
        _ = aborted.aborted() => {}
        _ = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, conn.as_mut()).await;
        }
    }
}

/// A TCP stream that, when its connection asked for a reset, is dropped with a zero
/// linger so the kernel sends RST instead of FIN: the client sees "connection reset",
/// as when a proxy or the network loses an answer in flight.
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            if let Err(e) = self.inner.set_zero_linger() {
                tracing::debug!(error = %e, "cannot reset the connection; closing it");
            }
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
