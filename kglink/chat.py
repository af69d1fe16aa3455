"""A small client for OpenAI-compatible chat endpoints, on the standard library only.

:class:`ChatClient` posts to ``{base_url}/chat/completions`` (``base_url`` as the OpenAI
SDKs take it, e.g. ``http://127.0.0.1:8080/v1``) and returns the assistant's text. It
retries connection errors, timeouts, HTTP 429 and 5xx with exponential backoff, and
raises :class:`~kglink.errors.LLMError` with a message saying what to check;
:class:`~kglink.errors.LLMUnavailableError` when nothing answers at ``base_url``.

The API key is read from an environment variable (``OPENAI_API_KEY`` by default) when a
request is made; local servers such as ``llama_cpp.server`` need none.

>>> client = ChatClient("http://127.0.0.1:8080/v1/", "smollm2")
>>> client.url
'http://127.0.0.1:8080/v1/chat/completions'
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any

from kglink.errors import InputError, LLMError, LLMUnavailableError

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF = 60.0


class ChatClient:
    """Chat completions against one model of an OpenAI-compatible server.

    Parameters
    ----------
    base_url
        The API root, e.g. ``http://127.0.0.1:8080/v1`` or ``https://api.openai.com/v1``.
    model
        The model name sent with every request.
    api_key_env
        Name of the environment variable holding the API key; unset means no key is sent.
    timeout
        Seconds to wait for one reply before the attempt counts as failed.
    max_retries
        Further attempts after the first one fails for a reason worth retrying.
    backoff
        Seconds before the first retry; doubled for each later one (capped at 60 s).
        A server's ``Retry-After`` header is honoured when it asks for longer.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 1.0,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not model:
            raise InputError("model is empty; pass the model name the server serves")
        if timeout <= 0 or max_retries < 0 or backoff < 0:
            raise InputError("timeout must be > 0, max_retries and backoff >= 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)

    @property
    def url(self) -> str:
        """The chat completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def __repr__(self) -> str:
        return f"ChatClient({self.base_url!r}, {self.model!r})"

    def chat(
        self,
        messages: list[dict],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
        json_mode: bool = False,
    ) -> str:
        """Send ``messages`` (``[{"role": ..., "content": ...}, ...]``) and return the reply text.

        ``json_mode`` asks the server for a JSON object (``response_format``); the reply
        is still returned as text, for the caller to parse.

        Raises
        ------
        LLMUnavailableError
            Nothing answered at ``base_url`` after all retries.
        LLMError
            The server kept timing out or failing, refused the request, or its reply
            was not a chat completion.
        """
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        return _reply_text(self._post(body), self.url)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` with retries; the decoded JSON reply."""
        data = json.dumps(body).encode("utf-8")
        attempt = 0
        while True:
            try:
                return self._post_once(data, json_mode="response_format" in body)
            except _Retryable as e:
                if attempt >= self.max_retries:
                    raise e.final(attempt + 1, self.base_url) from None
                delay = max(min(self.backoff * 2**attempt, MAX_BACKOFF), e.retry_after)
                attempt += 1
                logger.info("retrying %s in %.1f s (attempt %d): %s", self.url, delay, attempt + 1, e)
                time.sleep(delay)

    def _post_once(self, data: bytes, json_mode: bool) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            raise _http_error(e, self, json_mode) from None
        except TimeoutError as e:
            raise _Retryable(f"no reply from {self.url} within {self.timeout:g} s ({e})", "timeout") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise _Retryable(f"no reply from {self.url} within {self.timeout:g} s", "timeout") from None
            raise _Retryable(f"cannot connect to {self.url}: {e.reason}", "down") from None
        except (OSError, http.client.HTTPException) as e:  # reset or cut off mid-reply
            raise _Retryable(f"connection to {self.url} failed: {e}", "down") from None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise LLMError(
                f"{self.url} replied with something that is not JSON ({raw[:200]!r}); "
                "is base_url an OpenAI-compatible API root (usually ending in /v1)?"
            ) from None


class _Retryable(LLMError):
    """One failed attempt worth retrying; :meth:`final` turns it into the error callers see."""

    def __init__(self, message: str, kind: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after

    def final(self, attempts: int, base_url: str) -> LLMError:
        if self.kind == "down":
            return LLMUnavailableError(
                f"{self} (after {attempts} attempts); is the server running at {base_url}? "
                "Start it, or fix the base URL (--llm-base-url)"
            )
        hint = {
            "timeout": "the server is busy or the model slow; raise the timeout or lower the concurrency",
            "status": "the server keeps failing; check its log",
        }[self.kind]
        return LLMError(f"{self} (after {attempts} attempts); {hint}")


def _http_error(error: urllib.error.HTTPError, client: ChatClient, json_mode: bool) -> LLMError:
    """The error for an HTTP error status: retryable for 429/5xx, final otherwise."""
    try:
        detail = error.read()[:300].decode("utf-8", "replace")
    except OSError:
        detail = ""
    message = f"{client.url} answered HTTP {error.code}: {detail or error.reason}"
    if error.code in RETRY_STATUS:
        retry_after = _retry_after(error.headers.get("Retry-After") if error.headers else None)
        return _Retryable(message, "status", retry_after)
    if error.code in (401, 403):
        return LLMError(f"{message}; check the API key in ${client.api_key_env}")
    if error.code == 404:
        return LLMError(f"{message}; check --llm-base-url (usually it ends in /v1) and the model name")
    if json_mode and error.code in (400, 422):
        return LLMError(f"{message}; if the server does not support JSON mode, turn it off (json_mode=False)")
    return LLMError(f"{message}; the server refused the request")


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value), 0.0), MAX_BACKOFF) if value else 0.0
    except ValueError:
        return 0.0


def _reply_text(reply: Any, url: str) -> str:
    """The assistant text of a chat completion, or :class:`LLMError` naming what is missing."""
    try:
        choice = reply["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError(
            f"{url} replied without choices[0].message.content ({str(reply)[:200]}); "
            "is it an OpenAI-compatible chat completions endpoint?"
        ) from None
    if choice.get("finish_reason") == "length":
        logger.debug("reply from %s was cut at max_tokens", url)
    return content or ""
