/* check_access.c: who may do what, by Unix group ([access] in canary.conf,
 * [section NAME] group in routing.conf), through canary_control_handle()
 * as canaryd answers: callers are made here as the kernel would name them
 * (a uid that is neither root nor this process's, named groups), cases
 * are real rows of a real store. */
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "config.h"
#include "control.h"
#include "store.h"
#include "testutil.h"

#define T_2026 1779000000 /* 2026-05-17 */
#define DAY    86400

static char *home, *config_path;

/* One fixture for the whole suite: key files are slow to make. */
static const char routing_text[] =
	"[section africa]\ntitle = Africa\npublic_key = keys/section.pub\ngroup = canary-africa\n"
	"[section mena]\ntitle = MENA\npublic_key = keys/other.pub\ngroup = canary-mena\n"
	"[section triage]\ntitle = Triage\npublic_key = keys/triage.pub\n";

static const char access_text[] = "[access]\ntriage = canary-triage\n"
				  "custodian = canary-custodian\nadmin = canary-admin\n";

static void setup_home(void)
{
	home = tu_make_tempdir();
	g_autofree char *rules = tu_write_file(home, "routing.conf", routing_text);
	g_autofree char *extra =
		g_strdup_printf("[routing]\nrules = routing.conf\ndefault_section = triage\n"
				"[retention]\nclosed = 30d\n%s",
				access_text);
	config_path = tu_make_canary_home(home, TRUE, extra);
}

static void teardown_home(void)
{
	tu_rmtree(home);
	g_clear_pointer(&home, g_free);
	g_clear_pointer(&config_path, g_free);
}

/* Per test: a fresh database with one case of each kind. */
static struct canary_config *config;
static struct canary_store *store;
static struct canary_control_context ctx;
static char *africa_ref, *mena_ref, *triage_ref, *quarantined_ref, *closed_ref;

static char *add_case(const char *section, const char *status, guint n)
{
	guint8 hash[32] = {0};
	memcpy(hash, &n, sizeof(n));
	struct canary_case_new c = {
		.received_at = T_2026 + n,
		.section = section,
		.status = status,
		.rule = "default",
		.quarantine_reason =
			strcmp(status, CANARY_STATUS_QUARANTINED) == 0 ? "unparseable" : NULL,
		.size = 1000,
		.content_hash = hash,
	};
	gint64 id = 0;
	char *ref = NULL;
	g_autoptr(GError) error = NULL;
	ck_assert_msg(canary_store_insert_case(store, &c, &id, &ref, &error), "%s",
		      error ? error->message : "");
	gboolean quarantined = strcmp(status, CANARY_STATUS_QUARANTINED) == 0;
	ck_assert(canary_store_add_event_day(store, ref, "canaryd",
					     quarantined ? "quarantined" : "filed",
					     quarantined ? "unparseable" : section, NULL));
	return ref;
}

