//! Finding a domain's MSRP relays (RFC 4976 §6): DNS SRV records
//! `_msrps._tcp.<domain>` (TLS) or `_msrp._tcp.<domain>`, ordered by
//! priority and weight (RFC 2782); without any, the domain's own
//! addresses on port 2855.
//!
//! DNS messages are built and read with `hickory-proto`; they travel over
//! our own blocking sockets: UDP first, TCP when the answer is truncated,
//! each nameserver in turn with a bounded wait. Nameservers come from
//! `/etc/resolv.conf` unless given (the tests run a DNS server of their
//! own on 127.0.0.1). An SRV target's addresses come from the answer's
//! additional section when it has them, else from A and AAAA queries to
//! the same nameservers, else from the system resolver.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::msrp::rules::fill_random;
use crate::msrp::DEFAULT_PORT;

/// One relay to try: the name to verify its certificate against and an
/// address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name (SRV target or domain), for TLS.
    pub name: String,
    /// Where to connect.
    pub addr: SocketAddr,
}

/// Why discovery found nothing.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// No nameserver answered within its time.
    #[error("no DNS server answered: {0}")]
    NoAnswer(String),
    /// The domain is not a valid DNS name.
    #[error("bad domain name {0:?}")]
    BadName(String),
    /// Neither SRV records nor addresses for the domain.
    #[error("no relay found for {0}")]
    NotFound(String),
}

/// SRV data: (priority, weight, port, target name).
type Srv = (u16, u16, u16, String);

/// Sends DNS queries to a list of nameservers.
#[derive(Debug, Clone)]
pub struct Resolver {
    nameservers: Vec<SocketAddr>,
    timeout: Duration,
}

impl Resolver {
    /// Queries `nameservers` in order, waiting at most `timeout` for each.
    pub fn new(nameservers: Vec<SocketAddr>, timeout: Duration) -> Self {
        Resolver {
            nameservers,
            timeout,
        }
    }

    /// The nameservers of `/etc/resolv.conf` (port 53).
    pub fn from_system(timeout: Duration) -> io::Result<Self> {
        let text = std::fs::read_to_string("/etc/resolv.conf")?;
        Ok(Resolver::new(parse_resolv_conf(&text), timeout))
    }

    /// One query; the answer message (NXDOMAIN included).
    fn query(&self, name: &Name, kind: RecordType) -> Result<Message, DiscoveryError> {
        let mut id = [0u8; 2];
        fill_random(&mut id);
        let id = u16::from_be_bytes(id);
        let mut m = Message::new();
        m.set_id(id)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Query)
            .set_recursion_desired(true);
        m.add_query(Query::query(name.clone(), kind));
        let wire = m
            .to_vec()
            .map_err(|e| DiscoveryError::BadName(format!("{name}: {e}")))?;
        let mut last = String::from("no nameservers configured");
        for &server in &self.nameservers {
            match self.ask(server, &wire, id) {
                Ok(answer) => return Ok(answer),
                Err(e) => last = format!("{server}: {e}"),
            }
        }
        Err(DiscoveryError::NoAnswer(last))
    }

    /// Asks one server: UDP, then TCP if the answer was truncated.
    fn ask(&self, server: SocketAddr, wire: &[u8], id: u16) -> io::Result<Message> {
        let deadline = Instant::now() + self.timeout;
        let local: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let udp = UdpSocket::bind(local)?;
        udp.connect(server)?;
        udp.send(wire)?;
        let mut buf = vec![0u8; 4096];
        let answer = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            udp.set_read_timeout(Some(left))?;
            let n = udp.recv(&mut buf)?;
            // Anything that is not the answer to this query is ignored.
            match Message::from_vec(&buf[..n]) {
                Ok(m) if m.id() == id && m.message_type() == MessageType::Response => break m,
                _ => continue,
            }
        };
        if !answer.truncated() {
            return Ok(answer);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let mut tcp = TcpStream::connect_timeout(&server, left)?;
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        let len = u16::try_from(wire.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "query too long"))?;
        let mut out = len.to_be_bytes().to_vec();
        out.extend_from_slice(wire);
        tcp.write_all(&out)?;
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len)?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tcp.read_exact(&mut body)?;
        let m = Message::from_vec(&body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        if m.id() != id {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "answer to another query",
            ));
        }
        Ok(m)
    }

    /// The SRV records of `name` (none for NXDOMAIN or an empty answer),
    /// with the addresses the additional section gives for their targets.
    fn srv(&self, name: &Name) -> Result<(Vec<Srv>, Vec<Record>), DiscoveryError> {
        let m = self.query(name, RecordType::SRV)?;
        if m.response_code() != ResponseCode::NoError {
            return Ok((Vec::new(), Vec::new()));
        }
        let records = m
            .answers()
            .iter()
            .filter_map(|r| match r.data() {
                RData::SRV(s) => Some((
                    s.priority(),
                    s.weight(),
                    s.port(),
                    s.target().to_ascii().trim_end_matches('.').to_string(),
                )),
                _ => None,
            })
            .collect();
        Ok((records, m.additionals().to_vec()))
    }

    /// A and AAAA addresses of `host` from the nameservers.
    fn addresses(&self, host: &str) -> Vec<IpAddr> {
        let Ok(name) = Name::from_ascii(format!("{host}.")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for kind in [RecordType::A, RecordType::AAAA] {
            if let Ok(m) = self.query(&name, kind) {
                out.extend(m.answers().iter().filter_map(record_ip));
            }
        }
        out
    }
}

