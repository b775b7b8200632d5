"""Base URLs of OpenAI- and Mistral-compatible servers, whatever form an operator wrote them in
("http://host:8000", "http://host:8000/", "http://host:8000/v1"): the one place that knows which
client wants which form."""

from __future__ import annotations

_API_PREFIX = "/v1"

# Mistral's hosted API: where the `mistralai` SDK and LangChain's ChatMistralAI go when no server is
# given. Dalil always passes it explicitly, so the address checked against the egress allow-list
# (assistant/egress.py) is the address used.
MISTRAL_API_URL = "https://api.mistral.ai"


def server_root(url: str) -> str:
    """The server address without a trailing slash or API prefix: what the `mistralai` SDK wants
    (it appends /v1/chat/completions itself)."""
    root = url.strip().rstrip("/")
    return root[: -len(_API_PREFIX)] if root.endswith(_API_PREFIX) else root


def openai_base_url(url: str) -> str:
    """The address with its /v1 prefix: what the `openai` SDK and LangChain's ChatOpenAI /
    ChatMistralAI `base_url` want."""
    return server_root(url) + _API_PREFIX


def openai_endpoint(url: str, path: str) -> str:
    """A full endpoint URL, e.g. openai_endpoint(url, "embeddings") -> http://host/v1/embeddings."""
    return f"{openai_base_url(url)}/{path.lstrip('/')}"