static void setup_store(void)
{
	g_autoptr(GError) error = NULL;
	config = canary_config_load(config_path, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	g_autofree char *db = g_build_filename(home, "state", "canary.db", NULL);
	unlink(db);
	store = canary_store_open(db, &error);
	ck_assert_msg(store != NULL, "%s", error ? error->message : "");
	ck_assert(canary_store_begin(store, NULL));
	africa_ref = add_case("africa", CANARY_STATUS_NEW, 1);
	mena_ref = add_case("mena", CANARY_STATUS_NEW, 2);
	triage_ref = add_case("triage", CANARY_STATUS_OPEN, 3);
	quarantined_ref = add_case("triage", CANARY_STATUS_QUARANTINED, 4);
	closed_ref = add_case("mena", CANARY_STATUS_CLOSED, 5);
	ck_assert(canary_store_commit(store, NULL));
	ctx = (struct canary_control_context){.config = config, .store = store};
}

static void teardown_store(void)
{
	canary_store_close(&store);
	g_clear_pointer(&config, canary_config_free);
	g_clear_pointer(&africa_ref, g_free);
	g_clear_pointer(&mena_ref, g_free);
	g_clear_pointer(&triage_ref, g_free);
	g_clear_pointer(&quarantined_ref, g_free);
	g_clear_pointer(&closed_ref, g_free);
}

/* A caller as the kernel would name one: UID, user NAME, in GROUPS
 * (NULL-terminated names). Made by hand: these groups need not exist. */
static struct canary_caller *caller_new(uid_t uid, const char *name, const char *const *groups)
{
	struct canary_caller *c = g_new0(struct canary_caller, 1);
	c->uid = uid;
	c->user = g_strdup(name);
	c->gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	c->groups = g_strdupv((char **)groups);
	return c;
}

#define OFFICER_UID 4242 /* neither root nor this process */

static struct canary_caller *officer(const char *name, const char *group)
{
	ck_assert_uint_ne(geteuid(), OFFICER_UID);
	const char *groups[] = {name, group, NULL};
	return caller_new(OFFICER_UID, name, groups);
}

/* Answers OP with ARGS (taken; may be NULL) for CALLER. Returns the result
 * (new) when ok; else NULL with the error's code and message in *CODE_R
 * and *MESSAGE_R (new). */
static JsonObject *ask(const struct canary_caller *caller, const char *op, JsonObject *args,
		       char **code_r, char **message_r)
{
	g_autoptr(JsonObject) response = tu_control_ask(ctx.config, ctx.store, caller, op, args);
	if (json_object_get_boolean_member(response, "ok"))
		return json_object_ref(json_object_get_object_member(response, "result"));
	JsonObject *error = json_object_get_object_member(response, "error");
	if (code_r != NULL)
		*code_r = g_strdup(json_object_get_string_member(error, "code"));
	if (message_r != NULL)
		*message_r = g_strdup(json_object_get_string_member(error, "message"));
	return NULL;
}

static JsonObject *ref_args(const char *ref)
{
	JsonObject *args = json_object_new();
	json_object_set_string_member(args, "ref", ref);
	return args;
}

/* Fails unless OP is answered for CALLER. Returns the result (new). */
static JsonObject *allowed(const struct canary_caller *caller, const char *op, JsonObject *args)
{
	g_autofree char *code = NULL, *message = NULL;
	JsonObject *result = ask(caller, op, args, &code, &message);
	ck_assert_msg(result != NULL, "%s refused to %s: %s: %s", op, caller->user, code, message);
	return result;
}

/* Fails unless OP is refused to CALLER as forbidden with a message that
 * holds EXPECT. */
static void refused(const struct canary_caller *caller, const char *op, JsonObject *args,
		    const char *expect)
{
	g_autofree char *code = NULL, *message = NULL;
	g_autoptr(JsonObject) result = ask(caller, op, args, &code, &message);
	ck_assert_msg(result == NULL, "%s answered to %s", op, caller->user);
	ck_assert_msg(strcmp(code, "forbidden") == 0, "%s: %s: %s", op, code, message);
	ck_assert_msg(strstr(message, expect) != NULL, "%s: \"%s\" lacks \"%s\"", op, message,
		      expect);
}

/* The refs of the cases in a stats answer's "open", summed per section. */
static gint64 open_count(JsonObject *stats, const char *section)
{
	JsonArray *open = json_object_get_array_member(stats, "open");
	gint64 n = 0;
	for (guint i = 0; i < json_array_get_length(open); i++) {
		JsonObject *o = json_array_get_object_element(open, i);
		if (strcmp(json_object_get_string_member(o, "section"), section) == 0)
			n += json_object_get_int_member(o, "count");
	}
	return n;
}

static JsonObject *report_args(void)
{
	JsonObject *args = json_object_new();
	json_object_set_int_member(args, "from", T_2026 / DAY * DAY - 30 * DAY);
	/* Up to tomorrow: filing events are dated today (purged cases count by them). */
	json_object_set_int_member(args, "until",
				   g_get_real_time() / G_USEC_PER_SEC / DAY * DAY + DAY);
	return args;
}

/* The names of the rows of breakdown NAME in a report answer, joined by
 * ",", and their total. */
static char *report_names(JsonObject *report, const char *name, gint64 *total_r)
{
	JsonArray *rows = json_object_get_array_member(report, name);
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	*total_r = 0;
	for (guint i = 0; i < json_array_get_length(rows); i++) {
		JsonObject *o = json_array_get_object_element(rows, i);
		g_ptr_array_add(names, (gpointer)json_object_get_string_member(o, "name"));
		*total_r += json_object_get_int_member(o, "cases");
	}
	g_ptr_array_add(names, NULL);
	return g_strjoinv(",", (char **)names->pdata);
}

/* The actors of REF's history, as superuser reads it, joined by ",". */
static char *actors(const char *ref)
{
	const char *none[] = {NULL};
	g_autoptr(canary_caller) root = caller_new(0, "root", none);
	g_autoptr(JsonObject) history = allowed(root, "history", ref_args(ref));
	JsonArray *events = json_object_get_array_member(history, "events");
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	for (guint i = 0; i < json_array_get_length(events); i++)
		g_ptr_array_add(names, (gpointer)json_object_get_string_member(
					       json_array_get_object_element(events, i), "actor"));
	g_ptr_array_add(names, NULL);
	return g_strjoinv(",", (char **)names->pdata);
}

/* --- Section officers ------------------------------------------------------ */

START_TEST(test_section_officer_sees_own_section_only)
{
	g_autoptr(canary_caller) amina = officer("amina", "canary-africa");
	g_autoptr(JsonObject) history = allowed(amina, "history", ref_args(africa_ref));
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(history, "events")),
			  1);
	/* The refusal names the case, its section and the groups that would do. */
	g_autofree char *expect = g_strdup_printf(
		"case %s is in section mena: needs group canary-mena (or triage group "
		"canary-triage)",
		mena_ref);
	refused(amina, "history", ref_args(mena_ref), expect);
	refused(amina, "history", ref_args(triage_ref),
		"is in section triage, which has no group in routing.conf: needs triage group "
		"canary-triage");
	refused(amina, "history", ref_args(quarantined_ref),
		"is quarantined: needs custodian group canary-custodian (or triage group "
		"canary-triage)");
	/* Assigning works on what one sees, and is recorded under one's name. */
	JsonObject *args = ref_args(africa_ref);
	json_object_set_string_member(args, "to", "bruno");
	g_autoptr(JsonObject) assigned = allowed(amina, "assign", args);
	ck_assert(!json_object_get_boolean_member(assigned, "unchanged"));
	g_autofree char *who = actors(africa_ref);
	ck_assert_str_eq(who, "canaryd,amina");
	JsonObject *mena_args = ref_args(mena_ref);
	json_object_set_string_member(mena_args, "to", "bruno");
	refused(amina, "assign", mena_args, "needs group canary-mena");
	g_autoptr(canary_case) untouched = canary_store_get_case(store, mena_ref, NULL);
	ck_assert_ptr_null(untouched->assignee);
	g_autofree char *mena_actors = actors(mena_ref);
	ck_assert_str_eq(mena_actors, "canaryd");
}
END_TEST

