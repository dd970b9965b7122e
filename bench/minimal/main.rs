//! The footprint benchmark's baseline: a minimal Tauri 2 app (one window,
//! one static page, no plugins, no tray), built with the same Tauri and
//! profile as Stackwarden. `bench/app_cpu.py` measures both side by side.

fn main() {
    if let Err(e) =
        tauri::Builder::default().run(tauri::generate_context!("bench/minimal/tauri.conf.json"))
    {
        eprintln!("minimal tauri app: {e}");
        std::process::exit(1);
    }
}
