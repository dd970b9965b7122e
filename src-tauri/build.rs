//! Declares the app's own commands so capabilities/ can allow exactly these.

fn main() {
    println!("cargo:rerun-if-changed=capabilities");
    let commands = tauri_build::AppManifest::new().commands(&[
        "get_snapshot",
        "app_info",
        "runtime_status",
        "container_action",
        "open_logs",
        "close_logs",
        "service_history",
        "set_view_visible",
        "retry_engine",
        "get_health",
        "probe_history",
        "verify_now",
        "verification_history",
        "verification_run",
        "export_report",
        "recent_transitions",
        "timeline",
        "telemetry",
        "export_incident_report",
        "incident_detail",
        "release_heal",
        "drill_plan",
        "run_drill",
        "drills",
        "recovery_plan",
        "run_recovery",
        "recoveries",
        "settings_get",
        "settings_save",
        "test_connection",
        "set_probe_password",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(commands)) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