START_TEST(test_section_officer_counts_own_section_only)
{
	g_autoptr(canary_caller) amina = officer("amina", "canary-africa");
	g_autoptr(JsonObject) stats = allowed(amina, "stats", NULL);
	ck_assert_int_eq(open_count(stats, "africa"), 1);
	ck_assert_int_eq(open_count(stats, "mena"), 0);
	ck_assert_int_eq(open_count(stats, "triage"), 0);
	JsonObject *oldest = json_object_get_object_member(stats, "oldest");
	ck_assert_str_eq(json_object_get_string_member(oldest, "ref"), africa_ref);

	g_autoptr(JsonObject) report = allowed(amina, "report", report_args());
	ck_assert(!json_object_get_boolean_member(report, "all"));
	ck_assert_int_eq(json_object_get_int_member(report, "received"), 1);
	ck_assert_int_eq(json_object_get_int_member(report, "quarantined"), 0);
	gint64 total = 0;
	g_autofree char *sections = report_names(report, "sections", &total);
	ck_assert_str_eq(sections, "africa");
	ck_assert_int_eq(total, 1);
	g_autofree char *months = report_names(report, "months", &total);
	ck_assert_int_eq(total, 1);

	/* Two sections' officer: both. */
	const char *groups[] = {"nadia", "canary-africa", "canary-mena", NULL};
	g_autoptr(canary_caller) nadia = caller_new(OFFICER_UID + 1, "nadia", groups);
	g_autoptr(JsonObject) both = allowed(nadia, "report", report_args());
	g_autofree char *two = report_names(both, "sections", &total);
	ck_assert_str_eq(two, "africa,mena");
	ck_assert_int_eq(total, 3);
}
END_TEST

