//! TLS against a local rustls server whose CA is made here: custom CA bundle accepted, unknown
//! CA and wrong host name rejected with clear errors, `insecure_skip_verify`, client certificates.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleetboard::model::SourceError;
use fleetboard::sources::http::HttpConfig;
use fleetboard::sources::prometheus::PromClient;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BODY: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"db1"},"value":[1795554331.174,"1"]}]}}"#;

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn new_ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf certificate for `names`, signed by `ca`: (DER, PEM, key).
fn leaf(ca: &Ca, names: &[&str]) -> (CertificateDer<'static>, String, KeyPair) {
    let mut params =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.der().clone(), cert.pem(), key)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Serves `BODY` over TLS on 127.0.0.1 with a certificate for `names`; with `client_ca`, demands
/// a client certificate signed by it. Returns the port.
async fn serve(ca: &Ca, names: &[&str], client_ca: Option<&Ca>) -> u16 {
    let (cert, _, key) = leaf(ca, names);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(client_ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let der = rustls::pki_types::pem::PemObject::from_pem_slice(client_ca.pem.as_bytes())
                .unwrap();
            roots.add(der).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(vec![cert], key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                // The form body may follow; it is not needed.
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn cfg() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(3),
        ..HttpConfig::default()
    }
}

async fn query(port: u16, config: &HttpConfig) -> Result<usize, SourceError> {
    let c = PromClient::new(&format!("https://127.0.0.1:{port}/"), config)?;
    c.query("up", None).await.map(|s| s.len())
}

#[tokio::test]
async fn custom_ca_bundle_unknown_ca_and_insecure() {
    let ca = new_ca("fleetboard test CA");
    let other = new_ca("some other CA");
    let port = serve(&ca, &["localhost", "127.0.0.1"], None).await;
    let dir = tempfile::tempdir().unwrap();

    // A bundle with several certificates, ours last.
    let bundle = write(
        dir.path(),
        "bundle.pem",
        &format!("{}\n{}", other.pem, ca.pem),
    );
    let with_ca = HttpConfig {
        ca_file: Some(bundle),
        ..cfg()
    };
    assert_eq!(query(port, &with_ca).await.unwrap(), 1);

    // Not in the system store: rejected, and the error says why.
    let err = query(port, &cfg()).await.unwrap_err();
    eprintln!("unknown CA: {err}");
    assert!(
        matches!(&err, SourceError::Connect(m) if m.contains("certificate")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");

    // Only another CA: rejected as unknown issuer.
    let only_other = HttpConfig {
        ca_file: Some(write(dir.path(), "other.pem", &other.pem)),
        ..cfg()
    };
    let err = query(port, &only_other).await.unwrap_err();
    eprintln!("other CA: {err}");
    assert!(
        matches!(&err, SourceError::Connect(m) if m.contains("unknown CA")),
        "{err:?}"
    );

    let insecure = HttpConfig {
        insecure_skip_verify: true,
        ..cfg()
    };
    assert_eq!(query(port, &insecure).await.unwrap(), 1);
}

#[tokio::test]
async fn wrong_host_name_is_rejected() {
    let ca = new_ca("fleetboard test CA");
    let port = serve(&ca, &["prometheus.example"], None).await;
    let dir = tempfile::tempdir().unwrap();
    let config = HttpConfig {
        ca_file: Some(write(dir.path(), "ca.pem", &ca.pem)),
        ..cfg()
    };
    let err = query(port, &config).await.unwrap_err();
    eprintln!("wrong name: {err}");
    assert!(
        matches!(&err, SourceError::Connect(m) if m.contains("not valid for name")),
        "{err:?}"
    );
}

#[tokio::test]
async fn client_certificate_for_mutual_tls() {
    let ca = new_ca("fleetboard test CA");
    let client_ca = new_ca("fleetboard client CA");
    let port = serve(&ca, &["127.0.0.1"], Some(&client_ca)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem);
    let (_, cert_pem, key) = leaf(&client_ca, &["fleetboard"]);

    // Separate cert and key files.
    let separate = HttpConfig {
        ca_file: Some(ca_file.clone()),
        client_cert: Some(write(dir.path(), "client.crt", &cert_pem)),
        client_key: Some(write(dir.path(), "client.key", &key.serialize_pem())),
        ..cfg()
    };
    assert_eq!(query(port, &separate).await.unwrap(), 1);

    // One file holding both.
    let both = write(
        dir.path(),
        "client.pem",
        &format!("{cert_pem}\n{}", key.serialize_pem()),
    );
    let combined = HttpConfig {
        ca_file: Some(ca_file.clone()),
        client_cert: Some(both),
        ..cfg()
    };
    assert_eq!(query(port, &combined).await.unwrap(), 1);

    // No client certificate: the server refuses.
    let none = HttpConfig {
        ca_file: Some(ca_file),
        ..cfg()
    };
    let err = query(port, &none).await.unwrap_err();
    eprintln!("no client cert: {err}");
    assert!(
        matches!(&err, SourceError::Connect(m) if m.contains("client certificate")),
        "{err:?}"
    );

    // A key file that is not PEM is a configuration error.
    let bad = HttpConfig {
        client_cert: Some(write(dir.path(), "bad.pem", "nope")),
        ..cfg()
    };
    assert!(matches!(
        PromClient::new("https://127.0.0.1:1/", &bad),
        Err(SourceError::Config(_))
    ));
}
