/* store.c: the SQLite case store. Every statement is prepared once and
 * reused; every write runs inside a BEGIN IMMEDIATE transaction; the schema
 * moves forward only, one numbered migration at a time. */
#include "store.h"

#include "audit.h"
#include "checkpoint.h"
#include "health.h"
#include "stages.h"
#include "wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <sodium.h> /* randombytes_uniform(): case references */
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-store-error-quark, canary_store_error)
// clang-format on

/* 'CNRY': marks the file as ours, so we never migrate someone else's database. */
#define CANARY_APPLICATION_ID 0x434e5259
/* How long a command waits for another process's write to finish. */
#define BUSY_TIMEOUT_MS (5 * 60 * 1000)

/* Migration N takes the schema from version N-1 to N. Never edit a shipped
 * entry: add a new one. */
static const char *const migrations[] = {
	/* 1: cases, their sources, their sealed fields, per-year counters. */
	"CREATE TABLE cases ("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL UNIQUE,"
	"  received_at INTEGER NOT NULL,"
	"  ingested_at INTEGER NOT NULL,"
	"  section TEXT NOT NULL,"
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('new', 'open', 'closed', 'quarantined')),"
	"  assignee TEXT,"
	"  pseudonym TEXT,"
	"  rule TEXT NOT NULL,"
	"  quarantine_reason TEXT,"
	"  size INTEGER NOT NULL,"
	"  attachments INTEGER NOT NULL,"
	"  content_hash BLOB NOT NULL UNIQUE);"
	"CREATE INDEX cases_by_received ON cases (received_at, id);"
	"CREATE INDEX cases_by_section_status ON cases (section, status);"
	"CREATE TABLE case_sources ("
	"  mailbox TEXT NOT NULL,"
	"  uidvalidity INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
	"  PRIMARY KEY (mailbox, uidvalidity, uid)) WITHOUT ROWID;"
	"CREATE INDEX case_sources_by_case ON case_sources (case_id);"
	"CREATE TABLE case_blobs ("
	"  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
	"  field TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (case_id, field));"
	"CREATE TABLE ref_counters ("
	"  year INTEGER PRIMARY KEY,"
	"  last INTEGER NOT NULL);",
	/* 2: the case history. No foreign key: the history outlives purged
	 * cases. Triggers keep it append-only. */
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  detail TEXT,"
	"  prev_hash BLOB NOT NULL,"
	"  hash BLOB NOT NULL);"
	"CREATE INDEX events_by_ref ON events (ref, id);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'the case history is append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
	"  BEGIN SELECT RAISE(ABORT, 'the case history is append-only'); END;"
	/* What the daemon remembers between passes and tells health checks. */
	"CREATE TABLE state ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL) WITHOUT ROWID;",
	/* 3: the triage officers' filters and queue statistics. */
	("CREATE INDEX cases_by_assignee ON cases (assignee, status);"
	 "CREATE INDEX cases_by_status_received ON cases (status, received_at);"),
	/* 4: nothing in clear that names the sender or can be joined with the
	 * mail server's logs: the day received instead of the time, a size
	 * class instead of the size, no pseudonym, a content hash that can be
	 * forgotten, random references (no counters). The exact values of
	 * older cases wait in legacy_meta until a process holding the public
	 * keys seals them (canary_ingest_seal_legacy()) and deletes them. The
	 * table is rebuilt with foreign keys off (see migrate()). */
	("CREATE TABLE cases_v4 ("
	 "  id INTEGER PRIMARY KEY,"
	 "  ref TEXT NOT NULL UNIQUE,"
	 "  received_day INTEGER NOT NULL CHECK (received_day % 86400 = 0),"
	 "  section TEXT NOT NULL,"
	 "  status TEXT NOT NULL"
	 "    CHECK (status IN ('new', 'open', 'closed', 'quarantined')),"
	 "  assignee TEXT,"
	 "  rule TEXT NOT NULL,"
	 "  quarantine_reason TEXT,"
	 "  size_class INTEGER NOT NULL CHECK (size_class BETWEEN 0 AND 4),"
	 "  attachments INTEGER NOT NULL,"
	 "  content_hash BLOB UNIQUE);"
	 "INSERT INTO cases_v4 SELECT id, ref, received_at / 86400 * 86400, section, status, "
	 "  assignee, rule, quarantine_reason, CASE WHEN size < 10240 THEN 0 "
	 "  WHEN size < 102400 THEN 1 WHEN size < 1048576 THEN 2 WHEN size < 10485760 THEN 3 "
	 "  ELSE 4 END, attachments, content_hash FROM cases;"
	 "CREATE TABLE legacy_meta ("
	 "  case_id INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,"
	 "  received_at INTEGER NOT NULL,"
	 "  ingested_at INTEGER NOT NULL,"
	 "  size INTEGER NOT NULL,"
	 "  pseudonym TEXT);"
	 "INSERT INTO legacy_meta SELECT id, received_at, ingested_at, size, pseudonym FROM cases;"
	 "DROP TABLE cases;"
	 "ALTER TABLE cases_v4 RENAME TO cases;"
	 "CREATE INDEX cases_by_received ON cases (received_day, id);"
	 "CREATE INDEX cases_by_section_status ON cases (section, status);"
	 "CREATE INDEX cases_by_assignee ON cases (assignee, status);"
	 "CREATE INDEX cases_by_status_received ON cases (status, received_day);"
	 /* Each pass forgets the hashes of the days its retention has passed:
	  * only the cases that still have one are looked at. */
	 "CREATE INDEX cases_with_hash ON cases (received_day) WHERE content_hash IS NOT NULL;"
	 "DROP TABLE ref_counters;"),
	/* 5: the forward-secure MAC of each event from the sealing on (audit.h);
	 * NULL for the plain part before it. */
	"ALTER TABLE events ADD COLUMN mac BLOB;",
	/* 6: conversations. A case's first message is the case itself; its
	 * follow-ups and the replies sent are messages 2, 3, ... with their
	 * own sealed fields ("message.N/..."). Message-IDs are kept only as
	 * keyed hashes (canary_seal_keyed_hash()). Drafts wait for the
	 * custodian; an officer's last look at a case tells them what is new;
	 * acknowledgements are remembered a day per keyed sender. */
	("ALTER TABLE cases ADD COLUMN messages INTEGER NOT NULL DEFAULT 1;"
	 "CREATE TABLE case_messages ("
	 "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
	 "  number INTEGER NOT NULL CHECK (number >= 2),"
	 "  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"
	 "  received_day INTEGER NOT NULL CHECK (received_day % 86400 = 0),"
	 "  size_class INTEGER NOT NULL CHECK (size_class BETWEEN 0 AND 4),"
	 "  attachments INTEGER NOT NULL,"
	 "  content_hash BLOB UNIQUE,"
	 "  PRIMARY KEY (case_id, number)) WITHOUT ROWID;"
	 "CREATE INDEX case_messages_with_hash ON case_messages (received_day) "
	 "  WHERE content_hash IS NOT NULL;"
	 "CREATE TABLE message_ids ("
	 "  hash BLOB PRIMARY KEY,"
	 "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE) WITHOUT ROWID;"
	 "CREATE INDEX message_ids_by_case ON message_ids (case_id);"
	 "CREATE TABLE case_drafts ("
	 "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
	 "  number INTEGER NOT NULL CHECK (number >= 1),"
	 "  drafted_by TEXT NOT NULL,"
	 "  drafted_day INTEGER NOT NULL CHECK (drafted_day % 86400 = 0),"
	 "  sent_as INTEGER," /* the message number once sent; NULL while waiting */
	 "  PRIMARY KEY (case_id, number)) WITHOUT ROWID;"
	 "CREATE INDEX case_drafts_waiting ON case_drafts (case_id) WHERE sent_as IS NULL;"
	 "CREATE TABLE case_seen ("
	 "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
	 "  user TEXT NOT NULL,"
	 "  messages INTEGER NOT NULL,"
	 "  PRIMARY KEY (case_id, user)) WITHOUT ROWID;"
	 "CREATE TABLE acknowledged ("
	 "  hash BLOB PRIMARY KEY,"
	 "  until INTEGER NOT NULL) WITHOUT ROWID;"),
};
G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == CANARY_STORE_SCHEMA_VERSION);

/* The cases of a struct canary_store_scope (bound by bind_scope()): every
 * case, or those of the listed sections that are not quarantined, and the
 * quarantined ones when allowed. */
#define IN_SCOPE                                                                                   \
	"(:all OR (status != 'quarantined' AND section IN "                                        \
	"(SELECT value FROM json_each(:sections))) OR (status = 'quarantined' AND :quarantined))"

enum stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_REF_TAKEN,
	STMT_INSERT_CASE,
	STMT_INSERT_SOURCE,
	STMT_FIND_SOURCE,
	STMT_FIND_HASH,
	STMT_FORGET_SOURCE_HASH,
	STMT_FORGET_HASHES_BEFORE,
	STMT_LIST_LEGACY,
	STMT_DROP_LEGACY,
	STMT_COUNT_LEGACY,
	STMT_CASE_ID,
	STMT_PUT_BLOB,
	STMT_BLOB_ROWID,
	STMT_GET_BLOB,
	STMT_LIST,
	STMT_GET_CASE,
	STMT_LAST_EVENT_HASH,
	STMT_INSERT_EVENT,
	STMT_LIST_EVENTS,
	STMT_LIST_EVENTS_AFTER,
	STMT_GET_STATE,
	STMT_SET_STATE,
	STMT_SET_ASSIGNEE,
	STMT_SET_STATUS,
	STMT_SET_SECTION,
	STMT_DELETE_CASE,
	STMT_COUNT_OPEN,
	STMT_OLDEST_OPEN,
	STMT_COUNT_WEEKS,
	STMT_COUNT_STATUS,
	STMT_NEXT_MESSAGE,
	STMT_INSERT_MESSAGE,
	STMT_COUNT_MESSAGE,
	STMT_FIND_MESSAGE_HASH,
	STMT_ADD_MESSAGE_ID,
	STMT_FIND_MESSAGE_ID,
	STMT_LIST_MESSAGES,
	STMT_SET_SEEN,
	STMT_GET_SEEN,
	/* Drafts (replies through the custodian). */
	STMT_NEXT_DRAFT,
	STMT_ADD_DRAFT,
	STMT_LIST_DRAFTS,
	STMT_SET_DRAFT_SENT,
	STMT_LATEST_RECEIVED,
	/* notify: acknowledgements, once a day per keyed sender */
	STMT_EXPIRE_ACKNOWLEDGED,
	STMT_ACKNOWLEDGE,
	STMT_COUNT
};

#define CASE_COLUMNS                                                                   \
	"id, ref, received_day, section, status, assignee, rule, quarantine_reason, " \
	"size_class, attachments, messages"

