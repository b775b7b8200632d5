"""Documents and ingestion jobs of the HTTP service, against a real uvicorn server on 127.0.0.1.

The crucial property: a content owner's job runs while searches go on, and every search sees a
document's previous version until its new version is committed, then the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from assistant.errors import ConfigError
from assistant.http_client import HttpClient
from assistant.index import Index
from assistant.modes import Audience, Role
from assistant.registry import DocumentStatus, Registry
from assistant.settings import Settings
from assistant.store import Where
from ingest.sync import Syncer
from server.jobs import INTERRUPTED, Job, JobKind, JobState, JobStore
from tests.helpers import wait_until
from tests.serving import Service, running_service

pytestmark = pytest.mark.integration


@dataclass
class Keys:
    owner: str
    agent: str
    citizen: str


@pytest.fixture()
def service(fresh: Settings) -> Iterator[Service]:
    fresh = fresh.model_copy(update={"api_rate_per_s": 1000.0, "api_rate_burst": 1000})
    index = Index(fresh)
    with Syncer(fresh, index) as syncer:
        report = syncer.run()
    index.close()
    assert not report.failed, report.as_dict()
    with running_service(fresh, role_keys=False) as running:
        yield running


def keys_of(service: Service) -> Keys:
    return Keys(
        *(
            service.add_key(name, role)
            for name, role in (("owner1", Role.OWNER), ("agent1", Role.AGENT), ("citizen1", Role.CITIZEN))
        )
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_job(client: httpx.Client, key: str, job: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    state: dict[str, Any] = {}

    def finished() -> bool:
        state.update(client.get(f"/v1/jobs/{job['id']}", headers=auth(key)).json())
        return state["state"] in ("done", "failed", "interrupted")

    wait_until(finished, timeout=timeout, what=f"job {job['id']} ({job['kind']}) to finish")
    return state


def test_keys_and_roles(service: Service) -> None:
    keys = keys_of(service)
    with service.client() as client:
        assert client.get("/v1/documents").status_code == 401
        assert client.get("/v1/documents", headers=auth("dalil-nope")).status_code == 401
        assert client.post("/v1/reindex", headers=auth(keys.agent)).status_code == 403
        assert client.get("/v1/jobs", headers=auth(keys.citizen)).status_code == 403
        denied = client.post("/v1/documents/test_fr:faq_etat_civil/withdraw", headers=auth(keys.agent))
        assert denied.status_code == 403
        # a citizen never sees an agents-only collection, in the list or one by one
        citizen = client.get("/v1/documents", headers=auth(keys.citizen)).json()
        agent = client.get("/v1/documents", headers=auth(keys.agent)).json()
        assert {d["collection"] for d in agent} >= {"internes", "test_fr"}
        assert "internes" not in {d["collection"] for d in citizen}
        assert "path" not in citizen[0]  # the server's file locations are for owners only
        internal = next(d["doc_id"] for d in agent if d["collection"] == "internes")
        assert client.get(f"/v1/documents/{internal}", headers=auth(keys.citizen)).status_code == 404
        shown = client.get(f"/v1/documents/{internal}", headers=auth(keys.agent)).json()
        assert shown["audience"] == Audience.AGENTS.value


def test_upload_limits(service: Service) -> None:
    keys = keys_of(service)
    limit = service.settings.tuning.max_file_bytes
    with service.client() as client:
        bad = client.post(
            "/v1/documents",
            headers=auth(keys.owner),
            data={"collection": "../etc"},
            files={"files": ("a.txt", b"x")},
        )
        assert bad.status_code == 422, bad.text
        exe = client.post(
            "/v1/documents",
            headers=auth(keys.owner),
            data={"collection": "up"},
            files={"files": ("a.exe", b"MZ")},
        )
        assert exe.status_code == 415, exe.text
        big = client.post(
            "/v1/documents",
            headers=auth(keys.owner),
            data={"collection": "up"},
            files={"files": ("big.txt", b"a" * (limit + 1))},
        )
        assert big.status_code == 413, big.text
        assert "DALIL_MAX_FILE_BYTES" in big.text
        assert not (service.settings.uploads_dir / "up" / "big.txt").exists()
        hidden = client.post(
            "/v1/documents",
            headers=auth(keys.owner),
            data={"collection": "up"},
            files={"files": (".env", b"x")},
        )
        assert hidden.status_code == 422, hidden.text


UPLOADED = """Arrêté n° 12-2026 relatif aux horaires des guichets de la préfecture

Article premier
Les guichets de délivrance des passeports ouvrent à huit heures trente et ferment à seize heures.

