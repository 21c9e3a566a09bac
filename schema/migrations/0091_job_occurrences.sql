-- Jobs run once per occurrence cluster-wide (DESIGN.md section 6), and each run has one id that the
-- scheduler creates and the job updates (no more matching runs by their start times).
--
-- Every node's scheduler fires on schedule and claims the occurrence (job, scheduled_at) with an
-- insert that a unique constraint lets only one node win; the winner's row records its node and
-- is the run, and its id goes to the job in its init args. scheduled_at is the cron occurrence
-- (the same on every node), never a node's clock. A run started by hand has no scheduled_at, so
-- it is an occurrence of its own (NULLs are distinct). A run still `running` whose node is no
-- longer alive (system.cluster_nodes, 0090) is re-claimed by a surviving node with one UPDATE that
-- compares the node it read, so two nodes never hold one run; attempt counts the executions
-- begun, up to max_attempts (the job's policy).

alter table system.job_runs
  add column scheduled_at timestamptz,
  -- The node running the run (null: a run recorded before 0091, or by a job started by hand
  -- outside the scheduler, which opens its own row).
  add column node text,
  -- Executions begun (0: claimed, not begun yet); rows opened by the job itself count one.
  add column attempt int not null default 1 check (attempt >= 0),
  add column max_attempts int not null default 1 check (max_attempts >= 1),
  -- Database time of the last claim (the first one, or a re-claim by a surviving node).
  add column claimed_at timestamptz,
  add constraint job_runs_attempts check (attempt <= max_attempts),
  add constraint job_runs_occurrence unique (job, scheduled_at);

-- The surviving nodes' sweep reads the running runs only.
create index job_runs_running on system.job_runs (job, claimed_at) where status = 'running';

-- Begins (or, after a crash of the job on the same node, begins again) run `run_id` of job
-- `job_name` on node `node_name`; returns the attempt begun, or null when the run has used all its
-- attempts (it is then closed as failed here). Refused: a run of another job, or any job but its
-- own for a user role (42501, as start_job_run in 0080); a run held by another node or already
-- finished ok (RF001, the fencing SQLSTATE of 0090: the job must not run it).
create function system.begin_job_run(
  run_id bigint, job_name text, node_name text, started timestamptz
) returns int
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  own text := system.own_job_of_session();
  r record;
begin
  if own is not null and job_name is distinct from own then
    raise exception 'Cannot begin a run of job "%" as role %: it records only %',
      job_name, session_user, own using errcode = 'insufficient_privilege';
  end if;
  select j.job, j.node, j.status, j.attempt, j.max_attempts, j.error into r
    from system.job_runs j where j.id = run_id for update;
  if not found or r.job is distinct from job_name then
    raise exception 'Cannot begin run %: not a run of job "%"', run_id, job_name
      using errcode = 'insufficient_privilege';
  end if;
  if r.node is distinct from node_name or r.status not in ('running', 'failed') then
    raise exception 'Fenced: run % of job "%" is % on node "%", not for node "%"',
      run_id, job_name, r.status, coalesce(r.node, 'none'), node_name using errcode = 'RF001';
  end if;
  if r.attempt >= r.max_attempts then
    update system.job_runs
       set status = 'failed', finished_at = coalesce(finished_at, started),
           error = format('%s (gave up after %s of %s attempts)',
             coalesce(r.error, 'no outcome'), r.attempt, r.max_attempts)
     where id = run_id;
    return null;
  end if;
  update system.job_runs
     set attempt = attempt + 1, status = 'running', started_at = started, finished_at = null,
         error = null, details = null
   where id = run_id;
  return r.attempt + 1;
end $$;

-- Closes attempt `run_attempt` of run `run_id` with its outcome (null finish or details keep the
-- stored ones, as finish_job_run does). Refused: another job's run (42501); a run that is no
-- longer this node's running attempt (RF001: it was taken over, or closed).
create function system.end_job_run(
  run_id bigint, job_name text, node_name text, run_attempt int,
  finished timestamptz, run_status text, run_error text, run_details jsonb
) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  own text := system.own_job_of_session();
begin
  if own is not null and job_name is distinct from own then
    raise exception 'Cannot close a run of job "%" as role %: it records only %',
      job_name, session_user, own using errcode = 'insufficient_privilege';
  end if;
  if run_status is null or run_status not in ('ok', 'failed') then
    raise exception 'Cannot close run % with status "%": ok or failed', run_id, run_status
      using errcode = 'check_violation';
  end if;
  update system.job_runs
     set finished_at = coalesce(finished, finished_at), status = run_status, error = run_error,
         details = coalesce(run_details, details)
   where id = run_id and job = job_name and node = node_name and attempt = run_attempt
     and status = 'running';
  if found then
    return;
  end if;
  if not exists (select 1 from system.job_runs where id = run_id and job = job_name) then
    raise exception 'Cannot close run %: not a run of job "%"', run_id, job_name
      using errcode = 'insufficient_privilege';
  end if;
  raise exception 'Fenced: run % of job "%" is no longer attempt % running on node "%"',
    run_id, job_name, run_attempt, node_name using errcode = 'RF001';
end $$;

revoke all on function system.begin_job_run(bigint, text, text, timestamptz) from public;
revoke all on function system.end_job_run(bigint, text, text, int, timestamptz, text, text, jsonb)
  from public;

-- A user's role gets the two new functions beside the two of 0080 (system.create_user_schema
-- keeps its signature: lib/db_users.ts and the messages name it).
create or replace function system.create_user_schema(user_name text) returns void
language plpgsql as $$
declare
  role_name text := user_name || '_rw';
begin
  perform system.create_user_tables(user_name); -- validates the name
  execute format('grant usage on schema system to %I', role_name);
  execute format('grant execute on function system.start_job_run(text, timestamptz) to %I',
    role_name);
  execute format(
    'grant execute on function system.finish_job_run(bigint, timestamptz, text, text, jsonb) to %I',
    role_name);
  execute format(
    'grant execute on function system.begin_job_run(bigint, text, text, timestamptz) to %I',
    role_name);
  execute format('grant execute on function '
    'system.end_job_run(bigint, text, text, int, timestamptz, text, text, jsonb) to %I', role_name);
end $$;

do $$
declare
  r record;
begin
  for r in select n.nspname from pg_namespace n
            where n.nspname ~ '^user_[0-9]{4}$'
              and exists (select 1 from pg_roles where rolname = n.nspname || '_rw')
  loop
    execute format(
      'grant execute on function system.begin_job_run(bigint, text, text, timestamptz) to %I',
      r.nspname || '_rw');
    execute format('grant execute on function '
      'system.end_job_run(bigint, text, text, int, timestamptz, text, text, jsonb) to %I',
      r.nspname || '_rw');
  end loop;
end $$;
