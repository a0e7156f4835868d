"""Repository task: a handle or DID is resolved (AppView, PLC directory, did:web), the PDS serves a CAR
built with the ingest tests' repository builder, the file lands whole and ingests with ``bluesky-car``.
Hosts named by a hostile DID document are refused before any request; the size limit, the opt-out
and a kill in the middle of a download leave no file that ingest would read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from confiance.collect import FakeClock, collect, parse_config
from confiance.workspace import Workspace
from tests.collect._replay import Fault, HostRouter, Reply, ReplayServer
from tests.conftest import scalar
from tests.ingest.test_bluesky_car import _records, build_car

RESOLVE = "/xrpc/com.atproto.identity.resolveHandle"
PROFILE = "/xrpc/app.bsky.actor.getProfile"
GET_REPO = "/xrpc/com.atproto.sync.getRepo"
PDS = "pds.example.com"
WEB_PDS = "pds2.example.net"
ROOT = Path(__file__).resolve().parents[2]

OWNER = "did:plc:repocollectowner2test345"  # reached through its handle
WEB = "did:web:web.example.org"
OPTED = "did:plc:optedoutaccount2345abcde"
GONE = "did:plc:deactivatedaccount2345ab"
NOT_CAR = "did:plc:pdsanswersjsonnotcar2345"
#: hostile DID documents: DID -> (PDS endpoint, the reason the summary must give)
HOSTILE = {
    "did:plc:hostileloopbackliteral23": ("https://127.0.0.1", "the PDS endpoint is an IP address, not a domain name"),
    "did:plc:hostileprivateliteral234": ("https://10.0.0.5:8443", "the PDS endpoint is an IP address, not a domain name"),
    "did:plc:hostileipvsixliteral2345": ("https://[::1]/", "the PDS endpoint is an IP address, not a domain name"),
    "did:plc:hostiledecimalliteral234": ("https://2130706433", "the PDS endpoint is an IP address, not a domain name"),
    "did:plc:hostilelocalhostname2345": ("https://localhost:2583", "the PDS endpoint is localhost"),
    "did:plc:hostileplainhttpscheme23": (f"http://{PDS}", "the PDS endpoint is not an https URL"),
    "did:plc:hostiledotlocalname23456": ("https://pds.local", "the PDS endpoint is not a public domain name"),
    "did:plc:hostileresolvesprivate23": ("https://intranet.example.com",
                                         "the PDS endpoint resolves to a private or reserved address"),
    "did:plc:hostilerebindingname2345": ("https://rebind.example.com",
                                         "the PDS endpoint resolves to a private or reserved address"),
}
ADDRESSES = {PDS: ["151.101.1.1"], WEB_PDS: ["2a04:4e42::1"], "web.example.org": ["151.101.65.1"],
             "intranet.example.com": ["10.20.30.40"], "rebind.example.com": ["151.101.1.1", "127.0.0.1"],
             "private-web.example.org": ["192.168.1.10"]}


def resolve(host: str) -> list[str]:
    return ADDRESSES.get(host, [])


def _document(did: str, endpoint: str, handle: str | None = None) -> dict:
    return {"@context": ["https://www.w3.org/ns/did/v1"], "id": did, "alsoKnownAs": [f"at://{handle}"] if handle else [],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": endpoint}]}


@pytest.fixture(scope="module")
def cars() -> dict[str, bytes]:
    return {OWNER: build_car(_records(), did=OWNER).data, WEB: build_car(_records(limit=20), did=WEB).data,
            OPTED: build_car(_records(limit=5), did=OPTED).data}


def _server(cars: dict[str, bytes], clock: FakeClock) -> ReplayServer:
    handles = {"owner.example.com": OWNER, "impostor.example.com": OPTED}
    plc = {OWNER: _document(OWNER, f"https://{PDS}", "owner.example.com"), OPTED: _document(OPTED, f"https://{PDS}"),
           GONE: _document(GONE, f"https://{PDS}/"), NOT_CAR: _document(NOT_CAR, f"https://{PDS}")}
    plc.update({did: _document(did, endpoint) for did, (endpoint, _) in HOSTILE.items()})

    def resolve_handle(query: dict, server: ReplayServer) -> Reply:
        did = handles.get(query.get("handle", ""))
        return Reply(body={"did": did}) if did else Reply(400, {"error": "InvalidRequest"})

    def profile(query: dict, server: ReplayServer) -> Reply:
        labels = [{"src": query["actor"], "val": "!no-unauthenticated"}] if query["actor"] == OPTED else []
        return Reply(body={"did": query["actor"], "handle": "x.example.com", "labels": labels})

    def get_repo(query: dict, server: ReplayServer) -> Reply:
        if query["did"] == GONE:
            return Reply(400, {"error": "RepoDeactivated", "message": f"Repo has been deactivated: {GONE}"})
        if query["did"] == NOT_CAR:
            return Reply(body={"did": NOT_CAR, "note": "a JSON page, not a repository"})
        return Reply(body=cars[query["did"]], sized=query["did"] != WEB)

    routes = {RESOLVE: resolve_handle, PROFILE: profile, f"/{PDS}{GET_REPO}": get_repo, f"/{WEB_PDS}{GET_REPO}": get_repo,
              "/web.example.org/.well-known/did.json": lambda q, s: Reply(body=_document(WEB, f"https://{WEB_PDS}"))}
    routes.update({f"/plc.directory/{did}": (lambda q, s, doc=doc: Reply(body=doc)) for did, doc in plc.items()})
    return ReplayServer(routes)


def _config(url: str, repositories: list[str], **limits: object) -> str:
    return json.dumps({"platform": "bluesky", "name": "repos", "contact": "research@example.org", "appview": url,
                       "repositories": repositories,
                       "limits": {"min_interval_s": 0, "backoff_base_s": 0.5, "max_retries": 2, **limits}})


def _folder(ws: Workspace) -> Path:
    return ws.root / "collect" / "repos"


def _run(ws: Workspace, server: ReplayServer, repositories: list[str], **kwargs: object):
    limits = kwargs.pop("limits", {})
    config = parse_config(_config(server.url, repositories, **limits), "repos.yaml")
    return collect(ws, config, clock=FakeClock(), transport=HostRouter(server.url), resolve=resolve, **kwargs)


def test_handle_plc_and_web_repositories_land_whole_and_ingest(workspace: Workspace, cars) -> None:
    with _server(cars, FakeClock()) as server:
        server.faults.append(Fault(f"/{PDS}{GET_REPO}", "drop"))  # cut mid-body once: retried from the start
        result = _run(workspace, server, ["@Owner.example.com", WEB], ingest=False)
        written = sorted(_folder(workspace).glob("*.car"))
        assert [f.read_bytes() for f in written] == [cars[OWNER], cars[WEB]]
        assert not list(_folder(workspace).glob("*.partial"))
        assert [(t.pages, t.items, t.stopped) for t in result.tasks] == [(1, 1, "exhausted")] * 2
        assert result.retries == 1
        assert server.calls(RESOLVE) == [{"handle": "owner.example.com"}]
        assert server.calls(PROFILE) == [{"actor": OWNER}, {"actor": WEB}]  # the opt-out check, by DID
        assert server.calls(f"/plc.directory/{OWNER}") == [{}]
        assert server.calls("/web.example.org/.well-known/did.json") == [{}]
        assert server.calls(f"/{PDS}{GET_REPO}") == [{"did": OWNER}] * 2
        assert server.calls(f"/{WEB_PDS}{GET_REPO}") == [{"did": WEB}]
        repo_headers = [h for (p, _), h in zip(server.requests, server.headers_seen) if p.endswith(GET_REPO)]
        assert all(h["Accept"] == "application/vnd.ipld.car" and "research@example.org" in h["User-Agent"]
                   for h in repo_headers)
        ingested = _run(workspace, server, ["@Owner.example.com", WEB]).ingested
        assert len(server.requests) == 8  # a collected repository is not collected again
    assert [(r.format, r.rejected) for r in ingested] == [("bluesky-car", 0)] * 2
    assert not list(_folder(workspace).iterdir())
    posts = sum(key.startswith("app.bsky.feed.post/") for key in _records())
    web_posts = sum(key.startswith("app.bsky.feed.post/") for key in _records(limit=20))
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE account_id = ?", [OWNER]) == posts
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE account_id = ?", [WEB]) == web_posts
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE account_id IN (?, ?) AND display_name = ?",
                  [OWNER, WEB, "Camille Été"]) == 2
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE src = ? AND kind = 'like'", [OWNER]) == 1


def test_hosts_named_by_hostile_documents_are_refused_before_any_request(workspace: Workspace, cars) -> None:
    hostile_web = ["did:web:private-web.example.org", "did:web:nowhere.example.org"]
    with _server(cars, FakeClock()) as server:
        result = _run(workspace, server, [*HOSTILE, *hostile_web, OWNER], ingest=False)
        asked = {path for path, _ in server.requests}
    reasons = [t.stopped for t in result.tasks]
    assert reasons == [f"not collected: {reason}" for _, reason in HOSTILE.values()] + [
        "not collected: the did:web host resolves to a private or reserved address",
        "not collected: the did:web host does not resolve", "exhausted"]
    assert asked == {PROFILE, *(f"/plc.directory/{did}" for did in [*HOSTILE, OWNER]), f"/{PDS}{GET_REPO}"}
    assert [q["did"] for q in server.calls(f"/{PDS}{GET_REPO}")] == [OWNER]  # the others went on
    named = [*HOSTILE, *hostile_web, "example", "127.0.0.1", "10.0.0.5", "2130706433", "localhost:"]
    assert not [reason for reason in reasons if any(name in reason for name in named)]  # no DID, host or address
    assert [f.read_bytes() for f in _folder(workspace).iterdir()] == [cars[OWNER]]


def test_opted_out_unavailable_and_non_car_repositories_are_skipped_and_asked_again_later(workspace: Workspace, cars) -> None:
    with _server(cars, FakeClock()) as server:
        result = _run(workspace, server, [OPTED, GONE, NOT_CAR], ingest=False)
        assert [t.stopped for t in result.tasks] == ["not collected: opted out (!no-unauthenticated)",
                                                     "not collected: getRepo: HTTP 400 (RepoDeactivated)",
                                                     "not collected: getRepo's answer is not a CAR v1 file"]
        assert server.calls(f"/plc.directory/{OPTED}") == []  # nothing past the profile
        assert not list(_folder(workspace).iterdir())
        again = len(server.requests)
        _run(workspace, server, [OPTED, GONE, NOT_CAR], ingest=False)
        assert len(server.requests) == 2 * again
        text = json.loads(_config(server.url, [OPTED, "impostor.example.com"]))
        text["respect_opt_outs"] = False
        kept = collect(workspace, parse_config(json.dumps(text), "r.yaml"), clock=FakeClock(),
                       transport=HostRouter(server.url), resolve=resolve, ingest=False)
    # a handle that resolves to a DID whose document does not claim it back is not collected
    assert [t.stopped for t in kept.tasks] == ["exhausted", "not collected: the DID document does not confirm the handle"]
    assert [q["did"] for q in server.calls(f"/{PDS}{GET_REPO}")] == [GONE, NOT_CAR, GONE, NOT_CAR, OPTED]
    audit = workspace.audit_path.read_text(encoding="utf-8")
    assert "did:plc" not in audit and "example" not in audit


@pytest.mark.parametrize("who", [OWNER, WEB])  # announced in Content-Length, or found while streaming
def test_a_repository_over_the_size_limit_leaves_no_file(workspace: Workspace, cars, who: str) -> None:
    with _server(cars, FakeClock()) as server:
        result = _run(workspace, server, [who], limits={"max_repo_bytes": len(cars[who]) - 1})
    assert result.tasks[0].stopped == f"not collected: the repository is over limits.max_repo_bytes ({len(cars[who]) - 1} bytes)"
    assert not list(_folder(workspace).iterdir()) and result.ingested == []


_KILLED_RUN = """
import sys
from confiance.collect import FakeClock, collect, load_config
from confiance.workspace import Workspace
from tests.collect._replay import HostRouter
from tests.collect.test_bluesky_repo import resolve

