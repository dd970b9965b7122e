//! What the app was asked at launch: the launcher's desktop actions
//! (`--verify`, `--recover`) and the autostart entry's `--hidden` (stay in
//! the tray). A second launch hands its arguments to the running instance
//! (single instance), so "Verify now" from the dock reaches the app that
//! already watches.

use tauri::{AppHandle, Runtime};

/// One launch's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Launch {
    /// Start in the tray without a window (autostart at login).
    pub hidden: bool,
    pub verify: bool,
    pub recover: bool,
}

impl Launch {
    /// Reads the flags; anything else (a stray argument, the program name)
    /// is ignored, so an odd launcher line still opens the app.
    pub fn from_args<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> Self {
        let mut out = Self::default();
        for arg in args {
            match arg.as_ref() {
                "--hidden" => out.hidden = true,
                "--verify" => out.verify = true,
                "--recover" => out.recover = true,
                _ => {}
            }
        }
        out
    }
}

/// Carries out `launch` in the running app.
pub fn act<R: Runtime>(app: &AppHandle<R>, launch: Launch) {
    if launch.verify {
        crate::verification::from_tray(app);
    } else if launch.recover {
        crate::recovery::from_tray(app);
    } else if !launch.hidden {
        crate::window::show_main(app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_and_the_rest_ignored() {
        let l = Launch::from_args(["/usr/bin/stackwarden-desktop", "--hidden", "odd"]);
        assert_eq!(
            l,
            Launch {
                hidden: true,
                ..Launch::default()
            }
        );
        assert!(Launch::from_args(["x", "--verify"]).verify);
        assert!(Launch::from_args(["x", "--recover"]).recover);
        assert_eq!(Launch::from_args(["x"]), Launch::default());
    }
}
