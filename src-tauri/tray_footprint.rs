//! What the app gives back when its window closes to the tray. Destroying
//! the window ends its WebKitWebProcess; WebKit's network process stays,
//! kept for the web context although no page is left. It is ended here;
//! WebKit starts a new one for the next window.

use std::time::Duration;

/// Lets the window's teardown finish before anything is released.
const SETTLE: Duration = Duration::from_secs(2);

/// After the main window is gone: ends this process's idle WebKit network
/// process. Does nothing when a window exists again by then.
pub fn release_after_close(window_exists: impl Fn() -> bool + Send + 'static) {
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SETTLE).await;
        if window_exists() {
            return;
        }
        for pid in own_children_named("WebKitNetworkPr") {
            terminate(pid);
        }
    });
}

/// Child processes of this one whose name (`comm`, at most 15 bytes)
/// starts with `prefix`.
fn own_children_named(prefix: &str) -> Vec<i32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            parent_and_name(&stat)
                .is_some_and(|(ppid, name)| ppid == me && name.starts_with(prefix))
        })
        .collect()
}

/// The parent PID and name from a `/proc/PID/stat` line; the name sits in
/// parentheses and may itself hold spaces and parentheses.
fn parent_and_name(stat: &str) -> Option<(u32, &str)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    let ppid = stat
        .get(close + 1..)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((ppid, name))
}

#[cfg(unix)]
fn terminate(pid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
}

#[cfg(not(unix))]
fn terminate(_pid: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        assert_eq!(
            parent_and_name("4242 (WebKitNetworkPr) S 4100 4100 0"),
            Some((4100, "WebKitNetworkPr"))
        );
        assert_eq!(
            parent_and_name("7 (a) b (c)) R 12 7 0"),
            Some((12, "a) b (c)"))
        );
        assert_eq!(parent_and_name("garbage"), None);
        assert_eq!(parent_and_name("1 (x"), None);
    }

    #[test]
    fn finds_its_own_children_by_name() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let found = own_children_named("sleep");
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&(child.id() as i32)), "{found:?}");
        assert!(own_children_named("no-such-proc").is_empty());
    }
}