static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	/* A purged case's reference lives on in the history: never reuse it. */
	[STMT_REF_TAKEN] = "SELECT EXISTS (SELECT 1 FROM cases WHERE ref = ?1) "
			   "OR EXISTS (SELECT 1 FROM events WHERE ref = ?1)",
	[STMT_INSERT_CASE] = "INSERT INTO cases (ref, received_day, section, status, rule, "
			     "quarantine_reason, size_class, attachments, content_hash) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_INSERT_SOURCE] = "INSERT OR IGNORE INTO case_sources (mailbox, uidvalidity, uid, "
			       "case_id) VALUES (?1, ?2, ?3, ?4)",
	[STMT_FIND_SOURCE] = "SELECT c.ref FROM case_sources s JOIN cases c ON c.id = s.case_id "
			     "WHERE s.mailbox = ?1 AND s.uidvalidity = ?2 AND s.uid = ?3",
	/* A forgotten (NULL) hash never matches. */
	[STMT_FIND_HASH] = "SELECT ref FROM cases WHERE content_hash = ?1",
	[STMT_FORGET_SOURCE_HASH] = "UPDATE cases SET content_hash = NULL "
				    "WHERE content_hash IS NOT NULL AND id IN (SELECT case_id "
				    "FROM case_sources WHERE mailbox = ?1 AND uidvalidity = ?2 "
				    "AND uid = ?3)",
	/* Whole days only: a case of the day BEFORE falls in keeps its hash. */
	[STMT_FORGET_HASHES_BEFORE] = "UPDATE cases SET content_hash = NULL WHERE content_hash IS "
				      "NOT NULL AND received_day <= ?1 - 86400",
	[STMT_LIST_LEGACY] = "SELECT c.id, c.ref, c.section, c.status, l.received_at, "
			     "l.ingested_at, l.size, l.pseudonym FROM legacy_meta l "
			     "JOIN cases c ON c.id = l.case_id ORDER BY c.id",
	[STMT_DROP_LEGACY] = "DELETE FROM legacy_meta WHERE case_id = ?1",
	[STMT_COUNT_LEGACY] = "SELECT count(*) FROM legacy_meta",
	[STMT_CASE_ID] = "SELECT id FROM cases WHERE ref = ?1",
	/* An upsert, not INSERT OR REPLACE: a REPLACE may delete a row before
	 * it inserts, so SQLite gives each one a statement journal, a copy of
	 * every 64 KiB page it changes (two a field, ten fields a message). */
	[STMT_PUT_BLOB] = "INSERT INTO case_blobs (case_id, field, data) VALUES (?1, ?2, ?3) "
			  "ON CONFLICT (case_id, field) DO UPDATE SET data = excluded.data",
	/* Not RETURNING on the upsert: that takes a statement journal too. */
	[STMT_BLOB_ROWID] = "SELECT rowid FROM case_blobs WHERE case_id = ?1 AND field = ?2",
	[STMT_GET_BLOB] = "SELECT data FROM case_blobs WHERE case_id = ?1 AND field = ?2",
	[STMT_LIST] = "SELECT " CASE_COLUMNS " FROM cases "
		      "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR section = ?2) "
		      "AND received_day >= ?3 / 86400 * 86400 AND (?4 IS NULL OR assignee = ?4) "
		      "AND (?5 = 0 OR received_day < ?5) ORDER BY received_day, id",
	[STMT_GET_CASE] = "SELECT " CASE_COLUMNS " FROM cases WHERE ref = ?1",
	[STMT_LAST_EVENT_HASH] = "SELECT id, hash, at FROM events ORDER BY id DESC LIMIT 1",
	[STMT_INSERT_EVENT] = "INSERT INTO events (id, ref, at, actor, action, detail, prev_hash, "
			      "hash, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[STMT_LIST_EVENTS] = "SELECT id, ref, at, actor, action, detail, prev_hash, hash, mac "
			     "FROM events WHERE ?1 IS NULL OR ref = ?1 ORDER BY id",
	[STMT_LIST_EVENTS_AFTER] = "SELECT id, ref, at, actor, action, detail, prev_hash, hash, "
				   "mac FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
	[STMT_GET_STATE] = "SELECT value FROM state WHERE key = ?1",
	[STMT_SET_STATE] = "INSERT OR REPLACE INTO state (key, value) VALUES (?1, ?2)",
	[STMT_SET_ASSIGNEE] = "UPDATE cases SET assignee = ?2 WHERE ref = ?1",
	[STMT_SET_STATUS] = "UPDATE cases SET status = ?2 WHERE ref = ?1",
	[STMT_SET_SECTION] = "UPDATE cases SET section = ?2 WHERE ref = ?1",
	[STMT_DELETE_CASE] = "DELETE FROM cases WHERE ref = ?1",
	[STMT_COUNT_OPEN] = "SELECT section, status, count(*) FROM cases "
			    "WHERE status IN ('new', 'open') AND " IN_SCOPE
			    " GROUP BY section, status ORDER BY section, status",
	[STMT_OLDEST_OPEN] = "SELECT received_day, ref FROM cases WHERE status IN ('new', 'open') "
			     "AND " IN_SCOPE " ORDER BY received_day, id LIMIT 1",
	/* Day 0 (1970-01-01) was a Thursday: (day + 3) % 7 is days since Monday. */
	[STMT_COUNT_WEEKS] = "SELECT (received_day / 86400 - (received_day / 86400 + 3) % 7) "
			     "* 86400 AS week, count(*) FROM cases "
			     "WHERE received_day >= :since / 86400 * 86400 AND " IN_SCOPE
			     " GROUP BY week ORDER BY week",
	/* Counted once its whole day lies before ?2: never too early. */
	[STMT_COUNT_STATUS] = "SELECT count(*), coalesce(min(received_day), 0) FROM cases "
			      "WHERE status = ?1 AND received_day <= ?2 - 86400",
	[STMT_NEXT_MESSAGE] = "SELECT messages + 1 FROM cases WHERE id = ?1",
	[STMT_INSERT_MESSAGE] = "INSERT INTO case_messages (case_id, number, direction, "
				"received_day, size_class, attachments, content_hash) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_COUNT_MESSAGE] = "UPDATE cases SET messages = ?2 WHERE id = ?1",
	[STMT_FIND_MESSAGE_HASH] = "SELECT c.ref FROM case_messages m JOIN cases c "
				   "ON c.id = m.case_id WHERE m.content_hash = ?1",
	[STMT_ADD_MESSAGE_ID] = "INSERT OR IGNORE INTO message_ids (hash, case_id) VALUES (?1, ?2)",
	[STMT_FIND_MESSAGE_ID] = "SELECT c.id, c.ref FROM message_ids m JOIN cases c "
				 "ON c.id = m.case_id WHERE m.hash = ?1",
	[STMT_LIST_MESSAGES] = "SELECT number, direction, received_day, size_class, attachments "
			       "FROM case_messages WHERE case_id = ?1 ORDER BY number",
	[STMT_SET_SEEN] = "INSERT OR REPLACE INTO case_seen (case_id, user, messages) "
			  "VALUES (?1, ?2, ?3)",
	[STMT_GET_SEEN] = "SELECT messages FROM case_seen WHERE case_id = ?1 AND user = ?2",
	[STMT_NEXT_DRAFT] = "SELECT coalesce(max(number), 0) + 1 FROM case_drafts "
			    "WHERE case_id = ?1",
	[STMT_ADD_DRAFT] = "INSERT INTO case_drafts (case_id, number, drafted_by, drafted_day) "
			   "VALUES (?1, ?2, ?3, ?4)",
	/* ?1: a case id or 0 for all; ?2: a draft number or 0 for all; ?3: 1
	 * for those not sent (waiting or sending) only. */
	[STMT_LIST_DRAFTS] = "SELECT d.case_id, c.ref, d.number, d.drafted_by, d.drafted_day, "
			     "d.sent_as FROM case_drafts d JOIN cases c ON c.id = d.case_id "
			     "WHERE (?1 = 0 OR d.case_id = ?1) AND (?2 = 0 OR d.number = ?2) "
			     "AND (?3 = 0 OR d.sent_as IS NULL OR d.sent_as = 0) "
			     "ORDER BY c.received_day, c.id, d.number",
	[STMT_SET_DRAFT_SENT] = "UPDATE case_drafts SET sent_as = ?3 "
				"WHERE case_id = ?1 AND number = ?2",
	[STMT_LATEST_RECEIVED] = "SELECT coalesce(max(number), 1) FROM case_messages "
				 "WHERE case_id = ?1 AND direction = 'in'",
	[STMT_EXPIRE_ACKNOWLEDGED] = "DELETE FROM acknowledged WHERE until <= ?1",
	[STMT_ACKNOWLEDGE] = "INSERT OR IGNORE INTO acknowledged (hash, until) VALUES (?1, ?2)",
};

struct canary_store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmts[STMT_COUNT]; /* prepared on first use */
	gint64 write_usec;               /* in step_done(): every write and commit */
	struct canary_audit_seal *seal;  /* NULL when read-only */
	gboolean events_added;           /* by the open transaction */
	struct canary_checkpointer *checkpointer; /* NULL: SQLite's own checkpoints */
};

/* The state key of the sealing event's id (audit.h). */
#define STATE_AUDIT_SEALED_FROM "audit_sealed_from"

gboolean canary_store_status_valid(const char *status)
{
	static const char *const valid[] = { CANARY_STATUS_NEW, CANARY_STATUS_OPEN,
					     CANARY_STATUS_CLOSED, CANARY_STATUS_QUARANTINED };
	for (size_t i = 0; status != NULL && i < G_N_ELEMENTS(valid); i++) {
		if (strcmp(status, valid[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Maps an SQLite result code to our error classes: busy and I/O problems are
 * temporary (the daemon retries), the rest are not. */
static int error_code_for(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CANARY_STORE_ERROR_BUSY;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		return CANARY_STORE_ERROR_IO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return CANARY_STORE_ERROR_CORRUPT;
	case SQLITE_TOOBIG:
		return CANARY_STORE_ERROR_TOO_BIG;
	default:
		return CANARY_STORE_ERROR_FAILED;
	}
}

/* Sets ERROR from the database's last error, prefixed with the path and what
 * we were doing. SQLite's messages name tables and columns, never values. */
static void set_db_error(struct canary_store *store, int rc, const char *doing, GError **error)
{
	const char *detail = store->db != NULL ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
	if ((rc & 0xff) == SQLITE_BUSY)
		detail = "the database stayed locked by another process for 5 minutes";
	g_set_error(error, CANARY_STORE_ERROR, error_code_for(rc), "%s: %s: %s", store->path, doing,
		    detail);
}

/* Returns the prepared statement ID, reset and unbound, or NULL with ERROR. */
static sqlite3_stmt *stmt(struct canary_store *store, enum stmt_id id, GError **error)
{
	sqlite3_stmt *s = store->stmts[id];
	if (s == NULL) {
		int rc = sqlite3_prepare_v3(store->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &s, NULL);
		if (rc != SQLITE_OK) {
			set_db_error(store, rc, "preparing a statement", error);
			return NULL;
		}
		store->stmts[id] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Steps S once, expecting no row. Resets it after. */
static gboolean step_done(struct canary_store *store, sqlite3_stmt *s, const char *doing,
			  GError **error)
{
	gint64 start = canary_stage_clock();
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	store->write_usec += canary_stage_clock() - start;
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, doing, error);
		return FALSE;
	}
	return TRUE;
}

/* Steps S (bound by the caller) once and resets it: SQLITE_ROW with the row
 * read by READ first, SQLITE_DONE, or 0 with ERROR (DOING names the step). */
static int step_one(struct canary_store *store, sqlite3_stmt *s, const char *doing,
		    void (*read)(sqlite3_stmt *s, gpointer out), gpointer out, GError **error)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read(s, out);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		set_db_error(store, rc, doing, error);
		return 0;
	}
	return rc;
}

/* Returns column I as a new string, NULL for SQL NULL. */
static char *column_strdup(sqlite3_stmt *s, int i)
{
	return g_strdup((const char *)sqlite3_column_text(s, i));
}

static void read_int(sqlite3_stmt *s, gpointer out)
{
	*(gint64 *)out = sqlite3_column_int64(s, 0);
}

static void read_text(sqlite3_stmt *s, gpointer out)
{
	*(char **)out = column_strdup(s, 0);
}

/* A row of an integer and a text, in that order. */
struct int_text {
	gint64 value;
	char *text;
};

static void read_int_text(sqlite3_stmt *s, gpointer out)
{
	struct int_text *row = out;
	row->value = sqlite3_column_int64(s, 0);
	row->text = column_strdup(s, 1);
}

/* A row of two integers. */
static void read_two_ints(sqlite3_stmt *s, gpointer out)
{
	gint64 *values = out;
	values[0] = sqlite3_column_int64(s, 0);
	values[1] = sqlite3_column_int64(s, 1);
}

static void read_blob(sqlite3_stmt *s, gpointer out)
{
	*(GBytes **)out = g_bytes_new(sqlite3_column_blob(s, 0), (gsize)sqlite3_column_bytes(s, 0));
}

/* Runs S (bound by the caller) for at most one row and puts its first
 * column in *VALUE_R (untouched without a row); *FOUND_R, unless NULL,
 * says whether there was one. */
static gboolean query_int(struct canary_store *store, sqlite3_stmt *s, const char *doing,
			  gint64 *value_r, gboolean *found_r, GError **error)
{
	int rc = step_one(store, s, doing, read_int, value_r, error);
	if (found_r != NULL)
		*found_r = rc == SQLITE_ROW;
	return rc != 0;
}

/* The same for a text column: a new string in *TEXT_R, or NULL when there
 * is no row. */
static gboolean query_text(struct canary_store *store, sqlite3_stmt *s, const char *doing,
			   char **text_r, GError **error)
{
	*text_r = NULL;
	return step_one(store, s, doing, read_text, text_r, error) != 0;
}

/* Runs SQL that returns no rows (pragmas, migrations). */
static gboolean exec(struct canary_store *store, const char *sql, const char *doing,
		     GError **error)
{
	int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		set_db_error(store, rc, doing, error);
		return FALSE;
	}
	return TRUE;
}

/* Reads a single integer pragma such as "PRAGMA user_version"; DOING names
 * it in errors. */
static gboolean pragma_int_doing(struct canary_store *store, const char *sql, const char *doing,
				 gint64 *value_r, GError **error)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(store->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		set_db_error(store, rc, doing, error);
		sqlite3_finalize(s);
		return FALSE;
	}
	*value_r = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return TRUE;
}

