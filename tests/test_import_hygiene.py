"""The gateway never imports Textual: app.core, app.store, app.proxy and app.service load without it; nor do
the console's pure modules (data shaping, downsampling, formatting)."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import app

ROOT = Path(__file__).resolve().parents[1]
GATEWAY_PACKAGES = ("app.core", "app.store", "app.proxy", "app.service", "app.mock", "app.reports")


def gateway_modules() -> list[str]:
    names = []
    for package in GATEWAY_PACKAGES:
        path = ROOT / package.replace(".", "/")
        names.append(package)
        names += [f"{package}.{m.name}" for m in pkgutil.walk_packages([str(path)]) if not m.ispkg] + \
                 [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(path)]) if m.ispkg]
    return sorted(set(names))


def assert_import_without(modules, banned: tuple[str, ...]) -> None:
    """Importing `modules` in a fresh interpreter loads no package whose top-level name is in `banned`."""
    script = (
        "import importlib, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {banned!r})\n"
        "print('LOADED:', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gateway_modules_import_without_textual():
    modules = gateway_modules()
    assert "app.proxy.pipeline" in modules and "app.core.ledger" in modules  # the walk found the code
    assert_import_without(modules, ("textual",))


# the console's data shaping, downsampling and formatting, kept apart from its widgets
PURE_CONSOLE_MODULES = ("app.tui.tail_rows", "app.tui.plot_series", "app.tui.plot_titles", "app.tui.plot_pacing",
                        "app.tui.plot_axes", "app.tui.plot_bars", "app.tui.plot_time", "app.tui.request_filter",
                        "app.tui.request_feed", "app.tui.request_follow", "app.tui.request_title")


def test_the_consoles_pure_modules_import_without_textual():
    assert_import_without(PURE_CONSOLE_MODULES, ("textual", "textual_plotext", "plotext"))


def test_the_console_does_import_textual():
    """The check above is meaningful: the console package really pulls Textual in."""
    script = "import sys, app.tui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "True", result.stderr


def test_app_package_is_the_checked_out_one():
    assert Path(app.__file__).resolve().parent == ROOT / "app"
