"""The SQLite schema, as an ordered list of forward migrations.

A database records the number of migrations applied in ``meta.schema_version``. Opening applies the
missing ones in one transaction each; a database from a newer memstrata is refused, never guessed.
"""

from __future__ import annotations

import sqlite3

from memstrata.errors import StoreError
from memstrata.stores.sqlite import keywords

V1 = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE messages (
    pk          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    user_id     TEXT,
    agent_id    TEXT,
    run_id      TEXT,
    id          TEXT NOT NULL,
    role        TEXT NOT NULL,
    speaker     TEXT,
    text        TEXT NOT NULL,
    ts          INTEGER,
    metadata    TEXT NOT NULL DEFAULT '{}',
    recorded_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_by_scope_id ON messages
    (tenant, ifnull(user_id, ''), ifnull(agent_id, ''), ifnull(run_id, ''), id);
CREATE INDEX messages_by_id ON messages (tenant, id);

CREATE TABLE memories (
    pk            INTEGER PRIMARY KEY,
    id            TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    user_id       TEXT,
    agent_id      TEXT,
    run_id        TEXT,
    kind          TEXT NOT NULL,
    text          TEXT NOT NULL,
    sources       TEXT NOT NULL DEFAULT '[]',
    keys          TEXT NOT NULL DEFAULT '[]',
    entities      TEXT NOT NULL DEFAULT '[]',
    actor         TEXT,
    subject       TEXT,
    valid_from    INTEGER,
    valid_to      INTEGER,
    recorded_at   INTEGER NOT NULL,
    expired_at    INTEGER,
    version       INTEGER NOT NULL,
    supersedes    TEXT,
    state         TEXT NOT NULL,
    importance    REAL NOT NULL,
    strength      REAL NOT NULL,
    recall_count  INTEGER NOT NULL,
    last_recalled INTEGER,
    layer         TEXT NOT NULL,
    metadata      TEXT NOT NULL DEFAULT '{}',
    embedding     BLOB
);
CREATE UNIQUE INDEX memories_by_id ON memories (tenant, id);
CREATE INDEX memories_by_user ON memories (tenant, user_id, state);
CREATE INDEX memories_by_agent ON memories (tenant, agent_id, state);
CREATE INDEX memories_by_run ON memories (tenant, run_id, state);

CREATE TABLE memory_versions (
    tenant    TEXT NOT NULL,
    memory_id TEXT NOT NULL,
    version   INTEGER NOT NULL,
    record    TEXT NOT NULL,
    PRIMARY KEY (tenant, memory_id, version)
);

CREATE TABLE history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT NOT NULL,
    memory_id      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    op             TEXT NOT NULL,
    at             INTEGER NOT NULL,
    reason         TEXT,
    prompt_version TEXT,
    text           TEXT,
    previous_text  TEXT,
    state          TEXT
);
CREATE INDEX history_by_memory ON history (tenant, memory_id, id);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    name       TEXT,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE searches (
    tenant   TEXT NOT NULL,
    id       TEXT NOT NULL,
    user_id  TEXT,
    agent_id TEXT,
    run_id   TEXT,
    at       INTEGER NOT NULL,
    payload  TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX searches_by_time ON searches (at);

-- The LLM write path: which messages it has done (a message with no row is new).
CREATE TABLE message_status (
    tenant         TEXT NOT NULL,
    user_id        TEXT,
    agent_id       TEXT,
    run_id         TEXT,
    message_id     TEXT NOT NULL,
    status         TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    prompt_version TEXT,
    error          TEXT,
    at             INTEGER NOT NULL
);
CREATE UNIQUE INDEX message_status_by_scope_id ON message_status
    (tenant, ifnull(user_id, ''), ifnull(agent_id, ''), ifnull(run_id, ''), message_id);

-- Linked notes (A-MEM): links between memories of one tenant.
CREATE TABLE links (
    tenant TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    kind   TEXT NOT NULL,
    score  REAL NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (tenant, source, target, kind)
);
CREATE INDEX links_by_target ON links (tenant, target);

-- The entity graph: entities per scope, which memories name them, the relations they state.
CREATE TABLE entities (
    tenant   TEXT NOT NULL,
    user_id  TEXT,
    agent_id TEXT,
    run_id   TEXT,
    key      TEXT NOT NULL,
    name     TEXT NOT NULL
);
CREATE UNIQUE INDEX entities_by_scope_key ON entities
    (tenant, ifnull(user_id, ''), ifnull(agent_id, ''), ifnull(run_id, ''), key);
CREATE INDEX entities_by_key ON entities (tenant, key);

CREATE TABLE entity_mentions (
    tenant    TEXT NOT NULL,
    memory_id TEXT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (tenant, memory_id, key)
);
CREATE INDEX entity_mentions_by_key ON entity_mentions (tenant, key);

CREATE TABLE relations (
    tenant      TEXT NOT NULL,
    memory_id   TEXT NOT NULL,
    subject_key TEXT NOT NULL,
    subject     TEXT NOT NULL,
    predicate   TEXT NOT NULL,
    object_key  TEXT NOT NULL,
    object      TEXT NOT NULL,
    PRIMARY KEY (tenant, memory_id, subject_key, predicate, object_key)
);
CREATE INDEX relations_by_subject ON relations (tenant, subject_key);
CREATE INDEX relations_by_object ON relations (tenant, object_key);

CREATE VIRTUAL TABLE memories_fts USING fts5(
    text, keys, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""

#: What the read engine reads instead of scanning a scope: each memory's exact scope (a row of
#: ``scope_stats``), session and neighbours in it, and per exact scope its counts, change
#: counter, term document frequencies, sessions (token count, vector sum) and speakers. Kept by
#: the write path in the same transaction as each change (``stores.sql.engine``); existing
#: memories are counted in when the store next opens writable. ``scope_sessions`` keeps its rowid:
#: its rows carry a vector, too large for the pages of a table without one.
V2 = """
ALTER TABLE memories ADD COLUMN scope INTEGER;
ALTER TABLE memories ADD COLUMN session INTEGER;
ALTER TABLE memories ADD COLUMN prev_pk INTEGER;
ALTER TABLE memories ADD COLUMN next_pk INTEGER;
CREATE INDEX memories_by_session ON memories (scope, session);

CREATE TABLE scope_stats (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    user_id     TEXT,
    agent_id    TEXT,
    run_id      TEXT,
    memories    INTEGER NOT NULL DEFAULT 0,
    tokens      INTEGER NOT NULL DEFAULT 0,
    units       INTEGER NOT NULL DEFAULT 0,
    unit_tokens INTEGER NOT NULL DEFAULT 0,
    sessions    INTEGER NOT NULL DEFAULT 0,
    changes     INTEGER NOT NULL DEFAULT 0,
    last_pk     INTEGER,
    last_at     REAL,
    last_key    TEXT
);
CREATE UNIQUE INDEX scope_stats_by_scope ON scope_stats
    (tenant, ifnull(user_id, ''), ifnull(agent_id, ''), ifnull(run_id, ''));

CREATE TABLE scope_terms (
    scope INTEGER NOT NULL,
    term  TEXT NOT NULL,
    df    INTEGER NOT NULL,
    PRIMARY KEY (scope, term)
) WITHOUT ROWID;

CREATE TABLE scope_sessions (
    scope   INTEGER NOT NULL,
    session INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    tokens  INTEGER NOT NULL,
    vector  BLOB,
    PRIMARY KEY (scope, session)
);

CREATE TABLE scope_speakers (
    scope    INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    memories INTEGER NOT NULL,
    PRIMARY KEY (scope, actor)
) WITHOUT ROWID;
"""

#: The full-text index holds each memory's exact scope as a token (``keywords.scope_token``), so
#: a search reads its own scope's postings only. The texts are copied over as indexed.
V3 = """
CREATE VIRTUAL TABLE memories_fts_scoped USING fts5(
    text, keys, scope, tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO memories_fts_scoped (rowid, text, keys, scope)
    SELECT f.rowid, f.text, f.keys,
           memstrata_scope_token(m.tenant, m.user_id, m.agent_id, m.run_id)
    FROM memories_fts f JOIN memories m ON m.pk = f.rowid;
DROP TABLE memories_fts;
ALTER TABLE memories_fts_scoped RENAME TO memories_fts;
"""

#: When a memory stops being recalled (``MemoryRecord.expires_at``), and the indexes that find
#: what has expired and the facts whose validity has ended without scanning a scope.
V4 = """
ALTER TABLE memories ADD COLUMN expires_at INTEGER;
CREATE INDEX memories_expiring ON memories (tenant, expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_ending ON memories (tenant, valid_to)
    WHERE kind = 'fact' AND valid_to IS NOT NULL;
"""

#: What a scope's vector index may keep between searches and processes (``vectors``,
#: ``snapshots``): rows only ever join a scope with a larger pk, so an index stays exact by
#: reading the rows past its last pk, unless a row it holds changed. Triggers count those
#: changes per exact scope, whatever statement made them: ``vector_epoch`` when a row left the
#: scope or its vector changed, ``column_epoch`` when a column the index filters on changed.
V5 = """
ALTER TABLE scope_stats ADD COLUMN vector_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scope_stats ADD COLUMN column_epoch INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER memories_left AFTER DELETE ON memories
BEGIN
    INSERT OR IGNORE INTO scope_stats (tenant, user_id, agent_id, run_id)
        VALUES (old.tenant, old.user_id, old.agent_id, old.run_id);
    UPDATE scope_stats SET vector_epoch = vector_epoch + 1
        WHERE tenant = old.tenant AND ifnull(user_id, '') = ifnull(old.user_id, '')
        AND ifnull(agent_id, '') = ifnull(old.agent_id, '')
        AND ifnull(run_id, '') = ifnull(old.run_id, '');
END;

CREATE TRIGGER memories_revectored AFTER UPDATE ON memories
    WHEN old.embedding IS NOT new.embedding OR old.tenant IS NOT new.tenant
    OR old.user_id IS NOT new.user_id OR old.agent_id IS NOT new.agent_id
    OR old.run_id IS NOT new.run_id
BEGIN
    INSERT OR IGNORE INTO scope_stats (tenant, user_id, agent_id, run_id)
        VALUES (old.tenant, old.user_id, old.agent_id, old.run_id);
    UPDATE scope_stats SET vector_epoch = vector_epoch + 1
        WHERE tenant = old.tenant AND ifnull(user_id, '') = ifnull(old.user_id, '')
        AND ifnull(agent_id, '') = ifnull(old.agent_id, '')
        AND ifnull(run_id, '') = ifnull(old.run_id, '');
    INSERT OR IGNORE INTO scope_stats (tenant, user_id, agent_id, run_id)
        VALUES (new.tenant, new.user_id, new.agent_id, new.run_id);
    UPDATE scope_stats SET vector_epoch = vector_epoch + 1
        WHERE tenant = new.tenant AND ifnull(user_id, '') = ifnull(new.user_id, '')
        AND ifnull(agent_id, '') = ifnull(new.agent_id, '')
        AND ifnull(run_id, '') = ifnull(new.run_id, '');
END;

CREATE TRIGGER memories_refiltered AFTER UPDATE ON memories
    WHEN old.state IS NOT new.state OR old.kind IS NOT new.kind OR old.layer IS NOT new.layer
    OR old.valid_from IS NOT new.valid_from OR old.recorded_at IS NOT new.recorded_at
    OR old.actor IS NOT new.actor
BEGIN
    INSERT OR IGNORE INTO scope_stats (tenant, user_id, agent_id, run_id)
        VALUES (old.tenant, old.user_id, old.agent_id, old.run_id);
    UPDATE scope_stats SET column_epoch = column_epoch + 1
        WHERE tenant = old.tenant AND ifnull(user_id, '') = ifnull(old.user_id, '')
        AND ifnull(agent_id, '') = ifnull(old.agent_id, '')
        AND ifnull(run_id, '') = ifnull(old.run_id, '');
END;
"""

#: Each memory's terms as the read engine reads them (``terms.encode``), written with it by key.
#: The figures are counted again when the store next opens writable, which stores them.
V6 = """
CREATE TABLE memory_terms (
    pk    INTEGER PRIMARY KEY,
    terms TEXT NOT NULL
);
DELETE FROM meta WHERE key = 'engine_terms';
"""

#: The full-text index's ``scope`` column holds a memory's speaker within its exact scope as a
#: second token (``keywords.scope_column``), so a search among what one person said reads that
#: person's postings alone. The texts are copied over as indexed.
V7 = """
CREATE VIRTUAL TABLE memories_fts_spoken USING fts5(
    text, keys, scope, tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO memories_fts_spoken (rowid, text, keys, scope)
    SELECT f.rowid, f.text, f.keys,
           memstrata_scope_column(m.tenant, m.user_id, m.agent_id, m.run_id, m.actor)
    FROM memories_fts f JOIN memories m ON m.pk = f.rowid;
DROP TABLE memories_fts;
ALTER TABLE memories_fts_spoken RENAME TO memories_fts;
"""

#: Vectors kept as 16-bit floats (``vector_format``): half the bytes, and the same hits on the
#: development sets (docs/benchmarks.md, "Bytes on disk per memory"). A store that holds vectors
#: already keeps writing and reading 32-bit ones, so nothing is rewritten and no saved index
#: goes stale.
V8 = """
INSERT OR IGNORE INTO meta (key, value)
    SELECT 'vector_format', CASE WHEN EXISTS (SELECT 1 FROM memories WHERE embedding IS NOT NULL)
                                 THEN 'float32' ELSE 'float16' END;
"""

MIGRATIONS: tuple[str, ...] = (V1, V2, V3, V4, V5, V6, V7, V8)
LATEST = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def vector_format(conn: sqlite3.Connection) -> str:
    """How the store keeps its vectors (``V8``)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'vector_format'").fetchone()
    if row is None:
        raise StoreError("the store does not say how it keeps its vectors")
    return str(row[0])


def check_current(conn: sqlite3.Connection) -> None:
    """For a store opened read-only, which cannot be migrated: its schema must be the latest."""
    version = schema_version(conn)
    if version == LATEST:
        return
    if version == 0:
        raise StoreError("the file holds no memstrata store")
    if version > LATEST:
        raise StoreError(
            f"this database has schema version {version}, newer than this memstrata "
            f"understands ({LATEST}); upgrade memstrata to open it"
        )
    raise StoreError(
        f"this database has schema version {version}, older than {LATEST}; open it writable "
        "once to upgrade it"
    )


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to ``LATEST``; return the version it had before."""
    conn.create_function("memstrata_scope_token", 4, keywords.scope_token, deterministic=True)
    conn.create_function("memstrata_scope_column", 5, keywords.scope_column, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        if before > LATEST:
            raise StoreError(
                f"this database has schema version {before}, newer than this memstrata "
                f"understands ({LATEST}); upgrade memstrata to open it"
            )
        for number in range(before, LATEST):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(number + 1),),
            )
        conn.execute("COMMIT")
        return before
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit on its own)."""
    out: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out
