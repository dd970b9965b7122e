//! The tray icon: its colour, title and tooltip show the overall state, and
//! a white mark on it an open incident. Its menu is useful without the
//! window: the status line and each required service's status (not
//! clickable), then Verify now, Recover…, Open Stackwarden and Quit. With the stack's health known, the colour
//! follows its level (green: every required service healthy; amber: one is
//! degraded, unhealthy or unknown; red: one is down) and the title its score.
//! Otherwise: green all running, amber some not running; red engine
//! unreachable; grey still connecting.

use stackwarden_health::HealthLevel;
use stackwarden_incidents::Incident;
use stackwarden_model::{OverallLevel, StackSummary};
use stackwarden_probes::StackHealth;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;

pub const TRAY_ID: &str = "stackwarden";
const ICON_SIZE: u32 = 32;

/// How the tray should look for a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayLook {
    pub rgb: [u8; 3],
    pub title: String,
    pub tooltip: String,
    /// An incident is open: the icon carries a mark.
    pub incident: bool,
    /// The menu's information lines: the status, then each required service.
    pub lines: Vec<String>,
}

const GREEN: [u8; 3] = [0x2e, 0xa0, 0x43];
const AMBER: [u8; 3] = [0xd2, 0x99, 0x22];
const RED: [u8; 3] = [0xcf, 0x22, 0x2e];
const GREY: [u8; 3] = [0x8b, 0x94, 0x9e];

/// The tray's colour, title and tooltip; an open incident leads the tooltip.
pub fn look(
    summary: &StackSummary,
    health: Option<&StackHealth>,
    incidents: &[Incident],
) -> TrayLook {
    let mut look = plain_look(summary, health);
    look.lines = menu_lines(&look.title, health);
    look.incident = !incidents.is_empty();
    if let Some(first) = incidents.first() {
        let more = match incidents.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        look.tooltip = format!(
            "Incident open since {}: {}{more}\n{}",
            stackwarden_report::when(first.opened_at_ms),
            first.cause.summary,
            look.tooltip
        );
    }
    look
}

fn plain_look(summary: &StackSummary, health: Option<&StackHealth>) -> TrayLook {
    let scored = health.and_then(|h| Some((h, h.breakdown.as_ref()?, h.level?)));
    if let (OverallLevel::AllRunning | OverallLevel::SomeNotRunning, Some((h, b, level))) =
        (summary.level, scored)
    {
        let rgb = match level {
            HealthLevel::Healthy => GREEN,
            HealthLevel::Degraded => AMBER,
            HealthLevel::Failing => RED,
        };
        return TrayLook {
            rgb,
            title: format!("Stackwarden: {:.0}% healthy", b.overall),
            tooltip: format!("{}\n{}", h.headline, summary.headline),
            incident: false,
            lines: Vec::new(),
        };
    }
    let rgb = match summary.level {
        OverallLevel::AllRunning => GREEN,
        OverallLevel::SomeNotRunning => AMBER,
        OverallLevel::EngineUnreachable => RED,
        OverallLevel::Connecting => GREY,
    };
    TrayLook {
        rgb,
        title: format!("Stackwarden: {}", summary.headline),
        tooltip: summary.headline.clone(),
        incident: false,
        lines: Vec::new(),
    }
}

/// The status line, then "service: status" for each required service.
fn menu_lines(title: &str, health: Option<&StackHealth>) -> Vec<String> {
    let mut lines = vec![title
        .strip_prefix("Stackwarden: ")
        .unwrap_or(title)
        .to_string()];
    let Some(b) = health.and_then(|h| h.breakdown.as_ref()) else {
        return lines;
    };
    let required = |group: &str| b.groups.iter().any(|g| g.group == group && g.required);
    lines.extend(
        b.services
            .iter()
            .filter(|s| required(&s.group))
            .map(|s| format!("{}: {}", s.service, s.status.word())),
    );
    lines
}

/// A filled disc with a darker rim, as straight RGBA; with `incident`, a
/// white exclamation mark on it.
pub fn icon_rgba([r, g, b]: [u8; 3], incident: bool) -> Vec<u8> {
    let size = ICON_SIZE as f32;
    let centre = size / 2.0 - 0.5;
    let radius = size / 2.0 - 2.0;
    let mut out = Vec::with_capacity((ICON_SIZE * ICON_SIZE * 4) as usize);
    for y in 0..ICON_SIZE {
        for x in 0..ICON_SIZE {
            let d = ((x as f32 - centre).powi(2) + (y as f32 - centre).powi(2)).sqrt();
            let alpha = (radius + 0.5 - d).clamp(0.0, 1.0);
            let rim = d > radius - 2.5;
            let shade = |c: u8| if rim { (f32::from(c) * 0.7) as u8 } else { c };
            let mark = incident
                && (x as f32 - centre).abs() <= 2.0
                && ((7..=19).contains(&y) || (22..=25).contains(&y));
            if mark {
                out.extend_from_slice(&[255, 255, 255, 255]);
            } else {
                out.extend_from_slice(&[shade(r), shade(g), shade(b), (alpha * 255.0) as u8]);
            }
        }
    }
    out
}

