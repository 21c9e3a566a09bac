-- Schemas of the data model (DESIGN.md section 3) and the monthly range-partition helper.
-- live_data: prices, Kalshi market state, strike tables. historical_data: 1-minute candles.
-- system: supervision, health, ingest gaps, imports, backups. analytics: model tables.
create schema if not exists live_data;
create schema if not exists historical_data;
create schema if not exists system;
create schema if not exists analytics;

-- Creates the missing monthly partitions of `parent` for every month from the month of from_ts
-- through the month of to_ts (UTC), named <parent>_pYYYYMM, and returns how many it created.
-- Rows of such a month that already sit in the parent's default partition (<parent>_default)
-- are moved into the new partition in the same transaction, so no row is ever rejected or lost.
-- Concurrent calls for one parent serialise on a transaction-level advisory lock.
create or replace function system.ensure_month_partitions(
  parent regclass, from_ts timestamptz, to_ts timestamptz
) returns int language plpgsql as $$
declare
  m timestamptz := date_trunc('month', from_ts at time zone 'UTC') at time zone 'UTC';
  m_next timestamptz;
  schema_name text;
  table_name text;
  part text;
  def text;
  keycol text;
  has_rows boolean;
  created int := 0;
begin
  if from_ts is null or to_ts is null then
    raise exception 'Cannot create partitions of %: from_ts and to_ts are required', parent;
  end if;
  select n.nspname, c.relname into schema_name, table_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = parent;
  select a.attname into keycol
    from pg_partitioned_table p
    join pg_attribute a on a.attrelid = p.partrelid and a.attnum = p.partattrs[0]
   where p.partrelid = parent and p.partstrat = 'r' and p.partnatts = 1;
  if keycol is null then
    raise exception 'Cannot create partitions of %: not a table range-partitioned on one column',
      parent;
  end if;
  perform pg_advisory_xact_lock(hashtext('system.ensure_month_partitions:' || parent::oid::text));
  def := table_name || '_default';
  if to_regclass(format('%I.%I', schema_name, def)) is null then
    def := null;
  end if;
  while m <= to_ts loop
    m_next := m + interval '1 month';
    part := table_name || '_p' || to_char(m at time zone 'UTC', 'YYYYMM');
    if to_regclass(format('%I.%I', schema_name, part)) is null then
      has_rows := false;
      if def is not null then
        execute format('select exists (select 1 from %I.%I where %I >= $1 and %I < $2)',
          schema_name, def, keycol, keycol) into has_rows using m, m_next;
      end if;
      if has_rows then
        -- A new partition cannot be attached while the default holds rows of its range: detach
        -- the default, create the partition, move that month's rows, attach the default again.
        execute format('alter table %I.%I detach partition %I.%I',
          schema_name, table_name, schema_name, def);
        execute format('create table %I.%I partition of %I.%I for values from (%L) to (%L)',
          schema_name, part, schema_name, table_name, m, m_next);
        execute format('insert into %I.%I overriding system value '
          'select * from %I.%I where %I >= $1 and %I < $2',
          schema_name, part, schema_name, def, keycol, keycol) using m, m_next;
        execute format('delete from %I.%I where %I >= $1 and %I < $2',
          schema_name, def, keycol, keycol) using m, m_next;
        execute format('alter table %I.%I attach partition %I.%I default',
          schema_name, table_name, schema_name, def);
      else
        execute format('create table %I.%I partition of %I.%I for values from (%L) to (%L)',
          schema_name, part, schema_name, table_name, m, m_next);
      end if;
      created := created + 1;
    end if;
    m := m_next;
  end loop;
  return created;
end $$;
