//! `msgwire`, the command-line front end of msgwire.
//!
//! ```text
//! msgwire relay --listen ADDR --cert PEM --key PEM --users FILE --realm REALM
//!               [--plain-tcp ADDR] [--status ADDR] [--expires MIN,DEFAULT,MAX]
//! ```
//!
//! `relay` runs an MSRP relay ([`msgwire::msrp::relay_server`]) until
//! SIGINT or SIGTERM, then shuts it down gracefully (chunks in flight
//! finish, then the connections close) and exits 0. `--listen`, `--cert`
//! and `--key` go together; they may be left out only when `--plain-tcp`
//! is given (tests and closed networks). Once bound, it prints one line
//! on stderr, `listening tls=ADDR plain=ADDR status=ADDR` (`-` for what is
//! off), so a caller that bound port 0 learns the ports. Logs go to
//! stderr, one line per record.
//!
//! The users file is described in
//! [`msgwire::msrp::relay_server::users`]: `user:realm:HA1` or
//! `user:password` per line, `#` comments.
//!
//! Exit status: 0 after a signal, 2 for bad arguments, 1 when the relay
//! cannot start.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;

use msgwire::msrp::relay_server::{fmt_addr, ExpiresBounds, Relay, RelayConfig, Users};
use msgwire::net::TlsServerConfig;

const USAGE: &str =
    "usage: msgwire relay --listen ADDR --cert PEM --key PEM --users FILE --realm REALM
                     [--plain-tcp ADDR] [--status ADDR] [--expires MIN,DEFAULT,MAX]

Runs an MSRP relay (RFC 4976) until SIGINT or SIGTERM.

  --listen ADDR       TLS listening address (host:port, port 0 for any)
  --cert PEM          certificate chain for --listen (PEM file)
  --key PEM           private key for --listen (PEM file)
  --users FILE        users file: one 'user:realm:HA1' or 'user:password' per line
  --realm REALM       digest realm, and the domain clients name the relay by
  --plain-tcp ADDR    also listen on plain TCP (tests and closed networks only);
                      with it, --listen/--cert/--key may be left out
  --status ADDR       serve /status.xml and /sessions.xml over HTTP here
  --expires MIN,DEFAULT,MAX
                      reservation time bounds in seconds (default 60,600,3600)
  --help              this text
";

/// The parsed `relay` arguments.
#[derive(Debug, Default)]
struct Args {
    listen: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    users: Option<String>,
    realm: Option<String>,
    plain_tcp: Option<String>,
    status: Option<String>,
    expires: Option<String>,
}

/// What the command line asks for.
#[derive(Debug)]
enum Command {
    Help,
    Relay(Args),
}

fn parse_args(argv: &[String]) -> Result<Command, String> {
    let mut it = argv.iter();
    match it.next().map(String::as_str) {
        Some("relay") => {}
        Some("--help") | Some("-h") | Some("help") => return Ok(Command::Help),
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command given".into()),
    }
    let mut a = Args::default();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(Command::Help);
        }
        let slot = match flag.as_str() {
            "--listen" => &mut a.listen,
            "--cert" => &mut a.cert,
            "--key" => &mut a.key,
            "--users" => &mut a.users,
            "--realm" => &mut a.realm,
            "--plain-tcp" => &mut a.plain_tcp,
            "--status" => &mut a.status,
            "--expires" => &mut a.expires,
            other => return Err(format!("unknown option {other:?}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        if slot.replace(value.clone()).is_some() {
            return Err(format!("{flag} given twice"));
        }
    }
    Ok(Command::Relay(a))
}

fn addr(flag: &str, text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("{flag} {text:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{flag} {text:?}: no address"))
}

fn expires(text: &str) -> Result<ExpiresBounds, String> {
    let bad = || format!("--expires {text:?}: expected MIN,DEFAULT,MAX in seconds");
    let v: Vec<u32> = text
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    match v[..] {
        [min, default, max] if min <= default && default <= max => {
            Ok(ExpiresBounds { min, default, max })
        }
        _ => Err(bad()),
    }
}

