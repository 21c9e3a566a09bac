-- Cluster mode (DESIGN.md section 6): every instance on this database is a node; each singleton
-- actor runs on the node that holds its lease. PostgreSQL is the only coordinator, and every time
-- here is the database's now(), never a node's clock. All tables are logged (replicated), so a
-- promoted standby keeps the leases and epochs (fencing across a failover needs synchronous
-- replication: an asynchronous standby may miss the newest grant).

-- One row per node name. `instance` is a random id per start of the node (its heart), so a
-- restarted node tells its own old row from a second live node of the same name.
create table system.cluster_nodes (
  node text primary key check (node ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$'),
  instance uuid not null,
  pid int,
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  -- Set by a clean stop: the node's leases may be taken at once.
  stopped_at timestamptz,
  -- The leases this node can take (a handover goes only to a live node that can).
  candidates text[] not null default '{}'
);

-- Epochs come from one sequence, so they grow on every acquisition of any lease and never repeat,
-- even when a lease row is edited by hand or deleted.
create sequence system.lease_epoch as bigint;

-- One row per singleton. holder is null when released; expires_at is database time.
create table system.leases (
  name text primary key check (length(name) between 1 and 200),
  holder text,
  epoch bigint not null default 0 check (epoch >= 0),
  acquired_at timestamptz,
  renewed_at timestamptz,
  expires_at timestamptz not null default '-infinity'
);

-- A lease's epoch never goes down: a hand edit that lowers it is refused with a clear error.
create function system.leases_epoch_grows() returns trigger
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  if new.epoch < old.epoch then
    raise exception 'Cannot lower the epoch of lease "%" from % to %: epochs only grow',
      old.name, old.epoch, new.epoch using errcode = 'check_violation';
  end if;
  return new;
end $$;
create trigger leases_epoch_grows before update on system.leases
  for each row execute function system.leases_epoch_grows();

-- The fence every write transaction of a leased actor runs first: it succeeds only while `who`
-- holds lease `lease_name` at `lease_epoch` and the lease has not expired (database time), and it
-- holds a FOR SHARE lock on the row until the transaction ends, so a takeover (an UPDATE of the
-- row) waits for that transaction or is ordered before it; a stale holder is refused with SQLSTATE
-- RF001. SECURITY DEFINER: the per-user roles may call it without any privilege on the table.
create function system.lease_fence(lease_name text, who text, lease_epoch bigint) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  row_holder text;
  row_epoch bigint;
  row_live boolean;
begin
  select l.holder, l.epoch, l.expires_at > now() into row_holder, row_epoch, row_live
    from system.leases l where l.name = lease_name for share;
  if row_holder is distinct from who or row_epoch is distinct from lease_epoch
     or not coalesce(row_live, false) then
    raise exception 'Fenced: lease "%" epoch % is not held by "%" (holder %, epoch %, live %)',
      lease_name, lease_epoch, who, coalesce(row_holder, 'none'), coalesce(row_epoch::text, 'none'),
      coalesce(row_live, false) using errcode = 'RF001';
  end if;
  return true;
end $$;
grant execute on function system.lease_fence(text, text, bigint) to public;

-- One round trip of a node's lease manager (supervisor/leases.ts), every renewal period: the
-- node's heartbeat (only while its row still names this instance: a node whose name was taken
-- over must stop), the renewal of the grants it holds (name and epoch; only unexpired ones: an
-- expired grant is never revived, it is acquired again under a new epoch), and the acquisition of
-- every wanted lease that is free, expired, held by a node that is not alive, or held by this node
-- under an epoch it does not know (its previous process, or a handover to it). Returns the wanted
-- leases as they now stand. Concurrent cycles of two nodes serialise on the rows: the second
-- re-checks the condition after the first commits, so one acquisition wins.
create function system.lease_cycle(
  p_node text, p_instance uuid, p_wanted text[], p_held text[], p_epochs bigint[],
  p_lease_ms int, p_node_ttl_ms int
) returns table (name text, holder text, epoch bigint, expires_at timestamptz, node_ok boolean)
language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
  ok boolean;
  lease interval := p_lease_ms * interval '1 millisecond';
  ttl interval := p_node_ttl_ms * interval '1 millisecond';
begin
  update system.cluster_nodes c set last_seen_at = now(), stopped_at = null
   where c.node = p_node and c.instance = p_instance;
  ok := found;
  if ok then
    update system.leases l set renewed_at = now(), expires_at = now() + lease
      from unnest(p_held, p_epochs) as h(n, e)
     where l.name = h.n and l.epoch = h.e and l.holder = p_node and l.expires_at > now();
    insert into system.leases (name) select w from unnest(p_wanted) as w on conflict do nothing;
    update system.leases l
       set holder = p_node, epoch = nextval('system.lease_epoch'), acquired_at = now(),
           renewed_at = now(), expires_at = now() + lease
     where l.name = any(p_wanted)
       and (l.holder is null or l.expires_at <= now()
         or (l.holder = p_node and not exists (
               select 1 from unnest(p_held, p_epochs) as h(n, e)
                where h.n = l.name and h.e = l.epoch))
         or not exists (
               select 1 from system.cluster_nodes c
                where c.node = l.holder and c.stopped_at is null and c.last_seen_at > now() - ttl));
  end if;
  -- The wanted leases, then one row with a null name that carries node_ok alone.
  return query select l.name, l.holder, l.epoch, l.expires_at, ok
    from system.leases l where l.name = any(p_wanted)
    union all select null::text, null::text, null::bigint, null::timestamptz, ok;
end $$;

-- Supervision events of leases carry the epoch they are about.
alter table system.supervisor_events add column if not exists epoch bigint;

-- Every node reports its own actors: a warm standby's price watchdog is an actor of its node too.
delete from system.actor_status where node is null;
alter table system.actor_status drop constraint actor_status_pkey;
alter table system.actor_status alter column node set not null;
alter table system.actor_status add primary key (actor_id, node);