/* Reads a pragma of the schema's identity and version. */
static gboolean pragma_int(struct canary_store *store, const char *sql, gint64 *value_r,
			   GError **error)
{
	return pragma_int_doing(store, sql, "reading the schema version", value_r, error);
}

/* Takes every permission but the owner's off the open file FD (PATH, for
 * messages) when this process owns it. A file someone else owns is left
 * alone (SQLite then fails to open it, naming it). */
static gboolean make_private(const char *path, int fd, GError **error)
{
	struct stat st;
	gboolean ok = fstat(fd, &st) == 0;
	if (ok && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 07777) != 0600)
		ok = fchmod(fd, 0600) == 0;
	if (!ok)
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
			    "%s: cannot make it private to its owner (0600): %s", path,
			    g_strerror(errno));
	return ok;
}

/* The same for the file at PATH if there is one (a -wal or -shm that a
 * group-shared store of an older canary left 0660); never through a link. */
static gboolean make_private_if_present(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP))
		return TRUE;
	if (fd < 0) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN, "%s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	gboolean ok = make_private(path, fd, error);
	close(fd);
	return ok;
}

/* Creates the database's directory if missing (0700) and the file itself
 * (0600), so SQLite never creates anything with looser modes: the database
 * is canaryd's alone (officers ask canaryd). An existing file, and its
 * -wal, -shm and -journal, lose every permission but the owner's. */
static gboolean prepare_files(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		if (g_mkdir_with_parents(dir, 0700) != 0 || chmod(dir, 0700) != 0) {
			g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
				    "%s: cannot create directory: %s", dir, g_strerror(errno));
			return FALSE;
		}
	}

	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN, "%s: %s", path,
			    g_strerror(errno));
		return FALSE;
	}
	/* The mode is set, not left to the umask; SQLite gives its -wal and
	 * -shm files the mode of the database when it creates them. */
	gboolean ok = make_private(path, fd, error);
	close(fd);
	static const char *const companions[] = {"-wal", "-shm", "-journal"};
	for (gsize i = 0; ok && i < G_N_ELEMENTS(companions); i++) {
		g_autofree char *companion = g_strconcat(path, companions[i], NULL);
		ok = make_private_if_present(companion, error);
	}
	return ok;
}

/* Refuses, before anything is written, a database that is not ours or that
 * a newer canary made. Returns its schema version in *VERSION_R. */
static gboolean check_ours(struct canary_store *store, gint64 *version_r, GError **error)
{
	gint64 app_id = 0, tables = 0;
	if (!pragma_int(store, "PRAGMA user_version", version_r, error) ||
	    !pragma_int(store, "PRAGMA application_id", &app_id, error) ||
	    !pragma_int(store, "SELECT count(*) FROM sqlite_schema", &tables, error))
		return FALSE;
	if (app_id != CANARY_APPLICATION_ID && (app_id != 0 || tables != 0)) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_CORRUPT,
			    "%s: not a canary database (it already holds other data); "
			    "give [store] database another path",
			    store->path);
		return FALSE;
	}
	if (*version_r > CANARY_STORE_SCHEMA_VERSION) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_TOO_NEW,
			    "%s: made by a newer canary (schema %" G_GINT64_FORMAT
			    ", this one knows up to %d); upgrade canary, the database was not touched",
			    store->path, *version_r, CANARY_STORE_SCHEMA_VERSION);
		return FALSE;
	}
	return TRUE;
}

/* Fails when a foreign key points nowhere. */
static gboolean check_foreign_keys(struct canary_store *store, GError **error)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(store->db, "PRAGMA foreign_key_check", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_CORRUPT,
			    "%s: migrating the schema: a row refers to a case that does not "
			    "exist; the database was left as it was",
			    store->path);
		return FALSE;
	}
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "checking the migrated schema", error);
		return FALSE;
	}
	return TRUE;
}

/* The body of migrate(), with foreign keys off. */
static gboolean migrate_locked(struct canary_store *store, GError **error)
{
	if (!canary_store_begin(store, error))
		return FALSE;
	/* Read again under the write lock: another process may have migrated. */
	gint64 version = 0;
	if (!check_ours(store, &version, error))
		goto fail;
	for (gint64 v = version; v < CANARY_STORE_SCHEMA_VERSION; v++) {
		if (!exec(store, migrations[v], "migrating the schema", error))
			goto fail;
	}
	if (version < CANARY_STORE_SCHEMA_VERSION) {
		g_autofree char *set = g_strdup_printf("PRAGMA user_version = %d; "
						       "PRAGMA application_id = %d",
						       CANARY_STORE_SCHEMA_VERSION,
						       CANARY_APPLICATION_ID);
		if (!exec(store, set, "recording the schema version", error) ||
		    !check_foreign_keys(store, error))
			goto fail;
	}
	return canary_store_commit(store, error);
fail:
	canary_store_rollback(store);
	return FALSE;
}

/* Applies the migrations the file lacks, in one transaction. Foreign keys
 * are off meanwhile (they cannot change inside a transaction): migration 4
 * drops and rebuilds the cases table, which would otherwise cascade to
 * every source and sealed field. foreign_key_check proves nothing broke. */
static gboolean migrate(struct canary_store *store, GError **error)
{
	if (!exec(store, "PRAGMA foreign_keys = OFF", "migrating the schema", error))
		return FALSE;
	gboolean ok = migrate_locked(store, error);
	return exec(store, "PRAGMA foreign_keys = ON", "migrating the schema", ok ? error : NULL) &&
	       ok;
}

/* Test builds only (CMake's CANARY_TEST_KDF): CANARY_TEST_SQLITE_MAX_LENGTH
 * lowers the largest value SQLite stores (1 GB by default), so that a test
 * can show what happens to a message the store refuses as too big. */
static void limit_length_for_tests(sqlite3 *db)
{
#ifdef CANARY_TEST_KDF
	const char *max = g_getenv("CANARY_TEST_SQLITE_MAX_LENGTH");
	if (max != NULL)
		sqlite3_limit(db, SQLITE_LIMIT_LENGTH, (int)g_ascii_strtoll(max, NULL, 10));
#else
	(void)db;
#endif
}

/* Copies a 32-byte blob column into OUT (zeros if it has another size). */
static void column_hash(sqlite3_stmt *s, int i, guint8 out[32])
{
	memset(out, 0, 32);
	if (sqlite3_column_bytes(s, i) == 32)
		memcpy(out, sqlite3_column_blob(s, i), 32);
}

/* The last event of the history; all zero when there is none. */
struct last_event {
	gint64 id;
	guint8 hash[32];
	gint64 at;
};

static void read_last_event(sqlite3_stmt *s, gpointer out)
{
	struct last_event *last = out;
	last->id = sqlite3_column_int64(s, 0);
	column_hash(s, 1, last->hash);
	last->at = sqlite3_column_int64(s, 2);
}

static gboolean last_event(struct canary_store *store, struct last_event *last, GError **error)
{
	*last = (struct last_event){0};
	sqlite3_stmt *s = stmt(store, STMT_LAST_EVENT_HASH, error);
	return s != NULL &&
	       step_one(store, s, "reading the case history", read_last_event, last, error) != 0;
}

/* The sealing event's id the database records (0: not sealed). */
static gboolean sealed_from(struct canary_store *store, gint64 *id_r, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_GET_STATE, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_text(s, 1, STATE_AUDIT_SEALED_FROM, -1, SQLITE_STATIC);
	g_autofree char *value = NULL;
	if (!query_text(store, s, "reading the daemon's state", &value, error))
		return FALSE;
	*id_r = value != NULL ? g_ascii_strtoll(value, NULL, 10) : 0;
	return TRUE;
}

/* Lets the seal follow the database's sealing (started here or elsewhere). */
static gboolean sync_seal(struct canary_store *store, GError **error)
{
	gint64 from = 0;
	if (store->seal == NULL)
		return TRUE;
	if (!sealed_from(store, &from, error))
		return FALSE;
	canary_audit_seal_sync(store->seal, from);
	return TRUE;
}

/* Called before the first connection. SQLite counts every allocation for
 * sqlite3_memory_used() under a global mutex; canary never asks, and with
 * 64 KiB pages of sealed data the lock and its barrier were 4% of the
 * storing thread. Too late (SQLITE_MISUSE) if SQLite is already set up,
 * which changes nothing but speed. */
static void configure_sqlite(void)
{
	static gsize done = 0;
	if (g_once_init_enter(&done)) {
		(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		g_once_init_leave(&done, 1);
	}
}

struct canary_store *canary_store_open(const char *path, GError **error)
{
	if (!prepare_files(path, error))
		return NULL;

	struct canary_store *store = g_new0(struct canary_store, 1);
	store->path = g_strdup(path);
	configure_sqlite();
	int rc = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
				 NULL);
	if (rc != SQLITE_OK) {
		set_db_error(store, rc, "opening", error);
		canary_store_close(&store);
		return NULL;
	}
	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
	limit_length_for_tests(store->db);
	gint64 version = 0;
	if (!check_ours(store, &version, error)) {
		canary_store_close(&store);
		return NULL;
	}

	/* The page size counts only for a new database (it must come before
	 * WAL mode). Large pages, since most bytes are sealed messages of tens
	 * of kilobytes and more: SQLite writes each page with its own system
	 * call, to the WAL and again at the checkpoint (bench/README.md,
	 * "Measurements behind the constants"). The cache size comes after
	 * the page size, in whose pages it is counted: 8 MiB, 128 pages. A
	 * batch fills the cache with its new pages, and each message goes
	 * back to the same few dozen others (the last leaf and the inner
	 * pages of each table and index); in 2 MB, 31 pages, those were
	 * pushed out, to be read back from the WAL or the database again and
	 * again (same section). WAL lets officers read while the daemon
	 * writes; FULL makes each commit durable before the server copy is
	 * moved; secure_delete leaves no plaintext-derived bytes in free
	 * pages. Statement journals stay in memory (temp_store): an insert
	 * keeps the one or two pages it changes, a delete the pages of one
	 * case, but through a temporary file every 64 KiB page goes by two
	 * system calls (same section). VACUUM, whose temporary copy is the
	 * whole database, goes back to a file. */
	if (!exec(store,
		  "PRAGMA page_size = 65536; PRAGMA cache_size = -8192; "
		  "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
		  "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; "
		  "PRAGMA trusted_schema = OFF; PRAGMA temp_store = MEMORY",
		  "setting up", error) ||
	    !migrate(store, error)) {
		canary_store_close(&store);
		return NULL;
	}
	store->seal = canary_audit_seal_new(path);
	if (!sync_seal(store, error)) {
		canary_store_close(&store);
		return NULL;
	}
	return store;
}

struct sqlite3 *canary_store_sqlite(struct canary_store *store)
{
	return store->db;
}

gint64 canary_store_write_usec(const struct canary_store *store)
{
	return store->write_usec;
}

/* Opens STORE->path read-only, IMMUTABLE or not, and checks it is ours. */
static gboolean open_readonly(struct canary_store *store, gboolean immutable, gint64 *version_r,
			      GError **error)
{
	g_autofree char *escaped = g_uri_escape_string(store->path, "/", FALSE);
	g_autofree char *uri =
		g_strdup_printf("file:%s%s", escaped, immutable ? "?immutable=1" : "");
	configure_sqlite();
	int rc = sqlite3_open_v2(uri, &store->db,
				 SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_URI,
				 NULL);
	if (rc != SQLITE_OK) {
		set_db_error(store, rc, "opening read-only", error);
		return FALSE;
	}
	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
	return check_ours(store, version_r, error);
}

