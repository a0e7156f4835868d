"""URL normalisation: one spelling per resource, so shares of the same page can be counted together.

Lower-cases scheme and host (``http`` and ``https`` count as one), drops ``www.``, default ports, fragments, tracking parameters (``utm_*``,
click ids, share markers) and a trailing slash, and sorts what query parameters remain. Shortened
links are not fetched (no network at run time): importers already store the expanded URL whenever
the platform provides it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url",
    "s", "si", "feature", "share", "smid", "cmpid", "xtor", "at_medium", "at_campaign", "_hsenc", "_hsmi",
})
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMETERS


def normalise_url(url: str) -> str:
    """The canonical spelling of ``url`` (unchanged when it is not an http(s) URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return url.strip()
    host = parts.hostname.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if port and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k))
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("https" if scheme == "http" else scheme, host, path, urlencode(query), ""))


def domain_of_url(url: str) -> str:
    """The normalised host of ``url`` without ``www.`` ('' when there is none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host
