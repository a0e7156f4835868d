-- Schema version 2: a Mastodon boost's repost interaction is keyed by the boosted status, not by the boost's own
-- id (confiance.store.REPOST_KEYED_BY_REPOSTED), so a boost read from the booster's timeline and from the boosted
-- status's reblogged_by list is one row. Version 1 stores keyed the timeline's reading by the boost: rekey it,
-- merge it with the list's reading of the same boost (the timeline's time fills the list's missing one). The
-- boost itself stays in posts (kind repost). Like an ingest, this leaves the analyses to the next `analyze`.
CREATE TEMP TABLE _boost_rekeyed AS
SELECT i.platform, i.src, i.dst, i.kind, i.post_id AS boost_id, b.parent_post_id AS post_id,
       i.created_at, i.weight, i.probability
FROM interactions i
JOIN posts b ON b.platform = i.platform AND b.post_id = i.post_id AND b.account_id = i.src AND b.kind = 'repost'
WHERE i.platform = 'mastodon' AND i.kind = 'repost' AND b.parent_post_id IS NOT NULL
  AND b.parent_post_id <> i.post_id;

DELETE FROM interactions i USING _boost_rekeyed r
WHERE i.platform = r.platform AND i.src = r.src AND i.dst = r.dst AND i.kind = r.kind AND i.post_id = r.boost_id;

UPDATE interactions i SET created_at = r.created_at FROM _boost_rekeyed r
WHERE i.created_at IS NULL AND i.platform = r.platform AND i.src = r.src AND i.dst = r.dst AND i.kind = r.kind
  AND i.post_id = r.post_id;

INSERT INTO interactions
SELECT r.platform, r.src, r.dst, r.kind, r.post_id, r.created_at, r.weight, r.probability
FROM _boost_rekeyed r
WHERE NOT EXISTS (SELECT 1 FROM interactions i WHERE i.platform = r.platform AND i.src = r.src AND i.dst = r.dst
                                               AND i.kind = r.kind AND i.post_id = r.post_id);

DROP TABLE _boost_rekeyed;
