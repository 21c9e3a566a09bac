-- system: supervision events and state, health checks, ingest gaps and drops, legacy imports,
-- backups, job runs, retention records. All times are timestamptz (UTC).
create table if not exists system.supervisor_events (
  id bigint generated always as identity primary key,
  at timestamptz not null,
  node text not null,
  actor_id text,
  incarnation int,
  event text not null,
  reason text,
  error text,
  restart_count int,
  uptime_ms bigint,
  details jsonb
);
create index if not exists supervisor_events_actor_at on system.supervisor_events (actor_id, at desc);
create index if not exists supervisor_events_at on system.supervisor_events (at desc);

create table if not exists system.actor_status (
  actor_id text primary key,
  node text,
  state text not null,
  incarnation int,
  restarts int,
  last_heartbeat_at timestamptz,
  newest_data_at timestamptz,
  stale boolean,
  reason text,
  details jsonb,
  updated_at timestamptz not null
);

-- One row per check run; the view gives the latest.
create table if not exists system.health_status (
  id bigint generated always as identity primary key,
  checked_at timestamptz not null,
  node text,
  overall_status text not null check (overall_status in ('healthy', 'degraded', 'down')),
  database_ok boolean,
  db_latency_ms numeric,
  details jsonb not null
);
create index if not exists health_status_checked_at on system.health_status (checked_at desc);
create or replace view system.health_status_latest as
  select * from system.health_status order by checked_at desc, id desc limit 1;

create table if not exists system.ingest_gaps (
  id bigint generated always as identity primary key,
  symbol text not null,
  gap_from timestamptz not null,
  gap_to timestamptz not null,
  cause text not null,
  backfilled boolean not null default false,
  recorded_at timestamptz not null default now()
);

-- Rows a bounded buffer had to drop (never silent).
create table if not exists system.ingest_drops (
  id bigint generated always as identity primary key,
  source text not null,
  dropped_rows bigint not null,
  first_ts timestamptz,
  last_ts timestamptz,
  reason text not null,
  recorded_at timestamptz not null default now()
);

create table if not exists system.legacy_import_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  source_path text not null,
  source_kind text,
  dry_run boolean not null default false,
  status text not null,
  source_rows bigint,
  target_rows bigint,
  source_sha256 text,
  target_sha256 text,
  mismatches jsonb,
  error text
);

create table if not exists system.backups (
  id bigint generated always as identity primary key,
  started_at timestamptz not null,
  finished_at timestamptz,
  path text,
  size_bytes bigint,
  sha256 text,
  kind text,
  status text not null,
  error text
);

create table if not exists system.job_runs (
  id bigint generated always as identity primary key,
  job text not null,
  started_at timestamptz not null,
  finished_at timestamptz,
  status text not null,
  error text,
  details jsonb
);
create index if not exists job_runs_job_started on system.job_runs (job, started_at desc);

create table if not exists system.partition_drops (
  id bigint generated always as identity primary key,
  parent text not null,
  partition text not null,
  range_from timestamptz,
  range_to timestamptz,
  dropped_at timestamptz not null default now()
);
