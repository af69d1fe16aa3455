"""API keys with a read or an admin scope, sent as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

Keys come from a file (one a line, ``KEY`` or ``KEY admin`` / ``KEY read``; ``#`` starts a
comment) or from ``KGLINK_API_KEYS`` (comma-separated, ``KEY`` or ``KEY:admin``). A key
without a scope reads only. Writes and curation need ``admin``.

>>> parse_keys("k1:admin, k2", sep=",")
{'k1': 'admin', 'k2': 'read'}
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from kglink.errors import InputError
from kglink.serve.errors import ApiError

SCOPES = ("read", "admin")


def parse_keys(text: str, sep: str = "\n") -> dict[str, str]:
    """``{key: scope}`` from the key file's text (``sep="\\n"``) or the variable's (``sep=","``)."""
    keys = {}
    for raw in text.split(sep):
        line = raw.split("#", 1)[0].strip() if sep == "\n" else raw.strip()
        if not line:
            continue
        key, _, scope = line.replace(":", " ", 1).partition(" ") if sep == "," else line.partition(" ")
        scope = scope.strip() or "read"
        if scope not in SCOPES:
            raise InputError(
                f"API key scope {scope!r} is not one of {SCOPES}; write `KEY admin` or `KEY read`"
            )
        keys[key.strip()] = scope
    return keys


def load_keys(key_file: str | os.PathLike | None = None, env: str = "KGLINK_API_KEYS") -> dict[str, str]:
    """The keys of ``key_file`` and of the variable ``env``, together."""
    keys = {}
    if key_file is not None:
        try:
            keys.update(parse_keys(Path(key_file).read_text(encoding="utf-8")))
        except OSError as e:
            message = f"cannot read the API key file {key_file} ({e.strerror}); give a readable file"
            raise InputError(message) from None
    keys.update(parse_keys(os.environ.get(env, ""), sep=","))
    return keys


def presented_key(headers) -> str | None:
    """The key a request carries, if any."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key")


def check_scope(keys: dict[str, str], headers, need: str) -> None:
    """Raise 401 (no or unknown key) or 403 (a read key on an admin route); pass with no keys set."""
    if not keys:
        return
    given = presented_key(headers)
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            "this server needs an API key: send `Authorization: Bearer KEY`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    scope = next((s for k, s in keys.items() if hmac.compare_digest(k.encode(), given.encode())), None)
    if scope is None:
        raise ApiError(
            401,
            "unauthorized",
            "unknown API key; check the key you send",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if need == "admin" and scope != "admin":
        raise ApiError(
            403, "forbidden", "this route changes the graph and needs an admin key; yours reads only"
        )
