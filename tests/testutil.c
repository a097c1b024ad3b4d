/* testutil.c: shared helpers for the Check suites. */
#include "testutil.h"

#include "audit.h"
#include "control.h"
#include "process.h"
#include "seal.h"
#include "store.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_data_path(const char *relative)
{
	return g_build_filename(CANARY_TEST_DATA, relative, NULL);
}

GBytes *tu_data_bytes(const char *relative)
{
	g_autofree char *path = tu_data_path(relative);
	char *contents = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &contents, &len, &error))
		ck_abort_msg("test data %s: %s", relative, error->message);
	return g_bytes_new_take(contents, len);
}

static gint compare_paths(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *tu_data_messages(const char *dir)
{
	g_autofree char *path = tu_data_path(dir);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = g_dir_open(path, 0, &error);
	if (d == NULL)
		ck_abort_msg("test data %s: %s", dir, error->message);
	GPtrArray *messages = g_ptr_array_new_with_free_func(g_free);
	for (const char *name; (name = g_dir_read_name(d)) != NULL;)
		if (g_str_has_suffix(name, ".eml"))
			g_ptr_array_add(messages, g_build_filename(dir, name, NULL));
	g_ptr_array_sort(messages, compare_paths);
	return messages;
}

guint tu_copy_data_messages(const char *dir, const char *dest)
{
	ck_assert_int_eq(g_mkdir_with_parents(dest, 0700), 0);
	g_autoptr(GPtrArray) messages = tu_data_messages(dir);
	for (guint i = 0; i < messages->len; i++) {
		g_autoptr(GBytes) raw = tu_data_bytes(messages->pdata[i]);
		g_autofree char *name = g_path_get_basename(messages->pdata[i]);
		g_autofree char *to = g_build_filename(dest, name, NULL);
		ck_assert(g_file_set_contents(to, g_bytes_get_data(raw, NULL),
					      (gssize)g_bytes_get_size(raw), NULL));
	}
	return messages->len;
}

char *tu_only_case_ref(const char *list_json)
{
	g_autoptr(JsonNode) root = json_from_string(list_json, NULL);
	ck_assert_msg(root != NULL && JSON_NODE_HOLDS_ARRAY(root), "%s", list_json);
	JsonArray *cases = json_node_get_array(root);
	ck_assert_uint_eq(json_array_get_length(cases), 1);
	return g_strdup(
		json_object_get_string_member(json_array_get_object_element(cases, 0), "ref"));
}

JsonObject *tu_control_ask(const struct canary_config *config, struct canary_store *store,
			   const struct canary_caller *caller, const char *op, JsonObject *args)
{
	g_autoptr(JsonObject) request = json_object_new();
	json_object_set_int_member(request, "canary", CANARY_CONTROL_VERSION);
	json_object_set_string_member(request, "op", op);
	json_object_set_object_member(request, "args", args != NULL ? args : json_object_new());
	struct canary_control_context ctx = {.config = config, .store = store};
	return canary_control_handle(&ctx, caller, request);
}

JsonObject *tu_control_ok(JsonObject *response)
{
	ck_assert_ptr_nonnull(response);
	if (!json_object_get_boolean_member_with_default(response, "ok", FALSE)) {
		JsonObject *e = json_object_get_object_member(response, "error");
		ck_abort_msg("refused: %s", json_object_get_string_member(e, "message"));
	}
	return json_object_get_object_member(response, "result");
}

const char *tu_control_refused(JsonObject *response, const char **message_r)
{
	ck_assert(!json_object_get_boolean_member_with_default(response, "ok", TRUE));
	ck_assert(!json_object_has_member(response, "result"));
	JsonObject *e = json_object_get_object_member(response, "error");
	if (message_r != NULL)
		*message_r = json_object_get_string_member(e, "message");
	return json_object_get_string_member(e, "code");
}

guint tu_count_events(struct canary_store *store, const char *ref, const char *action,
		      const char *actor)
{
	g_autoptr(GPtrArray) events = canary_store_list_events(store, ref, NULL);
	ck_assert_ptr_nonnull(events);
	guint n = 0;
	for (guint i = 0; i < events->len; i++) {
		const struct canary_event *e = events->pdata[i];
		n += strcmp(e->action, action) == 0 &&
		     (actor == NULL || strcmp(e->actor, actor) == 0);
	}
	return n;
}

void tu_die_with_parent(pid_t parent)
{
	/* If the parent ended before the prctl(), we were reparented already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
}

char *tu_make_tempdir(void)
{
	g_autoptr(GError) error = NULL;
	char *dir = g_dir_make_tmp("canary-test-XXXXXX", &error);
	if (dir == NULL)
		ck_abort_msg("mkdtemp: %s", error->message);
	return dir;
}

void tu_rmtree(const char *path)
{
	if (path == NULL)
		return;
	const char *argv[] = { "rm", "-rf", "--", path, NULL };
	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
		     NULL, NULL);
}

char *tu_write_file(const char *dir, const char *name, const char *contents)
{
	char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;
	if (!g_file_set_contents(path, contents, -1, &error))
		ck_abort_msg("write %s: %s", path, error->message);
	return path;
}

int tu_run(const char *const *argv, const char *const *envp, char **out_r, char **err_r)
{
	g_auto(GStrv) env = g_get_environ();
	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(envp[i], "=", 2);
		env = g_environ_setenv(env, kv[0], kv[1] != NULL ? kv[1] : "", TRUE);
	}
	g_autoptr(GError) error = NULL;
	int status = 0;
	char *out = NULL, *err = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
			  &status, &error))
		ck_abort_msg("spawn %s: %s", argv[0], error->message);
	if (out_r != NULL)
		*out_r = out;
	else
		g_free(out);
	if (err_r != NULL)
		*err_r = err;
	else
		g_free(err);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

GPtrArray *tu_canary_argv(const char *tool, const char *config, const char *first,
			  va_list args)
{
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (gpointer)tool);
	if (first != NULL)
		g_ptr_array_add(argv, (gpointer)first);
	for (const char *a; (a = va_arg(args, const char *)) != NULL;)
		g_ptr_array_add(argv, (gpointer)a);
	g_ptr_array_add(argv, (gpointer) "-c");
	g_ptr_array_add(argv, (gpointer)config);
	g_ptr_array_add(argv, NULL);
	return argv;
}

int tu_run_canary(const char *config, char **out_r, char **err_r, const char *command, ...)
{
	va_list args;
	va_start(args, command);
	g_autoptr(GPtrArray) argv = tu_canary_argv(CANARY_TOOL_PATH, config, command, args);
	va_end(args);
	return tu_run((const char *const *)argv->pdata, NULL, out_r, err_r);
}

int tu_run_suite(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	srunner_run_all(runner, CK_ENV);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? 0 : 1;
}

GBytes *tu_read_file(const char *path)
{
	char *contents = NULL;
	gsize size = 0;
	if (!g_file_get_contents(path, &contents, &size, NULL))
		return g_bytes_new(NULL, 0);
	return g_bytes_new_take(contents, size);
}

GPtrArray *tu_read_files(const char *const *paths, gsize n)
{
	GPtrArray *files = g_ptr_array_new_full((guint)n, (GDestroyNotify)g_bytes_unref);
	for (gsize i = 0; i < n; i++)
		g_ptr_array_add(files, tu_read_file(paths[i]));
	return files;
}

guint tu_count_in_bytes(GBytes *haystack, const void *needle, gsize len)
{
	gsize size = 0;
	const char *contents = g_bytes_get_data(haystack, &size);
	guint count = 0;
	for (const char *p = contents; len > 0 && size > 0 && p + len <= contents + size;) {
		const char *hit = memmem(p, (size_t)(contents + size - p), needle, len);
		if (hit == NULL)
			break;
		count++;
		p = hit + 1;
	}
	return count;
}

guint tu_count_text_in_bytes(GBytes *haystack, const char *needle)
{
	guint hits = tu_count_in_bytes(haystack, needle, strlen(needle));
	static const char *const forms[] = {"UTF-16LE", "UTF-16BE"};
	for (gsize f = 0; f < G_N_ELEMENTS(forms); f++) {
		gsize len = 0;
		g_autofree char *wide = g_convert(needle, -1, forms[f], "UTF-8", NULL, &len, NULL);
		if (wide != NULL)
			hits += tu_count_in_bytes(haystack, wide, len);
	}
	return hits;
}

guint tu_count_in_file(const char *path, const void *needle, gsize len)
{
	g_autoptr(GBytes) contents = tu_read_file(path);
	return tu_count_in_bytes(contents, needle, len);
}

guint tu_count_text_in_file(const char *path, const char *needle)
{
	g_autoptr(GBytes) contents = tu_read_file(path);
	return tu_count_text_in_bytes(contents, needle);
}

/* How many lines of the file at PATH hold A and (unless NULL) B. */
static guint lines_with(const char *path, const char *a, const char *b)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = 0;
	for (gsize i = 0; lines[i] != NULL; i++)
		n += strstr(lines[i], a) != NULL && (b == NULL || strstr(lines[i], b) != NULL);
	return n;
}

gboolean tu_wait_for_lines(const char *path, guint count, const char *a, const char *b,
			   guint seconds)
{
	for (guint i = 0; i < seconds * 20; i++) {
		if (lines_with(path, a, b) >= count)
			return TRUE;
		g_usleep(50 * 1000);
	}
	return lines_with(path, a, b) >= count;
}

struct canary_secret_key *tu_load_secret(const char *dir, const char *name)
{
	g_autofree char *file = g_strconcat(name, ".key", NULL);
	g_autofree char *path = g_build_filename(dir, "keys", file, NULL);
	g_autoptr(GError) error = NULL;
	struct canary_secret_key *key =
		canary_key_load_secret(path, TU_PASSPHRASE, strlen(TU_PASSPHRASE), &error);
	ck_assert_msg(key != NULL, "%s: %s", path, error ? error->message : "?");
	return key;
}

char *tu_make_canary_home(const char *dir, gboolean with_triage, const char *extra_config)
{
	ck_assert(canary_seal_init(NULL));
	/* Cheap Argon2id limits: honoured by test builds only (see seal.c). */
	g_setenv("CANARY_TEST_FAST_KDF", "1", TRUE);
	g_autofree char *keys = g_build_filename(dir, "keys", NULL);
	g_mkdir_with_parents(keys, 0700);
	static const char *const names[] = { "custodian", "section", "triage", "other" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GError) error = NULL;
		if (!canary_key_generate(keys, names[i], TU_PASSPHRASE, strlen(TU_PASSPHRASE), FALSE,
					 &error))
			ck_abort_msg("keygen %s: %s", names[i], error->message);
	}
	g_autofree char *pseudonym = g_build_filename(keys, "pseudonym.key", NULL);
	g_autoptr(GError) error = NULL;
	if (!canary_key_generate_pseudonym(pseudonym, FALSE, &error))
		ck_abort_msg("pseudonym key: %s", error->message);
	g_autofree char *pass = tu_write_file(dir, "passphrase", TU_PASSPHRASE "\n");
	g_autofree char *config = g_strdup_printf(
		"[store]\ndatabase = state/canary.db\n"
		"[logging]\nlevel = info\n"
		"[keys]\ncustodian_public = keys/custodian.pub\n"
		"default_section_public = keys/section.pub\n"
		"pseudonym_key = keys/pseudonym.key\n"
		"%s%s",
		with_triage ? "triage_public = keys/triage.pub\n" : "",
		extra_config != NULL ? extra_config : "");
	return tu_write_file(dir, "canary.conf", config);
}