struct canary_store *canary_store_open_readonly(const char *path, GError **error)
{
	struct canary_store *store = g_new0(struct canary_store, 1);
	store->path = g_strdup(path);
	gint64 version = 0;
	g_autoptr(GError) local = NULL;
	g_autofree char *wal = g_strconcat(path, "-wal", NULL);
	/* A WAL database needs its -shm file, which a user with read access
	 * only cannot create. While a writer has the database open the file
	 * exists; when none has (no -wal), nothing is pending in a WAL and the
	 * file can be read as it is (immutable). It is never written either way. */
	if (!open_readonly(store, FALSE, &version, &local)) {
		if (!g_error_matches(local, CANARY_STORE_ERROR, CANARY_STORE_ERROR_IO) ||
		    g_file_test(wal, G_FILE_TEST_EXISTS)) {
			g_propagate_error(error, g_steal_pointer(&local));
			goto fail;
		}
		sqlite3_close_v2(store->db);
		store->db = NULL;
		if (!open_readonly(store, TRUE, &version, error))
			goto fail;
	}
	if (version < CANARY_STORE_SCHEMA_VERSION) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
			    "%s: schema %" G_GINT64_FORMAT " is older than this canary's (%d), or "
			    "the database is new; start canaryd once to bring it up to date",
			    path, version, CANARY_STORE_SCHEMA_VERSION);
		goto fail;
	}
	return store;
fail:
	canary_store_close(&store);
	return NULL;
}

void canary_store_close(struct canary_store **store)
{
	if (store == NULL || *store == NULL)
		return;
	struct canary_store *s = *store;
	canary_checkpointer_stop(s->checkpointer);
	for (size_t i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	sqlite3_close_v2(s->db);
	canary_audit_seal_free(s->seal);
	g_free(s->path);
	g_free(s);
	*store = NULL;
}

gboolean canary_store_begin(struct canary_store *store, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_BEGIN, error);
	if (s == NULL || !step_done(store, s, "starting a transaction", error))
		return FALSE;
	store->events_added = FALSE;
	/* Under the write lock: another process may have started sealing. */
	if (!sync_seal(store, error)) {
		canary_store_rollback(store);
		return FALSE;
	}
	return TRUE;
}

gboolean canary_store_commit(struct canary_store *store, GError **error)
{
	struct last_event last = {0};
	sqlite3_stmt *s = NULL;
	if ((store->events_added && !last_event(store, &last, error)) ||
	    (s = stmt(store, STMT_COMMIT, error)) == NULL ||
	    !step_done(store, s, "committing", error)) {
		/* A COMMIT refused (SQLITE_BUSY, a deferred constraint) leaves the
		 * transaction open; every caller wants it gone. */
		canary_store_rollback(store);
		return FALSE;
	}
	/* Order is important: the key file moves on only once the events it
	 * sealed are durable (a file behind the history catches up; one ahead
	 * would say events were deleted). */
	if (store->events_added && store->seal != NULL)
		canary_audit_seal_committed(store->seal, last.id);
	store->events_added = FALSE;
	return TRUE;
}

void canary_store_rollback(struct canary_store *store)
{
	if (store->seal != NULL)
		canary_audit_seal_rolled_back(store->seal);
	store->events_added = FALSE;
	if (sqlite3_get_autocommit(store->db))
		return; /* nothing open: SQLite already rolled back */
	sqlite3_stmt *s = stmt(store, STMT_ROLLBACK, NULL);
	if (s != NULL)
		step_done(store, s, "rolling back", NULL);
}

gboolean canary_store_mark(struct canary_store *store, GError **error)
{
	return exec(store, "SAVEPOINT message", "marking a savepoint", error);
}

gboolean canary_store_release_mark(struct canary_store *store, GError **error)
{
	return exec(store, "RELEASE message", "releasing a savepoint", error);
}

guint64 canary_store_largest_value(struct canary_store *store)
{
	return (guint64)MAX(sqlite3_limit(store->db, SQLITE_LIMIT_LENGTH, -1), 0);
}

void canary_store_rollback_to_mark(struct canary_store *store)
{
	exec(store, "ROLLBACK TO message; RELEASE message", "rolling back to a savepoint",
		   NULL);
}

/* Binds a string or NULL. */
static void bind_text(sqlite3_stmt *s, int index, const char *text)
{
	if (text != NULL)
		sqlite3_bind_text(s, index, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, index);
}

/* Returns the UTC year of T. */
static int utc_year(gint64 t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL)
		return 1970;
	return tm.tm_year + 1900;
}

/* Crockford's base32: no I, L, O or U, so a reference read aloud or
 * copied by hand is not misread. */
static const char REF_ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/* 40 random bits: a collision is retried, but so rare that a few tries are
 * plenty; more failures mean the random source is broken. */
#define REF_TRIES 16

/* Sets *TAKEN_R when REF names a stored case or any recorded event. */
static gboolean ref_taken(struct canary_store *store, const char *ref, gboolean *taken_r,
			  GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_REF_TAKEN, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, ref);
	gint64 taken = 1;
	if (!query_int(store, s, "numbering the case", &taken, NULL, error))
		return FALSE;
	*taken_r = taken != 0;
	return TRUE;
}

/* Draws a new reference "R-YEAR-XXXX-XXXX", random so that references do
 * not tell the order in which messages arrived, and unused. */
static gboolean new_ref(struct canary_store *store, int year, char **ref_r, GError **error)
{
	for (int attempt = 0; attempt < REF_TRIES; attempt++) {
		char code[10];
		for (int i = 0, j = 0; i < 8; i++, j++) {
			if (i == 4)
				code[j++] = '-';
			code[j] = REF_ALPHABET[randombytes_uniform(sizeof REF_ALPHABET - 1)];
		}
		code[9] = '\0';
		g_autofree char *ref = g_strdup_printf("R-%04d-%s", year, code);
		gboolean taken = TRUE;
		if (!ref_taken(store, ref, &taken, error))
			return FALSE;
		if (!taken) {
			*ref_r = g_steal_pointer(&ref);
			return TRUE;
		}
	}
	g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
		    "%s: numbering the case: %d random references in a row were taken; "
		    "the system's random source is not working",
		    store->path, REF_TRIES);
	return FALSE;
}

/* Records an IMAP source for case CASE_ID (ignored if already there). */
static gboolean insert_source(struct canary_store *store, gint64 case_id, const char *mailbox,
			      guint32 uidvalidity, guint32 uid, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_INSERT_SOURCE, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, mailbox);
	sqlite3_bind_int64(s, 2, uidvalidity);
	sqlite3_bind_int64(s, 3, uid);
	sqlite3_bind_int64(s, 4, case_id);
	return step_done(store, s, "recording the message source", error);
}

gint64 canary_store_day(gint64 t)
{
	/* Floor, not truncation, should a date before 1970 ever come in. */
	return (t >= 0 ? t / 86400 : (t - 86399) / 86400) * 86400;
}

/* Upper bounds of the size classes 0..3; class 4 is anything larger. */
static const gint64 size_class_limits[] = {10 * 1024, 100 * 1024, 1024 * 1024,
					   10 * 1024 * 1024};
G_STATIC_ASSERT(G_N_ELEMENTS(size_class_limits) == CANARY_SIZE_CLASSES - 1);

guint canary_store_size_class(gint64 size)
{
	guint cls = 0;
	while (cls < G_N_ELEMENTS(size_class_limits) && size >= size_class_limits[cls])
		cls++;
	return cls;
}

const char *canary_store_size_class_name(guint size_class)
{
	static const char *const names[CANARY_SIZE_CLASSES] = {"<10K", "<100K", "<1M", "<10M",
							       ">=10M"};
	return size_class < CANARY_SIZE_CLASSES ? names[size_class] : "?";
}

gboolean canary_store_insert_case(struct canary_store *store, const struct canary_case_new *c,
				  gint64 *id_r, char **ref_r, GError **error)
{
	g_autofree char *ref = NULL;
	if (!new_ref(store, utc_year(c->received_at), &ref, error))
		return FALSE;
	sqlite3_stmt *s = stmt(store, STMT_INSERT_CASE, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, ref);
	sqlite3_bind_int64(s, 2, canary_store_day(c->received_at));
	bind_text(s, 3, c->section);
	bind_text(s, 4, c->status);
	bind_text(s, 5, c->rule);
	bind_text(s, 6, c->quarantine_reason);
	sqlite3_bind_int(s, 7, (int)canary_store_size_class(c->size));
	sqlite3_bind_int64(s, 8, c->attachments);
	if (c->content_hash != NULL)
		sqlite3_bind_blob(s, 9, c->content_hash, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 9);
	if (!step_done(store, s, "storing the case", error))
		return FALSE;
	gint64 id = sqlite3_last_insert_rowid(store->db);
	if (c->mailbox != NULL &&
	    !insert_source(store, id, c->mailbox, c->uidvalidity, c->uid, error))
		return FALSE;
	*id_r = id;
	*ref_r = g_steal_pointer(&ref);
	return TRUE;
}

gboolean canary_store_find_source(struct canary_store *store, const char *mailbox,
				  guint32 uidvalidity, guint32 uid, char **ref_r, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_FIND_SOURCE, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, mailbox);
	sqlite3_bind_int64(s, 2, uidvalidity);
	sqlite3_bind_int64(s, 3, uid);
	return query_text(store, s, "looking up a message", ref_r, error);
}

gboolean canary_store_find_hash(struct canary_store *store, const guint8 hash[32], char **ref_r,
				GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_FIND_HASH, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	if (!query_text(store, s, "looking up a message", ref_r, error))
		return FALSE;
	if (*ref_r != NULL)
		return TRUE;
	/* A follow-up is recognised as its case. */
	s = stmt(store, STMT_FIND_MESSAGE_HASH, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	return query_text(store, s, "looking up a message", ref_r, error);
}

/* Runs FN inside a transaction of its own unless the caller holds one. */
static gboolean in_transaction(struct canary_store *store,
			       gboolean (*fn)(struct canary_store *, gconstpointer, GError **),
			       gconstpointer data, GError **error)
{
	gboolean own = sqlite3_get_autocommit(store->db) != 0;
	if (own && !canary_store_begin(store, error))
		return FALSE;
	if (!fn(store, data, error)) {
		if (own)
			canary_store_rollback(store);
		return FALSE;
	}
	return !own || canary_store_commit(store, error);
}

struct forget_sources {
	const char *mailbox;
	guint32 uidvalidity;
	const guint32 *uids;
	guint n;
	guint forgotten;
};

static gboolean forget_sources(struct canary_store *store, gconstpointer data, GError **error)
{
	struct forget_sources *f = (struct forget_sources *)data;
	f->forgotten = 0;
	for (guint i = 0; i < f->n; i++) {
		sqlite3_stmt *s = stmt(store, STMT_FORGET_SOURCE_HASH, error);
		if (s == NULL)
			return FALSE;
		bind_text(s, 1, f->mailbox);
		sqlite3_bind_int64(s, 2, f->uidvalidity);
		sqlite3_bind_int64(s, 3, f->uids[i]);
		if (!step_done(store, s, "forgetting content hashes", error))
			return FALSE;
		f->forgotten += (guint)sqlite3_changes(store->db);
	}
	return TRUE;
}

gboolean canary_store_forget_hashes_of_sources(struct canary_store *store, const char *mailbox,
					       guint32 uidvalidity, const guint32 *uids, guint n,
					       guint *forgotten_r, GError **error)
{
	struct forget_sources f = {mailbox, uidvalidity, uids, n, 0};
	if (!in_transaction(store, forget_sources, &f, error))
		return FALSE;
	if (forgotten_r != NULL)
		*forgotten_r = f.forgotten;
	return TRUE;
}

struct forget_before {
	gint64 received_before;
	guint forgotten;
};

static gboolean forget_before(struct canary_store *store, gconstpointer data, GError **error)
{
	struct forget_before *f = (struct forget_before *)data;
	sqlite3_stmt *s = stmt(store, STMT_FORGET_HASHES_BEFORE, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, f->received_before);
	if (!step_done(store, s, "forgetting content hashes", error))
		return FALSE;
	f->forgotten = (guint)sqlite3_changes(store->db);
	return TRUE;
}

gboolean canary_store_forget_hashes_before(struct canary_store *store, gint64 received_before,
					   guint *forgotten_r, GError **error)
{
	struct forget_before f = {received_before, 0};
	if (!in_transaction(store, forget_before, &f, error))
		return FALSE;
	if (forgotten_r != NULL)
		*forgotten_r = f.forgotten;
	return TRUE;
}

gboolean canary_store_checkpoint_aside(struct canary_store *store, GError **error)
{
	g_return_val_if_fail(store->checkpointer == NULL, FALSE);
	store->checkpointer = canary_checkpointer_start(store->db, store->path, error);
	return store->checkpointer != NULL;
}

guint64 canary_store_checkpoints_aside(const struct canary_store *store)
{
	return store->checkpointer != NULL ? canary_checkpointer_count(store->checkpointer) : 0;
}

gboolean canary_store_checkpoint(struct canary_store *store, GError **error)
{
	/* Not beside the thread's: the log would not be truncated. */
	if (store->checkpointer != NULL)
		canary_checkpointer_wait_idle(store->checkpointer);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(store->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	gboolean busy = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW) {
		set_db_error(store, rc, "truncating the write-ahead log", error);
		return FALSE;
	}
	if (busy) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_BUSY,
			    "%s: truncating the write-ahead log: another process is reading; "
			    "run the command again when it is idle",
			    store->path);
		return FALSE;
	}
	return TRUE;
}

