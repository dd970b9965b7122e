//! Entry point of the Stackwarden desktop app; everything lives in the library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    stackwarden_desktop::run()
}
