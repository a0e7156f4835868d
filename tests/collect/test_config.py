"""Collector configuration: valid files parse; each mistake is an error naming the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from confiance.collect import CollectConfigError, load_config, parse_config
from confiance.collect._http import Backoff, parse_reset, parse_retry_after

BLUESKY = """
platform: bluesky
name: climat-fr
contact: recherche@example.org
limits:
  max_pages: 5
  page_size: 500
  since: 2025-01-31
queries:
  - climat
  - {q: "réchauffement climatique", lang: fr, sort: top}
actors: ["@Alice.bsky.social", "did:plc:abc"]
followers_of: [alice.bsky.social]
repositories: ["@Alice.bsky.social", "did:web:alice.example.org", "did:plc:ewvi7nxzyoun6zhxrhs64oiz"]
jetstream:
  keywords: [Climat, GIEC]
  duration_s: 60
"""

MASTODON = """
platform: mastodon
contact: https://example.org/contact
instances:
  - url: https://mastodon.social/
    hashtags: ["#Climat", climat]
    timelines: [local]
    accounts: ["@Gargron"]
  - {url: "https://piaille.fr", timelines: [federated]}
"""


def test_valid_files_parse_with_normalised_values(tmp_path: Path) -> None:
    config = parse_config(BLUESKY, "bsky.yaml", "bluesky")
    assert config.name == "climat-fr" and config.limits.max_pages == 5
    assert config.limits.page_size == 100  # capped at the API maximum
    assert config.limits.since.startswith("2025-01-31T00:00:00")
    assert [q.q for q in config.queries] == ["climat", "réchauffement climatique"]
    assert config.queries[1].lang == "fr" and config.queries[1].sort == "top"
    assert config.actors == ("alice.bsky.social", "did:plc:abc")
    assert config.jetstream is not None and config.jetstream.keywords == ("climat", "giec")
    assert config.repositories == ("alice.bsky.social", "did:web:alice.example.org", "did:plc:ewvi7nxzyoun6zhxrhs64oiz")
    assert config.limits.max_repo_bytes == 200 << 20
    path = tmp_path / "masto-watch.yaml"
    path.write_text(MASTODON, encoding="utf-8")
    masto = load_config(path, "mastodon")
    assert masto.name == "masto-watch"  # the file stem
    assert masto.instances[0].url == "https://mastodon.social"
    assert masto.instances[0].hashtags == ("climat",) and masto.instances[0].accounts == ("Gargron",)
    assert masto.limits.page_size == 40 and masto.instances[1].timelines == ("federated",)


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("platform: bluesky\ncontact: a@b\nquerys: [x]\n", "querys", "unknown field"),
        ("platform: bluesky\nqueries: [x]\n", "contact", "missing"),
        ("platform: bluesky\ncontact: a@b\n", "queries", "nothing to collect"),
        ("platform: bluesky\ncontact: a@b\nqueries: [x]\nlimits: {since: yesterday}\n", "limits.since", "ISO date"),
        ("platform: bluesky\ncontact: a@b\nqueries: [x]\nlimits: {max_pages: 0}\n", "limits.max_pages", "at least 1"),
        ("platform: bluesky\ncontact: a@b\nqueries: [x]\nlimits: {max_pages: true}\n", "limits.max_pages", "integer"),
        ("platform: bluesky\ncontact: a@b\nqueries: [{q: x, sort: new}]\n", "queries[0].sort", "latest or top"),
        ("platform: bluesky\ncontact: a@b\nactors: [alice]\n", "actors[0]", "handle"),
        ("platform: bluesky\ncontact: a@b\njetstream: {duration_s: 5}\n", "jetstream.keywords", "at least one keyword"),
        ("platform: bluesky\ncontact: a@b\nrepositories: [did:key:z6Mkabc]\n", "repositories[0]", "did:plc or did:web"),
        ("platform: bluesky\ncontact: a@b\nrepositories: [a.b, 'did:web:h.org/path']\n", "repositories[1]",
         "did:plc or did:web"),
        ("platform: bluesky\ncontact: a@b\nrepositories: [did:plc:short]\n", "repositories[0]", "did:plc or did:web"),
        ("platform: bluesky\ncontact: a@b\nrepositories: a.b\n", "repositories", "expected a list"),
        ("platform: bluesky\ncontact: a@b\nrepositories: [a.b]\nlimits: {max_repo_bytes: 0}\n", "limits.max_repo_bytes",
         "at least 1"),
        ("platform: bluesky\ncontact: a@b\njetstream: {keywords: [x], url: 'https://x'}\n", "jetstream.url", "wss"),
        ("platform: mastodon\ncontact: a@b\ninstances: []\n", "instances", "non-empty"),
        ("platform: mastodon\ncontact: a@b\ninstances: [{url: 'https://m.s', timelines: [home]}]\n",
         "instances[0].timelines[0]", "local or federated"),
        ("platform: mastodon\ncontact: a@b\ninstances: [{url: 'https://m.s', accounts: ['a b']}]\n",
         "instances[0].accounts[0]", "username"),
        ("platform: mastodon\ncontact: a@b\ninstances: [{url: 'https://m.s'}]\n", "instances[0]", "nothing to collect"),
        ("platform: twitter\ncontact: a@b\n", "platform", "bluesky, mastodon"),
        ("platform: bluesky\ncontact: 'a (b)'\nqueries: [x]\n", "contact", "parentheses"),
        ("- a\n- b\n", "(top)", "mapping"),
        ("platform: bluesky\nqueries: [x\n", "line 3", "not valid YAML"),
    ],
)
def test_errors_name_the_file_and_the_field(text: str, field: str, reason: str) -> None:
    with pytest.raises(CollectConfigError) as caught:
        parse_config(text, "conf/watch.yaml")
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"conf/watch.yaml: field {field}: ")


def test_the_command_and_the_file_must_agree() -> None:
    with pytest.raises(CollectConfigError, match="the file is for mastodon, the command collects bluesky"):
        parse_config(MASTODON, "m.yaml", "bluesky")


def test_files_too_big_or_missing_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("queries:\n" + "  - x\n" * 300_000, encoding="utf-8")
    with pytest.raises(CollectConfigError, match=r"big.yaml: field \(file\): larger than"):
        load_config(big)
    with pytest.raises(CollectConfigError, match=r"nope.yaml: field \(file\): cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_retry_after_and_reset_header_forms() -> None:
    now = 1_750_000_000.0
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("Sun, 15 Jun 2025 15:07:30 GMT", 1_750_000_000.0) == 50.0
    assert parse_retry_after("soon", now) is None
    assert parse_reset(str(int(now) + 42), now) == 42.0  # Bluesky: epoch seconds
    assert parse_reset("2025-06-15T15:07:30.123Z", now) == pytest.approx(50.123)  # Mastodon: ISO 8601
    assert parse_reset("30", now) == 30.0  # seconds from now


def test_backoff_is_reproducible_for_a_seed_and_capped() -> None:
    first, second = Backoff(1.0, 8.0, seed=3), Backoff(1.0, 8.0, seed=3)
    delays = [first.delay(n) for n in range(8)]
    assert delays == [second.delay(n) for n in range(8)]
    assert all(0 <= d <= min(8.0, 2 ** n) for n, d in enumerate(delays))
