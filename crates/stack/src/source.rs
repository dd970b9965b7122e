//! Where the app's stack definition comes from, and keeping it current: the
//! configured compose file is re-read when it changes on disk; a broken edit
//! is reported with its problems while the last good definition stays in use
//! (also across restarts, from the text the app saved when it last loaded
//! cleanly); with no file configured the built-in AI stack is used.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};

use crate::{
    default_stack, files_to_read, join_texts, load_files, parse_texts, redacted_text, split_texts,
    LoadEnv, Stack, StackError, DEFAULT_STACK_NAME,
};

/// How often the stack file's modification time is checked.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackSource {
    /// The AI stack from the user's report, built in.
    BuiltIn,
    /// Compose files, merged in order (at least one).
    Files(Vec<PathBuf>),
}

impl StackSource {
    /// One compose file.
    pub fn file(path: PathBuf) -> Self {
        Self::Files(vec![path])
    }

    /// The key the last good text is saved under, and what the window shows.
    pub fn label(&self) -> String {
        match self {
            Self::BuiltIn => DEFAULT_STACK_NAME.to_string(),
            Self::Files(paths) => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" + "),
        }
    }
}

/// The definition in use and, when the source is broken, why.
#[derive(Debug, Clone, Default)]
pub struct LoadedStack {
    /// `None` only when nothing has ever loaded cleanly from the source.
    pub stack: Option<Arc<Stack>>,
    pub source: String,
    /// The source's current problems, worded for a banner.
    pub error: Option<String>,
}

/// A definition that loaded cleanly, for the caller to save as last good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodText {
    pub source: String,
    /// The file's text without its secrets ([`redacted_text`]: URL
    /// passwords, secret query values, secret `environment:` values), so the
    /// saved copy holds none; the stack in use keeps the real values. A
    /// fallback on this text runs probes with `***` where a password was
    /// written into a URL (`password_env` keeps working).
    pub text: String,
}

/// Text saved from an earlier clean load of the same source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedText {
    pub text: String,
    /// Shown in the banner ("the definition from …").
    pub saved_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// What a change to the stack shows in: each file compose would read
/// (an override file appearing too) and the `.env` beside the first.
fn stamps(paths: &[PathBuf]) -> Vec<(PathBuf, Option<FileStamp>)> {
    let mut watched = files_to_read(paths);
    if let Some(dir) = paths.first().and_then(|p| p.parent()) {
        watched.push(dir.join(".env"));
    }
    watched
        .into_iter()
        .map(|path| {
            let stamp = std::fs::metadata(&path).ok().map(|m| FileStamp {
                modified: m.modified().ok(),
                len: m.len(),
            });
            (path, stamp)
        })
        .collect()
}

/// The stack and its files' texts without their secrets.
fn read(paths: &[PathBuf], env: &LoadEnv) -> Result<(String, Stack), StackError> {
    let loaded = load_files(paths, env)?;
    let redacted: Vec<(String, String)> = loaded
        .texts
        .iter()
        .map(|(label, text)| (label.clone(), redacted_text(text)))
        .collect();
    Ok((join_texts(&redacted), loaded.stack))
}

fn banner(error: &StackError, kept: Option<&str>) -> String {
    let what = match kept {
        Some(kept) => format!("Stackwarden keeps using {kept} until it is fixed."),
        None => "No stack is loaded until it is fixed.".to_string(),
    };
    format!("The stack file is invalid:\n{error}\n{what}")
}

/// Loads `source` now and keeps the result current on a watch channel.
pub struct StackWatcher {
    pub source: StackSource,
    /// The last good text of this source from an earlier run, if any.
    pub saved: Option<SavedText>,
    /// Receives each text that loaded cleanly.
    pub good: Option<mpsc::Sender<GoodText>>,
    pub poll: Duration,
    /// The environment the file is read in (project name, profiles).
    pub env: LoadEnv,
}