/// Turns the arguments into a relay configuration.
fn config(a: &Args) -> Result<RelayConfig, String> {
    let realm = a.realm.as_deref().ok_or("--realm is required")?;
    let users_path = a.users.as_deref().ok_or("--users is required")?;
    let users = Users::from_file(users_path).map_err(|e| format!("{users_path}: {e}"))?;
    let mut c = RelayConfig::new(realm, users);
    match (&a.listen, &a.cert, &a.key) {
        (Some(l), Some(cert), Some(key)) => {
            c.listen = Some(addr("--listen", l)?);
            c.tls = Some(
                TlsServerConfig::from_pem_files(cert, key)
                    .map_err(|e| format!("--cert/--key: {e}"))?,
            );
        }
        (None, None, None) if a.plain_tcp.is_some() => {}
        _ => return Err("--listen, --cert and --key are required (together)".into()),
    }
    if let Some(p) = &a.plain_tcp {
        c.plain_tcp = Some(addr("--plain-tcp", p)?);
    }
    if let Some(s) = &a.status {
        c.status = Some(addr("--status", s)?);
    }
    if let Some(e) = &a.expires {
        c.expires = expires(e)?;
    }
    Ok(c)
}

/// Log records to stderr: `LEVEL target: message`.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!("{:<5} {}: {}", r.level(), r.target(), r.args());
        }
    }

    fn flush(&self) {}
}

/// Blocks SIGINT and SIGTERM in this thread (and so in every thread
/// started after), to be collected by [`wait_for_signal`].
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before
    // use, and pthread_sigmask only reads the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits for SIGINT or SIGTERM; returns its number.
fn wait_for_signal(set: &libc::sigset_t) -> i32 {
    let mut sig: libc::c_int = 0;
    loop {
        // SAFETY: `set` was initialised by block_signals and `sig` is a
        // valid out-pointer for the call's duration.
        let rc = unsafe { libc::sigwait(set, &mut sig) };
        if rc == 0 {
            return sig;
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Relay(a)) => a,
        Err(e) => {
            eprintln!("msgwire: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("msgwire: {e}");
            return ExitCode::from(2);
        }
    };
    // Before any thread exists, so that all of them inherit the mask.
    let signals = block_signals();
    let _ = log::set_logger(&StderrLogger);
    log::set_max_level(log::LevelFilter::Info);
    let relay = match Relay::start(config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("msgwire: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "listening tls={} plain={} status={}",
        fmt_addr(relay.tls_addr()),
        fmt_addr(relay.plain_addr()),
        fmt_addr(relay.status_addr())
    );
    let sig = wait_for_signal(&signals);
    log::info!("signal {sig}: shutting down");
    relay.shutdown();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn arguments() {
        assert!(matches!(parse_args(&argv("--help")), Ok(Command::Help)));
        assert!(matches!(
            parse_args(&argv("relay --realm r --help")),
            Ok(Command::Help)
        ));
        let Ok(Command::Relay(a)) = parse_args(&argv(
            "relay --listen 127.0.0.1:0 --cert c --key k --users u --realm r --expires 1,2,3",
        )) else {
            panic!()
        };
        assert_eq!(a.realm.as_deref(), Some("r"));
        assert_eq!(a.expires.as_deref(), Some("1,2,3"));
        for bad in [
            "",
            "serve",
            "relay --bogus x",
            "relay --realm",
            "relay --realm a --realm b",
        ] {
            assert!(parse_args(&argv(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(
            expires("10, 20,30").unwrap(),
            ExpiresBounds {
                min: 10,
                default: 20,
                max: 30
            }
        );
        for bad in ["1,2", "3,2,1", "a,b,c", ""] {
            assert!(expires(bad).is_err(), "{bad:?}");
        }
        let a = Args {
            realm: Some("r".into()),
            users: Some("/nonexistent/users".into()),
            plain_tcp: Some("127.0.0.1:0".into()),
            ..Args::default()
        };
        assert!(config(&a).unwrap_err().contains("/nonexistent/users"));
    }
}