/// The menu for `lines`: information first (disabled items, returned so
/// their text can change in place), then actions.
fn menu<R: Runtime>(
    app: &AppHandle<R>,
    lines: &[String],
) -> tauri::Result<(Menu<R>, Vec<MenuItem<R>>)> {
    let menu = Menu::new(app)?;
    let mut items = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let item = MenuItem::with_id(app, format!("line-{i}"), line, false, None::<&str>)?;
        menu.append(&item)?;
        items.push(item);
    }
    if !lines.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "verify",
        "Verify now",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        "recover",
        "Recover…",
        true,
        None::<&str>,
    )?)?;
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open Stackwarden",
        true,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok((menu, items))
}

pub fn create<R: Runtime>(app: &AppHandle<R>, l: &TrayLook) -> tauri::Result<TrayIcon<R>> {
    let (menu, _) = menu(app, &l.lines)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::new_owned(
            icon_rgba(l.rgb, l.incident),
            ICON_SIZE,
            ICON_SIZE,
        ))
        .title(&l.title)
        .tooltip(&l.tooltip)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => crate::window::show_main(app),
            "verify" => crate::verification::from_tray(app),
            "recover" => crate::recovery::from_tray(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::window::show_main(tray.app_handle());
            }
        })
        .build(app)
}

/// The look for the app's current state.
fn current_look<R: Runtime>(app: &AppHandle<R>) -> Option<TrayLook> {
    let state = app.try_state::<AppState>()?;
    let now = state.states.borrow().clone();
    Some(look(
        &now.snapshot.summary,
        Some(&now.health),
        &now.status.incidents,
    ))
}

/// Creates the tray, retrying while the desktop has no StatusNotifierWatcher
/// yet (a panel that starts after the app, or none at all): the app runs
/// without a tray meanwhile, and closing its window then quits it.
pub fn spawn_creator<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let mut warned = false;
        loop {
            let Some(l) = current_look(&app) else {
                tokio::time::sleep(TRAY_RETRY).await;
                continue;
            };
            match create(&app, &l) {
                Ok(_) => {
                    tracing::info!("tray icon registered");
                    refresh(&app);
                    return;
                }
                Err(e) => {
                    if !warned {
                        tracing::warn!(
                            "no tray yet ({e}); retrying every {} s",
                            TRAY_RETRY.as_secs()
                        );
                        warned = true;
                    }
                }
            }
            tokio::time::sleep(TRAY_RETRY).await;
        }
    });
}

const TRAY_RETRY: std::time::Duration = std::time::Duration::from_secs(3);

/// Asks the tray task to bring the tray up to date; cheap, and many asks
/// in a row collapse into one update.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    if let Some(state) = app.try_state::<AppState>() {
        state.tray_refresh.notify_one();
    }
}

