"""Whole Bluesky repositories: identity resolution, then ``com.atproto.sync.getRepo`` into a CAR file.

For each entry of ``repositories`` (a handle or a DID), following the AT Protocol identity and sync
specifications [1]_ [2]_ [3]_:

1. a handle becomes a DID with ``com.atproto.identity.resolveHandle`` on the AppView, and the DID
   document (step 3) must claim it back in ``alsoKnownAs`` (bidirectional verification);
2. with ``respect_opt_outs``, ``app.bsky.actor.getProfile`` on the AppView: an account labelled
   ``!no-unauthenticated`` is not collected;
3. the DID document: ``did:plc`` from the PLC directory (``https://plc.directory/{did}``), ``did:web``
   from ``https://{host}/.well-known/did.json`` (hostname-level did:web only); its ``id`` must be the
   DID, and the PDS is the service ``#atproto_pds`` of type ``AtprotoPersonalDataServer``;
4. ``GET {pds}/xrpc/com.atproto.sync.getRepo?did=…``, streamed to ``collect/<name>/repo-download.car.partial``
   (at most ``limits.max_repo_bytes``), checked to start with a CAR v1 header, fsynced, then renamed
   to ``repo-<stamp>-<n>.car`` (see ``_journal``): the ``bluesky-car`` importer reads it.

The DID document and the PDS are named by whoever controls the account, so every host taken from
them (a did:web host, a PDS endpoint) must be an ``https`` URL on a public domain name whose
addresses are all public: an IP literal, ``localhost``, a single-label or reserved name (``.local``,
``.internal``, …) or a name resolving to a private, loopback, link-local or reserved address is
refused, before any request, so a hostile DID document cannot point the collector at the user's own
network. Redirects are not followed. The connection itself goes to an address checked the same way
(:func:`public_transport`): the name is resolved once more at connect time and the socket opened to
the very address just checked, so a DNS server that answers a public address to the check and a
private one to the request (DNS rebinding) is refused too. Through an HTTP proxy (``HTTPS_PROXY``)
the proxy resolves the name, and only the check before the request applies.

A task that cannot collect its repository for a reason of its own (opted out, refused host, no PDS
in the document, a handle the document does not claim, a 4xx answer such as ``RepoDeactivated``, a repository over the size limit) ends
with that reason in the run's summary, without the handle or DID, and the other tasks go on; it
tries again on the next run. Service failures (5xx, 429 after the retries) stop the run as for every
other task.

getRepo's ``since`` gives only the blocks changed since a revision, not a tree the importer can
walk: there is no incremental collection. A repository once collected is not collected again; delete
its entry (``repository:<handle or DID>``) in ``WORKSPACE/collect/<name>.state.json`` to collect it anew.

References
----------
.. [1] AT Protocol, "DID" specification, https://atproto.com/specs/did
.. [2] AT Protocol, "Handle" specification, https://atproto.com/specs/handle
.. [3] AT Protocol, "Data Repositories" and "Sync" specifications, https://atproto.com/specs/sync
"""

from __future__ import annotations

import ipaddress
import io
import os
import re
import socket
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import httpcore
import httpx
import orjson

from confiance.collect._http import HttpError, PoliteClient, TooLarge
from confiance.collect._runner import Page
from confiance.collect.bluesky import opted_out
from confiance.collect.config import DID_PLC, DID_WEB, Limits
from confiance.ingest.bluesky_car import is_car

PLC_DIRECTORY = "https://plc.directory"
PDS_SERVICE_ID = "#atproto_pds"
PDS_SERVICE_TYPE = "AtprotoPersonalDataServer"
MAX_DID_DOCUMENT_BYTES = 1 << 16  # a DID document is a few hundred bytes
#: top-level names the handle specification disallows, and so never a public service
RESERVED_TLDS = frozenset({"alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion"})
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_CAR_HEAD_BYTES = 1 << 16

#: host name -> its IP addresses (empty when it does not resolve)
Resolver = Callable[[str], list[str]]


