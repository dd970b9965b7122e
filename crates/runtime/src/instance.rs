//! One runtime per data folder: the first to start takes an exclusive lock
//! on `watch.lock` in the folder and writes who it is (PID, since when,
//! which host); a second one learns who holds it and does not record. The
//! lock is the kernel's (`flock`), so it goes away with the process, even
//! one that was killed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stackwarden_model::clock::now_ms;
use ts_rs::TS;

pub const LOCK_FILE: &str = "watch.lock";

/// Who watches a data folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Holder {
    pub pid: u32,
    #[ts(type = "number")]
    pub since_ms: i64,
    /// "desktop app" or "stackwarden watch".
    pub host: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = chrono::DateTime::from_timestamp_millis(self.since_ms)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "an unknown time".into());
        write!(f, "{} (PID {}) since {since}", self.host, self.pid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{folder} is already watched by {holder}")]
    Held { folder: PathBuf, holder: Holder },
    #[error("{folder} is already watched by another process (it has not said which yet)")]
    HeldByUnknown { folder: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases the folder.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    pub holder: Holder,
}

/// Takes the folder's lock for this process, or says who has it.
pub fn acquire(folder: &Path, host: &str) -> Result<InstanceLock, LockError> {
    let path = folder.join(LOCK_FILE);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(folder).map_err(io)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(match serde_json::from_str::<Holder>(&text) {
                Ok(holder) => LockError::Held {
                    folder: folder.to_path_buf(),
                    holder,
                },
                Err(_) => LockError::HeldByUnknown {
                    folder: folder.to_path_buf(),
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    let holder = Holder {
        pid: std::process::id(),
        since_ms: now_ms(),
        host: host.to_string(),
    };
    let text = serde_json::to_string(&holder).unwrap_or_default();
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(InstanceLock {
        _file: file,
        holder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_taker_learns_the_holder_and_the_lock_dies_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "stackwarden watch").unwrap();
        match acquire(dir.path(), "desktop app") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.host, "stackwarden watch");
                let words = LockError::Held {
                    folder: dir.path().into(),
                    holder,
                }
                .to_string();
                assert!(words.contains("stackwarden watch (PID"), "{words}");
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        let again = acquire(dir.path(), "desktop app").unwrap();
        assert_eq!(again.holder.host, "desktop app");
    }
}