START_TEST(test_whoami_roles_and_sections)
{
	g_autoptr(canary_caller) amina = officer("amina", "canary-africa");
	g_autoptr(JsonObject) me = allowed(amina, "whoami", NULL);
	ck_assert_str_eq(json_object_get_string_member(me, "user"), "amina");
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(me, "roles")), 0);
	JsonArray *sections = json_object_get_array_member(me, "sections");
	ck_assert_uint_eq(json_array_get_length(sections), 1);
	ck_assert_str_eq(json_array_get_string_element(sections, 0), "africa");

	g_autoptr(canary_caller) tomas = officer("tomas", "canary-triage");
	g_autoptr(JsonObject) t = allowed(tomas, "whoami", NULL);
	JsonArray *roles = json_object_get_array_member(t, "roles");
	ck_assert_uint_eq(json_array_get_length(roles), 1);
	ck_assert_str_eq(json_array_get_string_element(roles, 0), "triage");
	ck_assert_uint_eq(json_array_get_length(json_object_get_array_member(t, "sections")), 3);

	const char *none[] = {NULL};
	g_autoptr(canary_caller) root = caller_new(0, "root", none);
	g_autoptr(JsonObject) r = allowed(root, "whoami", NULL);
	JsonArray *root_roles = json_object_get_array_member(r, "roles");
	ck_assert_str_eq(
		json_array_get_string_element(root_roles, json_array_get_length(root_roles) - 1),
		"superuser");
}
END_TEST

/* --- Roles ---------------------------------------------------------------- */

START_TEST(test_triage_sees_everything)
{
	g_autoptr(canary_caller) tomas = officer("tomas", "canary-triage");
	const char *refs[] = {africa_ref, mena_ref, triage_ref, quarantined_ref};
	for (gsize i = 0; i < G_N_ELEMENTS(refs); i++) {
		g_autoptr(JsonObject) h = allowed(tomas, "history", ref_args(refs[i]));
		(void)h;
	}
	g_autoptr(JsonObject) stats = allowed(tomas, "stats", NULL);
	ck_assert_int_eq(open_count(stats, "africa"), 1);
	ck_assert_int_eq(open_count(stats, "mena"), 1);
	ck_assert_int_eq(open_count(stats, "triage"), 1);
	g_autoptr(JsonObject) report = allowed(tomas, "report", report_args());
	ck_assert(json_object_get_boolean_member(report, "all"));
	ck_assert_int_eq(json_object_get_int_member(report, "received"), 5);
	ck_assert_int_eq(json_object_get_int_member(report, "quarantined"), 1);
	/* Not an admin. */
	refused(tomas, "purge", NULL, "needs admin group canary-admin ([access] admin");
	refused(tomas, "health", NULL, "needs admin group canary-admin");
}
END_TEST

START_TEST(test_user_in_no_group_is_refused_everything)
{
	const char *groups[] = {"mallory", "users", NULL};
	g_autoptr(canary_caller) mallory = caller_new(OFFICER_UID + 2, "mallory", groups);
	const char *refs[] = {africa_ref, mena_ref, triage_ref, quarantined_ref, closed_ref};
	for (gsize i = 0; i < G_N_ELEMENTS(refs); i++)
		refused(mallory, "history", ref_args(refs[i]), "needs ");
	JsonObject *args = ref_args(africa_ref);
	json_object_set_string_member(args, "to", "mallory");
	refused(mallory, "assign", args, "needs group canary-africa");
	refused(mallory, "stats", NULL, "mallory sees no cases");
	refused(mallory, "report", report_args(), "mallory sees no cases");
	refused(mallory, "purge", NULL, "needs admin group canary-admin");
	refused(mallory, "health", NULL, "needs admin group canary-admin");
	refused(mallory, "history", ref_args("database"), "needs admin group canary-admin");
	/* Groups come from the caller alone: an argument naming one is ignored. */
	JsonObject *sneaky = ref_args(africa_ref);
	json_object_set_string_member(sneaky, "group", "canary-africa");
	refused(mallory, "history", sneaky, "needs group canary-africa");
	g_autofree char *who = actors(africa_ref);
	ck_assert_str_eq(who, "canaryd");
}
END_TEST

