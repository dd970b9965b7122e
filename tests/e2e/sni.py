"""A StatusNotifierWatcher for the test session bus, and a client that reads
the app's StatusNotifierItem and clicks its menu, the way a desktop panel
would. Runs dbus-next's asyncio loop in a thread behind a synchronous API."""

import asyncio
import threading
import time

from dbus_next import BusType, Variant
from dbus_next.aio import MessageBus
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

WATCHER = "org.kde.StatusNotifierWatcher"
NOTIFICATIONS = "org.freedesktop.Notifications"


class _Notifications(ServiceInterface):
    """A notification server as a desktop runs one: records what it is
    asked to show."""

    def __init__(self):
        super().__init__(NOTIFICATIONS)
        self.shown = []
        self.next_id = 0

    @method()
    def Notify(self, app_name: "s", replaces_id: "u", app_icon: "s", summary: "s", body: "s",  # noqa: F821
               actions: "as", hints: "a{sv}", expire_timeout: "i") -> "u":  # noqa: F821
        # As a real server: an update keeps its id, a new one gets the next.
        if replaces_id:
            nid = replaces_id
        else:
            self.next_id += 1
            nid = self.next_id
        urgency = hints.get("urgency")
        self.shown.append({"app": app_name, "summary": summary, "body": body, "id": nid,
                           "replaces": replaces_id, "actions": list(actions), "icon": app_icon,
                           "urgency": urgency.value if urgency is not None else None})
        return nid

    @method()
    def GetCapabilities(self) -> "as":  # noqa: F821
        return ["body", "actions"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: F821
        return ["sw-test", "stackwarden", "1", "1.2"]

    @method()
    def CloseNotification(self, id: "u"):  # noqa: F821
        pass

    @signal()
    def NotificationClosed(self, id, reason) -> "uu":  # noqa: F821
        return [id, reason]

    @signal()
    def ActionInvoked(self, id, key) -> "us":  # noqa: F821
        return [id, key]


class _Watcher(ServiceInterface):
    def __init__(self):
        super().__init__(WATCHER)
        self.items = []

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):  # noqa: F821
        if service not in self.items:
            self.items.append(service)
        self.StatusNotifierItemRegistered(service)

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):  # noqa: F821
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":  # noqa: F821
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":  # noqa: F821
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":  # noqa: F821
        return 0

    @signal()
    def StatusNotifierItemRegistered(self, service) -> "s":  # noqa: F821
        return service

    @signal()
    def StatusNotifierItemUnregistered(self, service) -> "s":  # noqa: F821
        return service

    @signal()
    def StatusNotifierHostRegistered(self):
        return None


class SniHost:
    """Owns the watcher name on the session bus at `address`."""

    def __init__(self, address: str):
        self.address = address
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.watcher = _Watcher()
        self.notifications = _Notifications()
        self.bus = self._run(self._connect())

    def _run(self, coro, timeout=15):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self):
        bus = await MessageBus(bus_address=self.address, bus_type=BusType.SESSION).connect()
        bus.export("/StatusNotifierWatcher", self.watcher)
        await bus.request_name(WATCHER)
        bus.export("/org/freedesktop/Notifications", self.notifications)
        await bus.request_name(NOTIFICATIONS)
        # Announce the host so items that wait for one register.
        self.watcher.StatusNotifierHostRegistered()
        return bus

    def invoke_action(self, nid: int, key: str):
        """The user clicks a notification's button."""

        async def emit():
            self.notifications.ActionInvoked(nid, key)

        self._run(emit())

    def wait_for_item(self, timeout=30.0) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.watcher.items:
                return self.watcher.items[-1]
            time.sleep(0.2)
        raise AssertionError("no StatusNotifierItem registered with the watcher")

    async def _item(self, service: str):
        # ksni registers its well-known name; the item lives at /StatusNotifierItem.
        intro = await self.bus.introspect(service, "/StatusNotifierItem")
        obj = self.bus.get_proxy_object(service, "/StatusNotifierItem", intro)
        return obj.get_interface("org.kde.StatusNotifierItem")

    def item_properties(self, service: str) -> dict:
        async def read():
            item = await self._item(service)
            tooltip = await item.get_tool_tip()
            pixmaps = await item.get_icon_pixmap()
            return {
                "title": await item.get_title(),
                "status": await item.get_status(),
                "tooltip_title": tooltip[2],
                "tooltip_text": tooltip[3],
                "menu": await item.get_menu(),
                "icon": pixmaps[0] if pixmaps else None,
            }

        return self._run(read())

    def owner_pid(self, service: str) -> int:
        async def pid():
            intro = await self.bus.introspect("org.freedesktop.DBus", "/org/freedesktop/DBus")
            obj = self.bus.get_proxy_object("org.freedesktop.DBus", "/org/freedesktop/DBus", intro)
            dbus = obj.get_interface("org.freedesktop.DBus")
            return await dbus.call_get_connection_unix_process_id(service)

        return self._run(pid())

    def menu_labels(self, service: str, menu_path: str) -> dict:
        """Label -> item id of the tray menu's top level."""

        async def layout():
            intro = await self.bus.introspect(service, menu_path)
            menu = self.bus.get_proxy_object(service, menu_path, intro).get_interface("com.canonical.dbusmenu")
            _revision, root = await menu.call_get_layout(0, -1, [])
            labels = {}
            for child in root[2]:
                item_id, props, _children = child.value
                if "label" in props:
                    labels[props["label"].value.replace("_", "")] = item_id
            return labels

        return self._run(layout())

    def click_menu(self, service: str, menu_path: str, item_id: int):
        async def click():
            intro = await self.bus.introspect(service, menu_path)
            menu = self.bus.get_proxy_object(service, menu_path, intro).get_interface("com.canonical.dbusmenu")
            await menu.call_event(item_id, "clicked", Variant("i", 0), int(time.time()))

        self._run(click())

    def close(self):
        try:
            self.bus.disconnect()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
