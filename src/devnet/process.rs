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

/// A relay process: the one running now, and how to start it again on the same data.
#[derive(Debug)]
pub(super) struct RelayProcess {
    pub(super) index: usize,
    bin: PathBuf,
    spec: RelaySpec,
    child: Child,
    /// What its ready file said (empty until it is ready).
    pub(super) ready: RelayReady,
    addr: Multiaddr,
    pub(super) log: PathBuf,
    /// Times it was started (1 at first).
    pub(super) starts: u32,
}

/// The devnet's relay processes, shared by the devnet, the observer and the chaos. The lock is
/// only held for moments (never across an await).
pub(super) type Relays = std::sync::Arc<std::sync::Mutex<Vec<RelayProcess>>>;

/// Locks the relays (a panicked holder left nothing half-done: every step under it is one call).
pub(super) fn lock(relays: &Relays) -> std::sync::MutexGuard<'_, Vec<RelayProcess>> {
    relays.lock().unwrap_or_else(|p| p.into_inner())
}

fn spawn_child(
    bin: &Path,
    spec: &RelaySpec,
    append: bool,
) -> Result<(Child, PathBuf), DevnetError> {
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| DevnetError::Io { what, path, source }
    };
    std::fs::create_dir_all(&spec.dir).map_err(io("creating", &spec.dir))?;
    let log = spec.dir.join("relay.log");
    // A restart appends: the log keeps every run of the relay (the chaos reads them all).
    let out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&log)
        .map_err(io("creating", &log))?;
    let err = out.try_clone().map_err(io("opening", &log))?;
    // An old ready file would be taken for the new process's.
    let ready_file = RelaySpec::ready_file(&spec.dir);
    match std::fs::remove_file(&ready_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(DevnetError::Io { what: "removing", path: ready_file, source: e })
        }
        _ => {}
    }
    let mut cmd = Command::new(bin);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        // The log is a file: no terminal colours in it.
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // Its own process group, so a terminal's Ctrl-C reaches only the devnet, which then stops
    // the relays in order.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().map_err(|source| DevnetError::Spawn {
        index: spec.index,
        bin: bin.to_path_buf(),
        source,
    })?;
    Ok((child, log))
}

impl RelayProcess {
    /// Spawns the relay; [`wait_ready`] waits for its ready file.
    pub(super) fn spawn(bin: &Path, spec: RelaySpec) -> Result<Self, DevnetError> {
        let (child, log) = spawn_child(bin, &spec, false)?;
        Ok(RelayProcess {
            index: spec.index,
            bin: bin.to_path_buf(),
            spec,
            child,
            ready: RelayReady::default(),
            addr: Multiaddr::empty(),
            log,
            starts: 1,
        })
    }

    /// Starts it again on the same data directory and arguments (after [`Self::kill`]); its log
    /// is appended to. [`wait_ready`] waits for it.
    pub(super) fn respawn(&mut self) -> Result<(), DevnetError> {
        self.kill();
        let (child, _) = spawn_child(&self.bin, &self.spec, true)?;
        self.child = child;
        self.ready = RelayReady::default();
        self.addr = Multiaddr::empty();
        self.starts += 1;
        Ok(())
    }

    /// The OS process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its data directory (`--data-dir`: the relay's directory).
    pub(super) fn data_dir(&self) -> &Path {
        &self.spec.dir
    }

    /// The address it listens at, with its peer id (empty until ready).
    pub(super) fn dial_addr(&self) -> &Multiaddr {
        &self.addr
    }

    /// Where it listens for peers (TCP on loopback), once ready.
    pub(super) fn socket_addr(&self) -> Option<SocketAddr> {
        socket_of(&self.addr)
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

    /// Kills the process at once (SIGKILL: nothing of its shutdown runs) and reaps it.
    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM: it finishes its shutdown, claims included) without
    /// waiting; [`Self::exited`] tells when it is gone.
    pub(super) fn terminate(&mut self) {
        #[cfg(unix)]
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), Signal::Term);
        }
        #[cfg(not(unix))]
        self.kill();
    }

    /// Whether the process has exited (reaping it).
    pub(super) fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The TCP socket of a `/ip4/../tcp/..` address.
pub(super) fn socket_of(addr: &Multiaddr) -> Option<SocketAddr> {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(port) => return ip.map(|ip| SocketAddr::new(ip, port)),
            _ => {}
        }
    }
    None
}

/// Signals the devnet sends its children.
#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
pub(super) enum Signal {
    /// Stop gracefully.
    Term,
    /// Freeze (the process keeps its sockets; nothing it owns answers).
    Stop,
    /// Resume a frozen process.
    Cont,
}

/// Sends `sig` to process `pid`.
#[cfg(unix)]
pub(super) fn signal(pid: u32, sig: Signal) {
    let sig = match sig {
        Signal::Term => libc::SIGTERM,
        Signal::Stop => libc::SIGSTOP,
        Signal::Cont => libc::SIGCONT,
    };
    let Ok(pid) = libc::pid_t::try_from(pid) else { return };
    // SAFETY: kill(2) takes plain integers and has no memory effects on this process.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits until relay `i` (0-based) has written its ready file, and records what it says.
pub(super) async fn wait_ready(relays: &Relays, i: usize) -> Result<(), DevnetError> {
    let end = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        {
            let mut all = lock(relays);
            let p = &mut all[i];
            if let Some(r) = RelayReady::read(&RelaySpec::ready_file(&p.spec.dir))? {
                let Some(addr) = r.dial_addrs().into_iter().next() else {
                    return Err(DevnetError::NoAddress { index: p.index, log: p.log.clone() });
                };
                (p.ready, p.addr) = (r, addr);
                return Ok(());
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
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
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