gint64 tu_query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	gint64 value = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return value;
}

void tu_pipeline_open(struct tu_pipeline *pipeline, const char *config_path)
{
	ck_assert(canary_process_init(NULL));
	g_autoptr(GError) error = NULL;
	pipeline->config = canary_config_load(config_path, &error);
	ck_assert_msg(pipeline->config != NULL, "%s", error ? error->message : "?");
	pipeline->store = canary_store_open(pipeline->config->store.database, &error);
	ck_assert_msg(pipeline->store != NULL, "%s", error ? error->message : "?");
	pipeline->ingest = canary_ingest_new(pipeline->config, pipeline->store, "test", &error);
	ck_assert_msg(pipeline->ingest != NULL, "%s", error ? error->message : "?");
}

char *tu_pipeline_file(struct tu_pipeline *pipeline, const char *raw)
{
	g_autoptr(GBytes) bytes = g_bytes_new(raw, strlen(raw));
	struct canary_ingest_source src = {0};
	struct canary_ingest_result result;
	g_autoptr(GError) error = NULL;
	ck_assert(canary_store_begin(pipeline->store, NULL));
	ck_assert_msg(canary_ingest_message(pipeline->ingest, bytes, &src, &result, &error), "%s",
		      error ? error->message : "?");
	ck_assert(canary_store_commit(pipeline->store, NULL));
	char *ref = g_strdup(result.ref);
	canary_ingest_result_clear(&result);
	return ref;
}