/// The one task that touches the tray after creation, so two updates can
/// never race and leave a stale look behind.
pub fn spawn_updater<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let Some(state) = app.try_state::<AppState>() else {
            return;
        };
        let wake = std::sync::Arc::clone(&state.tray_refresh);
        let mut shown: Option<TrayLook> = None;
        let mut line_items: Vec<MenuItem<R>> = Vec::new();
        loop {
            wake.notified().await;
            let (Some(tray), Some(l)) = (app.tray_by_id(TRAY_ID), current_look(&app)) else {
                continue;
            };
            if shown.as_ref() == Some(&l) {
                continue;
            }
            if shown.as_ref().is_none_or(|s| s.lines != l.lines) {
                // Same shape: new words on the same items, so a menu that is
                // open (or an item being clicked) is never pulled away.
                let in_place = shown.is_some()
                    && line_items.len() == l.lines.len()
                    && line_items
                        .iter()
                        .zip(&l.lines)
                        .all(|(item, line)| item.set_text(line).is_ok());
                if !in_place {
                    match menu(&app, &l.lines) {
                        Ok((m, items)) => match tray.set_menu(Some(m)) {
                            Ok(()) => line_items = items,
                            Err(e) => tracing::warn!("tray menu update failed: {e}"),
                        },
                        Err(e) => tracing::warn!("cannot build the tray menu: {e}"),
                    }
                }
            }
            let results = [
                tray.set_icon(Some(Image::new_owned(
                    icon_rgba(l.rgb, l.incident),
                    ICON_SIZE,
                    ICON_SIZE,
                ))),
                tray.set_title(Some(&l.title)),
                tray.set_tooltip(Some(&l.tooltip)),
            ];
            for r in results {
                if let Err(e) = r {
                    tracing::warn!("tray update failed: {e}");
                }
            }
            shown = Some(l);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::{EngineStatus, StackSummary};

    #[test]
    fn colour_and_words_follow_the_level() {
        let unreachable = StackSummary::of(
            &EngineStatus::Unreachable {
                attempts: vec![],
                hint: String::new(),
                retry_in_ms: 0,
            },
            &[],
        );
        let l = look(&unreachable, None, &[]);
        assert_eq!(l.rgb, [0xcf, 0x22, 0x2e]);
        assert_eq!(l.title, "Stackwarden: Container engine unreachable");
        let connected = StackSummary::of(
            &EngineStatus::Connected {
                endpoint: "e".into(),
                source: "s".into(),
            },
            &[],
        );
        assert_eq!(look(&connected, None, &[]).rgb, GREEN);
    }

    #[test]
    fn with_health_the_tray_shows_score_and_level() {
        use std::collections::HashMap;
        use std::sync::Arc;

        use stackwarden_model::testing::row;
        use stackwarden_model::{ContainerState, HealthState, StackSnapshot};

        let yaml = "name: ai\nx-stackwarden:\n  groups:\n    core: { label: Core, required: true }\nservices:\n  db:\n    image: x\n    container_name: ai-db\n    x-stackwarden: { group: core }\n  web:\n    image: x\n    container_name: ai-web\n    x-stackwarden: { group: core }\n";
        let loaded = stackwarden_stack::LoadedStack {
            stack: stackwarden_stack::parse(yaml, "s.yaml").ok().map(Arc::new),
            source: "s.yaml".into(),
            error: None,
        };
        let engine = EngineStatus::Connected {
            endpoint: "e".into(),
            source: "s".into(),
        };
        let at = |web: ContainerState| {
            let rows = vec![
                row("ai-db", ContainerState::Running, HealthState::None),
                row("ai-web", web, HealthState::None),
            ];
            let snapshot = StackSnapshot::new(engine.clone(), rows, None, 0);
            let health =
                stackwarden_probes::view(&loaded, &snapshot, &HashMap::new(), &Default::default());
            look(&snapshot.summary, Some(&health), &[])
        };
        let healthy = at(ContainerState::Running);
        assert_eq!(healthy.rgb, GREEN);
        assert_eq!(healthy.title, "Stackwarden: 100% healthy");
        assert!(
            healthy
                .tooltip
                .starts_with("ai: 100% healthy, all required"),
            "{}",
            healthy.tooltip
        );
        let stopped = at(ContainerState::Exited);
        assert_eq!(stopped.rgb, RED);
        assert_eq!(stopped.title, "Stackwarden: 50% healthy");
        assert!(stopped.tooltip.contains("web down"), "{}", stopped.tooltip);
        assert_eq!(
            stopped.lines,
            vec![
                "50% healthy".to_string(),
                "db: healthy".into(),
                "web: down".into()
            ]
        );
        assert!(!stopped.incident);
    }

    #[test]
    fn an_open_incident_leads_the_tooltip() {
        use stackwarden_incidents::{IncidentTracker, Signal};

        let mut tracker = IncidentTracker::new(Default::default());
        tracker.apply(Signal::Status {
            at_ms: 1_000,
            service: "postgres".into(),
            to: stackwarden_health::ServiceStatus::Down,
            reason: "container exited (137)".into(),
            required: true,
        });
        let summary = StackSummary::of(
            &EngineStatus::Connected {
                endpoint: "e".into(),
                source: "s".into(),
            },
            &[],
        );
        let l = look(&summary, None, tracker.open_incidents());
        assert!(
            l.tooltip.starts_with("Incident open since ")
                && l.tooltip.contains("postgres down: container exited (137)"),
            "{}",
            l.tooltip
        );
    }

    #[test]
    fn icon_is_a_disc_with_transparent_corners() {
        let px = icon_rgba([10, 200, 30], false);
        assert_eq!(px.len(), 32 * 32 * 4);
        assert_eq!(px[3], 0, "corner transparent");
        let centre = ((16 * 32 + 16) * 4) as usize;
        assert_eq!(&px[centre..centre + 4], &[10, 200, 30, 255]);
        let marked = icon_rgba([10, 200, 30], true);
        assert_eq!(&marked[centre..centre + 4], &[255, 255, 255, 255]);
        let below_mark = ((21 * 32 + 16) * 4) as usize;
        assert_eq!(&marked[below_mark..below_mark + 4], &[10, 200, 30, 255]);
    }
}
