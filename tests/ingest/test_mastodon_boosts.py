"""One Mastodon boost is one ``repost`` interaction, whether it is read from the booster's timeline (a status
with ``reblog``), from the boosted status's ``reblogged_by`` list, or both, in any order and file split. The
boost is built from the accounts and statuses of Mastodon.py's test_public_tl.yaml cassette."""

from __future__ import annotations

import copy
import json

import pytest

from confiance.campaign.exposure import CampaignMarkers, campaign_exposure
from confiance.graph.build import build_edges, load_graph
from confiance.integrity.bots import account_features
from confiance.privacy import forget
from tests.conftest import ingest, query, scalar
from tests.ingest.test_mastodon_envelopes import TIMELINE, _address, _envelope

BOOSTED = TIMELINE[0]
BOOSTER = next(s["account"] for s in TIMELINE if s["account"]["id"] != BOOSTED["account"]["id"])
BOOST_TIME = "2026-08-01T14:05:00.000Z"
BOOST_ID = "117020599999999999"
BOOST = dict(copy.deepcopy(BOOSTED), id=BOOST_ID, created_at=BOOST_TIME, account=BOOSTER, content="",
             uri=f"http://localhost:3000/ap/users/{BOOSTER['id']}/statuses/{BOOST_ID}/activity",
             url=f"{BOOSTER['url']}/{BOOST_ID}", reblog=BOOSTED, mentions=[], tags=[])
#: how the boost reaches the store: files in ingest order, each its readings (the lines of ``boost_lines``)
ORDERS = {
    "timeline then engagers": [["timeline"], ["engagers"]],
    "engagers then timeline": [["engagers"], ["timeline"]],
    "one file, timeline first": [["timeline", "engagers"]],
    "one file, engagers first": [["engagers", "timeline"]],
}
REPOSTS = "SELECT src, dst, post_id, created_at FROM interactions WHERE kind = 'repost'"


def boosted_status(n: int) -> dict:
    """The boosted status, or for ``n`` > 0 another status of its author (its id ``n`` later)."""
    status_id = str(int(BOOSTED["id"]) + n)
    return dict(copy.deepcopy(BOOSTED), id=status_id, uri=BOOSTED["uri"].replace(BOOSTED["id"], status_id),
                url=BOOSTED["url"].replace(BOOSTED["id"], status_id))


def boost_lines(n: int = 0) -> dict[str, str]:
    """BOOSTER's boost of ``boosted_status(n)`` as read from the booster's timeline and from the status's
    ``reblogged_by`` list."""
    boosted = boosted_status(n)
    boost_id = str(int(BOOST_ID) - n)
    boost = dict(copy.deepcopy(BOOST), id=boost_id, uri=BOOST["uri"].replace(BOOST_ID, boost_id),
                 url=BOOST["url"].replace(BOOST_ID, boost_id), reblog=boosted)
    return {"timeline": json.dumps(boost), "engagers": json.dumps(_envelope("reblogged_by", boosted, [BOOSTER]))}


def order_files(folder, order: str, n: int = 0) -> list:
    """The files of ``ORDERS[order]`` for the boost of ``boosted_status(n)``, written in ``folder``."""
    lines = boost_lines(n)
    paths = []
    for i, readings in enumerate(ORDERS[order]):
        path = folder / f"boost-{n}-{i}.jsonl"
        path.write_text("".join(lines[reading] + "\n" for reading in readings))
        paths.append(path)
    return paths


def _repost_weights(ws) -> list[float]:
    with ws.writer() as con:
        build_edges(con, "test")
        return list(load_graph(con, kinds=["repost"]).weight)


@pytest.mark.parametrize("order", ORDERS)
def test_a_boost_seen_in_a_timeline_and_an_engager_list_is_one_repost_until_the_booster_is_forgotten(workspace, tmp_path, order):
    files = order_files(tmp_path, order)
    ingest(workspace, *files)
    [(src, dst, post_id, created_at)] = query(workspace, REPOSTS)
    # keyed by the boosted status, as the engager list names it; the time is the timeline's
    assert (src, dst, post_id) == (_address(BOOSTER), _address(BOOSTED["account"]), BOOSTED["uri"])
    assert created_at.isoformat().replace("+00:00", ".000Z") == BOOST_TIME
    # the boost's own status stays a post, pointing at what it boosted
    assert query(workspace, "SELECT post_id, account_id, kind, parent_post_id FROM posts WHERE kind = 'repost'") == [
        (BOOST["uri"], _address(BOOSTER), "repost", BOOSTED["uri"])]
    assert _repost_weights(workspace) == [1.0]

    again = [tmp_path / f"again-{f.name}" for f in files]  # the same records, collected again
    for copy_, original in zip(again, files):
        copy_.write_text(original.read_text() + "\n")
    assert sum(r.stored for r in ingest(workspace, *again)) == 0
    assert query(workspace, REPOSTS) == [(src, dst, post_id, created_at)]

    # forgetting the booster removes the boost; collected again, it stays out
    forget(workspace, f"mastodon:{_address(BOOSTER)}")
    for f in again:
        f.write_text(f.read_text() + "\n")
    ingest(workspace, *again)
    assert query(workspace, REPOSTS) == []
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE kind = 'repost'") == 0


def test_analyses_count_a_boost_read_twice_once(workspace, tmp_path):
    """The bot features and campaign exposure read the boost's post and its interaction: one boost each."""
    ingest(workspace, *order_files(tmp_path, "engagers then timeline"))
    booster = _address(BOOSTER)
    with workspace.reader() as con:
        features = account_features(con).to_pylist()
        exposed = campaign_exposure(con, CampaignMarkers(codes=("finally",)))  # the boosted status says it
    [row] = [f for f in features if f["account_id"] == booster]
    assert (row["activity"], row["repost_ratio"]) == (1, 1.0)
    assert exposed.set_index("account_id").loc[booster, "exposures"] == 1


def test_migration_2_rekeys_a_version_1_store_as_ingest_now_keys_it(workspace, tmp_path):
    """A version-1 store held the timeline's reading keyed by the boost's own uri, beside the list's reading
    keyed by the boosted status without a time: ``confiance migrate`` leaves what an ingest now stores."""
    ingest(workspace, *order_files(tmp_path, "timeline then engagers"))
    expected = query(workspace, "SELECT * FROM interactions ORDER BY ALL")
    with workspace.writer() as con:  # back to what version 1 stored
        con.execute("INSERT INTO interactions SELECT platform, src, dst, kind, post_id, NULL, weight, probability "
                    "FROM interactions WHERE kind = 'repost'")
        con.execute("UPDATE interactions SET post_id = ? WHERE kind = 'repost' AND created_at IS NOT NULL",
                    [BOOST["uri"]])
        assert con.execute("SELECT count(*) FROM interactions WHERE kind = 'repost'").fetchone()[0] == 2
        con.execute("DELETE FROM schema_migrations WHERE version = 2")
    assert workspace.migrate() == [2]
    assert query(workspace, "SELECT * FROM interactions ORDER BY ALL") == expected
    assert _repost_weights(workspace) == [1.0]
