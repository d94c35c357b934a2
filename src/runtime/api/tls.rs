//! The API over HTTPS: the certificate chain and key the config names, read when the API
//! starts (a bad file stops the start, naming it), and each accepted connection's TLS
//! handshake (10 s at most) before axum serves it. The peer's address reaches the
//! handlers as it does over plain HTTP.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// How long a client may take over its handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The acceptor for `tls`'s files.
pub fn acceptor(tls: &crate::config::ApiTls) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| {
            format!(
                "[api] tls_cert {}: {e}; give the PEM certificate chain (server certificate first)",
                tls.cert.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "[api] tls_cert {}: no certificate in it; give the PEM certificate chain",
            tls.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| {
        format!(
            "[api] tls_key {}: {e}; give the certificate's private key in PEM (PKCS#8, PKCS#1 or SEC1)",
            tls.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "[api] tls_cert {} and tls_key {} do not make a certificate rustls accepts: {e}",
                tls.cert.display(),
                tls.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` over TLS on `listener` until `stop` turns true; open connections are
/// then ended.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("the HTTPS API could not accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Reap what ended, so a long-lived daemon does not keep them.
        while conns.try_join_next().is_some() {}
        let acceptor = acceptor.clone();
        let app = app.clone();
        conns.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => return,
            };
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    tower::ServiceExt::oneshot(app.clone(), req)
                },
            );
            let served = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), svc)
                .await;
            if let Err(e) = served {
                tracing::debug!("HTTPS connection with {peer}: {e}");
            }
        });
    }
    conns.shutdown().await;
}
