-- Whether this database holds live or demo data (issue 12): at most one row, written once, after
-- the migrations of the first start (`deno task start` writes 'live', `deno task demo` 'demo').
-- Each mode refuses a database marked for the other before writing anything to it (see
-- schema/database_mode.ts).
create table if not exists system.database_mode (
  singleton boolean primary key default true check (singleton),
  mode text not null check (mode in ('live', 'demo')),
  marked_at timestamptz not null default now(),
  -- What wrote the mark, e.g. 'deno task start (pid 4242)'.
  marked_by text not null
);