class Refused(Exception):
    """A repository is not collected, for a reason that names no person (shown in the summary)."""


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


class PublicOnlyBackend(httpcore.NetworkBackend):
    """httpcore's network backend, opening TCP connections only to public addresses: the host name is
    resolved here and the socket opened to the checked address (TLS still verifies the name)."""

    def __init__(self, resolve: Resolver, inner: httpcore.NetworkBackend | None = None):
        self.resolve, self.inner = resolve, inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        addresses = self.resolve(host)
        unfit = _unfit(addresses)
        if unfit:
            raise httpcore.ConnectError(f"the host {unfit}")
        return self.inner.connect_tcp(addresses[0], port, timeout=timeout, local_address=local_address,
                                      socket_options=socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("no local sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def public_transport(resolve: Resolver, inner: httpcore.NetworkBackend | None = None) -> httpx.HTTPTransport | None:
    """An ``httpx`` transport whose connections reach public addresses only (:class:`PublicOnlyBackend`),
    or None when the environment names an HTTP proxy (the client then goes through it, as before)."""
    if {"https", "all"} & set(urllib.request.getproxies()):
        return None
    transport = httpx.HTTPTransport()
    pool = transport._pool  # httpx 0.28 / httpcore 1.0 (pinned) take the backend only at the pool
    if not isinstance(pool, httpcore.ConnectionPool):
        raise RuntimeError("httpx's transport has no connection pool to guard")
    pool._network_backend = PublicOnlyBackend(resolve, inner)
    return transport


def _unfit(addresses: list[str]) -> str | None:
    """Why a name resolving to ``addresses`` may not be reached, or None when every address is public."""
    if not addresses:
        return "does not resolve"
    if any(_private(a) for a in addresses):
        return "resolves to a private or reserved address"
    return None


def _private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    return not ip.is_global or ip.is_multicast


def public_origin(url: Any, what: str, resolve: Resolver) -> str:
    """``https://host[:port]`` of ``url`` when it may be fetched, else :class:`Refused` naming ``what``.

    See the module docstring for the rules (https only; no IP literal, localhost, single-label or
    reserved name; every address of the name public)."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else None
    except (httpx.InvalidURL, UnicodeError):
        parsed = None
    if parsed is None or not parsed.raw_host:
        raise Refused(f"{what} is not a URL")
    if parsed.scheme != "https":
        raise Refused(f"{what} is not an https URL")
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    labels = host.split(".")
    if ":" in host or _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise Refused(f"{what} is an IP address, not a domain name")
    if labels[-1] == "localhost":
        raise Refused(f"{what} is localhost")
    if len(labels) < 2 or labels[-1] in RESERVED_TLDS:
        raise Refused(f"{what} is not a public domain name")
    unfit = _unfit(resolve(host))
    if unfit:
        raise Refused(f"{what} {unfit}")
    return f"https://{host}" + (f":{parsed.port}" if parsed.port else "")


def pds_endpoint(document: Any, did: str) -> str:
    """The ``serviceEndpoint`` of the document's PDS service (not yet checked)."""
    if not isinstance(document, dict) or document.get("id") != did:
        raise Refused("the DID document is not the account's")
    for service in document.get("service") or ():
        if (isinstance(service, dict) and service.get("id") in (PDS_SERVICE_ID, did + PDS_SERVICE_ID)
                and service.get("type") == PDS_SERVICE_TYPE and isinstance(service.get("serviceEndpoint"), str)):
            return service["serviceEndpoint"]
    raise Refused("the DID document names no PDS")


def _handles(document: Any) -> set[str]:
    """The ``at://`` handles a DID document claims (``alsoKnownAs``), lower-cased."""
    names = document.get("alsoKnownAs") if isinstance(document, dict) else None
    return {name.lower() for name in names or () if isinstance(name, str)}


class Hosts:
    """One polite client per host and media type (its own rate-limit window and interval), made on first
    use and added to ``apis`` (whose counts the run adds up, and which it closes)."""

    def __init__(self, apis: list[PoliteClient], make: Callable[[str, str], PoliteClient]):
        self.apis, self.make = apis, make
        self._made: dict[tuple[str, str], PoliteClient] = {}

    def get(self, origin: str, accept: str = "application/json") -> PoliteClient:
        if (origin, accept) not in self._made:
            self._made[origin, accept] = self.make(origin, accept)
            self.apis.append(self._made[origin, accept])
        return self._made[origin, accept]


class RepositoryTask:
    """The whole public repository of one account, as one CAR file (see the module docstring)."""

    paged = True

    def __init__(self, appview: PoliteClient, hosts: Hosts, actor: str, index: int, limits: Limits,
                 respect_opt_outs: bool, spool: Path, resolve: Resolver):
        self.appview, self.hosts, self.actor, self.limits = appview, hosts, actor, limits
        self.respect_opt_outs, self.spool, self.resolve = respect_opt_outs, spool, resolve
        self.key = f"repository:{actor}"
        self.label = f"repository #{index + 1}"

    def pages(self, state: dict) -> Iterator[Page]:
        if state.get("done"):
            return
        try:
            did = self._did()
            if self.respect_opt_outs:
                profile, _ = self.appview.get_json("/xrpc/app.bsky.actor.getProfile", {"actor": did},
                                                   what="getProfile")
                if opted_out(profile):
                    raise Refused("opted out (!no-unauthenticated)")
            document = self._document(did)
            if not self.actor.startswith("did:") and f"at://{self.actor}" not in _handles(document):
                raise Refused("the DID document does not confirm the handle")
            pds = public_origin(pds_endpoint(document, did), "the PDS endpoint", self.resolve)
            self._download(pds, did)
        except (Refused, HttpError) as exc:
            yield Page("repo", b"", 0, {}, stopped=f"not collected: {exc}")
            return
        yield Page("repo", b"", 1, {"done": True}, file=self.spool)

    def _did(self) -> str:
        if self.actor.startswith("did:"):
            return self.actor
        body, _ = self.appview.get_json("/xrpc/com.atproto.identity.resolveHandle", {"handle": self.actor},
                                        what="resolveHandle")
        did = body.get("did") if isinstance(body, dict) else None
        if not isinstance(did, str) or not (DID_PLC.fullmatch(did) or DID_WEB.fullmatch(did)):
            raise Refused("the handle resolves to no did:plc or did:web DID")
        return did

    def _document(self, did: str) -> Any:
        if did.startswith("did:plc:"):
            origin, path, what = PLC_DIRECTORY, f"/{did}", "PLC directory"
        else:
            origin = public_origin(f"https://{did.removeprefix('did:web:')}", "the did:web host", self.resolve)
            path, what = "/.well-known/did.json", "did:web document"
        body = io.BytesIO()
        try:
            self.hosts.get(origin).download(path, None, body, max_bytes=MAX_DID_DOCUMENT_BYTES, what=what)
        except TooLarge:
            raise Refused(f"the DID document is over {MAX_DID_DOCUMENT_BYTES} bytes") from None
        try:
            return orjson.loads(body.getvalue())
        except orjson.JSONDecodeError:
            raise Refused("the DID document is not JSON") from None

    def _download(self, pds: str, did: str) -> None:
        """getRepo into the spool file, complete and fsynced; removed on any failure."""
        try:
            with open(self.spool, "w+b") as fh:
                self.hosts.get(pds, "application/vnd.ipld.car").download(
                    "/xrpc/com.atproto.sync.getRepo", {"did": did}, fh, max_bytes=self.limits.max_repo_bytes,
                    what="getRepo")
                fh.seek(0)
                if not is_car(fh.read(_CAR_HEAD_BYTES)):
                    raise Refused("getRepo's answer is not a CAR v1 file")
                fh.flush()
                os.fsync(fh.fileno())
        except TooLarge:
            self.spool.unlink(missing_ok=True)
            raise Refused(f"the repository is over limits.max_repo_bytes ({self.limits.max_repo_bytes} bytes)") from None
        except BaseException:
            self.spool.unlink(missing_ok=True)
            raise
