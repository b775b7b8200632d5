"""The deployment's secret key: keyed pseudonyms (HMAC of questions, users, personal values) and the
audit trail's hash chain are computed with it. It never lives beside the data, so a copy of the
data directory alone reveals nothing and cannot be re-chained after an edit.

Where it comes from, first found wins:
1. `DALIL_PSEUDONYM_KEY` in the environment (or the secrets file): 64 hex characters, or any
   string of at least 32 characters;
2. the key file `DALIL_SECRET_KEY_FILE` (default `~/.config/dalil/secret.key`), created on first
   use with 32 random bytes, readable by its owner only (0600, folder 0700).

A key file inside the data directory is refused: that is the mistake this module exists to avoid.
Losing the key does not lose data, but new pseudonyms no longer match old ones and
`dalil audit verify` can no longer vouch for the entries written before.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from assistant.errors import ConfigError
from assistant.settings import Settings

KEY_BYTES = 32


def default_key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "dalil" / "secret.key"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _from_text(text: str) -> bytes:
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
        if len(raw) >= KEY_BYTES:
            return raw
    except ValueError:
        pass
    if len(text) < KEY_BYTES:
        raise ConfigError(
            f"DALIL_PSEUDONYM_KEY is too short ({len(text)} characters): give 64 hex characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    return text.encode()


def secret_key(settings: Settings) -> bytes:
    """The deployment's secret key (see the module docstring for where it comes from)."""
    if settings.pseudonym_key is not None:
        return _from_text(settings.pseudonym_key.get_secret_value())
    path = settings.secret_key_file or default_key_file()
    if _inside(path, settings.data_dir):
        raise ConfigError(
            f"the secret key file {path} is inside the data directory {settings.data_dir}: a copy of the "
            "data would carry its own key. Move it elsewhere and set DALIL_SECRET_KEY_FILE, or set "
            "DALIL_PSEUDONYM_KEY in the environment."
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(KEY_BYTES))
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise ConfigError(
            f"the secret key file {path} holds {len(key)} bytes, at least {KEY_BYTES} are needed."
        )
    return key


def derive(key: bytes, purpose: str) -> bytes:
    """A separate key per use (pseudonyms, audit chain), so one use never reveals another's MACs."""
    return hmac.new(key, f"dalil/{purpose}".encode(), hashlib.sha256).digest()


def mac(key: bytes, text: str, length: int = 64) -> str:
    """Hex HMAC-SHA256 of a text (truncated to `length` hex characters)."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:length]
