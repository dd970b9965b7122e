"""Screenshots of the real window through WebKitWebDriver.

WebKitGTK answers a WebDriver screenshot after the page's next
presentation update. The app draws its web view without GPU compositing
(src-tauri/rendering.rs), and then a page that does not change (no engine,
so no resource samples) presents no new frame: the screenshot waited for
ever and hung the suite. So the page is made to repaint one invisible
pixel for a moment before each screenshot."""

from pathlib import Path

# A 1x1 px mark in the corner, nearly transparent, repainted every 50 ms
# for 3 s and then removed; hidden from assistive technology and the mouse.
_REPAINT_FOR_A_MOMENT = """
const mark = document.createElement('div');
mark.setAttribute('aria-hidden', 'true');
mark.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;opacity:0.01;background:#000';
document.body.appendChild(mark);
let n = 0;
const tick = setInterval(() => {
  mark.style.opacity = n++ % 2 ? '0.01' : '0.02';
  if (n > 60) { clearInterval(tick); mark.remove(); }
}, 50);
"""


def screenshot(driver, path: Path):
    """Saves the window's page as a PNG at `path`."""
    driver.execute_script(_REPAINT_FOR_A_MOMENT)
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
