//! Backups before a destructive step: each folder that would be lost,
//! copied out of the container through the engine (`podman cp`, as a tar
//! archive) into the data folder, with its size and SHA-256 so the user can
//! check it and restore it (`tar -xf`).

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use stackwarden_engine::Engine;
use tokio::io::AsyncWriteExt;

use crate::model::BackupTarget;

/// A backup written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

/// The file a backup of `target` for `service` goes to, in `dir`: only
/// letters, digits, `-` and `_` from the names, so no name leaves `dir`.
pub fn backup_path(dir: &Path, service: &str, target: &BackupTarget, at_ms: i64) -> PathBuf {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .trim_matches('_')
            .to_string()
    };
    dir.join(format!(
        "{}-{}-{at_ms}.tar",
        clean(service),
        clean(&target.path)
    ))
}

/// Archives `target` into `dir`; the file is complete and synced when this
/// returns `Ok`, and removed when it fails half-way.
pub async fn archive(
    engine: &Engine,
    service: &str,
    target: &BackupTarget,
    dir: &Path,
) -> Result<BackupFile, String> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = backup_path(dir, service, target, stackwarden_model::clock::now_ms());
    let result = write(engine, target, &path).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&path).await;
    }
    result
}

async fn write(engine: &Engine, target: &BackupTarget, path: &Path) -> Result<BackupFile, String> {
    let mut stream = engine
        .archive(&target.container_id, &target.path)
        .map_err(|e| e.to_string())?;
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut hash = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("copying {} out failed: {e}", target.path))?;
        hash.update(&chunk);
        bytes += chunk.len() as u64;
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    file.sync_all()
        .await
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if bytes == 0 {
        return Err(format!("the engine sent nothing for {}", target.path));
    }
    Ok(BackupFile {
        path: path.to_path_buf(),
        bytes,
        sha256: hex::encode(hash.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_name_stays_in_its_folder() {
        let target = BackupTarget {
            container_id: "abc".into(),
            path: "/../../etc/passwd".into(),
        };
        let path = backup_path(Path::new("/data/backups"), "../db", &target, 7);
        assert_eq!(path, PathBuf::from("/data/backups/db-etc_passwd-7.tar"));
    }
}
