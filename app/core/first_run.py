"""The embedded default config: SQLite in the user data dir, the simulated provider, one demo key."""
from __future__ import annotations

import os
from pathlib import Path

from .config import Config, config_from_text
from .config_source import user_data_dir
from .keys import hash_key, new_key

DEMO_KEY_FILE = "demo-key"


def demo_key(data_dir: Path) -> str:
    """The demo key, created once (mode 0600) so Claude Code setups keep working across restarts."""
    path = data_dir / DEMO_KEY_FILE
    if path.is_file():
        value = path.read_text().strip()
        if value:
            return value
    data_dir.mkdir(parents=True, exist_ok=True)
    value = new_key("demo")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def default_config(data_dir: Path | None = None) -> tuple[Config, str]:
    """The embedded default and its demo key. A real Anthropic key in $ANTHROPIC_API_KEY is used when present."""
    data_dir = data_dir or user_data_dir()
    key = demo_key(data_dir)
    real = os.environ.get("ANTHROPIC_API_KEY", "").startswith("sk-ant-")
    providers = ""
    if real:
        providers += ("  - {name: anthropic, type: anthropic, keys: [{name: env, secret: env:ANTHROPIC_API_KEY}]}\n")
    providers += "  - {name: sim, type: mock, latency_ms: 300, tokens_per_second: 80}   # simulated provider\n"
    text = (
        f"storage: {{sqlite: {str(data_dir / 'bifrost.db')!r}}}\n"
        f"providers:\n{providers}"
        "virtual_keys:\n"
        f"  - {{name: demo, key_hash: {hash_key(key)!r}}}\n"
    )
    return config_from_text(text, "(embedded default)", base_dir=data_dir), key
