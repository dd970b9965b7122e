"""Finding the app's X11 window and asking it to close the way a window
manager does (WM_DELETE_WINDOW), for tests and benchmarks under Xvfb."""

import time

from Xlib import X, display as xdisplay, error as xerror
from Xlib.protocol import event as xevent


def find_app_window(display_name: str, pid: int, title: str = "Stackwarden"):
    """Returns (display, window) of the top-level window of `pid` named `title`."""
    d = xdisplay.Display(display_name)
    pid_atom = d.intern_atom("_NET_WM_PID")

    def walk(w):
        try:
            prop = w.get_full_property(pid_atom, X.AnyPropertyType)
            if prop and prop.value[0] == pid and w.get_wm_name() == title:
                return w
            children = w.query_tree().children
        except (xerror.BadWindow, xerror.BadDrawable):  # destroyed while we looked
            return None
        for child in children:
            found = walk(child)
            if found:
                return found
        return None

    return d, walk(d.screen().root)


def request_close(d, win):
    """Sends WM_DELETE_WINDOW, as the close button of a window manager would."""
    protocols = d.intern_atom("WM_PROTOCOLS")
    delete = d.intern_atom("WM_DELETE_WINDOW")
    win.send_event(xevent.ClientMessage(window=win, client_type=protocols,
                                        data=(32, [delete, X.CurrentTime, 0, 0, 0])))
    d.flush()


def is_viewable(win) -> bool:
    return win.get_attributes().map_state == X.IsViewable


def distinct_colours(win, step: int = 7) -> int:
    """How many different pixel values a sample of the window shows: a blank
    (never painted) window has one or two, a rendered page many."""
    geometry = win.get_geometry()
    image = win.get_image(0, 0, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF)
    data = image.data
    return len({bytes(data[i:i + 4]) for i in range(0, len(data) - 4, 4 * step)})


def close_until_gone(display_name: str, pid: int, is_open, title: str = "Stackwarden",
                     waits=(5.0, 30.0)) -> bool:
    """Asks the app's window to close as a window manager does, and once more
    if it is still open: a close that comes while the page is still settling
    is sometimes lost under Xvfb (about one in ten), and a second click closes
    it, as it would for a user. True once `is_open()` says it is gone."""
    for wait in waits:
        d, win = find_app_window(display_name, pid, title)
        if win is None:
            d.close()
            return True
        request_close(d, win)
        d.close()
        deadline = time.time() + wait
        while time.time() < deadline:
            if not is_open():
                return True
            time.sleep(0.05)
    return False
