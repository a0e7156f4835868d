"""A full session through the CLI (simulate, ingest, analyze, report, export, forget, retention, serve) prints
and audits counts, paths and hashes only (DESIGN §8): never a handle, an account id or a post's text."""

from __future__ import annotations

import subprocess
import sys

import orjson

from confiance.workspace import Workspace
from tests.conftest import query
from tests.test_privacy_audit import _cli


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_pages(ws_root, paths: list[str]) -> tuple[str, list[int]]:
    """Run ``confiance serve``, fetch the pages, stop it: everything it printed, and each page's status."""
    import time
    import urllib.error
    import urllib.request

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "confiance.cli", "--workspace", str(ws_root), "serve",
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/overview", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        statuses = []
        for path in paths:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as page:
                    page.read()
                    statuses.append(page.status)
            except urllib.error.HTTPError as exc:  # a 404 for a forgotten account is part of the session
                statuses.append(exc.code)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    return output, statuses


def test_a_full_session_logs_no_handle_text_or_account_id(tmp_path):
    """simulate, ingest, analyze, report, export, forget, retention, serve: what they print on stderr and the
    audit log carry counts, paths and hashes (DESIGN §8), never a handle, an account id or a post's text."""
    ws_root = tmp_path / "ws"
    printed = [_cli(ws_root, "init").stderr]
    printed.append(_cli(ws_root, "simulate", str(tmp_path / "world"), "--seed", "7", "--accounts", "270",
                        "--posts", "2000").stderr)
    printed.append(_cli(ws_root, "ingest", str(tmp_path / "world" / "x"), str(tmp_path / "world" / "bluesky"),
                        str(tmp_path / "world" / "mastodon")).stderr)
    ws = Workspace.open(ws_root)
    accounts = query(ws, "SELECT platform, account_id, handle FROM accounts")
    texts = [t for (t,) in query(ws, "SELECT text FROM posts WHERE length(text) >= 30")]
    printed.append(_cli(ws_root, "analyze").stderr)
    printed.append(_cli(ws_root, "report").stderr)
    printed.append(_cli(ws_root, "export", "csv", "-o", str(tmp_path / "export")).stderr)
    printed.append(_cli(ws_root, "status").stderr)
    platform, account_id, handle = max(accounts, key=lambda a: (len(a[2] or ""), a[1]))
    printed.append(_cli(ws_root, "forget", f"@{handle}").stderr)
    printed.append(_cli(ws_root, "forget", f"@{handle}", check=False).stderr)  # gone: the error names what was asked
    printed.append(_cli(ws_root, "retention", "100y", "--dry-run").stderr)
    other = next(a for a in accounts if a[1] != account_id)
    output, served = _serve_pages(ws_root, ["/", "/api/overview", "/api/tables", f"/accounts/{other[0]}/{other[1]}",
                                            f"/api/accounts/{other[0]}/{other[1]}",
                                            f"/accounts/{platform}/{account_id}", "/map"])
    printed.append(output)
    logs = "\n".join(printed).lower()
    audit = ws.audit_path.read_text().lower()
    assert "forgotten:" in logs and "dashboard at" in logs and served == [200, 200, 200, 200, 200, 404, 200]
    assert {"ingest", "analyze", "report", "export", "forget", "serve"} <= {
        orjson.loads(line)["action"] for line in audit.splitlines()}
    needles = ({h.lower() for _, _, h in accounts if h and len(h) >= 6} | {a.lower() for _, a, _ in accounts if len(a) >= 6}
               | {t[:30].lower() for t in texts})
    # the second forget's error repeats what the user typed, nothing the store knows
    logs = logs.replace(f"'@{handle.lower()}'", "")
    assert sorted(n for n in needles if n in logs) == []
    assert sorted(n for n in needles if n in audit) == []