void canary_store_legacy_free(struct canary_store_legacy *legacy)
{
	if (legacy == NULL)
		return;
	g_free(legacy->ref);
	g_free(legacy->section);
	g_free(legacy->status);
	canary_wipe_free(legacy->pseudonym);
	g_free(legacy);
}

GPtrArray *canary_store_list_legacy(struct canary_store *store, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LIST_LEGACY, error);
	if (s == NULL)
		return NULL;
	GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)canary_store_legacy_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_store_legacy *l = g_new0(struct canary_store_legacy, 1);
		l->case_id = sqlite3_column_int64(s, 0);
		l->ref = column_strdup(s, 1);
		l->section = column_strdup(s, 2);
		l->status = column_strdup(s, 3);
		l->received_at = sqlite3_column_int64(s, 4);
		l->ingested_at = sqlite3_column_int64(s, 5);
		l->size = sqlite3_column_int64(s, 6);
		l->pseudonym = column_strdup(s, 7);
		g_ptr_array_add(rows, l);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "reading the clear values of older cases", error);
		g_ptr_array_unref(rows);
		return NULL;
	}
	return rows;
}

gboolean canary_store_drop_legacy(struct canary_store *store, gint64 case_id, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_DROP_LEGACY, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	return step_done(store, s, "deleting the clear values of an older case", error);
}

gboolean canary_store_count_legacy(struct canary_store *store, gint64 *count_r, GError **error)
{
	*count_r = 0;
	sqlite3_stmt *s = stmt(store, STMT_COUNT_LEGACY, error);
	return s != NULL && query_int(store, s, "counting the clear values of older cases", count_r,
				      NULL, error);
}

/* Returns the id of case REF in *ID_R, or FALSE with NOT_FOUND. */
static gboolean case_id(struct canary_store *store, const char *ref, gint64 *id_r,
			GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_CASE_ID, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, ref);
	gboolean found = FALSE;
	if (!query_int(store, s, "looking up a case", id_r, &found, error))
		return FALSE;
	if (!found)
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND,
			    "no such case %s", ref);
	return found;
}

gboolean canary_store_add_source(struct canary_store *store, const char *ref, const char *mailbox,
				 guint32 uidvalidity, guint32 uid, GError **error)
{
	gint64 id = 0;
	return case_id(store, ref, &id, error) &&
	       insert_source(store, id, mailbox, uidvalidity, uid, error);
}

/* Fields at least this large are written in place: the row is inserted
 * with a zeroblob and the bytes copied in with incremental blob I/O, since
 * binding them would make SQLite build a second whole copy in a record (a
 * 40 MB message would cost 40 MB more memory). */
#define BLOB_IN_PLACE ((gsize)1 << 20)
#define BLOB_CHUNK    (256 * 1024)

/* The rowid of CASE_ID's FIELD in case_blobs (the upsert that put it
 * leaves no last_insert_rowid when it updated). */
static gboolean blob_rowid(struct canary_store *store, gint64 case_id, const char *field,
			   gint64 *rowid_r, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_BLOB_ROWID, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	bind_text(s, 2, field);
	gboolean found = FALSE;
	if (!query_int(store, s, "finding a sealed field just stored", rowid_r, &found, error))
		return FALSE;
	if (!found)
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND,
			    "%s: the sealed field '%s' just stored is not there", store->path, field);
	return found;
}

/* Copies LEN bytes at P into the zeroblob just put as CASE_ID's FIELD. */
static gboolean write_in_place(struct canary_store *store, gint64 case_id, const char *field,
			       const guint8 *p, gsize len, GError **error)
{
	gint64 rowid = 0;
	if (!blob_rowid(store, case_id, field, &rowid, error))
		return FALSE;
	gint64 start = canary_stage_clock();
	sqlite3_blob *blob = NULL;
	int rc = sqlite3_blob_open(store->db, "main", "case_blobs", "data", rowid, 1, &blob);
	for (gsize off = 0; rc == SQLITE_OK && off < len; off += BLOB_CHUNK)
		rc = sqlite3_blob_write(blob, p + off, (int)MIN(BLOB_CHUNK, len - off), (int)off);
	int closed = sqlite3_blob_close(blob);
	store->write_usec += canary_stage_clock() - start;
	if (rc == SQLITE_OK)
		rc = closed;
	if (rc != SQLITE_OK) {
		set_db_error(store, rc, "storing a sealed field", error);
		return FALSE;
	}
	return TRUE;
}

gboolean canary_store_put_blob(struct canary_store *store, gint64 case_id, const char *field,
			       GBytes *data, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_PUT_BLOB, error);
	if (s == NULL)
		return FALSE;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(data, &len);
	gboolean in_place = len >= BLOB_IN_PLACE;
	sqlite3_bind_int64(s, 1, case_id);
	bind_text(s, 2, field);
	int rc;
	if (in_place)
		rc = sqlite3_bind_zeroblob64(s, 3, len);
	else /* a zero-length blob must still be a blob, not NULL */
		rc = sqlite3_bind_blob64(s, 3, len > 0 ? (const void *)p : "", len, SQLITE_STATIC);
	if (rc != SQLITE_OK) { /* SQLITE_TOOBIG: over what SQLite stores in one value */
		set_db_error(store, rc, "storing a sealed field", error);
		return FALSE;
	}
	return step_done(store, s, "storing a sealed field", error) &&
	       (!in_place || write_in_place(store, case_id, field, p, len, error));
}

GBytes *canary_store_get_blob(struct canary_store *store, gint64 case_id, const char *field,
			      GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_GET_BLOB, error);
	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, case_id);
	bind_text(s, 2, field);
	GBytes *bytes = NULL;
	if (step_one(store, s, "reading a sealed field", read_blob, &bytes, error) == SQLITE_DONE)
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND,
			    "this case has no field '%s'", field);
	return bytes;
}

void canary_case_free(struct canary_case *c)
{
	if (c == NULL)
		return;
	g_free(c->ref);
	g_free(c->section);
	g_free(c->status);
	g_free(c->assignee);
	g_free(c->rule);
	g_free(c->quarantine_reason);
	g_free(c);
}

/* Builds a case from the current row of a CASE_COLUMNS query. */
static struct canary_case *case_from_row(sqlite3_stmt *s)
{
	struct canary_case *c = g_new0(struct canary_case, 1);
	c->id = sqlite3_column_int64(s, 0);
	c->ref = column_strdup(s, 1);
	c->received_day = sqlite3_column_int64(s, 2);
	c->section = column_strdup(s, 3);
	c->status = column_strdup(s, 4);
	c->assignee = column_strdup(s, 5);
	c->rule = column_strdup(s, 6);
	c->quarantine_reason = column_strdup(s, 7);
	c->size_class = (guint)sqlite3_column_int(s, 8);
	c->attachments = (guint)sqlite3_column_int64(s, 9);
	c->messages = (guint)sqlite3_column_int64(s, 10);
	return c;
}

static void read_case(sqlite3_stmt *s, gpointer out)
{
	*(struct canary_case **)out = case_from_row(s);
}

GPtrArray *canary_store_list_cases(struct canary_store *store,
				   const struct canary_case_filter *filter, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LIST, error);
	if (s == NULL)
		return NULL;
	static const struct canary_case_filter none = { 0 };
	if (filter == NULL)
		filter = &none;
	bind_text(s, 1, filter->status);
	bind_text(s, 2, filter->section);
	sqlite3_bind_int64(s, 3, filter->since);
	bind_text(s, 4, filter->assignee);
	sqlite3_bind_int64(s, 5, filter->before);

	GPtrArray *cases = g_ptr_array_new_with_free_func((GDestroyNotify)canary_case_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		g_ptr_array_add(cases, case_from_row(s));
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "listing cases", error);
		g_ptr_array_unref(cases);
		return NULL;
	}
	return cases;
}

struct canary_case *canary_store_get_case(struct canary_store *store, const char *ref,
					  GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_GET_CASE, error);
	if (s == NULL)
		return NULL;
	bind_text(s, 1, ref);
	struct canary_case *c = NULL;
	if (step_one(store, s, "reading a case", read_case, &c, error) == SQLITE_DONE)
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND,
			    "no such case %s", ref);
	return c;
}

void canary_event_free(struct canary_event *event)
{
	if (event == NULL)
		return;
	g_free(event->ref);
	g_free(event->actor);
	g_free(event->action);
	g_free(event->detail);
	g_free(event);
}

/* Inserts E (its id and prev_hash set from the last event). With
 * NOT_BEFORE_LAST, E->at is moved up to the last event's time if that is
 * later, so that the history stays in order (canary audit checks it). */
static gboolean insert_event(struct canary_store *store, struct canary_event *e,
			     gboolean not_before_last, GError **error)
{
	struct last_event last;
	if (!last_event(store, &last, error))
		return FALSE;
	e->id = last.id + 1;
	memcpy(e->prev_hash, last.hash, 32);
	if (not_before_last && last.id != 0)
		e->at = MAX(e->at, last.at);
	canary_audit_event_hash(e, e->hash);
	e->sealed = store->seal != NULL && canary_audit_seal_event(store->seal, e, e->mac);

	sqlite3_stmt *s = stmt(store, STMT_INSERT_EVENT, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, e->id);
	bind_text(s, 2, e->ref);
	sqlite3_bind_int64(s, 3, e->at);
	bind_text(s, 4, e->actor);
	bind_text(s, 5, e->action);
	bind_text(s, 6, e->detail);
	sqlite3_bind_blob(s, 7, e->prev_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, e->hash, 32, SQLITE_STATIC);
	if (e->sealed)
		sqlite3_bind_blob(s, 9, e->mac, 32, SQLITE_STATIC);
	store->events_added = TRUE;
	return step_done(store, s, "recording in the case history", error);
}

/* Appends an event at AT, or, when DAY_ONLY, at the start of AT's day
 * (UTC) or the time of the event before it if that is later. */
static gboolean add_event(struct canary_store *store, const char *ref, const char *actor,
			  const char *action, const char *detail, gint64 at, gboolean day_only,
			  GError **error)
{
	struct canary_event e = {
		.ref = (char *)ref,
		.at = day_only ? canary_store_day(at) : at,
		.actor = (char *)actor,
		.action = (char *)action,
		.detail = (char *)detail,
	};
	gboolean own = sqlite3_get_autocommit(store->db) != 0;
	if (own && !canary_store_begin(store, error))
		return FALSE;
	if (!insert_event(store, &e, day_only, error)) {
		if (own)
			canary_store_rollback(store);
		return FALSE;
	}
	return !own || canary_store_commit(store, error);
}

gboolean canary_store_add_event(struct canary_store *store, const char *ref, const char *actor,
				const char *action, const char *detail, GError **error)
{
	return add_event(store, ref, actor, action, detail, g_get_real_time() / G_USEC_PER_SEC,
			 FALSE, error);
}

gboolean canary_store_add_event_day(struct canary_store *store, const char *ref, const char *actor,
				    const char *action, const char *detail, GError **error)
{
	return add_event(store, ref, actor, action, detail, g_get_real_time() / G_USEC_PER_SEC,
			 TRUE, error);
}

/* The events of S (bound), as canary_store_list_events() returns them. */
static GPtrArray *list_events(struct canary_store *store, sqlite3_stmt *s, GError **error)
{
	GPtrArray *events = g_ptr_array_new_with_free_func((GDestroyNotify)canary_event_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_event *e = g_new0(struct canary_event, 1);
		e->id = sqlite3_column_int64(s, 0);
		e->ref = column_strdup(s, 1);
		e->at = sqlite3_column_int64(s, 2);
		e->actor = column_strdup(s, 3);
		e->action = column_strdup(s, 4);
		e->detail = column_strdup(s, 5);
		column_hash(s, 6, e->prev_hash);
		column_hash(s, 7, e->hash);
		e->sealed = sqlite3_column_bytes(s, 8) == 32;
		column_hash(s, 8, e->mac);
		g_ptr_array_add(events, e);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "reading the case history", error);
		g_ptr_array_unref(events);
		return NULL;
	}
	return events;
}

