"""The real window through tauri-driver and WebKitWebDriver: a session
whose every call has a bound, and screenshots that cannot hang.

WebKitGTK answers a WebDriver screenshot after the page's next
presentation update. The app draws its web view without GPU compositing
(src-tauri/rendering.rs), and then a page that does not change (no engine,
so no resource samples) presents no new frame: the screenshot waited for
ever and hung the suite. So the page is made to repaint one invisible
pixel for a moment before each screenshot."""

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection

# No WebDriver call of the tests or benchmarks takes this long: one that
# does means the window stopped answering.
CALL_TIMEOUT_S = 120

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


def open_session(port: int, application: Path) -> webdriver.Remote:
    """Starts `application` through the tauri-driver listening on `port`.

    Every call is bounded by CALL_TIMEOUT_S and never retried: urllib3
    would otherwise send a GET again (a second screenshot request) after
    each read timeout, up to three times."""
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": str(application)})
    address = f"http://127.0.0.1:{port}"
    config = ClientConfig(remote_server_addr=address, timeout=CALL_TIMEOUT_S,
                          init_args_for_pool_manager={"init_args_for_pool_manager": {"retries": False}})
    driver = webdriver.Remote(command_executor=RemoteConnection(client_config=config), options=options)
    driver.implicitly_wait(0)
    return driver


def screenshot(driver, path: Path):
    """Saves the window's page as a PNG at `path`."""
    driver.execute_script(_REPAINT_FOR_A_MOMENT)
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
