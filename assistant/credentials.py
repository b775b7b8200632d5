"""Agent sign-in against a file of salted PBKDF2 password hashes (YAML: {user: hash})."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

import yaml

ITERATIONS = 200_000


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algo, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(computed, base64.b64decode(digest))


def load_users(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (data.get("users") or {}).items()}


def add_user(path: Path, user: str, password: str) -> None:
    users = load_users(path)
    users[user] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"users": users}), encoding="utf-8")
    path.chmod(0o600)


def check(path: Path, user: str, password: str) -> bool:
    encoded = load_users(path).get(user)
    return bool(encoded) and verify_password(password, encoded or "")