START_TEST(test_custodian_handles_quarantined_cases)
{
	g_autoptr(canary_caller) carla = officer("carla", "canary-custodian");
	g_autoptr(JsonObject) h = allowed(carla, "history", ref_args(quarantined_ref));
	(void)h;
	refused(carla, "history", ref_args(africa_ref), "needs group canary-africa");
	g_autoptr(JsonObject) report = allowed(carla, "report", report_args());
	ck_assert(!json_object_get_boolean_member(report, "all"));
	ck_assert_int_eq(json_object_get_int_member(report, "received"), 1);
	ck_assert_int_eq(json_object_get_int_member(report, "quarantined"), 1);
	/* A section officer is not the custodian, even of their section's
	 * quarantined cases. */
	g_autoptr(canary_caller) tess = officer("tess", "canary-triage-section");
	refused(tess, "history", ref_args(quarantined_ref), "needs custodian group");
}
END_TEST

START_TEST(test_admin_ops)
{
	g_autoptr(canary_caller) ada = officer("ada", "canary-admin");
	g_autoptr(JsonObject) health = allowed(ada, "health", NULL);
	JsonArray *checks = json_object_get_array_member(health, "checks");
	ck_assert(json_array_get_length(checks) > 0);
	/* Groups this system lacks: a "config" warning, filing goes on. */
	if (getgrnam("canary-triage") == NULL) {
		JsonObject *config_check = NULL;
		for (guint i = 0; i < json_array_get_length(checks); i++) {
			JsonObject *c = json_array_get_object_element(checks, i);
			if (strcmp(json_object_get_string_member(c, "name"), "config") == 0)
				config_check = c;
		}
		ck_assert_ptr_nonnull(config_check);
		ck_assert_str_eq(json_object_get_string_member(config_check, "level"), "warning");
		ck_assert_ptr_nonnull(strstr(json_object_get_string_member(config_check, "message"),
					     "[access] triage = canary-triage: no such group"));
	}
	g_autoptr(JsonObject) stats = allowed(ada, "stats", NULL);
	ck_assert_int_eq(open_count(stats, "mena"), 1);
	g_autoptr(JsonObject) report = allowed(ada, "report", report_args());
	ck_assert(json_object_get_boolean_member(report, "all"));
	ck_assert_int_eq(json_object_get_int_member(report, "received"), 5);
	g_autoptr(JsonObject) db = allowed(ada, "history", ref_args("database"));
	(void)db;
	/* Counting all is not reading a case. */
	refused(ada, "history", ref_args(africa_ref), "needs group canary-africa");

	/* Purge: a dry run changes nothing; then the purge is the admin's. */
	JsonObject *args = json_object_new();
	json_object_set_int_member(args, "before", T_2026 / DAY * DAY + 2 * DAY);
	json_object_set_boolean_member(args, "dry_run", TRUE);
	g_autoptr(JsonObject) dry = allowed(ada, "purge", args);
	JsonArray *due = json_object_get_array_member(dry, "cases");
	ck_assert_uint_eq(json_array_get_length(due), 1);
	ck_assert_str_eq(
		json_object_get_string_member(json_array_get_object_element(due, 0), "ref"),
		closed_ref);
	g_autoptr(canary_case) still = canary_store_get_case(store, closed_ref, NULL);
	ck_assert_ptr_nonnull(still);
	JsonObject *go = json_object_new();
	json_object_set_int_member(go, "before", T_2026 / DAY * DAY + 2 * DAY);
	g_autoptr(JsonObject) purged = allowed(ada, "purge", go);
	ck_assert(json_object_get_boolean_member(purged, "purged"));
	ck_assert(!json_object_has_member(purged, "compact_error"));
	ck_assert_ptr_null(canary_store_get_case(store, closed_ref, NULL));
	g_autofree char *who = actors(closed_ref);
	ck_assert_str_eq(who, "canaryd,ada");
	/* A purged case's history: admins and triage, since its section is gone. */
	g_autoptr(JsonObject) gone = allowed(ada, "history", ref_args(closed_ref));
	(void)gone;
	g_autoptr(canary_caller) mo = officer("mo", "canary-mena");
	refused(mo, "history", ref_args(closed_ref), "was purged");
	/* And the report counts it as purged, for those who count all. */
	g_autoptr(JsonObject) after = allowed(ada, "report", report_args());
	ck_assert_int_eq(json_object_get_int_member(after, "purged"), 1);
	g_autoptr(JsonObject) mena_report = allowed(mo, "report", report_args());
	ck_assert_int_eq(json_object_get_int_member(mena_report, "purged"), 1);
	g_autoptr(canary_caller) amina = officer("amina", "canary-africa");
	g_autoptr(JsonObject) africa_report = allowed(amina, "report", report_args());
	ck_assert_int_eq(json_object_get_int_member(africa_report, "purged"), 0);
}
END_TEST

