-- confiance canonical schema, version 1.
-- Natural keys are documented per table; ingest enforces them with anti-joins
-- (bulk loads into DuckDB are far faster without ART indexes).
-- Ids are VARCHAR everywhere, timestamps are TIMESTAMPTZ in UTC.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    package_version VARCHAR NOT NULL
);

-- key: sha256
CREATE TABLE IF NOT EXISTS sources (
    sha256 VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    encoding VARCHAR,
    size_bytes BIGINT,
    records_read BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL,
    archive_path VARCHAR,
    redacted BOOLEAN NOT NULL DEFAULT false
);

-- key: (platform, account_id)
CREATE TABLE IF NOT EXISTS accounts (
    platform VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    handle VARCHAR,
    display_name VARCHAR,
    bio VARCHAR,
    url VARCHAR,
    location VARCHAR,
    lang VARCHAR,
    created_at TIMESTAMPTZ,
    followers BIGINT,
    following BIGINT,
    posts_count BIGINT,
    listed BIGINT,
    verified BOOLEAN,
    default_avatar BOOLEAN,
    attributes JSON,
    first_seen TIMESTAMPTZ,
    last_seen TIMESTAMPTZ
);

-- key: (platform, post_id)
CREATE TABLE IF NOT EXISTS posts (
    platform VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,
    account_id VARCHAR,
    created_at TIMESTAMPTZ,
    text VARCHAR,
    lang VARCHAR,
    kind VARCHAR NOT NULL,            -- post | reply | repost | quote
    parent_post_id VARCHAR,
    parent_account_id VARCHAR,
    root_post_id VARCHAR,
    url VARCHAR,                      -- permalink when the platform gives one
    urls VARCHAR[],
    domains VARCHAR[],
    hashtags VARCHAR[],
    mentions VARCHAR[],               -- handles, lower-case, without '@'
    media_count INTEGER,
    likes BIGINT,
    reposts BIGINT,
    replies BIGINT,
    quotes BIGINT,
    views BIGINT,
    attributes JSON,                  -- format-specific extras (paid-partnership flag, subreddit, title…)
    source_sha256 VARCHAR
);

-- key: (platform, src, dst, kind, post_id); kind ∈ repost, quote, reply, mention, follow, like
CREATE TABLE IF NOT EXISTS interactions (
    platform VARCHAR NOT NULL,
    src VARCHAR NOT NULL,
    dst VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,         -- '' for edges that no post carries (follow lists, edge files)
    created_at TIMESTAMPTZ,
    weight DOUBLE,
    probability DOUBLE
);

-- key: (platform, post_id, collected_at)
CREATE TABLE IF NOT EXISTS observations (
    platform VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,
    likes BIGINT,
    reposts BIGINT,
    replies BIGINT,
    quotes BIGINT,
    views BIGINT,
    source_sha256 VARCHAR
);

-- key: (source_sha256, line_no, item)
CREATE TABLE IF NOT EXISTS rejects (
    source_sha256 VARCHAR NOT NULL,
    line_no BIGINT NOT NULL,
    item INTEGER NOT NULL,            -- position of the record within its line (pages hold many)
    reason VARCHAR NOT NULL,
    raw VARCHAR
);

-- key: (series, ts)
CREATE TABLE IF NOT EXISTS kpis (
    series VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    value DOUBLE,
    unit VARCHAR,
    source_sha256 VARCHAR
);

-- key: (wave, respondent, question)
CREATE TABLE IF NOT EXISTS surveys (
    wave VARCHAR NOT NULL,
    respondent VARCHAR NOT NULL,
    question VARCHAR NOT NULL,
    answer VARCHAR,
    segment VARCHAR,
    weight DOUBLE,
    exposed BOOLEAN,
    source_sha256 VARCHAR
);

-- key: (platform, account_id, dimension, category)
CREATE TABLE IF NOT EXISTS audience_reports (
    platform VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    share DOUBLE,
    source VARCHAR,
    source_sha256 VARCHAR
);

-- Forgotten people: only hashes, so the list itself holds no personal data.
CREATE TABLE IF NOT EXISTS suppressions (
    key_hash VARCHAR NOT NULL,
    added_at TIMESTAMPTZ NOT NULL
);

-- Every analysis run: what ran, with which parameters, under which version.
CREATE TABLE IF NOT EXISTS analysis_runs (
    run_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    parameters JSON,
    package_version VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
