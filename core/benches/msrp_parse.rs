//! `make bench`: MSRP parser throughput, as medians over several runs.
//!
//! (a) chunks/s parsing 200-byte chat SENDs,
//! (b) GB/s parsing chunks with 64 KiB bodies,
//! (c) GB/s of `memchr::memmem` scanning the same bytes for the end-line
//!     prefix — the practical upper bound for (b); the ratio b/c is printed.
//!
//! Figures are printed, never asserted: the machines are shared and noisy.

use std::hint::black_box;
use std::time::{Duration, Instant};

use msgwire::msrp::{Event, Parser, ParserConfig};

const RUNS: usize = 9;

fn main() {
    let chat = chat_stream(20_000);
    let big = big_stream(256);

    let a = median_rate(
        RUNS,
        || parse_count(&chat, ParserConfig::default()),
        20_000.0,
    );
    let cfg = ParserConfig {
        max_body_len: u64::MAX,
        ..ParserConfig::default()
    };
    let b = median_rate(RUNS, || parse_count(&big, cfg.clone()), big.len() as f64);
    let c = median_rate(RUNS, || scan_count(&big), big.len() as f64);
    let chat_scan = median_rate(RUNS, || scan_count(&chat), 20_000.0);

    println!("msrp parser benchmark (median of {RUNS} runs, one core)");
    println!("  (a) 200-byte chat SEND        {a:>12.0} chunks/s   (target >= 2,000,000)");
    println!(
        "      memmem over the same bytes{:>12.0} chunks/s   (ratio a/memmem {:.2})",
        chat_scan,
        a / chat_scan
    );
    println!("  (b) 64 KiB-body chunks        {:>12.2} GB/s", b / 1e9);
    println!(
        "  (c) memmem end-line scan      {:>12.2} GB/s   (same bytes)",
        c / 1e9
    );
    println!(
        "      ratio b/c                 {:>12.2}        (target >= 0.50)",
        b / c
    );
}

/// Runs `f` `runs` times (after one warm-up) and returns the median of
/// `units / seconds`.
fn median_rate(runs: usize, mut f: impl FnMut() -> usize, units: f64) -> f64 {
    black_box(f());
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            let dt = t.elapsed().max(Duration::from_nanos(1));
            units / dt.as_secs_f64()
        })
        .collect();
    rates.sort_by(|x, y| x.total_cmp(y));
    rates[rates.len() / 2]
}

/// Parses the whole stream; returns the number of chunks ended.
fn parse_count(stream: &[u8], config: ParserConfig) -> usize {
    let mut parser = Parser::with_config(config);
    let mut rest = stream;
    let mut ends = 0;
    let mut data = 0usize;
    loop {
        let (used, r) = parser.parse(rest);
        rest = &rest[used..];
        match r {
            Ok(Some(Event::End(_))) => ends += 1,
            Ok(Some(Event::Data(d))) => data += d.len(),
            Ok(Some(Event::Start(h))) => {
                black_box(h.transaction_id());
            }
            Ok(None) => break,
            Err(e) => panic!("benchmark input rejected: {e}"),
        }
    }
    black_box(data);
    ends
}

fn scan_count(stream: &[u8]) -> usize {
    memchr::memmem::find_iter(stream, b"\r\n-------").count()
}

/// `n` chat SENDs of 200 bytes each, with distinct transaction ids.
fn chat_stream(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 200);
    for i in 0..n {
        let tid = format!("{:010x}", 0x5e_0000_0000u64 + i as u64);
        let chunk = format!(
            "MSRP {tid} SEND\r\nTo-Path: msrp://10.0.0.2/srv;tcp\r\n\
             From-Path: msrp://10.0.0.1/cl;tcp\r\nMessage-ID: {i:08x}\r\n\
             Byte-Range: 1-16/16\r\nContent-Type: text/plain\r\n\r\nhello, how are u\r\n\
             -------{tid}$\r\n"
        );
        assert_eq!(chunk.len(), CHAT_LEN);
        v.extend_from_slice(chunk.as_bytes());
    }
    v
}

const CHAT_LEN: usize = 200;

/// `n` chunks with 64 KiB bodies of printable bytes.
fn big_stream(n: usize) -> Vec<u8> {
    let body: Vec<u8> = (0..65536u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789 \r\n"[(i % 39) as usize])
        .collect();
    let mut v = Vec::with_capacity(n * (65536 + 300));
    for i in 0..n {
        let tid = format!("{:016x}", 0xb16_0000u64 + i as u64);
        let start = i * 65536 + 1;
        v.extend_from_slice(
            format!(
                "MSRP {tid} SEND\r\nTo-Path: msrp://10.0.0.2:2855/srv0sess;tcp\r\n\
                 From-Path: msrp://10.0.0.1:2855/cli0sess;tcp\r\nMessage-ID: bigfile\r\n\
                 Byte-Range: {start}-{}/{}\r\nContent-Type: application/octet-stream\r\n\r\n",
                start + 65535,
                n * 65536
            )
            .as_bytes(),
        );
        v.extend_from_slice(&body);
        v.extend_from_slice(format!("\r\n-------{tid}+\r\n").as_bytes());
    }
    v
}