impl StackWatcher {
    /// The first load happens before this returns, so the receiver starts
    /// with a definition (or the reason there is none).
    pub fn spawn(self) -> watch::Receiver<LoadedStack> {
        let label = self.source.label();
        let path = match &self.source {
            StackSource::BuiltIn => {
                let loaded = match default_stack() {
                    Ok(stack) => LoadedStack {
                        stack: Some(Arc::new(stack)),
                        source: label,
                        error: None,
                    },
                    Err(e) => LoadedStack {
                        stack: None,
                        error: Some(banner(&e, None)),
                        source: label,
                    },
                };
                let (tx, rx) = watch::channel(loaded);
                // Nothing to watch: keep the sender alive with the receiver.
                tokio::spawn(async move { tx.closed().await });
                return rx;
            }
            StackSource::Files(paths) => paths.clone(),
        };
        let mut last_stamp = stamps(&path);
        let first = match read(&path, &self.env) {
            Ok((text, stack)) => {
                self.report_good(&label, text);
                LoadedStack {
                    stack: Some(Arc::new(stack)),
                    source: label.clone(),
                    error: None,
                }
            }
            Err(e) => {
                let fallback = self.saved.as_ref().and_then(|saved| {
                    parse_texts(&split_texts(&saved.text, &label), &self.env)
                        .ok()
                        .map(|stack| {
                            // The saved copy has no secrets (see `GoodText`).
                            let masked = if saved.text.contains(stackwarden_model::redact::MASK) {
                                "; its passwords written into the file are masked, so probes \
                             that need them fail until the file loads again"
                            } else {
                                ""
                            };
                            (
                                stack,
                                format!(
                                    "the last good definition, from {}{masked}",
                                    saved.saved_at
                                ),
                            )
                        })
                });
                match fallback {
                    Some((stack, kept)) => LoadedStack {
                        stack: Some(Arc::new(stack)),
                        error: Some(banner(&e, Some(&kept))),
                        source: label.clone(),
                    },
                    None => LoadedStack {
                        stack: None,
                        error: Some(banner(&e, None)),
                        source: label.clone(),
                    },
                }
            }
        };
        let (tx, rx) = watch::channel(first);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    () = tokio::time::sleep(self.poll) => {}
                }
                let now = stamps(&path);
                if now == last_stamp {
                    continue;
                }
                last_stamp = now;
                match read(&path, &self.env) {
                    Ok((text, stack)) => {
                        tracing::info!("stack file {label} reloaded");
                        self.report_good(&label, text);
                        tx.send_replace(LoadedStack {
                            stack: Some(Arc::new(stack)),
                            source: label.clone(),
                            error: None,
                        });
                    }
                    Err(e) => {
                        tracing::warn!("stack file {label} is invalid: {e}");
                        tx.send_modify(|loaded| {
                            let kept = loaded
                                .stack
                                .as_ref()
                                .map(|_| "the last good definition".to_string());
                            loaded.error = Some(banner(&e, kept.as_deref()));
                        });
                    }
                }
            }
        });
        rx
    }

    /// `text` is already without secrets (see `read`).
    fn report_good(&self, source: &str, text: String) {
        if let Some(good) = &self.good {
            let _ = good.try_send(GoodText {
                source: source.to_string(),
                text,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name: one\nservices:\n  web:\n    image: busybox\n";
    const GOOD_TOO: &str =
        "name: two\nservices:\n  web:\n    image: busybox\n  db:\n    image: x\n";
    const BAD: &str =
        "name: bad\nservices:\n  web:\n    image: busybox\n    depends_on: [nowhere]\n";

    fn watcher(path: PathBuf, saved: Option<&str>) -> (StackWatcher, mpsc::Receiver<GoodText>) {
        let (tx, rx) = mpsc::channel(8);
        (
            StackWatcher {
                source: StackSource::file(path),
                saved: saved.map(|t| SavedText {
                    text: t.into(),
                    saved_at: "yesterday".into(),
                }),
                good: Some(tx),
                poll: Duration::from_millis(20),
                env: LoadEnv::default(),
            },
            rx,
        )
    }

    fn name(l: &LoadedStack) -> Option<&str> {
        l.stack.as_deref().map(|s| s.name.as_str())
    }

    async fn write_and_wait(
        path: &std::path::Path,
        text: &str,
        rx: &mut watch::Receiver<LoadedStack>,
    ) -> LoadedStack {
        // Different lengths make each write visible even within one mtime tick.
        std::fs::write(path, text).unwrap();
        tokio::time::timeout(Duration::from_secs(5), rx.changed())
            .await
            .unwrap()
            .unwrap();
        rx.borrow_and_update().clone()
    }

    #[tokio::test]
    async fn reloads_on_change_and_keeps_the_last_good_on_a_bad_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yaml");
        std::fs::write(&path, GOOD).unwrap();
        let (w, mut good) = watcher(path.clone(), None);
        let mut rx = w.spawn();
        assert_eq!(name(&rx.borrow_and_update()), Some("one"));
        assert_eq!(good.recv().await.unwrap().text, GOOD);

        let broken = write_and_wait(&path, BAD, &mut rx).await;
        assert_eq!(name(&broken), Some("one"), "last good kept");
        let error = broken.error.unwrap();
        assert!(error.contains("compose.yaml, line 5"), "{error}");
        assert!(error.contains("nowhere"), "{error}");
        assert!(
            error.contains("keeps using the last good definition"),
            "{error}"
        );

        let fixed = write_and_wait(&path, GOOD_TOO, &mut rx).await;
        assert_eq!(name(&fixed), Some("two"));
        assert_eq!(fixed.error, None);
        assert_eq!(good.recv().await.unwrap().text, GOOD_TOO);
    }

    #[tokio::test]
    async fn a_file_broken_at_start_falls_back_to_the_saved_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yaml");
        std::fs::write(&path, BAD).unwrap();
        let (w, _good) = watcher(path.clone(), Some(GOOD));
        let loaded = w.spawn().borrow().clone();
        assert_eq!(name(&loaded), Some("one"));
        assert!(loaded
            .error
            .unwrap()
            .contains("last good definition, from yesterday"));

        let (w, _good) = watcher(dir.path().join("missing.yaml"), None);
        let loaded = w.spawn().borrow().clone();
        assert!(loaded.stack.is_none());
        let error = loaded.error.unwrap();
        assert!(error.contains("cannot read stack file"), "{error}");
        assert!(error.contains("No stack is loaded"), "{error}");
    }

    #[tokio::test]
    async fn the_text_handed_out_for_saving_has_no_secrets() {
        const SECRET: &str = "name: one\nservices:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: hunter2\n    x-stackwarden:\n      probes:\n        - redis: {url: \"redis://:hunter2@h:6379/?token=t0k3n\"}\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yaml");
        std::fs::write(&path, SECRET).unwrap();
        let (w, mut good) = watcher(path.clone(), None);
        let mut rx = w.spawn();
        let saved = good.recv().await.unwrap().text;
        assert!(
            !saved.contains("hunter2") && !saved.contains("t0k3n"),
            "{saved}"
        );
        assert_eq!(saved.lines().count(), SECRET.lines().count());
        // The stack in use has the real URL.
        let loaded = rx.borrow_and_update().clone();
        let url = match &loaded.stack.unwrap().services[0].probes[0].kind {
            crate::ProbeKind::Redis { url, .. } => url.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(url, "redis://:hunter2@h:6379/?token=t0k3n");
        // After a restart with a broken file, the saved text still loads.
        std::fs::write(&path, BAD).unwrap();
        let (w, _good) = watcher(path, Some(&saved));
        let fallback = w.spawn().borrow().clone();
        assert_eq!(name(&fallback), Some("one"));
        let said = fallback.error.unwrap_or_default();
        assert!(
            said.contains("passwords written into the file are masked"),
            "{said}"
        );
    }

    #[tokio::test]
    async fn built_in_stack_needs_no_file() {
        let w = StackWatcher {
            source: StackSource::BuiltIn,
            saved: None,
            good: None,
            poll: POLL_INTERVAL,
            env: LoadEnv::default(),
        };
        let loaded = w.spawn().borrow().clone();
        assert!(loaded.error.is_none());
        assert!(loaded.stack.unwrap().services.len() >= 8);
        assert_eq!(loaded.source, DEFAULT_STACK_NAME);
    }
}