GPtrArray *canary_store_list_events(struct canary_store *store, const char *ref,
				    GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LIST_EVENTS, error);
	if (s == NULL)
		return NULL;
	bind_text(s, 1, ref);
	return list_events(store, s, error);
}

GPtrArray *canary_store_list_events_after(struct canary_store *store, gint64 after, guint limit,
					  GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LIST_EVENTS_AFTER, error);
	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, limit);
	return list_events(store, s, error);
}

/* The body of canary_store_audit_start(), in its transaction. */
static char *audit_start_locked(struct canary_store *store, const char *actor,
				gint64 *first_id_r, GError **error)
{
	struct last_event last;
	if (!last_event(store, &last, error))
		return NULL;
	g_autofree char *key_id = NULL;
	char *vkey = canary_audit_seal_start(store->seal, last.id + 1, &key_id, error);
	if (vkey == NULL)
		return NULL;
	g_autofree char *from = g_strdup_printf("%" G_GINT64_FORMAT, last.id + 1);
	g_autofree char *detail = g_strdup_printf("key %s", key_id);
	struct canary_event e = {
		.ref = (char *)CANARY_EVENT_REF_DATABASE,
		.at = g_get_real_time() / G_USEC_PER_SEC,
		.actor = (char *)actor,
		.action = (char *)CANARY_ACTION_AUDIT_SEALED,
		.detail = detail,
	};
	if (!canary_store_set_state(store, STATE_AUDIT_SEALED_FROM, from, error) ||
	    !insert_event(store, &e, TRUE, error) || !e.sealed || e.id != last.id + 1) {
		if (error != NULL && *error == NULL)
			g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
				    "%s: the sealing event could not be sealed", store->path);
		canary_audit_text_free(vkey);
		return NULL;
	}
	*first_id_r = e.id;
	return vkey;
}

char *canary_store_audit_start(struct canary_store *store, const char *actor,
			       gint64 *first_id_r, GError **error)
{
	if (store->seal == NULL) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
			    "%s: opened read-only", store->path);
		return NULL;
	}
	if (!canary_store_begin(store, error))
		return NULL;
	char *vkey = audit_start_locked(store, actor, first_id_r, error);
	if (vkey == NULL || !canary_store_commit(store, error)) {
		canary_store_rollback(store);
		canary_audit_text_free(vkey);
		return NULL;
	}
	return vkey;
}

gboolean canary_store_audit_head(struct canary_store *store, struct canary_audit_head *head,
				 GError **error)
{
	*head = (struct canary_audit_head){0};
	struct last_event last;
	if (!last_event(store, &last, error))
		return FALSE;
	head->last_id = last.id;
	if (!sealed_from(store, &head->sealed_from, error))
		return FALSE;
	if (store->seal == NULL) {
		head->problem = "the database was opened read-only";
		return TRUE;
	}
	canary_audit_seal_sync(store->seal, head->sealed_from);
	head->has_proof = canary_audit_seal_head(store->seal, last.id, last.hash, head->proof);
	const char *problem = canary_audit_seal_problem(store->seal);
	if (!head->has_proof)
		head->problem = problem != NULL ? problem : "the history is not sealed";
	return TRUE;
}

gboolean canary_store_get_state(struct canary_store *store, const char *key, char **value_r,
				GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_GET_STATE, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, key);
	return query_text(store, s, "reading the daemon's state", value_r, error);
}

gboolean canary_store_set_state(struct canary_store *store, const char *key, const char *value,
				GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_SET_STATE, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return step_done(store, s, "recording the daemon's state", error);
}

/* Runs S (bound by the caller; ?1 is REF) as an update of exactly one case. */
static gboolean update_case(struct canary_store *store, sqlite3_stmt *s, const char *ref,
			    const char *doing, GError **error)
{
	if (!step_done(store, s, doing, error))
		return FALSE;
	if (sqlite3_changes(store->db) == 0) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND,
			    "no such case %s", ref);
		return FALSE;
	}
	return TRUE;
}

/* Sets one text column of case REF with statement ID. */
static gboolean set_column(struct canary_store *store, enum stmt_id id, const char *ref,
			   const char *value, const char *doing, GError **error)
{
	sqlite3_stmt *s = stmt(store, id, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, ref);
	bind_text(s, 2, value);
	return update_case(store, s, ref, doing, error);
}

gboolean canary_store_set_assignee(struct canary_store *store, const char *ref,
				   const char *assignee, GError **error)
{
	return set_column(store, STMT_SET_ASSIGNEE, ref, assignee, "assigning a case", error);
}

gboolean canary_store_set_status(struct canary_store *store, const char *ref, const char *status,
				 GError **error)
{
	if (!canary_store_status_valid(status)) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
			    "status '%s': expected new, open, closed or quarantined", status);
		return FALSE;
	}
	return set_column(store, STMT_SET_STATUS, ref, status, "changing a case's status", error);
}

gboolean canary_store_set_section(struct canary_store *store, const char *ref,
				  const char *section, GError **error)
{
	return set_column(store, STMT_SET_SECTION, ref, section, "moving a case", error);
}

gboolean canary_store_delete_case(struct canary_store *store, const char *ref, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_DELETE_CASE, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, ref);
	return update_case(store, s, ref, "deleting a case", error);
}

gboolean canary_store_vacuum(struct canary_store *store, GError **error)
{
	/* Its temporary copy of the database on disk, not in memory. */
	gboolean vacuumed = exec(store, "PRAGMA temp_store = FILE; VACUUM", "vacuuming", error);
	if (!exec(store, "PRAGMA temp_store = MEMORY", "vacuuming", vacuumed ? error : NULL) ||
	    !vacuumed)
		return FALSE;
	/* The WAL still holds the old pages until it is checkpointed and cut. */
	return canary_store_checkpoint(store, error);
}

void canary_store_count_free(struct canary_store_count *count)
{
	if (count == NULL)
		return;
	g_free(count->section);
	g_free(count->status);
	g_free(count);
}

/* Binds the parameters of IN_SCOPE that S has to SCOPE (NULL: every case). */
static void bind_scope(sqlite3_stmt *s, const struct canary_store_scope *scope)
{
	gboolean all = scope == NULL || scope->all;
	int i = sqlite3_bind_parameter_index(s, ":all");
	if (i > 0)
		sqlite3_bind_int(s, i, all);
	i = sqlite3_bind_parameter_index(s, ":quarantined");
	if (i > 0)
		sqlite3_bind_int(s, i, !all && scope->quarantined);
	i = sqlite3_bind_parameter_index(s, ":sections");
	if (i <= 0)
		return;
	g_autoptr(JsonArray) sections = json_array_new();
	for (gsize n = 0; !all && scope->sections != NULL && scope->sections[n] != NULL; n++)
		json_array_add_string_element(sections, scope->sections[n]);
	g_autoptr(JsonNode) node = json_node_init_array(json_node_alloc(), sections);
	char *text = json_to_string(node, FALSE);
	sqlite3_bind_text(s, i, text, -1, g_free);
}

/* Binds :since and :until of S when it has them. */
static void bind_period(sqlite3_stmt *s, gint64 since, gint64 until)
{
	int i = sqlite3_bind_parameter_index(s, ":since");
	if (i > 0)
		sqlite3_bind_int64(s, i, since);
	i = sqlite3_bind_parameter_index(s, ":until");
	if (i > 0)
		sqlite3_bind_int64(s, i, until);
}

GPtrArray *canary_store_count_open(struct canary_store *store,
				   const struct canary_store_scope *scope, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_COUNT_OPEN, error);
	if (s == NULL)
		return NULL;
	bind_scope(s, scope);
	GPtrArray *counts = g_ptr_array_new_with_free_func((GDestroyNotify)canary_store_count_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_store_count *c = g_new0(struct canary_store_count, 1);
		c->section = column_strdup(s, 0);
		c->status = column_strdup(s, 1);
		c->count = sqlite3_column_int64(s, 2);
		g_ptr_array_add(counts, c);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "counting open cases", error);
		g_ptr_array_unref(counts);
		return NULL;
	}
	return counts;
}

gboolean canary_store_oldest_open(struct canary_store *store,
				  const struct canary_store_scope *scope, char **ref_r,
				  gint64 *received_r, GError **error)
{
	*ref_r = NULL;
	*received_r = 0;
	sqlite3_stmt *s = stmt(store, STMT_OLDEST_OPEN, error);
	if (s == NULL)
		return FALSE;
	bind_scope(s, scope);
	struct int_text row = {0};
	if (step_one(store, s, "finding the oldest open case", read_int_text, &row, error) == 0)
		return FALSE;
	*received_r = row.value;
	*ref_r = row.text;
	return TRUE;
}

GArray *canary_store_count_weeks(struct canary_store *store, const struct canary_store_scope *scope,
				 gint64 since, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_COUNT_WEEKS, error);
	if (s == NULL)
		return NULL;
	bind_scope(s, scope);
	bind_period(s, since, 0);
	GArray *weeks = g_array_new(FALSE, FALSE, sizeof(gint64));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		gint64 pair[2] = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1)};
		g_array_append_vals(weeks, pair, 2);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "counting cases per week", error);
		g_array_unref(weeks);
		return NULL;
	}
	return weeks;
}

/* --- The annual report's figures ---------------------------------------- */

/* Cases store the day received (00:00 UTC): periods are whole days. */
#define IN_PERIOD "received_day >= :since AND received_day < :until"

/* The events an officer records when working a case (case.c's assign,
 * status and move); reading a case is not acting on it. */
#define OFFICER_ACTION                                                                             \
	"(e.action GLOB 'assigned to *' OR e.action GLOB 'status *' OR "                           \
	"e.action GLOB 'moved to section *')"

/* One query per breakdown, in the order of enum canary_store_breakdown. By
 * name, never by count: the order of two masked counts would tell which is
 * larger. */
static const char *const breakdown_sql[] = {
	[CANARY_STORE_BY_MONTH] =
		"SELECT strftime('%Y-%m', received_day, 'unixepoch') AS month, count(*) "
		"FROM cases WHERE " IN_PERIOD " AND " IN_SCOPE " GROUP BY month",
	[CANARY_STORE_BY_SECTION] = "SELECT section, count(*) FROM cases WHERE " IN_PERIOD
				    " AND " IN_SCOPE " GROUP BY section ORDER BY section",
	[CANARY_STORE_BY_RULE] = "SELECT rule, count(*) FROM cases WHERE " IN_PERIOD
				 " AND " IN_SCOPE " GROUP BY rule ORDER BY rule",
	[CANARY_STORE_BY_STATUS] = "SELECT status, count(*) FROM cases WHERE " IN_PERIOD
				   " AND " IN_SCOPE " GROUP BY status",
	[CANARY_STORE_BY_QUARANTINE_REASON] =
		"SELECT coalesce(quarantine_reason, 'unknown'), count(*) FROM cases "
		"WHERE " IN_PERIOD " AND " IN_SCOPE " AND status = 'quarantined' "
		"GROUP BY 1 ORDER BY 1",
};

/* A purged case leaves its history only; its filing event ('filed' with
 * the section, or 'quarantined', written by ingest) dates it and, for a
 * caller who sees some sections only, places it. */
static const char *const purged_sql =
	"SELECT count(DISTINCT e.ref) FROM events e "
	"WHERE e.action IN ('filed', 'quarantined') AND e.at >= :since AND e.at < :until "
	"AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.ref = e.ref) "
	"AND (:all OR (e.action = 'filed' AND e.detail IN "
	"(SELECT value FROM json_each(:sections))) OR (e.action = 'quarantined' AND :quarantined))";

/* A delay counts from the start of the day received: the exact time of
 * arrival is sealed. Nearest rank: the P-th percentile of N sorted delays
 * is the one at rank ceil(P * N / 100); (n + 1) / 2 and (9 * n + 9) / 10
 * are those ceilings. */
static const char *const first_action_sql =
	"WITH firsts AS (SELECT c.received_day AS received, "
	"  (SELECT min(e.at) FROM events e WHERE e.ref = c.ref AND " OFFICER_ACTION ") AS first "
	"  FROM cases c WHERE " IN_PERIOD " AND " IN_SCOPE " AND c.status != 'quarantined'), "
	"delays AS (SELECT max(first - received, 0) AS delay FROM firsts WHERE first IS NOT NULL), "
	"ranked AS (SELECT delay, row_number() OVER (ORDER BY delay) AS rank, "
	"  count(*) OVER () AS n FROM delays) "
	"SELECT (SELECT count(*) FROM delays), "
	"  (SELECT count(*) FROM firsts WHERE first IS NULL), "
	"  (SELECT delay FROM ranked WHERE rank = (n + 1) / 2), "
	"  (SELECT delay FROM ranked WHERE rank = (9 * n + 9) / 10)";

