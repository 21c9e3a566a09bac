-- The host a node runs on, beside its pid: a node restarted on the same host whose predecessor's
-- process is gone takes its row back at once instead of watching it for a node TTL.
alter table system.cluster_nodes add column host text;
