//! Who may use the admin API. It needs no token, so it answers only requests that come
//! from this machine *and* were addressed to it: the peer is a loopback address, and the
//! `Host` and `Origin` headers (when present) name a loopback host. The header checks
//! stop a web page in the user's browser from driving the admin API: a cross-origin
//! page sends its own `Origin`, and a DNS-rebinding page (`evil.example` re-resolved to
//! 127.0.0.1) still sends `Host: evil.example:PORT`.

use super::ConnInfo;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// The middleware in front of `/admin/…`: 403 `forbidden_action` unless the request is
/// local in every respect above.
pub async fn loopback_only(req: Request<Body>, next: Next) -> Response {
    match refusal(&req) {
        None => next.run(req).await,
        Some(why) => ApiError::forbidden(why).into_response(),
    }
}

/// Why the request may not use the admin API, or `None` when it may.
fn refusal(req: &Request<Body>) -> Option<String> {
    match req.extensions().get::<ConnInfo>() {
        Some(conn) if conn.peer.ip().is_loopback() => {}
        _ => return Some("The admin API answers loopback clients only".to_owned()),
    }
    for (label, name, host_of) in [
        (
            "Host",
            header::HOST,
            host_of_host_header as fn(&str) -> Option<&str>,
        ),
        ("Origin", header::ORIGIN, host_of_origin),
    ] {
        if let Some(value) = header_value(req.headers(), &name) {
            let loopback = value.and_then(host_of).is_some_and(is_loopback_host);
            if !loopback {
                return Some(format!(
                    "The admin API answers requests addressed to a loopback host only \
                     (127.0.0.0/8, ::1 or localhost); the {label} header is {:?}",
                    value.unwrap_or("not valid text")
                ));
            }
        }
    }
    None
}

/// `None` when the header is absent; `Some(None)` when it is present but not text.
fn header_value<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Option<&'a str>> {
    headers.get(name).map(|v| v.to_str().ok())
}

/// The host of `Host: host[:port]` (an IPv6 host comes in brackets).
fn host_of_host_header(value: &str) -> Option<&str> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return (after.is_empty() || is_port_suffix(after)).then_some(host);
    }
    match value.split_once(':') {
        Some((host, port)) => is_port_suffix(&format!(":{port}")).then_some(host),
        None => Some(value),
    }
}

fn is_port_suffix(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// The host of `Origin: scheme://host[:port]`; the opaque origin `null` has none.
fn host_of_origin(value: &str) -> Option<&str> {
    let (_scheme, rest) = value.trim().split_once("://")?;
    host_of_host_header(rest.trim_end_matches('/'))
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.9.8.7:1",
            "localhost",
            "LOCALHOST:18480",
            "[::1]",
            "[::1]:18480",
        ] {
            let host = host_of_host_header(ok);
            assert!(host.is_some_and(is_loopback_host), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:18480",
            "127.0.0.1.evil.example:80",
            "localhost.evil.example",
            "10.0.0.1:80",
            "[::2]:80",
            "127.0.0.1:80x",
            "[::1]x",
            "",
        ] {
            let host = host_of_host_header(bad);
            assert!(!host.is_some_and(is_loopback_host), "{bad}");
        }
        for ok in [
            "http://127.0.0.1:5000",
            "http://localhost",
            "https://[::1]:1/",
        ] {
            assert!(host_of_origin(ok).is_some_and(is_loopback_host), "{ok}");
        }
        for bad in [
            "null",
            "http://evil.example",
            "http://evil.example:18480",
            "file://",
        ] {
            assert!(!host_of_origin(bad).is_some_and(is_loopback_host), "{bad}");
        }
    }
}