fn record_ip(r: &Record) -> Option<IpAddr> {
    match r.data() {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
        _ => None,
    }
}

/// The `nameserver` addresses of a resolv.conf text.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "nameserver").then_some(())?;
            let ip: IpAddr = words.next()?.split('%').next()?.parse().ok()?;
            Some(SocketAddr::new(ip, 53))
        })
        .collect()
}

/// RFC 2782 order: by priority, and within one priority a weighted random
/// order (weight 0 records first in the running sums, so they are picked
/// rarely but still picked). `random(n)` returns a number in `0..=n`.
pub fn order_srv(mut records: Vec<Srv>, mut random: impl FnMut(u32) -> u32) -> Vec<Srv> {
    records.sort_by_key(|r| (r.0, r.1 != 0));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].0;
        let end = records.iter().take_while(|r| r.0 == priority).count();
        let mut group: Vec<Srv> = records.drain(..end).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.1)).sum();
            let pick = random(total);
            let mut sum = 0;
            let at = group
                .iter()
                .position(|r| {
                    sum += u32::from(r.1);
                    sum >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(at));
        }
    }
    out
}

fn random_upto(n: u32) -> u32 {
    let mut b = [0u8; 4];
    fill_random(&mut b);
    u32::from_le_bytes(b) % (n.saturating_add(1)).max(1)
}

/// The relays of `domain` to try, in order (see the module docs).
pub fn relay_targets(
    domain: &str,
    use_tls: bool,
    resolver: &Resolver,
) -> Result<Vec<Target>, DiscoveryError> {
    let service = if use_tls { "_msrps" } else { "_msrp" };
    let name = Name::from_ascii(format!("{service}._tcp.{domain}."))
        .map_err(|_| DiscoveryError::BadName(domain.to_string()))?;
    let (records, additional) = resolver.srv(&name)?;
    // A single target "." says the service is not offered at all.
    if records.len() == 1 && records[0].3.is_empty() {
        return Err(DiscoveryError::NotFound(domain.to_string()));
    }
    let mut targets = Vec::new();
    if !records.is_empty() {
        for (_, _, port, host) in order_srv(records, random_upto) {
            let glue: Vec<IpAddr> = additional
                .iter()
                .filter(|r| {
                    r.name()
                        .to_ascii()
                        .trim_end_matches('.')
                        .eq_ignore_ascii_case(&host)
                })
                .filter_map(record_ip)
                .collect();
            let ips = if glue.is_empty() {
                host_ips(&host, resolver)
            } else {
                glue
            };
            targets.extend(ips.into_iter().map(|ip| Target {
                name: host.clone(),
                addr: SocketAddr::new(ip, port),
            }));
        }
    } else {
        targets.extend(host_ips(domain, resolver).into_iter().map(|ip| Target {
            name: domain.to_string(),
            addr: SocketAddr::new(ip, DEFAULT_PORT),
        }));
    }
    if targets.is_empty() {
        return Err(DiscoveryError::NotFound(domain.to_string()));
    }
    Ok(targets)
}

/// Addresses of `host`: a literal IP, else the nameservers' A/AAAA, else
/// the system resolver.
fn host_ips(host: &str, resolver: &Resolver) -> Vec<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return vec![ip];
    }
    let ips = resolver.addresses(host);
    if !ips.is_empty() {
        return ips;
    }
    (host, 0)
        .to_socket_addrs()
        .map(|a| a.map(|s| s.ip()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(p: u16, w: u16, host: &str) -> Srv {
        (p, w, 2855, host.to_string())
    }

    #[test]
    fn resolv_conf_nameservers() {
        let text = "# comment\nsearch example.com\nnameserver 10.0.0.1\nnameserver ::1\nnameserver fe80::1%eth0\nnameserver bogus\n";
        let got = parse_resolv_conf(text);
        assert_eq!(
            got,
            vec![
                "10.0.0.1:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
    }

    #[test]
    fn srv_order_is_by_priority_then_weight() {
        let records = vec![
            srv(20, 0, "c"),
            srv(10, 10, "b"),
            srv(10, 90, "a"),
            srv(5, 0, "z"),
        ];
        // Always the lowest pick: within priority 10, the running sums are
        // b 10, a 100 -> b first.
        let low = order_srv(records.clone(), |_| 0);
        let names: Vec<&str> = low.iter().map(|r| r.3.as_str()).collect();
        assert_eq!(names, ["z", "b", "a", "c"]);
        // Always the highest pick: a wins its priority.
        let high = order_srv(records, |n| n);
        let names: Vec<&str> = high.iter().map(|r| r.3.as_str()).collect();
        assert_eq!(names, ["z", "a", "b", "c"]);
        // Weighted random picks the heavy record first most of the time.
        let mut first_a = 0;
        for _ in 0..1000 {
            let got = order_srv(vec![srv(1, 10, "b"), srv(1, 90, "a")], random_upto);
            first_a += usize::from(got[0].3 == "a");
        }
        assert!((800..=980).contains(&first_a), "{first_a}");
    }
}
