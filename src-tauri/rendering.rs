//! How the window's web view draws, on Linux. Stackwarden's page is tables,
//! text and small SVG charts: nothing that needs the GPU. WebKitGTK's default
//! policy composites the page in layers backed by GL textures; where the GL is
//! Mesa's software rasteriser (no GPU, a virtual or remote display) those
//! textures are ordinary memory of the web process, rasterised by the CPU.
//! Drawing the page directly (hardware acceleration policy "never") measured
//! 80-95 MB less in the web process, and less CPU in it and in this process,
//! on the Services view (the footprint benchmark's rendering comparison,
//! docs/benchmarks.md section 3).
//!
//! `STACKWARDEN_WEBVIEW_GPU=1` keeps WebKit's own policy, for a desktop
//! where that draws better.

/// The environment variable that keeps WebKit's own rendering policy.
pub const KEEP_GPU_ENV: &str = "STACKWARDEN_WEBVIEW_GPU";

/// Whether the page is drawn without accelerated compositing, given the
/// value of [`KEEP_GPU_ENV`].
pub fn software_rendering(keep_gpu: Option<&str>) -> bool {
    !matches!(keep_gpu.map(str::trim), Some("1" | "true" | "yes" | "on"))
}

/// Applies the rendering policy to a newly built window's web view.
pub fn apply<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) {
    if !software_rendering(std::env::var(KEEP_GPU_ENV).ok().as_deref()) {
        tracing::info!("web view: WebKit's own rendering policy ({KEEP_GPU_ENV} is set)");
        return;
    }
    let applied = window.with_webview(|webview| {
        #[cfg(target_os = "linux")]
        {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = webview.inner().settings() {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = webview;
    });
    if let Err(e) = applied {
        tracing::warn!("web view: cannot set its rendering policy: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::software_rendering;

    #[test]
    fn software_rendering_is_the_default_and_the_variable_opts_out() {
        assert!(software_rendering(None));
        assert!(software_rendering(Some("")));
        assert!(software_rendering(Some("0")));
        assert!(!software_rendering(Some("1")));
        assert!(!software_rendering(Some(" yes ")));
    }
}
