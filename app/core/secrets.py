"""Secret references: `env:NAME` or `keyring:SERVICE/USERNAME`. The file never holds a secret."""
from __future__ import annotations

import os
from dataclasses import dataclass


class SecretError(Exception):
    """A reference that cannot be resolved; the message never contains a secret value."""


@dataclass(frozen=True, slots=True)
class SecretRef:
    scheme: str  # "env" | "keyring"
    name: str  # env var name, or "SERVICE/USERNAME"

    @classmethod
    def parse(cls, text: object) -> "SecretRef":
        if not isinstance(text, str) or ":" not in text:
            raise ValueError(
                "expected a secret reference env:NAME or keyring:SERVICE/USERNAME "
                "(secrets are never written in the config file)"
            )
        scheme, _, name = text.partition(":")
        if scheme == "env" and name and all(c.isalnum() or c == "_" for c in name):
            return cls("env", name)
        if scheme == "keyring" and "/" in name and all(name.split("/", 1)):
            return cls("keyring", name)
        shown = f" starting with {scheme!r}" if scheme in ("env", "keyring") or (scheme.isalpha() and len(scheme) <= 10) else ""
        raise ValueError(
            f"expected env:NAME or keyring:SERVICE/USERNAME, got a value{shown} that is neither "
            "(secrets are never written in the config file)"
        )

    def __str__(self) -> str:
        return f"{self.scheme}:{self.name}"

    def resolve(self) -> str:
        if self.scheme == "env":
            value = os.environ.get(self.name)
            if not value:
                raise SecretError(f"environment variable {self.name} is not set ({self})")
            return value
        return _from_keyring(*self.name.split("/", 1))


def _from_keyring(service: str, username: str) -> str:
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        raise SecretError("the keyring package is not installed; use env:NAME instead") from None
    try:
        value = keyring.get_password(service, username)
    except NoKeyringError:
        raise SecretError(
            f"keyring:{service}/{username}: this machine has no OS keyring backend "
            "(common on headless servers); store the secret in an environment variable "
            "and reference it as env:NAME instead"
        ) from None
    except KeyringError as exc:
        raise SecretError(f"keyring:{service}/{username}: keyring error: {type(exc).__name__}") from None
    if not value:
        raise SecretError(f"keyring:{service}/{username}: no such entry in the OS keyring")
    return value


def store_in_keyring(service: str, username: str, value: str) -> None:
    """Used by the console's provider form; raises SecretError with a clear message when impossible."""
    try:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError

        keyring.set_password(service, username, value)
    except NoKeyringError:
        raise SecretError(
            "this machine has no OS keyring backend (common on headless servers); "
            "set the key in an environment variable and reference it as env:NAME"
        ) from None
    except KeyringError as exc:
        raise SecretError(f"keyring error: {type(exc).__name__}") from None
