-- edge-sessions storage. Idempotent: `npm start` and the tests apply it on every run.
-- Times are Unix seconds. See docs/storage.md for what each column and KV key means.
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  client_key_hash TEXT NOT NULL,
  client_ip TEXT,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  idle_expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  data TEXT NOT NULL DEFAULT '{}',
  data_version INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE INDEX IF NOT EXISTS sessions_by_client ON sessions (client_key_hash, idle_expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_idle_expiry ON sessions (idle_expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_absolute_expiry ON sessions (absolute_expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at DESC, id DESC);

-- The purge reaches sessions revoked before its cutoff through this index instead of a table scan.
CREATE INDEX IF NOT EXISTS sessions_by_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
