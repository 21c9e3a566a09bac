-- Schemas of the data model (DESIGN.md section 3) and the monthly range-partition helper.
-- live_data: prices, Kalshi market state, strike tables. historical_data: 1-minute candles.
-- system: supervision, health, ingest gaps, imports, backups. analytics: model tables.
create schema if not exists live_data;
create schema if not exists historical_data;
create schema if not exists system;
create schema if not exists analytics;

-- Creates the missing monthly partitions of `parent` covering [from_ts, to_ts), named
-- <parent>_pYYYYMM, and returns how many it created. Rows of those months that already sit in
-- the parent's default partition are moved into the new partition in the same transaction, so
-- no row is ever rejected or lost.
create or replace function system.ensure_month_partitions(
  parent regclass, from_ts timestamptz, to_ts timestamptz
) returns int language plpgsql as $$
declare
  m timestamptz := date_trunc('month', from_ts at time zone 'UTC') at time zone 'UTC';
  schema_name text;
  table_name text;
  part text;
  def text;
  created int := 0;
  keycol text;
begin
  select n.nspname, c.relname into schema_name, table_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = parent;
  select a.attname into keycol
    from pg_partitioned_table p
    join pg_attribute a on a.attrelid = p.partrelid and a.attnum = p.partattrs[0]
   where p.partrelid = parent;
  if keycol is null then
    raise exception 'Cannot create partitions of %: not a partitioned table', parent;
  end if;
  def := table_name || '_default';
  while m < to_ts loop
    part := table_name || '_p' || to_char(m at time zone 'UTC', 'YYYYMM');
    if to_regclass(format('%I.%I', schema_name, part)) is null then
      if to_regclass(format('%I.%I', schema_name, def)) is not null then
        -- Detach the default, create the partition, move its month's rows, attach again.
        execute format('alter table %I.%I detach partition %I.%I', schema_name, table_name, schema_name, def);
        execute format('create table %I.%I partition of %I.%I for values from (%L) to (%L)',
          schema_name, part, schema_name, table_name, m, m + interval '1 month');
        execute format('insert into %I.%I overriding system value select * from %I.%I where %I >= %L and %I < %L',
          schema_name, part, schema_name, def, keycol, m, keycol, m + interval '1 month');
        execute format('delete from %I.%I where %I >= %L and %I < %L',
          schema_name, def, keycol, m, keycol, m + interval '1 month');
        execute format('alter table %I.%I attach partition %I.%I default', schema_name, table_name, schema_name, def);
      else
        execute format('create table %I.%I partition of %I.%I for values from (%L) to (%L)',
          schema_name, part, schema_name, table_name, m, m + interval '1 month');
      end if;
      created := created + 1;
    end if;
    m := m + interval '1 month';
  end loop;
  return created;
end $$;