/* The pseudonym key readable by its group: a warning of health. */
START_TEST(test_health_warns_of_a_shared_pseudonym_key)
{
	ck_assert_int_eq(chmod(config->keys.pseudonym_key, 0640), 0);
	g_autoptr(canary_caller) ada = officer("ada", "canary-admin");
	g_autoptr(JsonObject) health = allowed(ada, "health", NULL);
	ck_assert_int_eq(chmod(config->keys.pseudonym_key, 0600), 0);
	JsonArray *checks = json_object_get_array_member(health, "checks");
	JsonObject *keys = NULL;
	for (guint i = 0; i < json_array_get_length(checks); i++) {
		JsonObject *c = json_array_get_object_element(checks, i);
		if (strcmp(json_object_get_string_member(c, "name"), "keys") == 0)
			keys = c;
	}
	ck_assert_ptr_nonnull(keys);
	ck_assert_str_eq(json_object_get_string_member(keys, "level"), "warning");
	ck_assert_ptr_nonnull(strstr(json_object_get_string_member(keys, "message"),
				     "is readable by its group or others (mode 0640)"));
}
END_TEST

START_TEST(test_superusers)
{
	/* Root, and the user of the answering process (canaryd's). */
	const char *none[] = {NULL};
	g_autoptr(canary_caller) root = caller_new(0, "root", none);
	g_autoptr(canary_caller) self = caller_new(geteuid(), "canary", none);
	const struct canary_caller *both[] = {root, self};
	for (gsize i = 0; i < G_N_ELEMENTS(both); i++) {
		g_autoptr(JsonObject) h = allowed(both[i], "history", ref_args(mena_ref));
		g_autoptr(JsonObject) s = allowed(both[i], "health", NULL);
		g_autoptr(JsonObject) r = allowed(both[i], "report", report_args());
		ck_assert(json_object_get_boolean_member(r, "all"));
	}
}
END_TEST

/* Without [access], only superusers hold a role, and refusals say so. */
START_TEST(test_roles_unset)
{
	g_autofree char *text = NULL;
	ck_assert(g_file_get_contents(config_path, &text, NULL, NULL));
	char *cut = strstr(text, "[access]");
	ck_assert_ptr_nonnull(cut);
	*cut = '\0';
	g_autofree char *path = tu_write_file(home, "no-access.conf", text);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) bare = canary_config_load(path, &error);
	ck_assert_msg(bare != NULL, "%s", error ? error->message : "");
	ctx.config = bare;
	g_autoptr(canary_caller) tomas = officer("tomas", "canary-triage");
	refused(tomas, "health", NULL,
		"needs the admin role, which only root and canaryd's user hold: canary.conf sets "
		"no "
		"[access] admin group");
	refused(tomas, "history", ref_args(triage_ref),
		"which has no group in routing.conf: only root and canaryd's user may");
	/* Section groups still work. */
	g_autoptr(canary_caller) amina = officer("amina", "canary-africa");
	g_autoptr(JsonObject) h = allowed(amina, "history", ref_args(africa_ref));
	refused(amina, "history", ref_args(mena_ref), "needs group canary-mena\0");
	ctx.config = config;
}
END_TEST