collect(Workspace.open(sys.argv[1]), load_config(sys.argv[2]), clock=FakeClock(), transport=HostRouter(sys.argv[3]),
        resolve=resolve)
"""


def test_killed_mid_download_leaves_no_partial_car_and_the_next_run_completes(workspace: Workspace, cars,
                                                                             tmp_path: Path) -> None:
    with _server(cars, FakeClock()) as server:
        server.faults.append(Fault(f"/{PDS}{GET_REPO}", "stall"))
        config = tmp_path / "repos.yaml"
        config.write_text(_config(server.url, [OWNER]), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
        child = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(workspace.root), str(config), server.url],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert server.stalled.wait(60), child.stderr.read().decode()[-2000:] if child.poll() is not None else ""
            spool = _folder(workspace) / "repo-download.car.partial"
            for _ in range(600):  # until the first half is on disk
                if spool.exists() and spool.stat().st_size > 0:
                    break
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(60) == -signal.SIGKILL
        finally:
            server.release.set()
            if child.poll() is None:
                child.kill()
            child.stderr.close()
        assert 0 < spool.stat().st_size < len(cars[OWNER])
        assert not list(_folder(workspace).glob("*.car"))  # nothing ingest would read
        result = _run(workspace, server, [OWNER], ingest=False)
    assert result.tasks[0].stopped == "exhausted"
    assert [f.read_bytes() for f in _folder(workspace).iterdir()] == [cars[OWNER]]  # whole, and no partial


def test_a_car_renamed_but_not_recorded_is_removed_and_downloaded_again(workspace: Workspace, cars) -> None:
    """A kill between the rename and the state save: the final file is not listed, the task not done."""
    class Crash(Exception):
        pass

    def crash(stage: str, committed: int) -> None:
        if stage == "written":
            raise Crash()

    with _server(cars, FakeClock()) as server:
        with pytest.raises(Crash):
            _run(workspace, server, [OWNER], checkpoint_hook=crash)
        [written] = _folder(workspace).glob("*.car")
        orphan = written.rename(written.with_name("repo-20250101T000000Z-00001.car"))  # as if from an earlier run
        _run(workspace, server, [OWNER], ingest=False)
        assert len(server.calls(f"/{PDS}{GET_REPO}")) == 2
    state = json.loads((workspace.root / "collect" / "repos.state.json").read_text(encoding="utf-8"))
    [again] = _folder(workspace).iterdir()
    assert not orphan.exists() and again.read_bytes() == cars[OWNER] and state["ready"] == [again.name]


@pytest.mark.parametrize(("url", "reason"), [
    ("https://169.254.169.254/latest", "an IP address"),  # a cloud metadata service
    ("https://0x7f.1", "an IP address"),
    ("https://127.1", "an IP address"),
    ("https://LOCALHOST.", "localhost"),
    ("https://pds.localhost", "localhost"),
    ("https://pds", "not a public domain name"),
    ("https://pds.internal", "not a public domain name"),
    ("ftp://pds.example.com", "not an https URL"),
    ("https://", "not a URL"),
    (42, "not a URL"),
    ("https://mapped.example.com", "resolves to a private or reserved address"),  # ::ffff:10.0.0.1
    ("https://cgnat.example.com", "resolves to a private or reserved address"),  # 100.64.0.0/10
])
def test_host_rules(url: object, reason: str) -> None:
    from confiance.collect.bluesky_repo import Refused, public_origin

    addresses = {"mapped.example.com": ["::ffff:10.0.0.1"], "cgnat.example.com": ["100.64.1.1"]}
    with pytest.raises(Refused, match=f"^the PDS endpoint .*{reason}"):
        public_origin(url, "the PDS endpoint", lambda host: addresses.get(host, ["151.101.1.1"]))


def test_a_public_endpoint_keeps_only_its_origin() -> None:
    from confiance.collect.bluesky_repo import public_origin

    assert public_origin("https://user@PDS.Example.com:444/xrpc/", "the PDS endpoint", resolve) == "https://pds.example.com:444"


class _RecordingBackend:
    """httpcore's backend stand-in: records where a connection was asked to go, and goes nowhere."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        import httpcore

        self.asked.append((host, port))
        raise httpcore.ConnectError("recorded")

    def sleep(self, seconds: float) -> None:
        pass


