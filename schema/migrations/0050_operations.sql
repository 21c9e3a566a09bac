-- Operations (issue 7): what a backup records beyond 0002, and a view of range partitions with
-- their bounds, for partition maintenance and retention.
alter table system.backups add column if not exists server_version text;
alter table system.backups add column if not exists tool text;
-- Row count of every table, counted in the dump's own snapshot: backup:verify compares a restore
-- with these, so rows written after the dump never read as a mismatch.
alter table system.backups add column if not exists row_counts jsonb;
-- Set when rotation deletes the file.
alter table system.backups add column if not exists deleted_at timestamptz;
create index if not exists backups_started_at on system.backups (started_at desc);

-- Every partition of a table range-partitioned on one timestamptz column, with its bounds
-- (null for the default partition and for MINVALUE/MAXVALUE bounds).
create or replace view system.time_partitions as
select pn.nspname as parent_schema,
       p.relname as parent,
       a.attname as key_column,
       c.relname as partition,
       c.relpartbound is not null
         and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' as is_default,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid),
         $re$FROM \('([^']*)'\) TO \('([^']*)'\)$re$))[1]::timestamptz as range_from,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid),
         $re$FROM \('([^']*)'\) TO \('([^']*)'\)$re$))[2]::timestamptz as range_to
  from pg_partitioned_table pt
  join pg_class p on p.oid = pt.partrelid
  join pg_namespace pn on pn.oid = p.relnamespace
  join pg_attribute a on a.attrelid = p.oid and a.attnum = pt.partattrs[0]
  join pg_inherits i on i.inhparent = p.oid
  join pg_class c on c.oid = i.inhrelid
 where pt.partstrat = 'r' and pt.partnatts = 1 and a.atttypid = 'timestamptz'::regtype;
