"""URL normalisation: one spelling per resource, so shares of the same page can be counted together.

Lower-cases scheme and host (``http`` and ``https`` count as one), drops ``www.``, default ports, fragments, tracking parameters (``utm_*``,
click ids, share markers) and a trailing slash, and sorts what query parameters remain. The mobile
and AMP copies of a page count as the page: a ``m.``, ``mobile.`` or ``amp.`` label is dropped from a
host that keeps two labels (``m.facebook.com``, ``en.m.wikipedia.org``, ``amp.theguardian.com``; not
``m.me``), and Google / ampproject AMP-cache links become the page they serve. An old hash-bang
route (``twitter.com/#!/user``) is a path, not a fragment, and is kept. Shortened
links are not fetched (no network at run time): importers already store the expanded URL whenever
the platform provides it, and :func:`expansion_pairs` reads the other short → expanded pairs a post
carries (the short link in its text or link field, the expanded one beside it), so one post that
carries both expands every other post that carries only the short link.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "igshid", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url",
    "s", "si", "feature", "share", "smid", "cmpid", "xtor", "at_medium", "at_campaign", "_hsenc", "_hsmi",
    "igsh", "_ga", "_gl", "mkt_tok", "trk", "ito", "ncid", "ocid", "is_from_webapp", "sender_device", "ampshare",
})
#: Host labels of the mobile and AMP copies of a site.
MOBILE_LABELS = frozenset({"m", "mobile", "amp"})
#: URLs (already https, without ``www.``) whose host or path :func:`normalise_url` still rewrites:
#: a mobile or AMP label, or an AMP cache. RE2- and Python-compatible, for fast paths that skip
#: URLs already in normal form.
NEEDS_FOLDING = r"^https://(?:[a-z0-9-]+\.)*(?:(?:m|mobile|amp)\.[a-z0-9-]+\.[a-z0-9-]|[a-z0-9-]+\.cdn\.ampproject\.org/|cdn\.ampproject\.org/|google\.[a-z.]+/amp/)"
_GOOGLE_AMP = re.compile(r"^/amp/(?:s/)?(?P<target>.+)$")
_AMPPROJECT = re.compile(r"^/[cv]/(?:s/)?(?P<target>.+)$")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Hosts that only redirect to another URL (platform wrappers and public link shorteners).
SHORTENER_HOSTS = frozenset({
    "t.co", "bit.ly", "bitly.com", "ow.ly", "buff.ly", "tinyurl.com", "dlvr.it", "goo.gl", "fb.me", "lnkd.in",
    "is.gd", "v.gd", "t.ly", "tiny.cc", "rebrand.ly", "shorturl.at", "cutt.ly", "rb.gy", "trib.al", "ift.tt",
    "amzn.to", "youtu.be", "wp.me", "flip.it", "shar.es", "j.mp", "s.id", "bl.ink", "soo.gd", "qr.ae",
    "po.st", "ln.is", "mf.tt", "dld.bz", "twib.in", "urlz.fr", "frama.link", "huit.re",
})
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)


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
    cache = (_AMPPROJECT.match(parts.path) if host == "cdn.ampproject.org" or host.endswith(".cdn.ampproject.org")
             else _GOOGLE_AMP.match(parts.path) if re.fullmatch(r"google\.[a-z.]+", host) else None)
    if cache:
        target = cache.group("target")
        if "." in target.split("/", 1)[0]:
            query = f"?{parts.query}" if parts.query else ""
            return normalise_url(target + query if re.match(r"https?://", target) else f"https://{target}{query}")
    labels = host.split(".")
    if len(labels) > 2:
        host = ".".join([label for label in labels[:-2] if label not in MOBILE_LABELS] + labels[-2:])
    if port and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k))
    path = parts.path
    if parts.fragment.startswith("!/") and path in ("", "/"):
        path = parts.fragment[1:]
    path = path.rstrip("/") or ""
    return urlunsplit(("https" if scheme == "http" else scheme, host, path, urlencode(query), ""))


def domain_of_url(url: str) -> str:
    """The normalised host of ``url`` without ``www.`` ('' when there is none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def is_shortened(url: str) -> bool:
    """True when ``url`` is on a known shortener host (its target is elsewhere)."""
    return domain_of_url(url) in SHORTENER_HOSTS


def urls_in_text(text: str | None) -> list[str]:
    """http(s) links written in ``text``, in order, trailing punctuation dropped."""
    return [m.group(0).rstrip(".,;:!?)]}…") for m in _URL_IN_TEXT.finditer(text or "")]


def expansion_pairs(text: str | None, urls: list[str] | None) -> list[tuple[str, str]]:
    """Short → expanded pairs that one post carries, without any network access.

    The short links are the shortener links of the post (in its text, then in ``urls``), in order;
    the expanded ones are the other entries of ``urls`` that do not appear in the text (an
    importer put them there from the platform's entities or a "final link" field). When both
    lists have the same length the post pairs them in order, as X entities and CrowdTangle's
    Link / Final Link columns do; otherwise the post says nothing reliable and gives no pair.
    Both sides are normalised with :func:`normalise_url`.
    """
    written = urls_in_text(text)
    short = list(dict.fromkeys(normalise_url(u) for u in [*written, *(urls or ())] if is_shortened(u)))
    in_text = {normalise_url(u) for u in written}
    expanded = list(dict.fromkeys(n for n in (normalise_url(u) for u in urls or ())
                                  if not is_shortened(n) and n not in in_text))
    if not short or len(short) != len(expanded):
        return []
    return list(zip(short, expanded))
