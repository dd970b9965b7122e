//! Desktop notifications through the freedesktop notification service.
//! What to say and how often is the runtime's notice policy
//! (`stackwarden_runtime::notices`); this shows each notice, replaces the
//! one shown before under the same key (one notification per incident,
//! updated and then closed), and carries out its actions (Open, Recover)
//! where the server offers actions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify_rust::{Notification, Urgency};
use stackwarden_health::VerificationRun;
use stackwarden_model::clock::now_ms;
use stackwarden_runtime::notices::{Notice, NoticeAction, NoticePolicy};
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;

/// Tells the showings of one notification apart.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Time passing matters too (the engine lost for 10 s, a held update).
const TICK: Duration = Duration::from_secs(5);
/// The icon name the package installs.
const ICON: &str = "stackwarden-desktop";

#[derive(Clone)]
pub struct Notifier {
    policy: Arc<Mutex<NoticePolicy>>,
    /// The server's id of the notification shown under each key, and the
    /// generation of its newest showing (an update keeps the id).
    shown: Arc<Mutex<HashMap<String, (u32, u64)>>>,
    /// What the server can do, asked once.
    server: Arc<Mutex<Option<ServerCaps>>>,
}

#[derive(Debug, Clone, Copy)]
struct ServerCaps {
    actions: bool,
    /// The body is read as markup: text is escaped first.
    markup: bool,
}

impl Notifier {
    fn new<R: Runtime>(app: &AppHandle<R>) -> Self {
        let config = app.state::<AppState>().notifications();
        Self {
            policy: Arc::new(Mutex::new(NoticePolicy::new(config))),
            shown: Arc::default(),
            server: Arc::default(),
        }
    }

    /// The server's id and generation of what is shown under `key`.
    fn shown(&self, key: &str) -> Option<(u32, u64)> {
        self.shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied()
    }

    /// Forgets `key` unless it was shown again since `generation`.
    fn forget(&self, key: &str, generation: u64) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        if shown.get(key).is_some_and(|(_, g)| *g == generation) {
            shown.remove(key);
        }
    }

    /// A server restart or a runtime restart: what follows is catching up.
    pub fn restarted(&self) {
        self.policy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .restarted(now_ms());
    }

    /// Runs `f` on the policy with the notification settings in force.
    fn with_policy<R: Runtime, T>(
        &self,
        app: &AppHandle<R>,
        f: impl FnOnce(&mut NoticePolicy) -> T,
    ) -> T {
        let config = app.state::<AppState>().notifications();
        let mut policy = self.policy.lock().unwrap_or_else(PoisonError::into_inner);
        policy.set_config(config);
        f(&mut policy)
    }
}

/// Starts following the app's state for notices.
pub fn spawn<R: Runtime>(app: AppHandle<R>) {
    let notifier = Notifier::new(&app);
    app.manage(notifier.clone());
    let mut rx = app.state::<AppState>().states.subscribe();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let state = rx.borrow_and_update().clone();
            for notice in notifier.with_policy(&app, |p| p.observe(&state, now_ms())) {
                show(&app, &notifier, notice).await;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = tick.tick() => {}
            }
        }
    });
}

/// A verification finished (window, tray or launcher): a failure is news.
pub fn verification_done<R: Runtime>(app: &AppHandle<R>, run: &VerificationRun) {
    let Some(notifier) = app.try_state::<Notifier>() else {
        return;
    };
    let notices = notifier.with_policy(app, |p| p.verification_done(run, now_ms()));
    let (app, notifier) = (app.clone(), notifier.inner().clone());
    tauri::async_runtime::spawn(async move {
        for notice in notices {
            show(&app, &notifier, notice).await;
        }
    });
}

/// What the server can do, asked until it answers (at login the
/// notification daemon may start after the app). Unknown: no buttons, and
/// the body escaped as if it were markup.
fn server_caps(notifier: &Notifier) -> ServerCaps {
    let mut known = notifier
        .server
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(caps) = *known {
        return caps;
    }
    match notify_rust::get_capabilities() {
        Ok(caps) => {
            let has = |name: &str| caps.iter().any(|c| c == name);
            let caps = ServerCaps {
                actions: has("actions"),
                markup: has("body-markup"),
            };
            *known = Some(caps);
            caps
        }
        Err(e) => {
            tracing::debug!("notification server capabilities unknown: {e}");
            ServerCaps {
                actions: false,
                markup: true,
            }
        }
    }
}

/// `text` as plain text in a markup body: what a service or the engine said
/// (a container name, a log line) can never become a link or an image.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

async fn show<R: Runtime>(app: &AppHandle<R>, notifier: &Notifier, notice: Notice) {
    let (app, notifier) = (app.clone(), notifier.clone());
    let done = tokio::task::spawn_blocking(move || {
        let previous = notifier.shown(&notice.key).map(|(id, _)| id);
        let caps = server_caps(&notifier);
        let body = if caps.markup {
            escape_markup(&notice.body)
        } else {
            notice.body.clone()
        };
        let mut n = Notification::new();
        n.appname("Stackwarden")
            .summary(&notice.title)
            .body(&body)
            .icon(ICON)
            .urgency(if notice.critical {
                Urgency::Critical
            } else {
                Urgency::Normal
            });
        if let Some(id) = previous {
            n.id(id);
        }
        let with_actions = caps.actions && !notice.actions.is_empty();
        if with_actions {
            for a in &notice.actions {
                n.action(a.id(), a.label());
            }
        }
        let handle = match n.show() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("cannot show a notification: {e}");
                return;
            }
        };
        let id = handle.id();
        let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
        notifier
            .shown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(notice.key.clone(), (id, generation));
        if !with_actions {
            if notice.last {
                notifier.forget(&notice.key, generation);
            }
            return;
        }
        let view = notice.view;
        let spawned = std::thread::Builder::new()
            .name("notification actions".into())
            .spawn(move || {
                handle.wait_for_action(|action| {
                    // An update keeps the id, and the waiter of each
                    // showing hears the click: only the newest one acts.
                    if notifier.shown(&notice.key) == Some((id, generation)) {
                        act(&app, action, view);
                    }
                });
                if notice.last {
                    notifier.forget(&notice.key, generation);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot follow a notification's buttons: {e}");
        }
    })
    .await;
    if let Err(e) = done {
        tracing::warn!("notification task failed: {e}");
    }
}

fn act<R: Runtime>(app: &AppHandle<R>, action: &str, view: &'static str) {
    let app2 = app.clone();
    let action = NoticeAction::from_id(action);
    let run = move || match action {
        Some(NoticeAction::Open) => {
            crate::window::show_main_at(&app2, Some(view));
            crate::window::show_view(&app2, view);
        }
        Some(NoticeAction::Recover) => crate::recovery::from_tray(&app2),
        None => {}
    };
    if let Err(e) = app.run_on_main_thread(run) {
        tracing::warn!("cannot act on a notification: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::escape_markup;

    #[test]
    fn markup_in_what_services_say_stays_text() {
        assert_eq!(
            escape_markup("<a href=\"http://x\">db</a> & <img src=x>"),
            "&lt;a href=&quot;http://x&quot;&gt;db&lt;/a&gt; &amp; &lt;img src=x&gt;"
        );
    }
}
