"""The citation file server (ui/files.py): loopback only, Host checked, no listing, only documents
indexed in the registry, from the corpus or uploads folders and through no symlink, agents-only
documents only with a valid signed token. The real server on port 0, a real HTTP client."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from assistant.modes import Audience
from assistant.registry import DocumentStatus, Registry
from assistant.settings import Settings
from ui.files import FileAccess, authorise, make_server

PDF = b"%PDF-1.4\n% public law\n"
CIRCULAR = "Circulaire interne : code d'accès renouvelé chaque trimestre.\n".encode()
UPLOAD = b"Texte ajoute par un agent.\n"
SECRET = b"not for anyone\n"


@dataclass
class Corpus:
    settings: Settings
    access: FileAccess


def _register(
    registry: Registry, doc_id: str, path: Path, source: str, collection: str, **extra: object
) -> None:
    fields: dict[str, object] = {
        "path": str(path),
        "source": source,
        "collection": collection,
        "status": DocumentStatus.INDEXED,
        "version": 1,
        "chunks": 1,
    }
    fields.update(extra)
    registry.upsert(doc_id, **fields)


@pytest.fixture()
def corpus(tmp_path: Path) -> Corpus:
    corpus_dir, defs, data = tmp_path / "corpus", tmp_path / "defs", tmp_path / "data"
    for d in (corpus_dir / "pub", corpus_dir / "internes", defs):
        d.mkdir(parents=True)
    (defs / "pub.yaml").write_text("name: pub\naudience: public\nlanguage: fr\n")
    (defs / "internes.yaml").write_text("name: internes\naudience: agents\nlanguage: fr\n")
    settings = Settings(data_dir=data, corpus_dir=corpus_dir, definitions_dir=defs)
    (corpus_dir / "pub" / "loi 99-01.pdf").write_bytes(PDF)
    (corpus_dir / "internes" / "circulaire.txt").write_bytes(CIRCULAR)
    (corpus_dir / "pub" / "unregistered.txt").write_bytes(b"on disk, never indexed\n")
    (corpus_dir / "pub" / "removed.txt").write_bytes(b"withdrawn\n")
    uploads = settings.uploads_dir / "pub"
    uploads.mkdir(parents=True)
    (uploads / "ajout.txt").write_bytes(UPLOAD)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    (corpus_dir / "pub" / "lien.txt").symlink_to(secret)
    (corpus_dir / "pub" / "dossier").symlink_to(tmp_path, target_is_directory=True)
    registry = Registry(settings.registry_path)
    try:
        _register(
            registry,
            "pub:loi_99-01",
            (corpus_dir / "pub" / "loi 99-01.pdf").resolve(),
            "pub/loi 99-01.pdf",
            "pub",
        )
        _register(
            registry,
            "internes:circulaire",
            (corpus_dir / "internes" / "circulaire.txt").resolve(),
            "internes/circulaire.txt",
            "internes",
        )
        _register(registry, "pub:ajout", (uploads / "ajout.txt").resolve(), "pub/ajout.txt", "pub")
        _register(
            registry,
            "pub:removed",
            (corpus_dir / "pub" / "removed.txt").resolve(),
            "pub/removed.txt",
            "pub",
            status=DocumentStatus.REMOVED,
        )
        # a symlink in the corpus to a file outside it, registered both ways a sync could record it
        _register(registry, "pub:lien", secret.resolve(), "pub/lien.txt", "pub")
        _register(registry, "pub:lien2", corpus_dir / "pub" / "lien.txt", "pub/lien.txt", "pub")
        _register(registry, "pub:dossier", secret.resolve(), "pub/dossier/secret.txt", "pub")
        # a record whose source climbs out of the corpus
        _register(registry, "pub:escape", secret.resolve(), "../secret.txt", "pub")
    finally:
        registry.close()
    return Corpus(settings, FileAccess.from_settings(settings))


@pytest.fixture()
def server(corpus: Corpus) -> Iterator[tuple[str, int]]:
    srv = make_server(corpus.access, 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(srv.server_address[0]), int(srv.server_address[1])
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def get(
    server: tuple[str, int], target: str, host: str | None = "", method: str = "GET"
) -> tuple[int, bytes, http.client.HTTPResponse]:
    """A raw request (the path sent as written: no client-side `..` normalisation)."""
    address, port = server
    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host or f"127.0.0.1:{port}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read(), resp
    finally:
        conn.close()


def link(corpus: Corpus, doc_id: str, audience: Audience, now: float | None = None) -> str:
    return corpus.access.link(doc_id, audience, now=now)


# ------------------------------------------------------------------ served


@pytest.mark.integration
def test_bound_to_loopback_only(server: tuple[str, int]) -> None:
    assert server[0] == "127.0.0.1"


@pytest.mark.integration
def test_public_documents_are_served_from_the_corpus_and_uploads(
    corpus: Corpus, server: tuple[str, int]
) -> None:
    status, body, resp = get(server, link(corpus, "pub:loi_99-01", Audience.PUBLIC))
    assert (status, body) == (200, PDF)
    assert resp.getheader("Content-Type") == "application/pdf"
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    # a public document needs no token; `localhost:<port>` is the same server
    status, body, _ = get(server, "/pub%3Aloi_99-01", host=f"localhost:{server[1]}")
    assert (status, body) == (200, PDF)
    assert get(server, link(corpus, "pub:ajout", Audience.PUBLIC))[:2] == (200, UPLOAD)
    status, body, resp = get(server, "/pub%3Aajout", method="HEAD")
    assert status == 200 and body == b"" and resp.getheader("Content-Length") == str(len(UPLOAD))


@pytest.mark.integration
def test_agents_only_document_needs_a_valid_agents_token(corpus: Corpus, server: tuple[str, int]) -> None:
    doc = "internes:circulaire"
    assert get(server, link(corpus, doc, Audience.AGENTS))[:2] == (200, CIRCULAR)
    assert get(server, "/internes%3Acirculaire")[0] == 403  # no token
    assert get(server, link(corpus, doc, Audience.PUBLIC))[0] == 403  # a citizen's link
    expired = link(corpus, doc, Audience.AGENTS, now=time.time() - corpus.access.ttl_s - 5)
    assert get(server, expired)[0] == 403
    valid = link(corpus, doc, Audience.AGENTS)
    path, _, query = valid.partition("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    tampered_mac = params["t"][:-1] + ("0" if params["t"][-1] != "0" else "1")
    assert get(server, f"{path}?a=agents&e={params['e']}&t={tampered_mac}")[0] == 403
    later = int(params["e"]) + 86400  # expiry pushed back without re-signing
    assert get(server, f"{path}?a=agents&e={later}&t={params['t']}")[0] == 403
    public = {k: v[0] for k, v in parse_qs(link(corpus, doc, Audience.PUBLIC).partition("?")[2]).items()}
    assert get(server, f"{path}?a=agents&e={public['e']}&t={public['t']}")[0] == 403  # audience swapped
    # a token signed for another document does not open this one
    other = link(corpus, "pub:loi_99-01", Audience.AGENTS).partition("?")[2]
    assert get(server, f"{path}?{other}")[0] == 403
    # nor does one signed with another deployment's key
    foreign = FileAccess(**{**corpus.access.__dict__, "key": b"k" * 32})
    assert get(server, foreign.link(doc, Audience.AGENTS))[0] == 403


# ------------------------------------------------------------------ refused


@pytest.mark.integration
@pytest.mark.parametrize(
    "target", ["/", "/pub/", "/corpus/", "/corpus/pub/", "/uploads/", "/pub%3A", "/?a=b"]
)
def test_no_directory_is_ever_listed(server: tuple[str, int], target: str) -> None:
    status, body, _ = get(server, target)
    assert status == 404 and body == b""


@pytest.mark.integration
@pytest.mark.parametrize(
    "target",
    [
        "/pub%3Aunregistered",  # on disk, never indexed
        "/pub%3Aremoved",  # withdrawn
        "/pub%3Anope",
        "/corpus/pub/loi%2099-01.pdf",  # the old path-based links
        "/corpus/pub/unregistered.txt",
        "/pub/loi%2099-01.pdf",
    ],
)
def test_only_documents_indexed_in_the_registry_are_served(server: tuple[str, int], target: str) -> None:
    assert get(server, target)[0] == 404


@pytest.mark.integration
@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/corpus/../../secret.txt",
        "/..%2Fsecret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/corpus/pub/lien.txt",
        "/pub%3Alien",  # registered, but a symlink in the corpus to a file outside it
        "/pub%3Alien2",
        "/pub%3Adossier",  # through a symlinked folder
        "/pub%3Aescape",  # a registered source that climbs out of the corpus
    ],
)
def test_paths_out_of_the_corpus_and_symlinks_are_refused(
    corpus: Corpus, server: tuple[str, int], target: str
) -> None:
    status, body, _ = get(server, target)
    assert status in (403, 404) and SECRET not in body
    if target.startswith("/pub%3A"):  # even with a valid agents token
        status, body, _ = get(server, link(corpus, unquote(target[1:]), Audience.AGENTS))
        assert status == 404 and SECRET not in body


@pytest.mark.integration
@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1", "127.0.0.1:1", "localhost", "[::1]:{port}", None],
)
def test_foreign_host_header_is_refused(corpus: Corpus, server: tuple[str, int], host: str | None) -> None:
    header = host.format(port=server[1]) if host is not None else None
    status, body, _ = get(server, link(corpus, "pub:loi_99-01", Audience.PUBLIC), host=header)
    assert status == 403 and body == b""


@pytest.mark.integration
def test_other_methods_are_refused(corpus: Corpus, server: tuple[str, int]) -> None:
    assert get(server, "/pub%3Aloi_99-01", method="POST")[0] == 501


# ------------------------------------------------------------------ the pure function and the app's links


@pytest.mark.unit
def test_authorise_without_a_server(corpus: Corpus) -> None:
    access, port = corpus.access, 8502
    host = f"127.0.0.1:{port}"
    path, _, query = access.link("internes:circulaire", Audience.AGENTS, now=1000.0).partition("?")
    target = corpus.settings.corpus_dir.resolve() / "internes" / "circulaire.txt"
    assert authorise(path, query, host, port=port, access=access, now=1000.0) == (200, target)
    assert authorise(path, query, host, port=port, access=access, now=1000.0 + access.ttl_s) == (403, None)
    assert authorise(path, query, "evil:8502", port=port, access=access, now=1000.0) == (403, None)
    assert authorise("/x%2F..%2Fy", "", host, port=port, access=access) == (404, None)


@pytest.mark.integration
def test_app_links_carry_the_session_audience_and_the_page(
    corpus: Corpus, server: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import state

    base = f"http://127.0.0.1:{server[1]}"
    monkeypatch.setattr(state, "_files", lambda: (base, corpus.access))
    monkeypatch.setattr(state.st, "session_state", {"audience": Audience.AGENTS})
    agent_link = state.file_link("internes:circulaire", 3)
    assert (
        agent_link
        and agent_link.startswith(base + "/internes%3Acirculaire?")
        and agent_link.endswith("#page=3")
    )
    parts = urlsplit(agent_link)
    assert parts.fragment == "page=3"
    assert get(server, f"{parts.path}?{parts.query}")[:2] == (200, CIRCULAR)
    monkeypatch.setattr(state.st, "session_state", {"audience": Audience.PUBLIC})
    citizen_link = state.file_link("internes:circulaire", None)
    assert citizen_link and "#" not in citizen_link
    parts = urlsplit(citizen_link)
    assert get(server, f"{parts.path}?{parts.query}")[0] == 403
    public = urlsplit(state.file_link("pub:loi_99-01", 1) or "")
    assert get(server, f"{public.path}?{public.query}")[:2] == (200, PDF)
