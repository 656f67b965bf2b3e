//! The relay processes of a devnet: `rlnkit relay run` children with their own data directory and
//! log file, found through their ready file, scraped through their `/metrics`, killed on drop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use libp2p::Multiaddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::DevnetError;
use crate::service::RelayReady;

/// How long a relay may take from spawn to its ready file.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What to start: the `rlnkit` binary and the arguments after it.
#[derive(Debug, Clone)]
pub(super) struct RelaySpec {
    /// 1-based.
    pub(super) index: usize,
    /// The relay's directory (data, log, ready file).
    pub(super) dir: PathBuf,
    /// Every argument after the binary.
    pub(super) args: Vec<String>,
    /// Extra environment (the operator's key).
    pub(super) env: Vec<(String, String)>,
}

impl RelaySpec {
    /// Where the relay writes its ready file.
    pub(super) fn ready_file(dir: &Path) -> PathBuf {
        dir.join("ready.json")
    }
}

/// A running relay process.
#[derive(Debug)]
pub(super) struct RelayProcess {
    pub(super) index: usize,
    child: Child,
    pub(super) ready: RelayReady,
    addr: Multiaddr,
    pub(super) log: PathBuf,
}

impl RelayProcess {
    /// Spawns the relay (in its own process group, so a terminal's Ctrl-C reaches only the
    /// devnet, which then stops the relays in order) and waits for its ready file.
    pub(super) async fn start(bin: &Path, spec: RelaySpec) -> Result<Self, DevnetError> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| DevnetError::Io { what, path, source }
        };
        std::fs::create_dir_all(&spec.dir).map_err(io("creating", &spec.dir))?;
        let log = spec.dir.join("relay.log");
        let out = std::fs::File::create(&log).map_err(io("creating", &log))?;
        let err = out.try_clone().map_err(io("opening", &log))?;
        let ready_file = RelaySpec::ready_file(&spec.dir);
        let mut cmd = Command::new(bin);
        cmd.args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            // The log is a file: no terminal colours in it.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().map_err(|source| DevnetError::Spawn {
            index: spec.index,
            bin: bin.to_path_buf(),
            source,
        })?;
        let mut p = RelayProcess {
            index: spec.index,
            child,
            ready: RelayReady { peer_id: String::new(), listen: vec![], metrics: None, pid: 0 },
            addr: Multiaddr::empty(),
            log,
        };
        let end = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(r) = RelayReady::read(&ready_file)? {
                let Some(addr) = r.dial_addrs().into_iter().next() else {
                    return Err(DevnetError::NoAddress { index: p.index, log: p.log.clone() });
                };
                (p.ready, p.addr) = (r, addr);
                return Ok(p);
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(DevnetError::RelayExited {
                    index: p.index,
                    status: status.to_string(),
                    log: p.log.clone(),
                });
            }
            if tokio::time::Instant::now() >= end {
                return Err(DevnetError::RelayNotReady {
                    index: p.index,
                    waited: READY_TIMEOUT,
                    log: p.log.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The OS process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An address to dial the relay at (with its peer id).
    pub(super) fn dial_addr(&self) -> &Multiaddr {
        &self.addr
    }

    /// Where its metrics can be fetched (an unspecified bind address means loopback).
    pub(super) fn metrics_addr(&self) -> Option<SocketAddr> {
        self.ready.metrics.map(|mut a| {
            if a.ip().is_unspecified() {
                a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            a
        })
    }

    /// Kills the process and reaps it.
    pub(super) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Counters read from a relay's `/metrics` (Prometheus text), summed over labels.
#[derive(Debug, Clone, Default)]
pub(super) struct Scrape(HashMap<String, f64>);

impl Scrape {
    /// Parses the text exposition format: `name{labels} value` lines; comments skipped.
    pub(super) fn parse(text: &str) -> Self {
        let mut out: HashMap<String, f64> = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
                continue;
            };
            *out.entry(line[..name_end].to_string()).or_default() += value;
        }
        Scrape(out)
    }

    /// A metric's value (summed over its label sets; 0 when absent).
    pub(super) fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0.0) as u64
    }
}

/// `GET /metrics` over plain HTTP/1.0 (the relay's own tiny server).
pub(super) async fn scrape(addr: SocketAddr) -> Option<Scrape> {
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.ok()?;
        let mut body = Vec::new();
        s.read_to_end(&mut body).await.ok()?;
        let text = String::from_utf8_lossy(&body);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?;
        (status == "200").then(|| Scrape::parse(body))
    };
    tokio::time::timeout(Duration::from_secs(2), fetch).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::Scrape;

    #[test]
    fn scrape_sums_label_sets_and_skips_comments() {
        let s = Scrape::parse(
            "# HELP waku_rln_valid_messages Accepted\n\
             waku_rln_valid_messages_total{shard=\"0\"} 3\n\
             waku_rln_valid_messages_total{shard=\"1\"} 2\n\
             waku_rln_spam_messages_total 1\n\
             # EOF\n",
        );
        assert_eq!(s.get("waku_rln_valid_messages_total"), 5);
        assert_eq!(s.get("waku_rln_spam_messages_total"), 1);
        assert_eq!(s.get("absent"), 0);
    }
}
