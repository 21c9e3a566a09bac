-- Per-user logins: each user's account sync and historical ingest connect as <user>_rw (the
-- supervisor gives the role LOGIN and a password at start, lib/db_users.ts), so what that role may
-- do is all a compromised worker of that user could do. It already reads and writes only its own
-- schema (0005); the runtime protocol adds one thing: the ingest records its run in
-- system.job_runs. Rather than any privilege on that table (which would let it read or rewrite
-- every job's runs), it gets two SECURITY DEFINER functions that open and close only the runs of
-- its own job, kalshi_historical_ingest:<user>; USAGE on schema system lets it call them and
-- grants nothing on the tables there. Nothing on live_data: neither actor reads market data.
-- No CREATE on schema public for PUBLIC (PostgreSQL 14 and older granted it): no role of ours
-- creates objects there, and a user role must not create tables outside its schema.

-- The job a user role may record, or null for any other role (the supervisor, an operator).
-- session_user: a user role cannot change it (it is a member of no other role).
create function system.own_job_of_session() returns text
language sql stable set search_path = pg_catalog, pg_temp as $$
  select case when session_user ~ '^user_[0-9]{4}_rw$'
    then 'kalshi_historical_ingest:' || substr(session_user, 1, 9) end
$$;

-- Opens a run (status running) and returns its id.
create function system.start_job_run(job_name text, started timestamptz) returns bigint
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  own text := system.own_job_of_session();
  run_id bigint;
begin
  if own is not null and job_name is distinct from own then
    raise exception 'Cannot record a run of job "%" as role %: it records only %',
      job_name, session_user, own using errcode = 'insufficient_privilege';
  end if;
  insert into system.job_runs (job, started_at, status)
    values (job_name, started, 'running') returning id into run_id;
  return run_id;
end $$;

-- Closes a run with its outcome. A null finish time or details keeps the stored one (the
-- fall-back write after PostgreSQL refused an outcome for its data sets status and error only).
create function system.finish_job_run(
  run_id bigint, finished timestamptz, run_status text, run_error text, run_details jsonb
) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  own text := system.own_job_of_session();
begin
  update system.job_runs
     set finished_at = coalesce(finished, finished_at), status = run_status, error = run_error,
         details = coalesce(run_details, details)
   where id = run_id and (own is null or job = own);
  if not found and own is not null then
    raise exception 'Cannot close run % as role %: not a run of %', run_id, session_user, own
      using errcode = 'insufficient_privilege';
  end if;
end $$;

revoke all on function system.start_job_run(text, timestamptz) from public;
revoke all on function system.finish_job_run(bigint, timestamptz, text, text, jsonb) from public;

-- system.create_user_schema keeps its name and signature (callers and messages name it); the
-- schema, role and tables of 0005 become system.create_user_tables, and the new function adds the
-- grants above for the user's role.
alter function system.create_user_schema(text) rename to create_user_tables;

create function system.create_user_schema(user_name text) returns void
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
end $$;

do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'public') then
    revoke create on schema public from public;
  end if;
end $$;

select system.create_user_schema(nspname::text)
  from pg_namespace where nspname ~ '^user_[0-9]{4}$';