Article 2
Le samedi, seuls les retraits de passeports déjà instruits sont assurés, de neuf heures à midi.
"""


def test_upload_withdraw_restore_edit_and_history(service: Service) -> None:
    keys = keys_of(service)
    defs_before = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in service.settings.definitions_dir.glob("*")
    }
    with service.client() as client:
        sent = client.post(
            "/v1/documents",
            headers=auth(keys.owner),
            data={"collection": "prefecture"},
            files=[("files", ("arrete_guichets.txt", UPLOADED.encode())), ("files", ("vide.txt", b""))],
        )
        assert sent.status_code == 202, sent.text
        assert sent.headers["location"] == f"/v1/jobs/{sent.json()['id']}"
        job = wait_job(client, keys.owner, sent.json())
        assert job["state"] == "done", job
        assert job["progress"]["done"] == job["progress"]["total"] == 2
        by_path = {f["path"].rsplit("/", 1)[-1]: f for f in job["files"]}
        assert by_path["arrete_guichets.txt"]["status"] == "added", job["files"]
        assert by_path["vide.txt"]["status"] == "failed" and by_path["vide.txt"]["error"], job["files"]
        doc_id = by_path["arrete_guichets.txt"]["doc_id"]
        hits = service.search("horaires des guichets passeports samedi")
        assert doc_id in {h["doc_id"] for h in hits}

        # withdraw: out of the index, recorded with the key's name
        withdrawn = wait_job(
            client,
            keys.owner,
            client.post(f"/v1/documents/{doc_id}/withdraw", headers=auth(keys.owner)).json(),
        )
        assert withdrawn["state"] == "done", withdrawn
        shown = client.get(f"/v1/documents/{doc_id}", headers=auth(keys.owner)).json()
        assert shown["status"] == "withdrawn" and shown["withdrawn_by"] == "owner1"
        assert doc_id not in {h["doc_id"] for h in service.search("horaires des guichets passeports samedi")}
        assert client.post(f"/v1/documents/{doc_id}/reindex", headers=auth(keys.owner)).status_code == 409
        restored = wait_job(
            client,
            keys.owner,
            client.post(f"/v1/documents/{doc_id}/restore", headers=auth(keys.owner)).json(),
        )
        assert restored["state"] == "done", restored
        assert client.get(f"/v1/documents/{doc_id}", headers=auth(keys.owner)).json()["status"] == "indexed"

        # metadata edit: kept in the data directory, carried by the re-indexed chunks
        bad = client.patch(f"/v1/documents/{doc_id}", headers=auth(keys.owner), json={"colour": "red"})
        assert bad.status_code == 422
        edit = client.patch(
            f"/v1/documents/{doc_id}",
            headers=auth(keys.owner),
            json={"title": "Horaires des guichets (arrêté 12-2026)", "in_force_from": "2026-01-01"},
        )
        assert edit.status_code == 202, edit.text
        assert wait_job(client, keys.owner, edit.json())["state"] == "done"
        shown = client.get(f"/v1/documents/{doc_id}", headers=auth(keys.owner)).json()
        assert shown["title"] == "Horaires des guichets (arrêté 12-2026)"
        assert shown["metadata"]["in_force_from"] == "2026-01-01"
        hit = next(
            h for h in service.search("horaires des guichets passeports samedi") if h["doc_id"] == doc_id
        )
        assert hit["title"] == "Horaires des guichets (arrêté 12-2026)"
        defs_after = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in service.settings.definitions_dir.glob("*")
        }
        assert defs_after == defs_before  # the collection definitions are never written

        exposed = client.get("/metrics").text  # job progress in Prometheus
        assert 'dalil_jobs_total{kind="upload",state="done"}' in exposed, exposed
        assert 'dalil_job_files_total{outcome="added"}' in exposed
        history = client.get("/v1/jobs", headers=auth(keys.owner)).json()
        assert [j["kind"] for j in history[:4]] == ["edit", "restore", "withdraw", "upload"]
        assert all(j["requested_by"] == "owner1" for j in history)


@pytest.mark.unit
def test_jobs_left_unfinished_are_marked_interrupted(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    for n, state in enumerate((JobState.RUNNING, JobState.QUEUED, JobState.DONE)):
        store.save(Job(f"j{n}", JobKind.SYNC, state, {}, "owner1", f"2026-11-23T10:0{n}:00+00:00"))
    assert store.mark_interrupted() == 2
    states = {j.id: (j.state, j.error) for j in store.recent()}
    assert states["j0"] == (JobState.INTERRUPTED, INTERRUPTED)
    assert states["j1"] == (JobState.INTERRUPTED, INTERRUPTED)
    assert states["j2"] == (JobState.DONE, None)
    store.close()


# ---------------------------------------------------------------------- reads during a job
ARTICLES = 150


def versioned_text(word: str) -> str:
    """A regulation of ARTICLES articles whose every article says `word` (one word per version)."""
    lines = ["Règlement intérieur des archives communales", ""]
    for n in range(1, ARTICLES + 1):
        lines += [
            f"Article {n}",
            f"Le registre d'archives numéro {n} est consulté sur place ; le délai de communication "
            f"des archives communales est de {word} jours ouvrables après la demande écrite.",
            "",
        ]
    return "\n".join(lines)


OLD, NEW = "trente", "quarante"


def service_search(service: Service, key: str, query: str, doc_id: str) -> set[str]:
    """The versions of the regulation one search through the service returns."""
    with service.client() as client:
        found = client.post("/v1/search", headers=auth(key), json={"query": query, "k": 10})
    found.raise_for_status()
    texts = [h["text"] for h in found.json()["results"] if h["doc_id"] == doc_id]
    return {word for word in (OLD, NEW) for text in texts if f"{word} jours" in text}


class Window(threading.Thread):
    seen: set[str] | None = None


def hold_the_replacement_open(service: Service, search: Callable[[], set[str]]) -> Window:
    """Make the job's writer pause for a second right after writing a document's new version
    (when it counts it, before deleting the old one), while `search` runs from another thread.
    Returns that thread; its `seen` is what the search saw."""
    store = service.app.state.dalil.index.store
    count = store.count
    opened, sent = threading.Event(), threading.Event()

    def counting(where: Where | None = None) -> int:
        if threading.current_thread().name == "dalil-jobs" and where is not None and where.version == 2:
            if not opened.is_set():
                opened.set()
                sent.wait(60)
                time.sleep(1.0)  # the search reaches the index meanwhile
        result: int = count(where)
        return result

    store.count = counting

    def run() -> None:
        opened.wait(300)
        sent.set()
        window.seen = search()

    window = Window(target=run, daemon=True)
    window.start()
    return window


def version_seen(texts: list[str], what: str) -> str:
    """The one version of the regulation these texts (of one response) come from."""
    versions = {word for word in (OLD, NEW) for text in texts if f"{word} jours" in text}
    assert len(versions) == 1, f"one {what} saw {versions or 'neither version'}: {texts}"
    return versions.pop()


def test_searches_and_answers_during_a_reindex_see_the_old_version_until_the_commit(
    service: Service,
) -> None:
    keys = keys_of(service)
    path = service.settings.corpus_dir / "test_fr" / "reglement_archives.txt"
    path.write_text(versioned_text(OLD), encoding="utf-8")
    query = "délai de communication des archives communales"
    with service.client() as client:
        first = wait_job(
            client, keys.owner, client.post("/v1/reindex", headers=auth(keys.owner), json={}).json()
        )
        assert first["state"] == "done", first
        doc_id = next(f["doc_id"] for f in first["files"] if f["path"].endswith("reglement_archives.txt"))
        assert {f"{OLD} jours" in h["text"] for h in service.search(query) if h["doc_id"] == doc_id} == {True}

        path.write_text(versioned_text(NEW), encoding="utf-8")  # every article changes: all re-embedded
        # the instant where both versions are in the engine (the new one written and being counted,
        # the old one not yet deleted) lasts milliseconds: held open for a second, with one search
        # sent into it, so that a reader not excluded from it would be caught seeing both
        window = hold_the_replacement_open(
            service, lambda: service_search(service, keys.agent, query, doc_id)
        )
        job = client.post(f"/v1/documents/{doc_id}/reindex", headers=auth(keys.owner)).json()
        # a second job waits for the first: one writer at a time
        queued = client.post("/v1/reindex", headers=auth(keys.owner), json={"collection": "test_ar"}).json()
        seen: list[tuple[str, str]] = []  # (version seen, job state when the request was sent)
        question = "Quel est le délai de communication des archives communales ?"
        while True:
            state = client.get(f"/v1/jobs/{job['id']}", headers=auth(keys.owner)).json()["state"]
            found = client.post("/v1/search", headers=auth(keys.agent), json={"query": query, "k": 10})
            assert found.status_code == 200, found.text
            searched = [h["text"] for h in found.json()["results"] if h["doc_id"] == doc_id]
            seen.append((version_seen(searched, "search"), state))
            asked = client.post(
                "/v1/answers", headers=auth(keys.agent), json={"question": question, "mode": "extractive"}
            )
            assert asked.status_code == 200, asked.text
            answer = asked.json()
            quoted = [c["excerpt"] for c in answer["citations"] if c["doc_id"] == doc_id] + [answer["answer"]]
            seen.append((version_seen(quoted, "answer"), state))
            if state in ("done", "failed"):
                break
        assert state == "done"
    during = [v for v, s in seen if s == "running"]
    assert during, f"no request ran while the job was running: {seen}"
    # old, old, ..., then new from the commit on, never back
    first_new = next((i for i, (v, _) in enumerate(seen) if v == NEW), len(seen))
    assert all(v == OLD for v, _ in seen[:first_new]), seen
    assert all(v == NEW for v, _ in seen[first_new:]), seen
    assert OLD in during, f"requests sent while the job ran never saw the old version: {seen}"
    assert seen[-1][0] == NEW  # the requests sent after the job finished sees the new version
    window.join(120)
    assert window.seen and len(window.seen) == 1, (
        f"the search sent while both versions were written saw {window.seen}"
    )
    with Registry(service.settings.registry_path) as registry:
        rec = registry.get(doc_id)
    assert rec is not None and rec.status == DocumentStatus.INDEXED and rec.version == 2
    with service.client() as client:
        second = wait_job(client, keys.owner, queued)
        first = client.get(f"/v1/jobs/{job['id']}", headers=auth(keys.owner)).json()
    assert second["state"] == "done", second
    assert second["started_at"] >= first["finished_at"], (first, second)
    assert {f["path"].split("/")[0] for f in second["files"]} == {"test_ar"}, second["files"]


def test_a_content_owners_ingest_through_the_client_is_a_job(service: Service, tmp_path: Path) -> None:
    keys = keys_of(service)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "arrete_guichets.txt").write_text(UPLOADED, encoding="utf-8")
    (folder / ".brouillon.txt").write_text("hidden", encoding="utf-8")
    progress: list[tuple[int, int, str]] = []
    settings = service.settings.model_copy(update={"api_url": service.url, "api_key": SecretStr(keys.owner)})
    with contextlib.closing(HttpClient(settings)) as client:
        report = client.ingest(
            [folder], progress=lambda done, total, name: progress.append((done, total, name))
        )
        assert report["totals"]["added"] == 1, report
        assert [d["path"] for d in report["documents"]] == ["uploads/notes/arrete_guichets.txt"]
        assert progress[-1][:2] == (1, 1), progress
        assert client.job(client_jobs(service, keys.owner)[0]["id"])["kind"] == "upload"
    agent = settings.model_copy(update={"api_key": SecretStr(keys.agent)})
    with contextlib.closing(HttpClient(agent)) as client, pytest.raises(ConfigError, match="403"):
        client.ingest([folder])


def client_jobs(service: Service, key: str) -> list[dict[str, Any]]:
    with service.client() as client:
        jobs: list[dict[str, Any]] = client.get("/v1/jobs", headers=auth(key)).json()
    return jobs


def test_an_application_key_records_the_person_it_acts_for(service: Service) -> None:
    """One key for the app, many agents: what a call does is recorded as "AGENT via KEY"; the header
    changes the record, never what the key may do."""
    keys = keys_of(service)
    settings = service.settings.model_copy(update={"api_url": service.url, "api_key": SecretStr(keys.owner)})
    doc = "test_fr:faq_etat_civil.md"
    with contextlib.closing(HttpClient(settings)) as client:
        client.acting_for("أمينة بنعلي").withdraw(doc)
        assert client.user is None  # the shared client is unchanged
        client.withdraw("test_fr:loi_99-01_conges.pdf", by="agent-b")
    with Registry(service.settings.registry_path) as registry:
        first, second = registry.get(doc), registry.get("test_fr:loi_99-01_conges.pdf")
    assert first is not None and second is not None
    assert (first.status, first.withdrawn_by) == (DocumentStatus.WITHDRAWN, "أمينة بنعلي via owner1")
    assert second.withdrawn_by == "agent-b via owner1"
    assert client_jobs(service, keys.owner)[0]["requested_by"] == "agent-b via owner1"
    with service.client() as http:
        # a name that is not one printable line is refused before anything is done
        bad = http.post(f"/v1/documents/{doc}/restore", headers={**auth(keys.owner), "X-Dalil-User": "a%0Ab"})
        assert bad.status_code == 400 and "X-Dalil-User" in bad.json()["error"]["message"]
        # naming a person gives a citizen key no more than it had
        hidden = http.post(
            "/v1/search",
            json={"query": "congé", "audience": "agents"},
            headers={**auth(keys.citizen), "X-Dalil-User": "chef-de-service"},
        )
        assert hidden.status_code == 403
