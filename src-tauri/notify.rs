//! Desktop notifications for what needs a person while the window may be
//! closed: a service the healer quarantined, with why. One notification per
//! quarantine (not one per state change), through the freedesktop
//! notification service.

use std::collections::BTreeSet;

use stackwarden_model::redact;
use stackwarden_runtime::RuntimeState;
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

/// Services quarantined now, with why.
fn quarantined(state: &RuntimeState) -> Vec<(String, String)> {
    state
        .status
        .healing
        .services
        .iter()
        .filter(|s| s.state == "quarantined")
        .map(|s| (s.service.clone(), s.detail.clone()))
        .collect()
}

/// Notifies each service that enters quarantine, once.
pub fn spawn_quarantine_notifier(
    app: AppHandle,
    mut rx: tokio::sync::watch::Receiver<RuntimeState>,
) {
    tauri::async_runtime::spawn(async move {
        let mut told: BTreeSet<String> = BTreeSet::new();
        loop {
            let now = quarantined(&rx.borrow_and_update());
            for (service, why) in &now {
                if told.insert(service.clone()) {
                    let shown = app
                        .notification()
                        .builder()
                        .title(format!("{service} needs you"))
                        .body(redact::text(&format!(
                            "The healer stopped acting on {service}: {why}. Open Stackwarden's Healing view to release it."
                        )))
                        .show();
                    if let Err(e) = shown {
                        tracing::warn!("cannot show a notification: {e}");
                    }
                }
            }
            told.retain(|s| now.iter().any(|(q, _)| q == s));
            if rx.changed().await.is_err() {
                return;
            }
        }
    });
}