def test_the_connection_goes_to_the_address_just_checked_so_dns_rebinding_is_refused(monkeypatch) -> None:
    """A DNS server may answer a public address to the check before the request and a private one when
    the request resolves the name again: the transport resolves once, checks, and connects to that address."""
    import httpx

    from confiance.collect.bluesky_repo import public_transport

    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    answers = {"rebind.example.com": [["151.101.1.1"], ["127.0.0.1"]], "pds.example.com": [["151.101.1.1"]]}
    calls: list[str] = []

    def rebinding(host: str) -> list[str]:
        calls.append(host)
        replies = answers[host]
        return replies.pop(0) if len(replies) > 1 else replies[0]

    inner = _RecordingBackend()
    client = httpx.Client(transport=public_transport(rebinding, inner))
    assert rebinding("rebind.example.com") == ["151.101.1.1"]  # what the check before the request saw
    with pytest.raises(httpx.ConnectError, match="private or reserved address"):
        client.get("https://rebind.example.com/xrpc/com.atproto.sync.getRepo")
    assert inner.asked == []  # no socket was opened
    with pytest.raises(httpx.ConnectError, match="recorded"):
        client.get("https://pds.example.com:444/xrpc/com.atproto.sync.getRepo")
    assert inner.asked == [("151.101.1.1", 444)]  # to the checked address, not the name
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    assert public_transport(rebinding) is None  # through a proxy, the proxy resolves
