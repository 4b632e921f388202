"""The operator console: a Textual app that reads a ConsoleSource on a timer and never blocks the loop."""
from __future__ import annotations

import logging
import time
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

from ..service.printable_source import PrintableSource
from .printable_filter import PrintableFilter
from .screens.base import LiveScreen
from .state import ConsoleState

# (mode id, number key, title, module, class)
SCREENS = (
    ("overview", "1", "Overview", "overview", "OverviewScreen"),
    ("requests", "2", "Requests", "requests", "RequestsScreen"),
    ("budgets", "3", "Budgets", "budgets", "BudgetsScreen"),
    ("failover", "4", "Failover", "failover", "FailoverScreen"),
    ("plots", "5", "Plots", "plots", "PlotsScreen"),
    ("keys", "6", "Keys", "entities", "KeysScreen"),
    ("teams", "7", "Teams", "entities", "TeamsScreen"),
    ("customers", "8", "Customers", "entities", "CustomersScreen"),
    ("providers", "9", "Providers", "entities", "ProvidersScreen"),
)
ALIASES = {"logs": "requests", "log": "requests", "req": "requests", "budget": "budgets", "failovers": "failover",
           "key": "keys", "team": "teams", "customer": "customers", "provider": "providers", "plot": "plots"}
MUTATING_ACTIONS = {"new", "edit", "disable", "delete", "rotate", "set_secret"}


def _screen_factory(module: str, cls: str):
    def make():
        mod = __import__(f"app.tui.screens.{module}", fromlist=[cls])
        return getattr(mod, cls)()
    return make


log = logging.getLogger("bifrost.console")
BUDGETS_EVERY_S = 2.0
NAMES_EVERY_S = 10.0
FAILOVER_QUIET_S = 60.0  # failover between the same two providers toasts again only after this long without
MODE_HISTORY = 20  # screens `esc` can go back through

# what the palette offers on each key, team and customer besides "Jump to": (label, action on its screen)
NAMED_ACTIONS = {"key": (("Edit", "edit"), ("Disable / enable", "disable"), ("Rotate", "rotate"), ("Delete", "delete")),
                 "team": (("Edit", "edit"), ("Delete", "delete")),
                 "customer": (("Edit", "edit"), ("Delete", "delete"))}
ENTITY_MODES = (("key", "keys"), ("team", "teams"), ("customer", "customers"))


