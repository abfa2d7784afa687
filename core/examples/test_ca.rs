//! Test support: writes a fresh certificate authority and a server
//! certificate it signed (for `localhost`, `127.0.0.1` and `::1`, plus any
//! names given after the directory) into a directory, as PEM files:
//! `ca.pem`, `server.pem` (the certificate) and `server.key`.
//!
//! The Python tests run it (`cargo run --release -p msgwire --example
//! test_ca -- DIR`) to get TLS material made at test time with rcgen,
//! which is only a development dependency of the library.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: test_ca DIR [NAME...]")?);
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    names.extend(args);
    std::fs::create_dir_all(&dir)?;

    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "msgwire test CA (made at test time)");
    let ca = ca_params.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let leaf = CertificateParams::new(names)?.signed_by(&key, &ca, &ca_key)?;

    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    std::fs::write(dir.join("server.pem"), leaf.pem())?;
    std::fs::write(dir.join("server.key"), key.serialize_pem())?;
    Ok(())
}