void tu_pipeline_close(struct tu_pipeline *pipeline)
{
	g_clear_pointer(&pipeline->ingest, canary_ingest_free);
	canary_store_close(&pipeline->store);
	g_clear_pointer(&pipeline->config, canary_config_free);
	canary_process_shutdown();
}

void tu_add_event_at(const char *db_path, const char *ref, gint64 at, const char *actor,
		     const char *action, const char *detail)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT id, hash FROM events ORDER BY id DESC "
					    "LIMIT 1",
					    -1, &s, NULL),
			 SQLITE_OK);
	struct canary_event e = {.id = 1,
				 .ref = (char *)ref,
				 .at = at,
				 .actor = (char *)actor,
				 .action = (char *)action,
				 .detail = (char *)detail};
	if (sqlite3_step(s) == SQLITE_ROW) {
		e.id = sqlite3_column_int64(s, 0) + 1;
		memcpy(e.prev_hash, sqlite3_column_blob(s, 1), 32);
	}
	sqlite3_finalize(s);
	canary_audit_event_hash(&e, e.hash);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "INSERT INTO events (id, ref, at, actor, action, "
					    "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, "
					    "?, ?, ?)",
					    -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_int64(s, 1, e.id);
	sqlite3_bind_text(s, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, at);
	sqlite3_bind_text(s, 4, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 7, e.prev_hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, e.hash, 32, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	sqlite3_close(db);
}