class ScreenCommands(Provider):
    """ctrl+p: every screen, "jump to" each key, team and customer, and (unless read-only) every change the
    entity screens make: new, edit, disable, rotate, delete — each still through its form, diff and confirm."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        app: ConsoleApp = self.app  # type: ignore[assignment]
        for mode, key, title, *_ in SCREENS:
            label = f"Show {title} ({key})"
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(app.switch_mode, mode), help=f":{mode}")
        for kind, mode in ENTITY_MODES:
            if not app.readonly:
                label = f"New {kind}…"
                score = matcher.match(label)
                if score > 0:
                    yield Hit(score, matcher.highlight(label), partial(app.entity_command, mode, "new"))
            for name in app.known_names.get(kind, ()):
                label = f"Jump to {kind} {name}"
                score = matcher.match(label)
                if score > 0:
                    yield Hit(score, matcher.highlight(label), partial(app.jump, mode, name))
                for verb, action in () if app.readonly else NAMED_ACTIONS[kind]:
                    label = f"{verb} {kind} {name}…"
                    score = matcher.match(label)
                    if score > 0:
                        yield Hit(score, matcher.highlight(label), partial(app.entity_command, mode, action, name))

    async def discover(self) -> Hits:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        for mode, key, title, *_ in SCREENS:
            yield DiscoveryHit(f"Show {title} ({key})", partial(app.switch_mode, mode))


class ConsoleApp(App):
    TITLE = "bifrost-tui"
    CSS_PATH = "console.tcss"
    COMMANDS = App.COMMANDS | {ScreenCommands}
    MODES = {mode: _screen_factory(module, cls) for mode, _, _, module, cls in SCREENS}
    DEFAULT_MODE = "overview"
    BINDINGS = [
        *(Binding(key, f"switch_mode('{mode}')", title, show=False, id=f"screen-{mode}")
          for mode, key, title, *_ in SCREENS),
        # not in the footer (`?` lists it): 80 columns of footer then hold every key of the screen
        Binding("colon", "command_line", ":cmd", show=False, id="command-line"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("ctrl+q", "quit_console", "Quit", priority=True, id="quit"),
        Binding("escape", "back", "Back", show=False, id="back"),
    ]

    def __init__(self, source, *, readonly: bool = False, poll_interval: float = 1.0, on_exit=None,
                 on_ready=None, driver_class=None):
        super().__init__(driver_class=driver_class)
        self.source = PrintableSource(source)  # client and upstream text without control characters
        self.readonly = readonly
        self.poll_interval = poll_interval
        self.state = ConsoleState()
        self.known_names: dict[str, list[str]] = {}
        self._polling = False
        self._slow_tick = 0.0  # when budgets were last fetched
        self._names_tick = 0.0
        self.on_exit = on_exit
        self.on_ready = on_ready  # called once, after the first poll has been drawn (runner: settle the heap)
        self._printable = PrintableFilter()
        self._failing_over: dict[tuple, float] = {}  # (from, to) -> when it last failed over
        self._mode_history: list[str] = []

    def get_line_filters(self):
        """Textual's filters (colour), after one that draws control characters in data as visible stand-ins
        (app/tui/printable_filter.py): every widget paints through these."""
        return [self._printable, *super().get_line_filters()]

    @property
    def attached(self) -> bool:
        return bool(getattr(self.source, "remote", False))

    def badges(self) -> list[str]:
        out = []
        if self.readonly:
            out.append("READ-ONLY")
        if self.attached:
            out.append("ATTACHED")
        paused = getattr(self.screen, "paused", False)
        if paused:
            out.append("PAUSED")
        return out

    async def on_mount(self) -> None:
        await self.poll()
        self.set_interval(self.poll_interval, self.poll)
        if self.on_ready is not None:
            self.call_after_refresh(self.on_ready)

    async def poll(self) -> None:
        """Fetch what changed; runs on a timer, never overlapping itself; collection never pauses.

        Each fetch fails on its own: a broken budgets view must not stop the request tail. The header says
        DISCONNECTED (with the first error) only when the overview, the gateway's heartbeat, fails."""
        if self._polling:
            return
        self._polling = True
        state = self.state
        errors: list[str] = []
        try:
            overview = await self._fetch(errors, "overview", self.source.overview)
            if overview is not None:
                state.overview = overview
            got = await self._fetch(errors, "requests", self.source.requests_since, state.request_seq)
            rows = []
            if got is not None:
                state.request_seq, rows = got
                state.requests.extend(rows)
            state.new_requests = len(rows)
            first = state.event_seq == 0 and state.last_poll == 0.0
            got = await self._fetch(errors, "events", self.source.events_since, state.event_seq)
            if got is not None:
                state.event_seq, events = got
                state.events.extend(events)
                if not first:  # history from before the console opened is shown, not toasted
                    for event in events:
                        self.announce(event)
            now = time.monotonic()
            # budgets change slowly and cost the gateway ~0.1 ms an entity: only for screens showing them
            if getattr(self.screen, "NEEDS_BUDGETS", False) and now - self._slow_tick >= BUDGETS_EVERY_S:
                self._slow_tick = now
                budgets = await self._fetch(errors, "budgets", self.source.budgets)
                if budgets is not None:
                    state.budgets = budgets
            if now - self._names_tick >= NAMES_EVERY_S:  # for "jump to key/team"
                self._names_tick = now
                await self._fetch(errors, "names", self.refresh_names)
            state.connected = overview is not None
            error = "; ".join(errors) or None
            if error and error != state.error:  # logged when it changes, not every tick
                log.warning("console poll failed: %s", error)
            state.error = error
        finally:
            state.last_poll = time.monotonic()
            self._polling = False
        self.refresh_screen()

    @staticmethod
    async def _fetch(errors: list[str], what: str, call, *args):
        """`await call(*args)`, or None with the failure noted (a lost remote gateway must not kill the
        console, and one failing view must not starve the others)."""
        try:
            return await call(*args)
        except Exception as exc:  # noqa: BLE001 - reported in the header and the log
            errors.append(f"{what}: {exc}" if str(exc) else f"{what}: {type(exc).__name__}")
            return None

    def budgets_stale(self) -> bool:
        return time.monotonic() - self._slow_tick >= BUDGETS_EVERY_S

    async def refresh_names(self) -> None:
        for kind in ("virtual_key", "team", "customer"):
            self.known_names["key" if kind == "virtual_key" else kind] = await self.source.names(kind)

    def refresh_screen(self) -> None:
        screen = self.screen
        if isinstance(screen, ModalScreen):  # a dialog is open: the header behind it stays live, nothing else
            below = next((s for s in reversed(self.screen_stack) if isinstance(s, LiveScreen)), None)
            header = below.query_one_optional("#status-header") if below is not None and below.is_mounted else None
            if header is not None:
                header.show(self.state, self.badges())
            return
        if not (isinstance(screen, LiveScreen) and screen.is_mounted):
            return
        header = screen.query_one_optional("#status-header")
        if header is None:  # a screen switched to while the poll was out: its children are still mounting
            return  # the next tick fills it
        with self.batch_update():
            header.show(self.state, self.badges())
            screen.refresh_data(self.state)

    def announce(self, event: dict) -> None:
        """A toast only when something changes state: a circuit opens, is marked bad or closes again, or
        failover between two providers starts after a quiet minute (not one toast per failed-over request).
        Never over a form, a question or a request's detail: the Failover screen keeps every event."""
        if isinstance(self.screen, ModalScreen):
            return
        kind = event.get("kind")
        if kind == "breaker" and (event.get("to") in ("open", "bad") or
                                  (event.get("to") == "closed" and event.get("from") != "half-open")):
            severity = "error" if event.get("to") in ("open", "bad") else "information"
            self.notify(f"{event.get('provider')}/{event.get('key')}: circuit {event.get('from')} → {event.get('to')}",
                        severity=severity, timeout=6)
        elif kind == "breaker" and event.get("to") == "closed":  # a probe after the cool-down went through
            self.notify(f"{event.get('provider')}/{event.get('key')}: recovered (circuit closed)", timeout=4)
        elif kind == "failover":
            pair, now = (event.get("from"), event.get("to")), time.monotonic()
            last = self._failing_over.get(pair)
            self._failing_over[pair] = now
            if last is None or now - last > FAILOVER_QUIET_S:
                self.notify(f"failing over {pair[0]} → {pair[1]}: {event.get('reason')} (every event: screen 4)",
                            severity="warning", timeout=5)

    async def entity_command(self, mode: str, action: str, name: str | None = None) -> None:
        """A palette change: to the entity's screen, its row selected once the table has loaded, then the
        same action as the screen's own key (so the same form, diff, confirm and read-only check)."""
        await self.switch_mode(mode)
        screen = self.screen
        if not await screen.loaded():  # a screen shown for the first time loads its table just after mounting
            self.notify(f"the {mode} list could not be loaded (see its title)", severity="error")
            return
        if name is not None and not screen.select_name(name):
            return
        await self.run_action(action, screen)

    def jump(self, mode: str, name: str) -> None:
        self.switch_mode(mode)
        screen = self.screen
        if hasattr(screen, "select_name"):
            screen.select_name(name)

    def check_action(self, action: str, parameters) -> bool | None:
        if self.readonly and action in MUTATING_ACTIONS:
            return None
        return True

    def action_command_line(self) -> None:
        from .command_line import CommandLine
        self.push_screen(CommandLine(), self.run_command)

    def run_command(self, text: str | None) -> None:
        if not text:
            return
        words = text.strip().lstrip(":").split()
        if not words:
            return
        name = ALIASES.get(words[0], words[0])
        modes = {mode for mode, *_ in SCREENS}
        if name in ("q", "quit"):
            self.action_quit_console()
        elif name in modes and len(words) > 1:
            self.jump(name, words[1])
        elif name in modes:
            self.switch_mode(name)
        else:
            self.notify(f"unknown command :{words[0]} — try :keys, :teams, :logs, :budgets, :key NAME",
                        severity="warning")

    def action_help(self) -> None:
        from .help import HelpScreen
        self.push_screen(HelpScreen())

    def push_screen(self, screen, *args, **kwargs):
        """A dialog (form, question, detail, palette, command line) opens over no toast: ones already shown
        are cleared (the Failover screen keeps every event), and none arrive while it is open (announce)."""
        if isinstance(screen, ModalScreen):
            self.clear_notifications()
        return super().push_screen(screen, *args, **kwargs)

    def switch_mode(self, mode: str):
        """Every way to another screen (number keys, `:`, the palette, jumps) remembers where it came from."""
        if mode != self.current_mode:
            self._mode_history = [*self._mode_history, self.current_mode][-MODE_HISTORY:]
        return super().switch_mode(mode)

    def action_back(self) -> None:
        """esc on a screen with nothing of its own to close (an open or applied filter): the previous screen."""
        while self._mode_history:
            mode = self._mode_history.pop()
            if mode != self.current_mode:
                super().switch_mode(mode)
                return

    def get_system_commands(self, screen):
        """Textual's palette commands, its Quit described as what it does here."""
        for command in super().get_system_commands(screen):
            if command.title == "Quit":
                what = ("Detach: the gateway in the other process keeps serving" if self.attached else
                        "Stop the console and the gateway; asks first when requests are in flight")
                command = SystemCommand("Quit", what, command.callback)
            yield command

    async def action_quit(self) -> None:
        """Textual's own Quit (the command palette's): the same question as ctrl+q when requests are in flight."""
        self.action_quit_console()

    def action_help_quit(self) -> None:
        """ctrl+c: Textual would only hint at a binding named `quit`; ours is ctrl+q."""
        self.notify("ctrl+q quits (it asks first when requests are in flight)", title="Quit?", timeout=4)

    def action_quit_console(self) -> None:
        in_flight = (self.state.overview.get("summary") or {}).get("in_flight", 0)
        if self.attached or not in_flight:
            self.exit()
            return
        from .confirm import Confirm
        self.push_screen(Confirm(f"{in_flight} request(s) in flight. Quitting stops the gateway for everyone. Quit?"),
                         lambda ok: self.exit() if ok else None)
