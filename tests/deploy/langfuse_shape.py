"""Langfuse-shaped data for the DR drill and the retention tests.

A subset of Langfuse v3's schemas, written for these tests: the PostgreSQL tables a restore
must bring back (users, projects, API keys, prompts, datasets, evaluation jobs, comments, media
links, legacy traces) and the ClickHouse tables that hold the traces (ReplacingMergeTree with
``event_ts``/``is_deleted``, partitioned by month, as Langfuse creates them). Row counts are
kept modest so the drill runs in seconds on two cores.
"""

from __future__ import annotations

POSTGRES_SCHEMA = """
CREATE TYPE "MembershipRole" AS ENUM ('OWNER', 'ADMIN', 'MEMBER', 'VIEWER');
CREATE TYPE "CommentObjectType" AS ENUM ('TRACE', 'OBSERVATION', 'SESSION', 'PROMPT');
CREATE TABLE users (id text PRIMARY KEY, name text, email text UNIQUE, admin boolean NOT NULL DEFAULT false,
  created_at timestamp(3) NOT NULL DEFAULT now(), updated_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE organizations (id text PRIMARY KEY, name text NOT NULL, created_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE projects (id text PRIMARY KEY, org_id text NOT NULL REFERENCES organizations(id), name text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE organization_memberships (id text PRIMARY KEY, org_id text NOT NULL REFERENCES organizations(id),
  user_id text NOT NULL REFERENCES users(id), role "MembershipRole" NOT NULL);
CREATE TABLE api_keys (id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  public_key text UNIQUE NOT NULL, hashed_secret_key text UNIQUE NOT NULL, display_secret_key text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT now(), last_used_at timestamp(3));
CREATE TABLE prompts (id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name text NOT NULL, version integer NOT NULL, prompt jsonb NOT NULL, labels text[] NOT NULL DEFAULT '{}',
  created_at timestamp(3) NOT NULL DEFAULT now(), UNIQUE (project_id, name, version));
CREATE TABLE datasets (id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name text NOT NULL, created_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE dataset_items (id text PRIMARY KEY, dataset_id text NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  input jsonb, expected_output jsonb, created_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE job_executions (id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  status text NOT NULL, job_input_trace_id text, created_at timestamp(3) NOT NULL DEFAULT now());
CREATE INDEX job_executions_created_at ON job_executions (created_at);
CREATE TABLE comments (id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  object_type "CommentObjectType" NOT NULL, object_id text NOT NULL, content text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE trace_media (id text PRIMARY KEY, project_id text NOT NULL, trace_id text NOT NULL, media_id text NOT NULL,
  created_at timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE traces (id text PRIMARY KEY, project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  "timestamp" timestamp(3) NOT NULL DEFAULT now(), name text, metadata jsonb, tags text[] NOT NULL DEFAULT '{}');
"""

POSTGRES_DATA = """
INSERT INTO users SELECT 'user-' || g, 'User ' || g, 'user' || g || '@example.com', g = 1,
  now() - make_interval(days => g % 400), now() FROM generate_series(1, 200) g;
INSERT INTO organizations SELECT 'org-' || g, 'Org ' || g FROM generate_series(1, 5) g;
INSERT INTO projects SELECT 'proj-' || g, 'org-' || (1 + g % 5), 'Project ' || g FROM generate_series(1, 20) g;
INSERT INTO organization_memberships SELECT 'mem-' || g, 'org-' || (1 + g % 5), 'user-' || g,
  (ARRAY['OWNER','ADMIN','MEMBER','VIEWER'])[1 + g % 4]::"MembershipRole" FROM generate_series(1, 200) g;
INSERT INTO api_keys SELECT 'key-' || g, 'proj-' || (1 + g % 20), 'pk-lf-' || md5('pk' || g),
  md5('sk' || g), 'sk-lf-...' || right(md5('sk' || g), 4) FROM generate_series(1, 60) g;
INSERT INTO prompts SELECT 'prompt-' || g, 'proj-' || (1 + g % 20), 'prompt-' || (g % 50), 1 + g / 50,
  jsonb_build_object('text', 'You are helpful #' || g), ARRAY['production'] FROM generate_series(1, 500) g;
INSERT INTO datasets SELECT 'ds-' || g, 'proj-' || (1 + g % 20), 'dataset ' || g FROM generate_series(1, 40) g;
INSERT INTO dataset_items SELECT 'dsi-' || g, 'ds-' || (1 + g % 40), jsonb_build_object('q', 'question ' || g),
  jsonb_build_object('a', 'answer ' || g), now() - make_interval(days => g % 300) FROM generate_series(1, 8000) g;
INSERT INTO job_executions SELECT 'je-' || g, 'proj-' || (1 + g % 20), (ARRAY['COMPLETED','ERROR','PENDING'])[1 + g % 3],
  'trace-' || g, now() - make_interval(days => g % 365) FROM generate_series(1, 20000) g;
INSERT INTO comments SELECT 'c-' || g, 'proj-' || (1 + g % 20),
  (ARRAY['TRACE','OBSERVATION','SESSION','PROMPT'])[1 + g % 4]::"CommentObjectType", 'obj-' || g, 'looks fine ' || g,
  now() - make_interval(days => g % 365) FROM generate_series(1, 4000) g;
INSERT INTO trace_media SELECT 'tm-' || g, 'proj-' || (1 + g % 20), 'trace-' || g, 'media-' || g,
  now() - make_interval(days => g % 365) FROM generate_series(1, 3000) g;
INSERT INTO traces SELECT 'legacy-' || g, 'proj-' || (1 + g % 20), now() - make_interval(days => g % 365), 'chat',
  jsonb_build_object('tenant_id', 't' || (g % 7)), ARRAY['legacy'] FROM generate_series(1, 5000) g;
"""

