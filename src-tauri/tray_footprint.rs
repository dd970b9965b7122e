//! What the app gives back when its window closes to the tray. Destroying
//! the window ends its WebKitWebProcess; WebKit's network process stays,
//! kept for the web context although no page is left. It is ended here;
//! WebKit starts a new one for the next window.
//!
//! Once those processes are gone, this process is the only one left mapping
//! the WebKit, JavaScriptCore, GTK and Mesa code they shared, and every page
//! of it the window ever touched stays charged to the tray (about 105 MB of
//! 138 MB). Those pages are handed back to the kernel with `MADV_PAGEOUT`,
//! as Android does for apps in the background: the contents never change,
//! a page the tray still runs is read back on its next use, and the next
//! window reads back what it needs.

use std::time::{Duration, Instant};

/// Lets the window's teardown finish before anything is released.
const SETTLE: Duration = Duration::from_secs(2);

/// How long the ended helper processes get to exit before the pages they
/// shared are handed back (a page still mapped by another process stays).
const HELPERS_EXIT: Duration = Duration::from_secs(3);

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
        let started = Instant::now();
        while !own_children_named("WebKit").is_empty() && started.elapsed() < HELPERS_EXIT {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if window_exists() {
            return;
        }
        let handed_back = tokio::task::spawn_blocking(page_out_file_mappings).await;
        if let Ok(Some(bytes)) = handed_back {
            tracing::debug!(
                "closed to the tray: paged out {} MiB of mapped files",
                bytes >> 20
            );
        }
    });
}

/// A file-backed mapping of this process, from a `/proc/self/maps` line:
/// its start address and length. Anonymous memory, the stack, vDSO and
/// device mappings are left out.
fn file_mapping(line: &str) -> Option<(usize, usize)> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let path = fields.nth(4)?;
    if !path.starts_with('/') || path.starts_with("/dev/") {
        return None;
    }
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some((start, end.checked_sub(start)?))
}

/// Advises the kernel to reclaim the pages of this process's file-backed
/// mappings; returns how many bytes of mappings were advised.
#[cfg(target_os = "linux")]
fn page_out_file_mappings() -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut advised = 0;
    for (start, len) in maps.lines().filter_map(file_mapping) {
        // SAFETY: MADV_PAGEOUT is only a hint: it never changes what any
        // address reads or writes (a reclaimed page is read back from its
        // file, a dirty or locked one is kept). So it is sound on any range,
        // even one unmapped or remapped since /proc/self/maps was read; the
        // kernel answers ENOMEM or EINVAL for those, which is ignored.
        #[allow(unsafe_code)]
        let result =
            unsafe { rustix::mm::madvise(start as *mut _, len, rustix::mm::Advice::LinuxPageOut) };
        if result.is_ok() {
            advised += len;
        }
    }
    Some(advised)
}

#[cfg(not(target_os = "linux"))]
fn page_out_file_mappings() -> Option<usize> {
    None
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
    fn only_file_backed_mappings_are_paged_out() {
        let lib = "7f1c2a000000-7f1c2a200000 r-xp 00000000 08:01 1234    /usr/lib/x86_64-linux-gnu/libwebkit2gtk-4.1.so.0";
        assert_eq!(file_mapping(lib), Some((0x7f1c2a000000, 0x200000)));
        let spaced = "1000-3000 r--p 00000000 08:01 99 /home/a user/My App/stackwarden-desktop";
        assert_eq!(file_mapping(spaced), Some((0x1000, 0x2000)));
        for line in [
            "7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]",
            "55d0e000-55d2f000 rw-p 00000000 00:00 0                          [heap]",
            "7f00000-7f01000 rw-p 00000000 00:00 0 ",
            "7f00000-7f01000 rw-s 00000000 00:06 12 /dev/dri/renderD128",
            "3000-1000 r--p 00000000 08:01 99 /usr/lib/backwards.so",
            "zz-1000 r--p 00000000 08:01 99 /usr/lib/bad.so",
            "",
        ] {
            assert_eq!(file_mapping(line), None, "{line}");
        }
    }

    /// Read-only data of this binary, so file-backed: paged out with it.
    static TABLE: [u8; 256 * 1024] = {
        let mut table = [0u8; 256 * 1024];
        let mut i = 0;
        while i < table.len() {
            table[i] = (i % 251) as u8;
            i += 1;
        }
        table
    };

    #[cfg(target_os = "linux")]
    #[test]
    fn paging_out_keeps_every_mapped_byte() {
        let sum = |t: &[u8]| t.iter().map(|&b| u64::from(b)).sum::<u64>();
        let before = sum(std::hint::black_box(&TABLE[..]));
        let advised = page_out_file_mappings().expect("maps readable");
        assert!(
            advised > TABLE.len(),
            "this test binary is itself a mapped file"
        );
        assert_eq!(sum(std::hint::black_box(&TABLE[..])), before);
        assert_eq!(parent_and_name("1 (x) S 2"), Some((2, "x")));
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
