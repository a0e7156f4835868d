"""The planted truth, recorded while the posts are written: ``truth-posts.jsonl`` line by line,
and the small collections (sponsored posts, low-credibility shares, coordination events) that
``truth.json`` lists."""

from __future__ import annotations

from pathlib import Path

import orjson

from confiance.simulate import vocabulary as V
from confiance.simulate.model import CO_REPOST, KIND_NAMES, REPOST, STANCE_NONE, Groups
from confiance.simulate.text import domain_of_row, label_of, sponsor_of, url_of
from confiance.simulate.writers import iso_ms

SENTIMENTS = ("negative", "neutral", "positive")
STANCES = {-1: "against", 0: "neutral", 1: "favour"}
_TOPIC_IDS = tuple(t[0] for t in V.TOPICS)
_N_LOW = len(V.LOW_CREDIBILITY_DOMAINS)


class TruthRecorder:
    def __init__(self, outdir: Path):
        self.posts_file = open(outdir / "truth-posts.jsonl", "wb", buffering=1 << 20)
        self.sponsored: list[dict] = []
        self.low_credibility: dict[str, list[str]] = {d: [] for d in V.LOW_CREDIBILITY_DOMAINS}
        self.events: dict[tuple[str, int], dict] = {}
        self.campaign_posts: list[dict] = []

    def record(self, platform: str, writer, groups: Groups, rows: list[dict], parents: list[dict | None],
               post_ids: list[str]) -> None:
        account_ids = writer.account_ids
        lines = []
        for row, parent, pid in zip(rows, parents, post_ids):
            group, domain, stance, kind = row["group"], row["domain"], row["stance"], row["kind"]
            author = account_ids[row["author"]]
            lines.append(orjson.dumps({"truth_post": {
                "platform": platform, "post_id": pid, "account_id": author, "kind": KIND_NAMES[kind],
                "topic": _TOPIC_IDS[row["topic"]], "language": V.LANG_CODES[row["lang"]],
                "sentiment": SENTIMENTS[row["sentiment"] + 1],
                "stance": None if stance == STANCE_NONE else STANCES[stance],
                "sponsored": row["sponsor"] >= 0,
                "coordinated_group": groups.ids[group] if group >= 0 else None,
                "domain": domain_of_row(row),
            }}))
            if kind != REPOST:
                if row["sponsor"] >= 0:
                    brand, category, status, code = sponsor_of(row)
                    label = label_of(row)
                    self.sponsored.append({
                        "platform": platform, "post_id": pid, "account_id": author, "brand": brand,
                        "category": category, "category_status": status, "labelled": label is not None,
                        "label": label, "promo_code": code, "campaign": row["sponsor"] == 0,
                        "created_at": iso_ms(row["time_ms"])})
                if 0 <= domain < _N_LOW:
                    self.low_credibility[V.DOMAINS[domain]].append(pid)
            e = row["event"]
            if e >= 0:
                key = (platform, e)
                ev = self.events.get(key)
                if ev is None:
                    is_co = groups.event_kind[e] == CO_REPOST
                    ev = self.events[key] = {
                        "platform": platform, "group": groups.ids[group],
                        "kind": "co_repost" if is_co else "shared_link_near_duplicate_text",
                        "target_post_id": (writer.post_id(parent["author"], parent["time_ms"], parent["idx"])
                                           if is_co else None),
                        "url": None if is_co else url_of(row),
                        "posts": [], "accounts": [], "first": row["time_ms"], "last": row["time_ms"]}
                ev["posts"].append(pid)
                ev["accounts"].append(author)
                ev["last"] = max(ev["last"], row["time_ms"])
        self.posts_file.write(b"\n".join(lines) + b"\n")

    def coordination_events(self) -> list[dict]:
        out = []
        for (platform, e), ev in sorted(self.events.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if len(ev["posts"]) < 2:
                continue
            ev = dict(ev, id=f"{platform}-e{e + 1}", span_seconds=round((ev["last"] - ev["first"]) / 1000, 3),
                      first=iso_ms(ev["first"]), last=iso_ms(ev["last"]))
            out.append(ev)
        return out

    def close(self) -> None:
        self.posts_file.close()