CLICKHOUSE_SCHEMA = (
    """CREATE TABLE traces (id String, timestamp DateTime64(3), name String, user_id Nullable(String),
    metadata Map(LowCardinality(String), String), release Nullable(String), version Nullable(String),
    project_id String, environment LowCardinality(String) DEFAULT 'default', public Bool, bookmarked Bool,
    tags Array(String), input Nullable(String) CODEC(ZSTD(3)), output Nullable(String) CODEC(ZSTD(3)),
    session_id Nullable(String), created_at DateTime64(3) DEFAULT now(), updated_at DateTime64(3) DEFAULT now(),
    event_ts DateTime64(3), is_deleted UInt8)
    ENGINE = ReplacingMergeTree(event_ts, is_deleted) PARTITION BY toYYYYMM(timestamp)
    PRIMARY KEY (project_id, toDate(timestamp)) ORDER BY (project_id, toDate(timestamp), id)""",
    """CREATE TABLE observations (id String, trace_id String, project_id String, type LowCardinality(String),
    parent_observation_id Nullable(String), start_time DateTime64(3), end_time Nullable(DateTime64(3)), name String,
    metadata Map(LowCardinality(String), String), level LowCardinality(String), provided_model_name Nullable(String),
    usage_details Map(LowCardinality(String), UInt64), cost_details Map(LowCardinality(String), Decimal64(12)),
    total_cost Nullable(Decimal64(12)), created_at DateTime64(3) DEFAULT now(), updated_at DateTime64(3) DEFAULT now(),
    event_ts DateTime64(3), is_deleted UInt8)
    ENGINE = ReplacingMergeTree(event_ts, is_deleted) PARTITION BY toYYYYMM(start_time)
    PRIMARY KEY (project_id, type, toDate(start_time)) ORDER BY (project_id, type, toDate(start_time), id)""",
    """CREATE TABLE scores (id String, timestamp DateTime64(3), project_id String, trace_id String,
    observation_id Nullable(String), name String, value Float64, source String, comment Nullable(String),
    data_type String, string_value Nullable(String), created_at DateTime64(3) DEFAULT now(),
    updated_at DateTime64(3) DEFAULT now(), event_ts DateTime64(3), is_deleted UInt8)
    ENGINE = ReplacingMergeTree(event_ts, is_deleted) PARTITION BY toYYYYMM(timestamp)
    PRIMARY KEY (project_id, toDate(timestamp), name) ORDER BY (project_id, toDate(timestamp), name, id)""",
    """CREATE TABLE blob_storage_file_log (id String, project_id String, entity_type String, entity_id String,
    event_id String, bucket_name String, bucket_path String, created_at DateTime64(3) DEFAULT now(),
    updated_at DateTime64(3) DEFAULT now(), event_ts DateTime64(3), is_deleted UInt8)
    ENGINE = ReplacingMergeTree(event_ts, is_deleted) ORDER BY (project_id, entity_type, entity_id, event_id)""",
)


def clickhouse_data(traces: int) -> tuple[str, ...]:
    """Inserts: ``traces`` traces spread over the last 365 days, 4 observations and one score
    each, one blob log row each."""
    return (
        f"""INSERT INTO traces (id, timestamp, name, user_id, metadata, project_id, public, bookmarked, tags,
        input, output, session_id, event_ts, is_deleted)
        SELECT concat('trace-', toString(number)), now64(3) - toIntervalMinute(number * 525600 / {traces}), 'chat',
        concat('user-', toString(number % 200)),
        map('tenant_id', concat('t', toString(number % 7)), 'workflow_name', 'rag'), concat('proj-', toString(1 + number % 20)),
        false, false, ['prod'], NULL, NULL, concat('s-', toString(number % 1000)), now64(3), 0 FROM numbers({traces})""",
        f"""INSERT INTO observations (id, trace_id, project_id, type, start_time, end_time, name, metadata, level,
        provided_model_name, usage_details, cost_details, total_cost, event_ts, is_deleted)
        SELECT concat('obs-', toString(number)), concat('trace-', toString(intDiv(number, 4))),
        concat('proj-', toString(1 + intDiv(number, 4) % 20)), if(number % 4 = 0, 'GENERATION', 'SPAN'),
        now64(3) - toIntervalMinute(intDiv(number, 4) * 525600 / {traces}), NULL, 'openai.chat', map(), 'DEFAULT',
        'smollm2', map('input', number % 900, 'output', number % 300), map('total', toDecimal64(number % 1000 / 1e6, 12)),
        toDecimal64(number % 1000 / 1e6, 12), now64(3), 0 FROM numbers({traces * 4})""",
        f"""INSERT INTO scores (id, timestamp, project_id, trace_id, name, value, source, data_type, event_ts, is_deleted)
        SELECT concat('score-', toString(number)), now64(3) - toIntervalMinute(number * 525600 / {traces}),
        concat('proj-', toString(1 + number % 20)), concat('trace-', toString(number)), 'correctness',
        (number % 100) / 100, 'EVAL', 'NUMERIC', now64(3), 0 FROM numbers({traces})""",
        f"""INSERT INTO blob_storage_file_log (id, project_id, entity_type, entity_id, event_id, bucket_name,
        bucket_path, created_at, event_ts, is_deleted)
        SELECT concat('blob-', toString(number)), concat('proj-', toString(1 + number % 20)), 'trace',
        concat('trace-', toString(number)), toString(generateUUIDv4()), 'langfuse', concat('events/', toString(number)),
        now64(3) - toIntervalMinute(number * 525600 / {traces}), now64(3), 0 FROM numbers({traces})""",
    )
