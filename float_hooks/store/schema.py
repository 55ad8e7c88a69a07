"""The schema, as numbered migrations recorded in the DB (``migrations`` table and
``PRAGMA user_version``). Opening an older DB applies the missing ones in one transaction.
Append new migrations; never edit one that has shipped. A migration may have a Python step
(:data:`PYTHON_STEPS`), run after its SQL in the same transaction."""

from __future__ import annotations

from float_hooks.store.staleness import STATUS_SQL


def _anchor_index_triggers(kind: str, table: str, key: str) -> str:
    """Migration 9's triggers keeping ``anchor_index`` equal to ``table``'s anchors (text that
    is not a JSON array of anchors indexes nothing and never fails the write)."""
    name = table.strip('"')
    # CASE keeps json_each off invalid JSON and json_extract off elements that are not objects
    insert = (
        "INSERT OR IGNORE INTO anchor_index(path, record_kind, record_key)"
        " SELECT CASE WHEN instr(a, '::') > 0 THEN substr(a, 1, instr(a, '::') - 1) ELSE a END,"
        f" '{kind}', new.{key} FROM (SELECT CASE WHEN j.type = 'object'"
        " THEN json_extract(j.value, '$.anchor') END AS a FROM json_each(CASE WHEN"
        " json_valid(new.anchors) THEN new.anchors END) j) WHERE typeof(a) = 'text';")
    delete = f"DELETE FROM anchor_index WHERE record_kind = '{kind}' AND record_key = old.{key};"
    return f"""
        CREATE TRIGGER anchor_index_{name}_ai AFTER INSERT ON {table}
        WHEN new.anchors IS NOT NULL BEGIN {insert} END;
        CREATE TRIGGER anchor_index_{name}_au AFTER UPDATE OF anchors, {key} ON {table}
        BEGIN {delete} {insert} END;
        CREATE TRIGGER anchor_index_{name}_ad AFTER DELETE ON {table}
        WHEN old.anchors IS NOT NULL BEGIN {delete} END;
"""


MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "seed tables with staleness, uids and meta",
        f"""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

        -- Derived facts (files, hashes, folder hashes) next to authored content (map_*,
        -- context_*). status is derived, never stored: pending without context, current
        -- when the context was written for the folder's present hash, stale otherwise.
        CREATE TABLE folders (
            path TEXT PRIMARY KEY,
            parent_path TEXT,
            name TEXT NOT NULL,
            map_summary TEXT,
            map_children TEXT,            -- JSON array
            context_what TEXT,
            context_why TEXT,
            context_patterns TEXT,        -- JSON array
            source_hash TEXT NOT NULL,
            last_scanned_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            context_hash TEXT,            -- the source_hash the context was written against
            context_commit TEXT,
            ai_model TEXT,
            ai_updated TEXT,
            uid TEXT UNIQUE,
            status TEXT GENERATED ALWAYS AS ({STATUS_SQL}) VIRTUAL
        );
        CREATE INDEX folders_parent ON folders(parent_path);
        CREATE INDEX folders_status ON folders(status);

        CREATE TABLE files (
            path TEXT PRIMARY KEY,
            folder_path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            mode TEXT NOT NULL,
            last_scanned_at TEXT
        );
        CREATE INDEX files_folder ON files(folder_path);

        CREATE TABLE log_entries (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            folder_path TEXT,
            date TEXT NOT NULL,
            topic TEXT,
            status TEXT NOT NULL DEFAULT 'accepted',
            title TEXT NOT NULL,
            decision TEXT,
            rationale TEXT,
            before_state TEXT,
            after_state TEXT,
            files_changed TEXT,           -- JSON array
            future_agent TEXT,
            supersedes TEXT,              -- uid of the entry this one replaces
            superseded_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX log_entries_folder ON log_entries(folder_path);
        CREATE INDEX log_entries_date ON log_entries(date);

        CREATE TABLE "references" (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            source_type TEXT NOT NULL,
            source_id TEXT NOT NULL,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL,
            context TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX references_source ON "references"(source_type, source_id);
        CREATE INDEX references_target ON "references"(target_type, target_id);

        CREATE TABLE open_questions (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL,
            context TEXT,
            folder_path TEXT,
            resolved_by TEXT,
            created_at TEXT NOT NULL,
            resolved_at TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX open_questions_folder ON open_questions(folder_path);

        CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE log_entry_tags (
            log_entry_id INTEGER NOT NULL REFERENCES log_entries(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id),
            PRIMARY KEY (log_entry_id, tag_id)
        );
        """,
    ),
    (
        2,
        "sync state: overlay, change tracking, archive, context versions",
        """
        -- Paths where the synced snapshot differs from the base commit (meta.base_commit),
        -- with the base commit's entry, so the next sync diffs only these plus git's diff.
        CREATE TABLE overlay (path TEXT PRIMARY KEY, base_mode TEXT, base_hash TEXT);

        -- Files whose blob changed since a folder's context was written: answers `why`.
        -- old_hash/old_mode are the file's state when the context was written (NULL: absent).
        CREATE TABLE changed_since (
            folder_path TEXT NOT NULL,
            file_path TEXT NOT NULL,
            old_hash TEXT,
            old_mode TEXT,
            PRIMARY KEY (folder_path, file_path)
        ) WITHOUT ROWID;

        -- Authored content of folders that were deleted: kept, listable, restorable.
        CREATE TABLE archived_folders (
            id INTEGER PRIMARY KEY,
            uid TEXT,
            path TEXT NOT NULL,
            reason TEXT NOT NULL,
            source_hash TEXT,
            content TEXT NOT NULL,        -- JSON object of the authored fields
            archived_at TEXT NOT NULL,
            restored_to TEXT,
            restored_at TEXT
        );
        CREATE INDEX archived_folders_path ON archived_folders(path);

        -- Every context ever written, by folder and hash: a folder whose hash returns to one
        -- it had (revert, branch switch back) gets that context back without regenerating.
        CREATE TABLE context_versions (
            folder_path TEXT NOT NULL,
            source_hash TEXT NOT NULL,
            content TEXT NOT NULL,        -- JSON object of the authored fields
            created_at TEXT NOT NULL,
            PRIMARY KEY (folder_path, source_hash)
        ) WITHOUT ROWID;
        """,
    ),
    (
        3,
        "full-text search over context, decisions and questions",
        """
        CREATE VIRTUAL TABLE folders_fts USING fts5(
            path UNINDEXED, map_summary, context_what, context_why, context_patterns,
            content='folders', tokenize='porter unicode61');
        CREATE TRIGGER folders_fts_ai AFTER INSERT ON folders BEGIN
            INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                    context_patterns)
            VALUES (new.rowid, new.path, new.map_summary, new.context_what, new.context_why,
                    new.context_patterns);
        END;
        CREATE TRIGGER folders_fts_ad AFTER DELETE ON folders BEGIN
            INSERT INTO folders_fts(folders_fts, rowid, path, map_summary, context_what,
                                    context_why, context_patterns)
            VALUES ('delete', old.rowid, old.path, old.map_summary, old.context_what,
                    old.context_why, old.context_patterns);
        END;
        CREATE TRIGGER folders_fts_au
        AFTER UPDATE OF map_summary, context_what, context_why, context_patterns ON folders
        BEGIN
            INSERT INTO folders_fts(folders_fts, rowid, path, map_summary, context_what,
                                    context_why, context_patterns)
            VALUES ('delete', old.rowid, old.path, old.map_summary, old.context_what,
                    old.context_why, old.context_patterns);
            INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                    context_patterns)
            VALUES (new.rowid, new.path, new.map_summary, new.context_what, new.context_why,
                    new.context_patterns);
        END;

        CREATE VIRTUAL TABLE log_entries_fts USING fts5(
            title, decision, rationale, topic, content='log_entries', content_rowid='id',
            tokenize='porter unicode61');
        CREATE TRIGGER log_entries_fts_ai AFTER INSERT ON log_entries BEGIN
            INSERT INTO log_entries_fts(rowid, title, decision, rationale, topic)
            VALUES (new.id, new.title, new.decision, new.rationale, new.topic);
        END;
        CREATE TRIGGER log_entries_fts_ad AFTER DELETE ON log_entries BEGIN
            INSERT INTO log_entries_fts(log_entries_fts, rowid, title, decision, rationale, topic)
            VALUES ('delete', old.id, old.title, old.decision, old.rationale, old.topic);
        END;
        CREATE TRIGGER log_entries_fts_au
        AFTER UPDATE OF title, decision, rationale, topic ON log_entries BEGIN
            INSERT INTO log_entries_fts(log_entries_fts, rowid, title, decision, rationale, topic)
            VALUES ('delete', old.id, old.title, old.decision, old.rationale, old.topic);
            INSERT INTO log_entries_fts(rowid, title, decision, rationale, topic)
            VALUES (new.id, new.title, new.decision, new.rationale, new.topic);
        END;

        CREATE VIRTUAL TABLE open_questions_fts USING fts5(
            question, context, content='open_questions', content_rowid='id',
            tokenize='porter unicode61');
        CREATE TRIGGER open_questions_fts_ai AFTER INSERT ON open_questions BEGIN
            INSERT INTO open_questions_fts(rowid, question, context)
            VALUES (new.id, new.question, new.context);
        END;
        CREATE TRIGGER open_questions_fts_ad AFTER DELETE ON open_questions BEGIN
            INSERT INTO open_questions_fts(open_questions_fts, rowid, question, context)
            VALUES ('delete', old.id, old.question, old.context);
        END;
        CREATE TRIGGER open_questions_fts_au
        AFTER UPDATE OF question, context ON open_questions BEGIN
            INSERT INTO open_questions_fts(open_questions_fts, rowid, question, context)
            VALUES ('delete', old.id, old.question, old.context);
            INSERT INTO open_questions_fts(rowid, question, context)
            VALUES (new.id, new.question, new.context);
        END;
        """,
    ),
    (
        4,
        "regeneration job queue",
        """
        -- One job per folder (deduplicated by the primary key), for the folder hash it was
        -- made for. state: queued | running (leased until lease_until) | failed (gave up
        -- after max attempts; kept with its last error until the folder changes). Times are
        -- unix seconds so backoff and lease arithmetic stay in SQL.
        CREATE TABLE jobs (
            folder_path TEXT PRIMARY KEY,
            source_hash TEXT NOT NULL,
            depth INTEGER NOT NULL,       -- children before parents: deepest first
            reason TEXT NOT NULL,         -- pending | stale | child | forced
            state TEXT NOT NULL DEFAULT 'queued',
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before REAL NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_until REAL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX jobs_ready ON jobs(state, depth);
        -- after_sync queues the folders updated since it last looked (meta.jobs_mark): the
        -- post-commit hook must not scan every folder, and a pre-commit sync may already have
        -- applied the change the post-commit sync then finds nothing left of
        CREATE INDEX folders_updated ON folders(updated_at);
        """,
    ),
    (
        5,
        "files keyed by folder, no status index, FTS rows only for folders with context",
        """
        -- One B-tree instead of three (rowid table, path index, folder index): a first sync
        -- writes 90k rows, and the files of a folder are one range scan. folder_path is
        -- always the parent of path, so (folder_path, path) is as unique as path.
        CREATE TABLE files_v5 (
            path TEXT NOT NULL,
            folder_path TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            mode TEXT NOT NULL,
            last_scanned_at TEXT,
            PRIMARY KEY (folder_path, path)
        ) WITHOUT ROWID;
        INSERT INTO files_v5(path, folder_path, content_hash, mode, last_scanned_at)
            SELECT path, folder_path, content_hash, mode, last_scanned_at FROM files;
        DROP TABLE files;
        ALTER TABLE files_v5 RENAME TO files;

        -- status is cheap to compute for the few thousand folders a repository has; its
        -- index cost more on every folder write (60% of inserting 7.5k folders) than it
        -- ever saved a read.
        DROP INDEX folders_status;

        -- Most folders have no context yet (every folder of a first sync): indexing their
        -- empty rows cost 180 ms of a 90k-file first sync and found nothing. A row is in
        -- folders_fts exactly while one of its text fields is set.
        DROP TRIGGER folders_fts_ai;
        DROP TRIGGER folders_fts_ad;
        DROP TRIGGER folders_fts_au;
        INSERT INTO folders_fts(folders_fts) VALUES ('delete-all');
        INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                context_patterns)
            SELECT rowid, path, map_summary, context_what, context_why, context_patterns
            FROM folders
            WHERE COALESCE(map_summary, context_what, context_why, context_patterns)
                  IS NOT NULL;
        CREATE TRIGGER folders_fts_ai AFTER INSERT ON folders
        WHEN COALESCE(new.map_summary, new.context_what, new.context_why,
                      new.context_patterns) IS NOT NULL
        BEGIN
            INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                    context_patterns)
            VALUES (new.rowid, new.path, new.map_summary, new.context_what, new.context_why,
                    new.context_patterns);
        END;
        CREATE TRIGGER folders_fts_ad AFTER DELETE ON folders
        WHEN COALESCE(old.map_summary, old.context_what, old.context_why,
                      old.context_patterns) IS NOT NULL
        BEGIN
            INSERT INTO folders_fts(folders_fts, rowid, path, map_summary, context_what,
                                    context_why, context_patterns)
            VALUES ('delete', old.rowid, old.path, old.map_summary, old.context_what,
                    old.context_why, old.context_patterns);
        END;
        CREATE TRIGGER folders_fts_au
        AFTER UPDATE OF map_summary, context_what, context_why, context_patterns ON folders
        BEGIN
            INSERT INTO folders_fts(folders_fts, rowid, path, map_summary, context_what,
                                    context_why, context_patterns)
            SELECT 'delete', old.rowid, old.path, old.map_summary, old.context_what,
                   old.context_why, old.context_patterns
            WHERE COALESCE(old.map_summary, old.context_what, old.context_why,
                           old.context_patterns) IS NOT NULL;
            INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                    context_patterns)
            SELECT new.rowid, new.path, new.map_summary, new.context_what, new.context_why,
                   new.context_patterns
            WHERE COALESCE(new.map_summary, new.context_what, new.context_why,
                           new.context_patterns) IS NOT NULL;
        END;
        """,
    ),
    (
        6,
        "record versions, conflicts, the write journal's outbox, export page blobs",
        """
        -- Migration 5 as first shipped kept this index; its later edit dropped it only in
        -- new databases.
        DROP INDEX IF EXISTS folders_status;

        -- A record's version is a digest of its content; parents are the versions it
        -- replaced (JSON, newest first). Two versions neither of which names the other are
        -- concurrent: an import keeps the one not shown in conflicts (record_format.py).
        ALTER TABLE folders ADD COLUMN version TEXT;
        ALTER TABLE folders ADD COLUMN parents TEXT;
        ALTER TABLE log_entries ADD COLUMN version TEXT;
        ALTER TABLE log_entries ADD COLUMN parents TEXT;
        ALTER TABLE open_questions ADD COLUMN version TEXT;
        ALTER TABLE open_questions ADD COLUMN parents TEXT;
        ALTER TABLE "references" ADD COLUMN version TEXT;
        ALTER TABLE "references" ADD COLUMN parents TEXT;

        -- The version of a record that is not the one shown, kept until resolved.
        CREATE TABLE conflicts (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,     -- kind, key and version: the same on every machine
            kind TEXT NOT NULL,           -- folder | decision | question | reference
            key TEXT NOT NULL,            -- the folder's path or the record's uid
            side TEXT NOT NULL,           -- local (was here first) | incoming (imported)
            version TEXT NOT NULL,
            record TEXT NOT NULL,         -- JSON, as the export writes it
            source TEXT,                  -- where the incoming side came from
            created_at TEXT NOT NULL
        );
        CREATE INDEX conflicts_key ON conflicts(kind, key);

        -- Records changed by the open transaction: journal.py appends them to the write
        -- journal before the transaction commits, so no authored write lives only in here.
        CREATE TABLE journal_pending (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        ) WITHOUT ROWID;
        CREATE TRIGGER journal_folders_au
        AFTER UPDATE OF map_summary, map_children, context_what, context_why,
            context_patterns, context_hash, context_commit, ai_model, ai_updated, uid,
            version, parents ON folders
        WHEN old.map_summary IS NOT new.map_summary OR old.map_children IS NOT new.map_children
            OR old.context_what IS NOT new.context_what OR old.context_why IS NOT new.context_why
            OR old.context_patterns IS NOT new.context_patterns
            OR old.context_hash IS NOT new.context_hash
            OR old.context_commit IS NOT new.context_commit OR old.ai_model IS NOT new.ai_model
            OR old.ai_updated IS NOT new.ai_updated OR old.uid IS NOT new.uid
            OR old.version IS NOT new.version OR old.parents IS NOT new.parents
        BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('folder', new.path);
        END;
        CREATE TRIGGER journal_folders_ad AFTER DELETE ON folders
        WHEN COALESCE(old.map_summary, old.map_children, old.context_what, old.context_why,
                      old.context_patterns, old.context_hash) IS NOT NULL
        BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('folder', old.path);
        END;
        CREATE TRIGGER journal_log_ai AFTER INSERT ON log_entries BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('decision', new.uid);
        END;
        CREATE TRIGGER journal_log_au AFTER UPDATE ON log_entries BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('decision', new.uid);
        END;
        CREATE TRIGGER journal_log_tags_ai AFTER INSERT ON log_entry_tags BEGIN
            INSERT OR IGNORE INTO journal_pending
                SELECT 'decision', uid FROM log_entries WHERE id = new.log_entry_id;
        END;
        CREATE TRIGGER journal_log_tags_ad AFTER DELETE ON log_entry_tags BEGIN
            INSERT OR IGNORE INTO journal_pending
                SELECT 'decision', uid FROM log_entries WHERE id = old.log_entry_id;
        END;
        CREATE TRIGGER journal_questions_ai AFTER INSERT ON open_questions BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('question', new.uid);
        END;
        CREATE TRIGGER journal_questions_au AFTER UPDATE ON open_questions BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('question', new.uid);
        END;
        CREATE TRIGGER journal_references_ai AFTER INSERT ON "references" BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('reference', new.uid);
        END;
        CREATE TRIGGER journal_references_au AFTER UPDATE ON "references" BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('reference', new.uid);
        END;
        CREATE TRIGGER journal_archive_ai AFTER INSERT ON archived_folders BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('archive', CAST(new.id AS TEXT));
        END;
        CREATE TRIGGER journal_archive_au AFTER UPDATE ON archived_folders BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('archive', CAST(new.id AS TEXT));
        END;
        CREATE TRIGGER journal_conflicts_ai AFTER INSERT ON conflicts BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('conflict', new.uid);
        END;
        CREATE TRIGGER journal_conflicts_ad AFTER DELETE ON conflicts BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('conflict', old.uid);
        END;
        CREATE TRIGGER journal_conflicts_au AFTER UPDATE ON conflicts BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('conflict', old.uid);
            INSERT OR IGNORE INTO journal_pending VALUES ('conflict', new.uid);
        END;

        -- The git blob id of each export page as this DB last wrote or read it: a page whose
        -- blob is not this one holds records the DB may not have (export merges it first).
        CREATE TABLE export_pages (page TEXT PRIMARY KEY, blob TEXT NOT NULL) WITHOUT ROWID;

        -- A DB is in use once its first build (sync, import of the export, replay of the
        -- journal: one transaction) has committed. Databases of earlier versions that synced
        -- count as built.
        INSERT OR IGNORE INTO meta(key, value)
            SELECT 'built', 'migrated' FROM meta WHERE key = 'base_commit';
        """,
    ),
    (
        7,
        "symbol outlines cached by blob id",
        """
        -- Derived facts (DESIGN.md section 10): a file's outline is a pure function of its
        -- blob, stored once per blob id, never exported, rebuildable. `version` is the
        -- outline code's version (code/parse.py VERSION): older rows are computed again.
        CREATE TABLE outline_blobs (
            blob TEXT PRIMARY KEY,
            language TEXT NOT NULL,
            version INTEGER NOT NULL,
            refs TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE outline_symbols (
            blob TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            parent TEXT,
            line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            signature TEXT NOT NULL,
            doc TEXT,
            public INTEGER NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (blob, seq)
        ) WITHOUT ROWID;
        CREATE INDEX outline_symbols_name ON outline_symbols(name);
        """,
    ),
    (
        8,
        "search over file names and symbols",
        """
        -- The names of each folder's own files, one row per folder (the folder's rowid),
        -- rewritten when the folder's hash changes (a file added, removed, renamed or
        -- edited: the Merkle hash covers names). One row per folder, not per file: a first
        -- sync of 90k files writes 7.5k rows, and a deleted file needs no lookup.
        CREATE VIRTUAL TABLE folder_files_fts USING fts5(names, tokenize='porter unicode61');
        INSERT INTO folder_files_fts(rowid, names)
            SELECT d.rowid, (SELECT group_concat(substr(f.path, length(d.path)
                                 + CASE d.path WHEN '/' THEN 1 ELSE 2 END), ' ')
                             FROM files f WHERE f.folder_path = d.path)
            FROM folders d;
        CREATE TRIGGER folder_files_fts_ai AFTER INSERT ON folders BEGIN
            INSERT INTO folder_files_fts(rowid, names)
            SELECT new.rowid, group_concat(substr(f.path, length(new.path)
                                 + CASE new.path WHEN '/' THEN 1 ELSE 2 END), ' ')
            FROM files f WHERE f.folder_path = new.path;
        END;
        CREATE TRIGGER folder_files_fts_ad AFTER DELETE ON folders BEGIN
            DELETE FROM folder_files_fts WHERE rowid = old.rowid;
        END;
        CREATE TRIGGER folder_files_fts_au AFTER UPDATE OF source_hash ON folders
        WHEN old.source_hash IS NOT new.source_hash BEGIN
            DELETE FROM folder_files_fts WHERE rowid = old.rowid;
            INSERT INTO folder_files_fts(rowid, names)
            SELECT new.rowid, group_concat(substr(f.path, length(new.path)
                                 + CASE new.path WHEN '/' THEN 1 ELSE 2 END), ' ')
            FROM files f WHERE f.folder_path = new.path;
        END;

        -- folders_fts gains the map's children (each file's one-line summary: what a file
        -- does is often said nowhere else). Rows as migration 5: only folders with a text.
        DROP TRIGGER folders_fts_ai;
        DROP TRIGGER folders_fts_ad;
        DROP TRIGGER folders_fts_au;
        DROP TABLE folders_fts;
        CREATE VIRTUAL TABLE folders_fts USING fts5(
            path UNINDEXED, map_summary, context_what, context_why, context_patterns,
            map_children, content='folders', tokenize='porter unicode61');
        INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                context_patterns, map_children)
            SELECT rowid, path, map_summary, context_what, context_why, context_patterns,
                   map_children
            FROM folders
            WHERE COALESCE(map_summary, context_what, context_why, context_patterns,
                           map_children) IS NOT NULL;
        CREATE TRIGGER folders_fts_ai AFTER INSERT ON folders
        WHEN COALESCE(new.map_summary, new.context_what, new.context_why,
                      new.context_patterns, new.map_children) IS NOT NULL
        BEGIN
            INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                    context_patterns, map_children)
            VALUES (new.rowid, new.path, new.map_summary, new.context_what, new.context_why,
                    new.context_patterns, new.map_children);
        END;
        CREATE TRIGGER folders_fts_ad AFTER DELETE ON folders
        WHEN COALESCE(old.map_summary, old.context_what, old.context_why,
                      old.context_patterns, old.map_children) IS NOT NULL
        BEGIN
            INSERT INTO folders_fts(folders_fts, rowid, path, map_summary, context_what,
                                    context_why, context_patterns, map_children)
            VALUES ('delete', old.rowid, old.path, old.map_summary, old.context_what,
                    old.context_why, old.context_patterns, old.map_children);
        END;
        CREATE TRIGGER folders_fts_au
        AFTER UPDATE OF map_summary, context_what, context_why, context_patterns,
            map_children ON folders
        BEGIN
            INSERT INTO folders_fts(folders_fts, rowid, path, map_summary, context_what,
                                    context_why, context_patterns, map_children)
            SELECT 'delete', old.rowid, old.path, old.map_summary, old.context_what,
                   old.context_why, old.context_patterns, old.map_children
            WHERE COALESCE(old.map_summary, old.context_what, old.context_why,
                           old.context_patterns, old.map_children) IS NOT NULL;
            INSERT INTO folders_fts(rowid, path, map_summary, context_what, context_why,
                                    context_patterns, map_children)
            SELECT new.rowid, new.path, new.map_summary, new.context_what, new.context_why,
                   new.context_patterns, new.map_children
            WHERE COALESCE(new.map_summary, new.context_what, new.context_why,
                           new.context_patterns, new.map_children) IS NOT NULL;
        END;

        -- The words of each outlined symbol: its name split at camelCase and snake_case
        -- (words.py, so written by code/cache.py with the symbols; the Python step fills it
        -- for outlines cached before), its parent, and its first doc sentence.
        CREATE TABLE outline_words (
            id INTEGER PRIMARY KEY,
            blob TEXT NOT NULL,
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            doc TEXT,
            UNIQUE (blob, seq)
        );
        CREATE VIRTUAL TABLE outline_words_fts USING fts5(
            name, doc, content='outline_words', content_rowid='id',
            tokenize='porter unicode61');
        CREATE TRIGGER outline_words_ai AFTER INSERT ON outline_words BEGIN
            INSERT INTO outline_words_fts(rowid, name, doc) VALUES (new.id, new.name, new.doc);
        END;
        CREATE TRIGGER outline_words_ad AFTER DELETE ON outline_words BEGIN
            INSERT INTO outline_words_fts(outline_words_fts, rowid, name, doc)
            VALUES ('delete', old.id, old.name, old.doc);
        END;
        CREATE TRIGGER outline_symbols_words_ad AFTER DELETE ON outline_symbols BEGIN
            DELETE FROM outline_words WHERE blob = old.blob AND seq = old.seq;
        END;
        """,
    ),
    (
        9,
        "evidence anchors on authored records",
        """
        -- Authored (DESIGN.md section 10): the anchors a record cites, JSON
        -- [{"anchor": "/src/a.py::Session.refresh", "kind": "symbol", "blob": ..., "hash": ...}]
        -- with what each pointed at when written (code/anchors.py). They travel with their
        -- record (versions, journal, export, merge); their state is derived when read.
        ALTER TABLE folders ADD COLUMN anchors TEXT;
        ALTER TABLE log_entries ADD COLUMN anchors TEXT;
        ALTER TABLE open_questions ADD COLUMN anchors TEXT;
        ALTER TABLE "references" ADD COLUMN anchors TEXT;
        -- migration 6's journal trigger on folders names its columns: anchors need their own
        CREATE TRIGGER journal_folders_anchors_au AFTER UPDATE OF anchors ON folders
        WHEN old.anchors IS NOT new.anchors
        BEGIN
            INSERT OR IGNORE INTO journal_pending VALUES ('folder', new.path);
        END;
        -- a symbol that left its file is looked for by its text hash (a "moved" anchor)
        CREATE INDEX outline_symbols_hash ON outline_symbols(hash);

        -- Derived from the anchors columns by the triggers below, whatever writes them (a
        -- command, an import, a merge, the journal's replay): the file or folder each anchor
        -- names (a symbol's file), so `check --anchors` and `why` read the records anchored
        -- at the paths a change touches, not every anchored record.
        CREATE TABLE anchor_index (
            path TEXT NOT NULL,
            record_kind TEXT NOT NULL,    -- folder | decision | question | reference
            record_key TEXT NOT NULL,     -- the folder's path or the record's uid
            PRIMARY KEY (path, record_kind, record_key)
        ) WITHOUT ROWID;
        CREATE INDEX anchor_index_record ON anchor_index(record_kind, record_key);
        """ + "".join(_anchor_index_triggers(kind, table, key)
                       for kind, table, key in (("folder", "folders", "path"),
                                                ("decision", "log_entries", "uid"),
                                                ("question", "open_questions", "uid"),
                                                ("reference", '"references"', "uid"))),
    ),
    (
        10,
        "a folder's file names in one view",
        """
        -- The names of each folder's own files as folder_files_fts indexes them (migration
        -- 8's rule, unchanged): one place for it, read by the triggers below and by the
        -- repair of a damaged index (store/fts.py).
        CREATE VIEW folder_file_names(folder_path, names) AS
            SELECT folder_path, group_concat(substr(path, length(folder_path)
                                   + CASE folder_path WHEN '/' THEN 1 ELSE 2 END), ' ')
            FROM files GROUP BY folder_path;
        DROP TRIGGER folder_files_fts_ai;
        CREATE TRIGGER folder_files_fts_ai AFTER INSERT ON folders BEGIN
            INSERT INTO folder_files_fts(rowid, names) VALUES (new.rowid,
                (SELECT names FROM folder_file_names WHERE folder_path = new.path));
        END;
        DROP TRIGGER folder_files_fts_au;
        CREATE TRIGGER folder_files_fts_au AFTER UPDATE OF source_hash ON folders
        WHEN old.source_hash IS NOT new.source_hash BEGIN
            DELETE FROM folder_files_fts WHERE rowid = old.rowid;
            INSERT INTO folder_files_fts(rowid, names) VALUES (new.rowid,
                (SELECT names FROM folder_file_names WHERE folder_path = new.path));
        END;
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]

# The Python step of a migration, by number ("module:function", imported only when it runs).
PYTHON_STEPS: dict[int, str] = {6: "float_hooks.store.upgrade:versions_and_paths",
                                8: "float_hooks.store.upgrade:outline_words"}

# The authored fields of a folder: what must travel with a rename, be archived on deletion,
# be versioned by hash, and be exported. One list, used by all of those.
AUTHORED_FOLDER_FIELDS = (
    "map_summary",
    "map_children",
    "context_what",
    "context_why",
    "context_patterns",
    "context_hash",
    "context_commit",
    "ai_model",
    "ai_updated",
    "uid",
    "anchors",
)