/* --- Arguments ------------------------------------------------------------ */

START_TEST(test_bad_arguments)
{
	g_autoptr(canary_caller) tomas = officer("tomas", "canary-triage");
	g_autofree char *long_name = g_strnfill(65, 'a');
	const char *const bad_names[] = {"", "two words", "tab\tname", long_name};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_names); i++) {
		JsonObject *args = ref_args(africa_ref);
		json_object_set_string_member(args, "to", bad_names[i]);
		g_autofree char *code = NULL, *message = NULL;
		g_autoptr(JsonObject) r = ask(tomas, "assign", args, &code, &message);
		ck_assert_ptr_null(r);
		ck_assert_str_eq(code, "usage");
	}
	JsonObject *no_ref = json_object_new();
	json_object_set_int_member(no_ref, "ref", 7);
	g_autofree char *code = NULL, *message = NULL;
	g_autoptr(JsonObject) r = ask(tomas, "history", no_ref, &code, &message);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(code, "usage");
	ck_assert_str_eq(message, "\"ref\" must be a string");
	g_autofree char *code2 = NULL, *message2 = NULL;
	g_autoptr(JsonObject) r2 =
		ask(tomas, "history", ref_args("R-2026-0000-0000"), &code2, &message2);
	ck_assert_ptr_null(r2);
	ck_assert_str_eq(code2, "not-found");
	ck_assert_str_eq(message2, "no such case R-2026-0000-0000");
}
END_TEST

/* --- routing.conf --------------------------------------------------------- */

START_TEST(test_section_group_key)
{
	g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *rules = g_build_filename(home, "routing.conf", NULL);
	struct canary_routing *routing = canary_routing_load(rules, "triage", problems);
	ck_assert_ptr_nonnull(routing);
	ck_assert_str_eq(canary_routing_section_group(routing, "africa"), "canary-africa");
	ck_assert_ptr_null(canary_routing_section_group(routing, "triage"));
	ck_assert_ptr_null(canary_routing_section_group(routing, "nowhere"));
	canary_routing_free(routing);

	g_autofree char *bad_text = g_strdup_printf(
		"%s[section europe]\npublic_key = keys/section.pub\ngroup = canary europe\n",
		routing_text);
	g_autofree char *bad = tu_write_file(home, "bad-routing.conf", bad_text);
	ck_assert_ptr_null(canary_routing_load(bad, "triage", problems));
	ck_assert_uint_eq(problems->len, 1);
	g_autofree char *expect = g_strdup_printf("%s: [section europe] group: 'canary europe' is "
						  "not a group name; expected the Unix "
						  "group of the section's officers",
						  bad);
	ck_assert_msg(g_str_has_prefix(problems->pdata[0], expect), "%s",
		      (char *)problems->pdata[0]);

	/* A group unknown here: valid, warned about. */
	g_autofree char *warnings = canary_config_warnings(config);
	ck_assert_ptr_nonnull(warnings);
	ck_assert_msg(strstr(warnings, "[section mena] group = canary-mena: no such group on this "
				       "system; until it exists only triage sees this section's "
				       "cases") != NULL,
		      "%s", warnings);
}
END_TEST

static Suite *access_suite(void)
{
	Suite *s = suite_create("access");
	TCase *tc = tcase_create("access");
	tcase_add_unchecked_fixture(tc, setup_home, teardown_home);
	tcase_add_checked_fixture(tc, setup_store, teardown_store);
	tcase_add_test(tc, test_section_officer_sees_own_section_only);
	tcase_add_test(tc, test_section_officer_counts_own_section_only);
	tcase_add_test(tc, test_whoami_roles_and_sections);
	tcase_add_test(tc, test_triage_sees_everything);
	tcase_add_test(tc, test_user_in_no_group_is_refused_everything);
	tcase_add_test(tc, test_custodian_handles_quarantined_cases);
	tcase_add_test(tc, test_admin_ops);
	tcase_add_test(tc, test_health_warns_of_a_shared_pseudonym_key);
	tcase_add_test(tc, test_superusers);
	tcase_add_test(tc, test_roles_unset);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_section_group_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(access_suite());
}
