"""`?`: every key of the console, by context."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

HELP = """
# bifrost-tui console

| keys | |
| --- | --- |
| `1`…`9` | Overview, Requests, Budgets, Failover, Plots, Keys, Teams, Customers, Providers |
| `:` | command line: `:keys` `:teams` `:logs` `:budgets` `:failover` `:plots` `:key NAME` `:q` |
| `ctrl+p` | command palette: every screen, "jump to key/team/customer", new / edit / disable / rotate / delete |
| `esc` | close a filter, form or dialog; otherwise back to the previous screen |
| `ctrl+q` | quit (asks when requests are in flight; in `attach` it only detaches) |

**Requests** — the tail follows new rows; scrolling up pauses the view and counts "+N new";
`end` or `G` resumes; `space` pauses the view (collection never pauses); `/` filters by key, team,
model, provider or status (`!` inverts); `enter` opens a request: attempts, tokens, cost, latency, rule.

**Budgets** — `/` filter by entity (`!` inverts), `s` sort each level by % used, ↑↓ shows exact figures
below. **Plots** — `h`/`d` last hour/day, `k`/`t`/`m` spend by key/team/model.

**Keys / Teams / Customers** — `/` filter (`!` inverts), `s`/`S` or a header click to sort, `n` new,
`e` or `enter` edit (budgets, rate limits, allowed models, routing,
fallbacks), `d` disable/enable, `r` rotate a key, `delete` remove, `y` copy (OSC 52, works over SSH); every change shows
a diff to confirm. **Providers** — health, circuits, `k` store a provider key in the OS keyring.

`--readonly` hides every change. Logging never writes to the terminal: see the log file.
"""


class HelpScreen(ModalScreen):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 110; height: 90%; border: thick $accent; background: $surface; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help-close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(HELP)
        yield Footer(compact=True)  # this screen's keys, not the ones of the screen below