gboolean canary_store_begin_read(struct canary_store *store, GError **error)
{
	return exec(store, "BEGIN", "starting a read transaction", error);
}

/* Prepares SQL (not cached: the report runs each once) with SCOPE and the
 * period bound. */
static sqlite3_stmt *prepare_counting(struct canary_store *store, const char *sql,
				      const struct canary_store_scope *scope, gint64 since,
				      gint64 until, GError **error)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(store->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		set_db_error(store, rc, "preparing a report query", error);
		return NULL;
	}
	bind_scope(s, scope);
	bind_period(s, since, until);
	return s;
}

void canary_store_tally_free(struct canary_store_tally *tally)
{
	if (tally == NULL)
		return;
	g_free(tally->name);
	g_free(tally);
}

GPtrArray *canary_store_tally_cases(struct canary_store *store,
				    const struct canary_store_scope *scope,
				    enum canary_store_breakdown by, gint64 since, gint64 until,
				    GError **error)
{
	g_return_val_if_fail((guint)by < G_N_ELEMENTS(breakdown_sql), NULL);
	sqlite3_stmt *s = prepare_counting(store, breakdown_sql[by], scope, since, until, error);
	if (s == NULL)
		return NULL;
	GPtrArray *tallies =
		g_ptr_array_new_with_free_func((GDestroyNotify)canary_store_tally_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_store_tally *t = g_new0(struct canary_store_tally, 1);
		t->name = column_strdup(s, 0);
		if (t->name == NULL)
			t->name = g_strdup("");
		t->count = sqlite3_column_int64(s, 1);
		g_ptr_array_add(tallies, t);
	}
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "counting cases for the report", error);
		g_clear_pointer(&tallies, g_ptr_array_unref);
	}
	sqlite3_finalize(s);
	return tallies;
}

/* Runs SQL, which returns one row of N integers (NULL read as -1). */
static gboolean count_row(struct canary_store *store, const char *sql,
			  const struct canary_store_scope *scope, gint64 since, gint64 until,
			  gint64 *values, int n, const char *doing, GError **error)
{
	sqlite3_stmt *s = prepare_counting(store, sql, scope, since, until, error);
	if (s == NULL)
		return FALSE;
	int rc = sqlite3_step(s);
	for (int i = 0; rc == SQLITE_ROW && i < n; i++)
		values[i] =
			sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
	if (rc != SQLITE_ROW)
		set_db_error(store, rc, doing, error);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW;
}

gboolean canary_store_count_purged(struct canary_store *store,
				   const struct canary_store_scope *scope, gint64 since,
				   gint64 until, gint64 *count_r, GError **error)
{
	return count_row(store, purged_sql, scope, since, until, count_r, 1,
			 "counting purged cases", error);
}

gboolean canary_store_first_actions(struct canary_store *store,
				    const struct canary_store_scope *scope, gint64 since,
				    gint64 until, gint64 values_r[4], GError **error)
{
	return count_row(store, first_action_sql, scope, since, until, values_r, 4,
			 "measuring the time to first action", error);
}

void canary_store_expired_free(struct canary_store_expired *expired)
{
	if (expired == NULL)
		return;
	g_free(expired->ref);
	g_free(expired->section);
	g_free(expired->status);
	g_free(expired);
}

/* The shortest period POLICY keeps closed cases, 0 if it keeps them all
 * forever. */
static guint64 shortest_closed(const struct canary_store_retention *policy)
{
	guint64 shortest = policy->closed;
	for (guint i = 0; i < policy->n_sections; i++) {
		guint64 keep = policy->section_closed[i];
		if (keep > 0 && (shortest == 0 || keep < shortest))
			shortest = keep;
	}
	return shortest;
}

/* The expiry query for N_SECTIONS sections with periods of their own: they
 * come in as a VALUES table (a dummy first row, so it is never empty),
 * bound from ?5 on. Built per call: it runs once a day. */
static char *expired_sql(guint n_sections)
{
	GString *sql = g_string_new("WITH rules (section, keep) AS (VALUES (NULL, NULL)");
	for (guint i = 0; i < n_sections; i++)
		g_string_append_printf(sql, ", (?%u, ?%u)", 5 + 2 * i, 6 + 2 * i);
	g_string_append(
		sql,
		/* Only the day of receipt is known: a period counted from
		 * receipt ends a day later (never too early); SINCE shows
		 * the day. */
		"), due AS (SELECT c.ref, c.section, c.status, c.received_day, "
		"CASE c.status WHEN 'quarantined' THEN NULL ELSE "
		"(SELECT max(e.at) FROM events e WHERE e.ref = c.ref AND e.action = "
		"'" CANARY_ACTION_CLOSED "') END AS closed_at, "
		"CASE c.status WHEN 'quarantined' THEN ?2 ELSE coalesce("
		"(SELECT r.keep FROM rules r WHERE r.section = c.section), ?1) END AS keep, "
		"c.status = 'closed' AND EXISTS (SELECT 1 FROM rules r WHERE r.section = c.section) "
		"AS own FROM cases c "
		/* A period starts at receipt or later: only cases received before
		 * now minus the shortest period can be due (the status index). */
		"WHERE (?4 > 0 AND c.status = 'closed' AND c.received_day < ?3 - ?4) "
		"OR (?2 > 0 AND c.status = 'quarantined' AND c.received_day < ?3 - ?2)) "
		"SELECT ref, section, status, received_day, coalesce(closed_at, received_day) "
		"AS since, keep, own FROM due WHERE keep > 0 AND "
		"coalesce(closed_at, received_day + 86400) < ?3 - keep ORDER BY since, ref");
	return g_string_free(sql, FALSE);
}

GPtrArray *canary_store_list_expired(struct canary_store *store,
				     const struct canary_store_retention *policy, gint64 now,
				     GError **error)
{
	g_autofree char *sql = expired_sql(policy->n_sections);
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(store->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK) {
		set_db_error(store, rc, "preparing the retention query", error);
		return NULL;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)policy->closed);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)policy->quarantined);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)shortest_closed(policy));
	for (guint i = 0; i < policy->n_sections; i++) {
		bind_text(s, 5 + 2 * (int)i, policy->sections[i]);
		sqlite3_bind_int64(s, 6 + 2 * (int)i, (sqlite3_int64)policy->section_closed[i]);
	}
	GPtrArray *due = g_ptr_array_new_with_free_func((GDestroyNotify)canary_store_expired_free);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_store_expired *e = g_new0(struct canary_store_expired, 1);
		e->ref = column_strdup(s, 0);
		e->section = column_strdup(s, 1);
		e->status = column_strdup(s, 2);
		e->received_day = sqlite3_column_int64(s, 3);
		e->since = sqlite3_column_int64(s, 4);
		e->keep = (guint64)sqlite3_column_int64(s, 5);
		e->section_rule = sqlite3_column_int(s, 6) != 0;
		g_ptr_array_add(due, e);
	}
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "finding the cases due for deletion", error);
		g_clear_pointer(&due, g_ptr_array_unref);
	}
	sqlite3_finalize(s);
	return due;
}

gboolean canary_store_count_status(struct canary_store *store, const char *status, gint64 before,
				   gint64 *count_r, gint64 *oldest_r, GError **error)
{
	*count_r = 0;
	*oldest_r = 0;
	sqlite3_stmt *s = stmt(store, STMT_COUNT_STATUS, error);
	if (s == NULL)
		return FALSE;
	bind_text(s, 1, status);
	sqlite3_bind_int64(s, 2, before);
	gint64 row[2] = {0, 0};
	if (step_one(store, s, "counting cases", read_two_ints, row, error) == 0)
		return FALSE;
	*count_r = row[0];
	*oldest_r = row[1];
	return TRUE;
}

gboolean canary_store_size(struct canary_store *store, gint64 *bytes_r, gint64 *max_bytes_r,
			   GError **error)
{
	gint64 pages = 0, max_pages = 0, page_size = 0;
	if (!pragma_int_doing(store, "PRAGMA page_count", "measuring", &pages, error) ||
	    !pragma_int_doing(store, "PRAGMA max_page_count", "measuring", &max_pages, error) ||
	    !pragma_int_doing(store, "PRAGMA page_size", "measuring", &page_size, error))
		return FALSE;
	*bytes_r = pages * page_size;
	*max_bytes_r = max_pages * page_size;
	return TRUE;
}

/* --- Backup ---------------------------------------------------------------
 * Self-contained: what it includes is here, not at the top of the file. */
#include <stdio.h>  /* renameat2(), RENAME_NOREPLACE */
#include <stdlib.h> /* realpath() */

/* Pages per sqlite3_backup_step(): 16 MiB of 64 KiB pages. */
#define BACKUP_STEP_PAGES 256

/* PATH with its directory resolved (symbolic links, "..") and its name as
 * given, or NULL with ERROR when the directory is missing. New string. */
static char *backup_real_path(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *name = g_path_get_basename(path);
	char *real = realpath(dir, NULL);
	if (real == NULL) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
			    "%s: %s: the backup's directory must exist", dir, g_strerror(errno));
		return NULL;
	}
	char *joined = g_build_filename(real, name, NULL);
	free(real);
	return joined;
}

/* TRUE when TARGET (resolved) names the database at DB_PATH or one of its
 * -wal, -shm, -journal files: by name, since they may not exist yet, or by
 * inode, for a hard link. */
static gboolean backup_is_store_file(const char *db_path, const char *target)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	g_autofree char *db = backup_real_path(db_path, NULL);
	struct stat t, d;
	gboolean exists = stat(target, &t) == 0;
	for (gsize i = 0; db != NULL && i < G_N_ELEMENTS(suffixes); i++) {
		g_autofree char *file = g_strconcat(db, suffixes[i], NULL);
		if (strcmp(file, target) == 0)
			return TRUE;
		if (exists && stat(file, &d) == 0 && d.st_dev == t.st_dev && d.st_ino == t.st_ino)
			return TRUE;
	}
	return FALSE;
}

/* Sets ERROR from the backup connection DEST (NULL: from RC alone). */
static void backup_db_error(sqlite3 *dest, int rc, const char *target, const char *doing,
			    GError **error)
{
	g_set_error(error, CANARY_STORE_ERROR, error_code_for(rc), "%s: %s: %s", target, doing,
		    dest != NULL ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
}

/* Runs SQL on the copy and compares its one text answer with EXPECTED. */
static gboolean backup_expect(sqlite3 *dest, const char *sql, const char *expected,
			      const char *target, const char *doing, GError **error)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(dest, sql, -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		backup_db_error(dest, rc, target, doing, error);
		sqlite3_finalize(s);
		return FALSE;
	}
	const char *answer = (const char *)sqlite3_column_text(s, 0);
	gboolean ok = answer != NULL && g_ascii_strcasecmp(answer, expected) == 0;
	if (!ok)
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_CORRUPT,
			    "%s: %s: SQLite answered \"%s\"; the database may be damaged: run "
			    "PRAGMA integrity_check on it",
			    target, doing, answer != NULL ? answer : "");
	sqlite3_finalize(s);
	return ok;
}

/* Copies every page of STORE into DEST, in steps. The caller holds the read
 * transaction that makes the steps one snapshot. */
static gboolean backup_pages(struct canary_store *store, sqlite3 *dest, const char *target,
			     GError **error)
{
	sqlite3_backup *b = sqlite3_backup_init(dest, "main", store->db, "main");
	if (b == NULL) {
		backup_db_error(dest, sqlite3_errcode(dest), target, "starting the backup", error);
		return FALSE;
	}
	int rc;
	do
		rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
	while (rc == SQLITE_OK);
	int finished = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || finished != SQLITE_OK) {
		/* A failed read of the source is reported on DEST too. */
		backup_db_error(dest, rc != SQLITE_DONE ? rc : finished, target,
				"copying the database", error);
		return FALSE;
	}
	return TRUE;
}

