//! Whether a host port a container publishes is free, and when it is not,
//! which process holds it (from `/proc`, as `ss -ltnp` finds it): found
//! before anything is created, so a recovery never stops half-way on
//! "address already in use".

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

/// Who holds a port, as far as `/proc` tells this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub command: Option<String>,
}

impl Holder {
    pub fn describe(&self) -> String {
        match (self.pid, &self.command) {
            (Some(pid), Some(cmd)) => format!("held by process {pid} ({cmd})"),
            (Some(pid), None) => format!("held by process {pid}"),
            _ => "held by a process this user cannot see".to_string(),
        }
    }
}

/// `None` when `host_ip:port` can be bound now; otherwise who holds it.
pub fn held(host_ip: Option<&str>, port: u16, protocol: &str) -> Option<Holder> {
    let ip: IpAddr = host_ip
        .and_then(|ip| ip.trim_matches(['[', ']']).parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let address = SocketAddr::new(ip, port);
    let bound = if protocol == "udp" {
        UdpSocket::bind(address).map(drop)
    } else {
        TcpListener::bind(address).map(drop)
    };
    // Only "in use" means held; a privileged port or an address this host
    // does not have is the engine's to report.
    let free = !matches!(bound, Err(e) if e.kind() == std::io::ErrorKind::AddrInUse);
    if free {
        return None;
    }
    Some(holder(port, protocol))
}

fn holder(port: u16, protocol: &str) -> Holder {
    let inodes = listening_inodes(port, protocol);
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Holder {
            pid: None,
            command: None,
        };
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .ok()
                .and_then(|l| {
                    l.to_str()?
                        .strip_prefix("socket:[")?
                        .strip_suffix(']')?
                        .parse::<u64>()
                        .ok()
                })
                .is_some_and(|inode| inodes.contains(&inode))
        });
        if holds {
            let command = std::fs::read_to_string(entry.path().join("comm"))
                .ok()
                .map(|c| stackwarden_model::redact::text(c.trim()))
                .map(|c| c.chars().filter(|ch| !ch.is_control()).collect());
            return Holder {
                pid: Some(pid),
                command,
            };
        }
    }
    Holder {
        pid: None,
        command: None,
    }
}

/// Socket inodes of `/proc/net/{tcp,tcp6,udp,udp6}` bound to `port`
/// (listening, for TCP).
fn listening_inodes(port: u16, protocol: &str) -> Vec<u64> {
    let files: [&str; 2] = if protocol == "udp" {
        ["/proc/net/udp", "/proc/net/udp6"]
    } else {
        ["/proc/net/tcp", "/proc/net/tcp6"]
    };
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        out.extend(inodes_in(&text, port, protocol == "udp"));
    }
    out
}

/// The inodes of `/proc/net/tcp`-format `text` on local `port`; TCP only
/// in state LISTEN (0A).
fn inodes_in(text: &str, port: u16, udp: bool) -> Vec<u64> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let state = fields.get(3)?;
            let inode = fields.get(9)?.parse::<u64>().ok()?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let local_port = u16::from_str_radix(hex_port, 16).ok()?;
            (local_port == port && (udp || *state == "0A") && inode != 0).then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_bound_here_is_held_by_this_process() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let holder = held(Some("127.0.0.1"), port, "tcp").expect("held");
        assert_eq!(holder.pid, Some(std::process::id()));
        drop(listener);
        assert_eq!(held(Some("127.0.0.1"), port, "tcp"), None);
    }

    #[test]
    fn proc_net_lines_are_read_and_junk_is_skipped() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:3CA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n   1: 0100007F:3CA0 0100007F:9999 01 0 0 0 0 0 777 1\n garbage line\n";
        assert_eq!(inodes_in(text, 0x3CA0, false), vec![4242]);
        assert_eq!(inodes_in(text, 0x3CA0, true), vec![4242, 777]);
        assert!(inodes_in("", 1, false).is_empty());
    }
}
