//! The status and metrics endpoint (`metrics_listen`, off by default), served with hyper over
//! HTTP/1.1: `GET /metrics` (Prometheus text format 0.0.4), `GET /status` (JSON) and `GET /`
//! (the same as a small HTML page). Read-only and unauthenticated: it shows who is connected,
//! so bind it to loopback or a management network (README "Status and metrics").
//!
//! At most [`MAX_CONNECTIONS`] HTTP connections are served at once (more are closed at
//! accept), a request header must arrive within [`HEADER_TIMEOUT`], and a connection lives at
//! most [`CONNECTION_LIFETIME`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use nodes::ClusterBackend;
use tokio::net::TcpListener;

use crate::metrics::{Gauges, Metrics};
use crate::services::witness::registry::Filter;
use crate::transport::Shared;

/// HTTP connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// Time a client has to send a request's header.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one HTTP connection.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Where the endpoint's answers come from.
pub struct StatusSource {
    pub shared: Arc<Shared>,
    pub metrics: Arc<Metrics>,
    pub backend: Arc<dyn ClusterBackend>,
}

impl StatusSource {
    /// "ctdb" for a backend that follows a cluster daemon, else "simulated".
    fn backend_kind(&self) -> &'static str {
        if self.backend.stats().is_some() {
            "ctdb"
        } else {
            "simulated"
        }
    }

    /// The values read at scrape time.
    pub fn gauges(&self) -> Gauges {
        let snap = self.backend.snapshot();
        let regs = self.shared.services.witness.registry.infos(&snap, &Filter::default());
        Gauges {
            associations: self.shared.associations.len(),
            handles: self.shared.associations.handle_total(),
            witness_registrations: regs.len(),
            witness_waiting: regs.iter().filter(|r| r.state == "RequestedNotification").count(),
            witness_queued: regs.iter().filter(|r| r.state == "NotificationQueued").count(),
            backend_available: self.backend.available(),
            backend: self.backend_kind(),
            ctdb: self.backend.stats(),
        }
    }

    /// The status page's content.
    pub fn status(&self) -> crate::status::Status {
        let snap = self.backend.snapshot();
        let up = self.metrics.started().elapsed().unwrap_or_default().as_secs();
        crate::status::build(
            &snap,
            crate::status::Inputs {
                backend: self.backend_kind(),
                backend_available: self.backend.available(),
                uptime_secs: up,
                connections: self.metrics.connections(),
                witness_registrations: self.shared.services.witness.registry.infos(&snap, &Filter::default()),
                associations: self.shared.associations.len(),
                context_handles: self.shared.associations.handle_total(),
            },
        )
    }
}

/// Binds the endpoint's listener.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| crate::transport::bind_error(e, "metrics_listen", addr))
}

/// Serves HTTP connections forever.
pub async fn serve(listener: TcpListener, source: Arc<StatusSource>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "Status endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, limit = MAX_CONNECTIONS, "Status endpoint: too many connections, closed");
            continue;
        };
        let src = source.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let src = src.clone();
                async move { Ok::<_, Infallible>(respond(&src, &req)) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc);
            match tokio::time::timeout(CONNECTION_LIFETIME, conn).await {
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "Status endpoint: connection ended"),
                Err(_) => tracing::debug!(%peer, "Status endpoint: connection lifetime reached"),
                Ok(Ok(())) => {}
            }
            drop(permit);
        });
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The answer to one request.
fn respond<B>(src: &StatusSource, req: &Request<B>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "GET only\n");
        r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match req.uri().path() {
        "/metrics" => {
            reply(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", src.metrics.render(&src.gauges()))
        }
        "/status" => match serde_json::to_vec_pretty(&src.status()) {
            Ok(v) => reply(StatusCode::OK, "application/json", v),
            Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", format!("{e}\n")),
        },
        "/" => reply(StatusCode::OK, "text/html; charset=utf-8", crate::status::html(&src.status())),
        _ => reply(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found: try /, /status or /metrics\n"),
    }
}