/* Fills the empty database file TMP with a snapshot of STORE and checks it. */
static gboolean backup_copy(struct canary_store *store, const char *tmp, const char *target,
			    GError **error)
{
	sqlite3 *dest = NULL;
	int rc = sqlite3_open_v2(tmp, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		backup_db_error(dest, rc, target, "creating the backup", error);
		sqlite3_close_v2(dest);
		return FALSE;
	}
	sqlite3_extended_result_codes(dest, 1);
	/* One read transaction for all the steps. Without it each step reads
	 * the latest commit, and SQLite restarts a backup whose source another
	 * process changed between two steps: with canaryd filing a backlog it
	 * might never end. In WAL mode a reader holds up no writer; only the
	 * checkpoint waits for it (the -wal grows meanwhile). */
	gboolean ok = exec(store, "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema",
			   "starting a read transaction for the backup", error) &&
		      backup_pages(store, dest, target, error);
	if (!sqlite3_get_autocommit(store->db))
		exec(store, "COMMIT", "ending the backup's read transaction", NULL);
	/* The copy keeps the WAL flag of the database it came from: a rollback
	 * journal makes it one file, with no -wal, wherever it is copied. */
	ok = ok &&
	     backup_expect(dest, "PRAGMA journal_mode = DELETE", "delete", target,
			   "switching the copy to a rollback journal", error) &&
	     backup_expect(dest, "PRAGMA quick_check", "ok", target, "checking the copy", error);
	rc = sqlite3_close(dest);
	if (ok && rc != SQLITE_OK) {
		backup_db_error(NULL, rc, target, "closing the copy", error);
		ok = FALSE;
	}
	return ok;
}

/* The error for a TARGET that exists and may not be replaced. */
static void backup_exists_error(const char *target, GError **error)
{
	g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
		    "%s: exists; give the backup a new name (an existing file is replaced only "
		    "when asked to)",
		    target);
}

/* Moves TMP to TARGET; unless REPLACE, refuses an existing TARGET without
 * a moment when either could be lost. */
static gboolean backup_rename(const char *tmp, const char *target, gboolean replace, GError **error)
{
	int rc = replace ? rename(tmp, target)
			 : renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_NOREPLACE);
	if (rc != 0 && !replace && (errno == EINVAL || errno == ENOSYS)) {
		/* No RENAME_NOREPLACE on this file system: link() refuses an
		 * existing name as well. */
		rc = link(tmp, target);
		if (rc == 0)
			unlink(tmp);
	}
	if (rc == 0)
		return TRUE;
	if (errno == EEXIST)
		backup_exists_error(target, error);
	else
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_IO,
			    "%s: cannot put the backup in place: %s", target, g_strerror(errno));
	return FALSE;
}

/* fsync()s the file FD, or the directory DIR (where the new name is)
 * when FD is -1. */
static gboolean backup_sync(int fd, const char *dir, const char *target, GError **error)
{
	int dir_fd = fd < 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int rc = fd >= 0 || dir_fd >= 0 ? fsync(fd >= 0 ? fd : dir_fd) : -1;
	int saved = errno;
	if (dir_fd >= 0)
		close(dir_fd);
	if (rc != 0) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_IO,
			    "%s: cannot write the backup to disk (fsync): %s", target,
			    g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* Removes TMP and whatever SQLite may have left beside it. */
static void backup_remove_temporary(const char *tmp)
{
	static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		g_autofree char *file = g_strconcat(tmp, suffixes[i], NULL);
		unlink(file);
	}
}

gboolean canary_store_backup(struct canary_store *store, const char *path, gboolean replace,
			     gint64 *bytes_r, GError **error)
{
	if (!sqlite3_get_autocommit(store->db)) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
			    "%s: a backup cannot start inside a transaction", store->path);
		return FALSE;
	}
	g_autofree char *target = backup_real_path(path, error);
	if (target == NULL)
		return FALSE;
	if (backup_is_store_file(store->path, target)) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_FAILED,
			    "%s: is the database itself or one of its files; give the backup "
			    "another name",
			    path);
		return FALSE;
	}
	struct stat st;
	if (!replace && lstat(target, &st) == 0) {
		backup_exists_error(target, error);
		return FALSE;
	}
	g_autofree char *dir = g_path_get_dirname(target);
	g_autofree char *name = g_path_get_basename(target);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, name);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_OPEN,
			    "%s: cannot create the backup there: %s", dir, g_strerror(errno));
		return FALSE;
	}
	// Order is important: checked and on disk before it takes the name.
	gboolean ok =
		backup_copy(store, tmp, target, error) && backup_sync(fd, NULL, target, error) &&
		backup_rename(tmp, target, replace, error) && backup_sync(-1, dir, target, error);
	if (ok && bytes_r != NULL)
		*bytes_r = fstat(fd, &st) == 0 ? (gint64)st.st_size : 0;
	close(fd);
	if (!ok)
		backup_remove_temporary(tmp);
	return ok;
}

/* --- Conversations: the messages of a case ------------------------------- */

gboolean canary_store_insert_message(struct canary_store *store,
				     const struct canary_message_new *m, guint *number_r,
				     GError **error)
{
	g_return_val_if_fail(g_strcmp0(m->direction, CANARY_DIRECTION_IN) == 0 ||
				     g_strcmp0(m->direction, CANARY_DIRECTION_OUT) == 0,
			     FALSE);
	sqlite3_stmt *s = stmt(store, STMT_NEXT_MESSAGE, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, m->case_id);
	gint64 number = 0;
	gboolean found = FALSE;
	if (!query_int(store, s, "numbering a message", &number, &found, error))
		return FALSE;
	if (!found) {
		g_set_error(error, CANARY_STORE_ERROR, CANARY_STORE_ERROR_NOT_FOUND,
			    "no such case (id %" G_GINT64_FORMAT ")", m->case_id);
		return FALSE;
	}
	s = stmt(store, STMT_INSERT_MESSAGE, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, m->case_id);
	sqlite3_bind_int64(s, 2, number);
	bind_text(s, 3, m->direction);
	sqlite3_bind_int64(s, 4, canary_store_day(m->received_at));
	sqlite3_bind_int(s, 5, (int)canary_store_size_class(m->size));
	sqlite3_bind_int64(s, 6, m->attachments);
	if (m->content_hash != NULL)
		sqlite3_bind_blob(s, 7, m->content_hash, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 7);
	if (!step_done(store, s, "storing a message", error))
		return FALSE;
	s = stmt(store, STMT_COUNT_MESSAGE, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, m->case_id);
	sqlite3_bind_int64(s, 2, number);
	if (!step_done(store, s, "counting a message", error))
		return FALSE;
	if (m->mailbox != NULL &&
	    !insert_source(store, m->case_id, m->mailbox, m->uidvalidity, m->uid, error))
		return FALSE;
	*number_r = (guint)number;
	return TRUE;
}

gboolean canary_store_add_message_id(struct canary_store *store, gint64 case_id,
				     const guint8 hash[32], GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_ADD_MESSAGE_ID, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, case_id);
	return step_done(store, s, "recording a message's keyed Message-ID", error);
}

gboolean canary_store_find_message_id(struct canary_store *store, const guint8 hash[32],
				      gint64 *case_id_r, char **ref_r, GError **error)
{
	*case_id_r = 0;
	*ref_r = NULL;
	sqlite3_stmt *s = stmt(store, STMT_FIND_MESSAGE_ID, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	struct int_text row = {0};
	if (step_one(store, s, "looking up a keyed Message-ID", read_int_text, &row, error) == 0)
		return FALSE;
	*case_id_r = row.value;
	*ref_r = row.text;
	return TRUE;
}

/* --- Drafts: replies waiting for the custodian --------------------------- */

void canary_draft_free(struct canary_draft *d)
{
	if (d == NULL)
		return;
	g_free(d->ref);
	g_free(d->drafted_by);
	g_free(d);
}

gboolean canary_store_next_draft(struct canary_store *store, gint64 case_id, guint *number_r,
				 GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_NEXT_DRAFT, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	gint64 number = 1;
	if (!query_int(store, s, "numbering a draft", &number, NULL, error))
		return FALSE;
	*number_r = (guint)number;
	return TRUE;
}

gboolean canary_store_add_draft(struct canary_store *store, gint64 case_id, guint number,
				const char *drafted_by, gint64 at, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_ADD_DRAFT, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	sqlite3_bind_int64(s, 2, number);
	bind_text(s, 3, drafted_by);
	sqlite3_bind_int64(s, 4, canary_store_day(at));
	return step_done(store, s, "storing a draft", error);
}

GPtrArray *canary_store_list_drafts(struct canary_store *store, gint64 case_id, guint number,
				    gboolean unsent_only, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LIST_DRAFTS, error);
	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, case_id);
	sqlite3_bind_int64(s, 2, number);
	sqlite3_bind_int(s, 3, unsent_only ? 1 : 0);
	GPtrArray *drafts = g_ptr_array_new_with_free_func((GDestroyNotify)canary_draft_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_draft *d = g_new0(struct canary_draft, 1);
		d->case_id = sqlite3_column_int64(s, 0);
		d->ref = column_strdup(s, 1);
		d->number = (guint)sqlite3_column_int64(s, 2);
		d->drafted_by = column_strdup(s, 3);
		d->drafted_day = sqlite3_column_int64(s, 4);
		d->sent_as = sqlite3_column_type(s, 5) == SQLITE_NULL
				     ? CANARY_DRAFT_WAITING
				     : sqlite3_column_int64(s, 5);
		g_ptr_array_add(drafts, d);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "listing drafts", error);
		g_ptr_array_unref(drafts);
		return NULL;
	}
	return drafts;
}

gboolean canary_store_set_draft_sent(struct canary_store *store, gint64 case_id, guint number,
				     gint64 sent_as, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_SET_DRAFT_SENT, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	sqlite3_bind_int64(s, 2, number);
	if (sent_as == CANARY_DRAFT_WAITING)
		sqlite3_bind_null(s, 3);
	else
		sqlite3_bind_int64(s, 3, sent_as);
	return step_done(store, s, "marking a draft", error);
}

gboolean canary_store_latest_received(struct canary_store *store, gint64 case_id,
				      guint *number_r, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LATEST_RECEIVED, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	gint64 number = 1;
	if (!query_int(store, s, "finding the latest message received", &number, NULL, error))
		return FALSE;
	*number_r = (guint)number;
	return TRUE;
}

GPtrArray *canary_store_list_messages(struct canary_store *store, gint64 case_id, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_LIST_MESSAGES, error);
	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, case_id);
	g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(g_free);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct canary_message *m = g_new0(struct canary_message, 1);
		m->number = (guint)sqlite3_column_int64(s, 0);
		m->outgoing = g_strcmp0((const char *)sqlite3_column_text(s, 1),
					CANARY_DIRECTION_OUT) == 0;
		m->received_day = sqlite3_column_int64(s, 2);
		m->size_class = (guint)sqlite3_column_int(s, 3);
		m->attachments = (guint)sqlite3_column_int64(s, 4);
		g_ptr_array_add(messages, m);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_db_error(store, rc, "listing the messages of a case", error);
		return NULL;
	}
	return g_steal_pointer(&messages);
}

gboolean canary_store_set_seen(struct canary_store *store, gint64 case_id, const char *user,
			       guint messages, GError **error)
{
	sqlite3_stmt *s = stmt(store, STMT_SET_SEEN, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	bind_text(s, 2, user);
	sqlite3_bind_int64(s, 3, messages);
	return step_done(store, s, "recording what an officer has seen", error);
}

gboolean canary_store_get_seen(struct canary_store *store, gint64 case_id, const char *user,
			       guint *messages_r, GError **error)
{
	*messages_r = 0;
	sqlite3_stmt *s = stmt(store, STMT_GET_SEEN, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, case_id);
	bind_text(s, 2, user);
	gint64 messages = 0;
	if (!query_int(store, s, "reading what an officer has seen", &messages, NULL, error))
		return FALSE;
	*messages_r = (guint)messages;
	return TRUE;
}

/* --- notify: acknowledgements --------------------------------------------- */

gboolean canary_store_acknowledge_once(struct canary_store *store, const guint8 hash[32],
				       gint64 now, gboolean *first_r, GError **error)
{
	*first_r = FALSE;
	sqlite3_stmt *s = stmt(store, STMT_EXPIRE_ACKNOWLEDGED, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_int64(s, 1, now);
	if (!step_done(store, s, "forgetting day-old acknowledgements", error))
		return FALSE;
	s = stmt(store, STMT_ACKNOWLEDGE, error);
	if (s == NULL)
		return FALSE;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now + 86400);
	if (!step_done(store, s, "recording an acknowledgement", error))
		return FALSE;
	*first_r = sqlite3_changes(store->db) > 0;
	return TRUE;
}
