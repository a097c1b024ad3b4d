/* check_config.c: loading canary.conf: every kind of problem named by file,
 * group and key, all problems at once, defaults, relative paths, the search
 * order for the file, size and duration syntax, and conf/canary.conf itself. */
#include <errno.h>
#include <grp.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "testutil.h"
#include "values.h"

/* The [keys] block every valid file needs; the files exist in the fixture. */
#define KEYS_BLOCK                                                                                 \
	"[keys]\n"                                                                                 \
	"custodian_public = keys/custodian.pub\n"                                                  \
	"default_section_public = keys/section.pub\n"                                              \
	"pseudonym_key = keys/pseudonym.key\n"

static char *tmpdir;
static char *conf_path; /* tmpdir/canary.conf */

/* Makes a temporary directory holding the key files KEYS_BLOCK names. */
static void setup(void)
{
	tmpdir = tu_make_tempdir();
	g_autofree char *keys = g_build_filename(tmpdir, "keys", NULL);
	ck_assert_int_eq(g_mkdir(keys, 0700), 0);
	static const char *const names[] = {"keys/custodian.pub", "keys/section.pub",
					    "keys/pseudonym.key", "imap-password"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_free(tu_write_file(tmpdir, names[i], "placeholder\n"));
	conf_path = g_build_filename(tmpdir, "canary.conf", NULL);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	g_clear_pointer(&tmpdir, g_free);
	g_clear_pointer(&conf_path, g_free);
}

/* Writes TEXT as tmpdir/canary.conf and loads it. Returns the config or NULL
 * with ERROR set. */
static struct canary_config *load_text(const char *text, GError **error)
{
	g_free(tu_write_file(tmpdir, "canary.conf", text));
	return canary_config_load(conf_path, error);
}

/* Fails the test unless NEEDLE occurs in HAYSTACK. */
static void assert_has(const char *haystack, const char *needle)
{
	ck_assert_msg(strstr(haystack, needle) != NULL, "expected \"%s\" in:\n%s", needle,
		      haystack);
}

/* Returns the number of lines in TEXT (problems in an error message). */
static guint count_lines(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	return g_strv_length(lines);
}

/* Fails the test unless every line of MESSAGE starts with PATH ": ". */
static void assert_lines_name_file(const char *message, const char *path)
{
	g_autofree char *prefix = g_strdup_printf("%s: ", path);
	g_auto(GStrv) lines = g_strsplit(message, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++)
		ck_assert_msg(g_str_has_prefix(lines[i], prefix), "line without \"%s\": %s", prefix,
			      lines[i]);
}

/* A file that must be refused: TEXT is the whole file; EXPECT follows
 * "PATH: " in the message, which has LINES problems; ALSO (if not NULL)
 * occurs anywhere in it. */
struct bad_file {
	const char *text;
	enum canary_config_error code;
	guint lines;
	const char *expect;
	const char *also;
};

static const struct bad_file bad_files[] = {
	/* Unknown groups and keys, with the names that are known. */
	{KEYS_BLOCK "[bogus]\nx = 1\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[bogus]: unknown group; expected [store], [limits], [logging], [keys], [imap], "
	 "[smtp], [routing], [retention], [health], [control], [access], [notify] or [reply]",
	 NULL},
	/* [smtp]: TLS URLs only, and a sender address once the group is there. */
	{KEYS_BLOCK "[smtp]\nurl = ftp://mail.example.org\nfrom = reprisals@example.org\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[smtp] url: 'ftp://mail.example.org' is not smtps://host[:port] or smtp://host[:port]",
	 NULL},
	{KEYS_BLOCK "[smtp]\nurl = smtps://mail.example.org\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[smtp] from: not set", NULL},
	{KEYS_BLOCK "[smtp]\nurl = smtps://mail.example.org\nfrom = Reprisals <r@example.org>\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[smtp] from: 'Reprisals <r@example.org>' is not an address", NULL},
	{KEYS_BLOCK "[store]\ndatabse = x.db\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[store] databse: unknown key; expected database", NULL},
	{KEYS_BLOCK "[limits]\nmax_size = 5M\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_size: unknown key; expected max_message_size, max_mime_depth, max_parts, "
	 "max_header_length or message_time",
	 NULL},
	{KEYS_BLOCK "[store]\ndatabase[de] = x.db\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[store] database[de]: unknown key", NULL},
	/* Wrong types. */
	{KEYS_BLOCK "[limits]\nmax_parts = many\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_parts: 'many' is not a whole number; expected a whole number from 1 to "
	 "100000",
	 NULL},
	{KEYS_BLOCK "[limits]\nmessage_time = soon\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] message_time: 'soon' is not a duration; expected a duration such as 30s (1s to "
	 "1h)",
	 NULL},
	{KEYS_BLOCK "[limits]\nmessage_time = 2h\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] message_time: '2h' is out of range", NULL},
	{KEYS_BLOCK "[limits]\nmax_mime_depth = -1\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_mime_depth: '-1' is not a whole number; expected", NULL},
	{KEYS_BLOCK "[limits]\nmax_mime_depth = 0x20\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_mime_depth: '0x20' is not a whole number", NULL},
	{KEYS_BLOCK "[logging]\nlevel = loud\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[logging] level: 'loud' is not a log level; expected one of error, warning, notice, "
	 "info, debug",
	 NULL},
	/* A group is a name, not a list or a path. */
	{KEYS_BLOCK "[access]\nadmin = canary admins\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[access] admin: 'canary admins' is not a group name; expected the Unix group of the "
	 "admins",
	 NULL},
	{KEYS_BLOCK "[access]\ntriage = -rf\ncustodian = a:b\n", CANARY_CONFIG_ERROR_INVALID, 2,
	 "[access] triage: '-rf' is not a group name", "[access] custodian: 'a:b' is not a group"},
	{KEYS_BLOCK "[access]\nreader = canary-read\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[access] reader: unknown key; expected triage, custodian or admin", NULL},
	/* Sizes that are not sizes. */
	{KEYS_BLOCK "[limits]\nmax_message_size = 50 MB\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '50 MB' is not a size; expected a size such as 50M", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = -1\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '-1' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = 1T\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '1T' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = 1.5G\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '1.5G' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = 50MB\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '50MB' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = M\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: 'M' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = 99999999999999999999\n",
	 CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '99999999999999999999' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = 17179869184G\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '17179869184G' is not a size", NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size =\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: empty value; expected a size such as 50M", NULL},
	{KEYS_BLOCK "[limits]\nmax_header_length = 64 K\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_header_length: '64 K' is not a size; expected a size such as 64K", NULL},
	/* Numbers out of range. */
	{KEYS_BLOCK "[limits]\nmax_mime_depth = 0\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_mime_depth: '0' is out of range; expected a whole number from 1 to 1024",
	 NULL},
	{KEYS_BLOCK "[limits]\nmax_mime_depth = 1025\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_mime_depth: '1025' is out of range", NULL},
	{KEYS_BLOCK "[limits]\nmax_parts = 100001\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_parts: '100001' is out of range; expected a whole number from 1 to 100000",
	 NULL},
	{KEYS_BLOCK "[limits]\nmax_parts = 99999999999999999999999\n", CANARY_CONFIG_ERROR_INVALID,
	 1, "[limits] max_parts: '99999999999999999999999' is not a whole number", NULL},
	{KEYS_BLOCK "[limits]\nmax_header_length = 1023\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_header_length: '1023' is out of range; expected a size such as 64K (at "
	 "least 1K",
	 NULL},
	{KEYS_BLOCK "[limits]\nmax_message_size = 4G\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_message_size: '4G' is out of range", NULL},
	/* Paths. */
	{KEYS_BLOCK "[store]\ndatabase = keys\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[store] database: ", "/keys is a directory; expected a path"},
	{KEYS_BLOCK "[store]\ndatabase = \n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[store] database: empty value; expected a path", NULL},
	{"[keys]\ncustodian_public = keys/none.pub\ndefault_section_public = keys/section.pub\n"
	 "pseudonym_key = keys/pseudonym.key\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[keys] custodian_public: ",
	 "/keys/none.pub: no such file; expected the path of the custodian's public key"},
	{"[keys]\ncustodian_public = keys/custodian.pub\ndefault_section_public = keys\n"
	 "pseudonym_key = keys/pseudonym.key\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[keys] default_section_public: ",
	 "/keys: no such file; expected the path of the receiving"},
	/* Required keys. */
	{"[keys]\ncustodian_public = keys/custodian.pub\npseudonym_key = keys/pseudonym.key\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[keys] default_section_public: not set; expected", NULL},
	{"[store]\ndatabase = x.db\n", CANARY_CONFIG_ERROR_INVALID, 3,
	 "[keys] custodian_public: not set", NULL},
	{KEYS_BLOCK "[imap]\nusername = u\npassword_file = imap-password\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[imap] url: not set; expected imaps://", NULL},
	{KEYS_BLOCK "[imap]\nurl = imaps://h/INBOX\nusername = u\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[imap] password_file: neither password_file nor oauth2_token_file is set", NULL},
	{KEYS_BLOCK "[imap]\nurl = https://h/INBOX\nusername = u\npassword_file = imap-password\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[imap] url: 'https://h/INBOX' is not an IMAP URL", NULL},
	{KEYS_BLOCK "[imap]\nurl = imaps://h\nusername = u\npassword_file = imap-password\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[imap] url: 'imaps://h' names no mailbox", NULL},
	{KEYS_BLOCK "[imap]\nurl = imaps://h/INBOX\nusername = u\npassword_file = imap-password\n"
		    "trace = yes\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[imap] trace: 'yes' is not true or false; expected",
	 NULL},
	{KEYS_BLOCK "[imap]\nurl = imaps://h/INBOX\nusername = u\npassword_file = imap-password\n"
		    "poll_interval = 5 min\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[imap] poll_interval: '5 min' is not a duration", NULL},
	{KEYS_BLOCK "[imap]\nurl = imaps://h/INBOX\nusername = u\npassword_file = imap-password\n"
		    "poll_interval = 2d\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[imap] poll_interval: '2d' is out of range", NULL},
	/* Duplicates, which GKeyFile alone would merge silently. */
	{KEYS_BLOCK "[limits]\nmax_parts = 5\nmax_parts = 6\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_parts: given twice (lines 6 and 7); expected each key once", NULL},
	{KEYS_BLOCK "[limits]\nmax_parts = 5\n  max_parts\t=6\n", CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits] max_parts: given twice (lines 6 and 7)", NULL},
	{KEYS_BLOCK "[limits]\nmax_parts = 5\n[store]\n[limits]\nmax_mime_depth = 3\n",
	 CANARY_CONFIG_ERROR_INVALID, 1,
	 "[limits]: group given twice (lines 5 and 8); expected each group once", NULL},
	{"[keys]\ncustodian_public = keys/custodian.pub\r\ndefault_section_public = "
	 "keys/section.pub\r\npseudonym_key = keys/pseudonym.key\r\ncustodian_public = "
	 "keys/custodian.pub\r\n",
	 CANARY_CONFIG_ERROR_INVALID, 1, "[keys] custodian_public: given twice (lines 2 and 5)",
	 NULL},
	/* Syntax errors, by line. */
	{KEYS_BLOCK "[store]\nthis is not a key\n", CANARY_CONFIG_ERROR_SYNTAX, 1,
	 "line 6: ", "this is not a key"},
	{"database = x.db\n" KEYS_BLOCK, CANARY_CONFIG_ERROR_SYNTAX, 1,
	 "line 1: ", "; expected [group], key = value or # comment"},
	{KEYS_BLOCK "[store\n", CANARY_CONFIG_ERROR_SYNTAX, 1, "line 5: ", NULL},
	{KEYS_BLOCK "[store]\n= x.db\n", CANARY_CONFIG_ERROR_SYNTAX, 1, "line 6: ", NULL},
	{KEYS_BLOCK "[store]\nnot one\n\n# comment\nnor two\n", CANARY_CONFIG_ERROR_SYNTAX, 2,
	 "line 9: ", "line 6: "},
	{KEYS_BLOCK "[store]\ndatabase = caf\xc3\n", CANARY_CONFIG_ERROR_SYNTAX, 1,
	 "line 6: invalid UTF-8; expected UTF-8 text", NULL},
};

/* Each bad file is refused with one message naming the file, group and key. */
START_TEST(test_bad_file)
{
	const struct bad_file *c = &bad_files[_i];
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = load_text(c->text, &error);
	ck_assert_msg(config == NULL, "case %d loaded", _i);
	ck_assert_msg(g_error_matches(error, CANARY_CONFIG_ERROR, (gint)c->code),
		      "case %d: code %d: %s", _i, error->code, error->message);
	g_autofree char *expect = g_strdup_printf("%s: %s", conf_path, c->expect);
	assert_has(error->message, expect);
	if (c->also != NULL)
		assert_has(error->message, c->also);
	assert_lines_name_file(error->message, conf_path);
	ck_assert_msg(count_lines(error->message) == c->lines, "case %d: %u problems, not %u:\n%s",
		      _i, count_lines(error->message), c->lines, error->message);
}
END_TEST

/* Every problem in a file is reported at once, in one error. */
START_TEST(test_many_errors_at_once)
{
	g_autofree char *path = tu_data_path("config/many-errors.conf");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(path, &error);
	ck_assert_ptr_null(config);
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_INVALID));
	static const char *const expected[] = {
		"[limits] max_parts: given twice (lines 9 and 11)",
		"[routing] rule: unknown key",
		"[store] databse: unknown key",
		"[limits] max_message_size: '50 MB' is not a size",
		"[limits] max_mime_depth: '0' is out of range",
		"[limits] max_header_length: '512' is out of range",
		"[logging] level: 'loud' is not a log level",
		"[keys] custodian_public: ",
		"[keys] pseudonym_key: not set",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(expected); i++)
		assert_has(error->message, expected[i]);
	ck_assert_uint_eq(count_lines(error->message), G_N_ELEMENTS(expected));
	assert_lines_name_file(error->message, path);
}
END_TEST

/* A file with only [keys] gets every documented default. */
START_TEST(test_defaults)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = load_text(KEYS_BLOCK, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	ck_assert_str_eq(config->path, conf_path);
	ck_assert_str_eq(config->dir, tmpdir);
	ck_assert_str_eq(config->store.database, "/var/lib/canary/canary.db");
	ck_assert_ptr_null(config->store.obsolete_group);
	ck_assert_ptr_null(config->access.triage);
	ck_assert_ptr_null(config->access.custodian);
	ck_assert_ptr_null(config->access.admin);
	ck_assert_ptr_null(canary_config_warnings(config));
	ck_assert_uint_eq(config->limits.max_message_size, 50 * 1024 * 1024);
	ck_assert_uint_eq(config->limits.max_mime_depth, 32);
	ck_assert_uint_eq(config->limits.max_parts, 1000);
	ck_assert_uint_eq(config->limits.max_header_length, 64 * 1024);
	ck_assert_int_eq(config->logging.level, CANARY_LOG_INFO);
	g_autofree char *custodian = g_build_filename(tmpdir, "keys", "custodian.pub", NULL);
	ck_assert_str_eq(config->keys.custodian_public, custodian);
	ck_assert_ptr_null(config->keys.triage_public);
	ck_assert_ptr_null(config->imap.url);
	ck_assert_str_eq(config->imap.processed_folder, "Processed");
	ck_assert_uint_eq(config->imap.processed_retention, 0);
	ck_assert_uint_eq(config->imap.quarantine_retention, 0);
	ck_assert_uint_eq(config->imap.poll_interval, 60);
	ck_assert_uint_eq(config->imap.batch_size, 100);
	ck_assert(!config->imap.trace);
}
END_TEST

/* Values given are parsed and stored; white space around them is ignored. */
START_TEST(test_values)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config =
		load_text("# comment\n[store]\n  database =  state/cases.db  \n"
			  "[limits]\nmax_message_size = 1g\nmax_mime_depth=1024\nmax_parts = 1\n"
			  "max_header_length = 1K\n[logging]\nlevel = debug\n" KEYS_BLOCK
			  "triage_public = keys/section.pub\n"
			  "[imap]\nurl = imaps://mail.example.org:993/INBOX\nusername = a b\n"
			  "oauth2_token_file = imap-password\nbatch_size = 10000\n"
			  "poll_interval = 5m\nio_timeout = 1h\ntrace = true\n"
			  "processed_retention = 2d\nquarantine_retention = forever\n",
			  &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	g_autofree char *db = g_build_filename(tmpdir, "state", "cases.db", NULL);
	ck_assert_str_eq(config->store.database, db);
	ck_assert_uint_eq(config->limits.max_message_size, G_GUINT64_CONSTANT(1) << 30);
	ck_assert_uint_eq(config->limits.max_mime_depth, 1024);
	ck_assert_uint_eq(config->limits.max_parts, 1);
	ck_assert_uint_eq(config->limits.max_header_length, 1024);
	ck_assert_int_eq(config->logging.level, CANARY_LOG_DEBUG);
	ck_assert_ptr_nonnull(config->keys.triage_public);
	ck_assert_str_eq(config->imap.url, "imaps://mail.example.org:993/INBOX");
	ck_assert_str_eq(config->imap.username, "a b");
	ck_assert_ptr_null(config->imap.password_file);
	ck_assert_uint_eq(config->imap.batch_size, 10000);
	ck_assert_uint_eq(config->imap.poll_interval, 300);
	ck_assert_uint_eq(config->imap.io_timeout, 3600);
	ck_assert(config->imap.trace);
	ck_assert_uint_eq(config->imap.processed_retention, 2 * 86400);
	ck_assert_uint_eq(config->imap.quarantine_retention, CANARY_CONFIG_FOREVER);
	g_autofree char *warnings = canary_config_warnings(config);
	ck_assert_ptr_nonnull(warnings);
	ck_assert_ptr_nonnull(strstr(warnings, "[imap] quarantine_retention = forever"));
	ck_assert_ptr_null(strstr(warnings, "processed_retention"));
}
END_TEST

/* [access] names a group per role; a group this system does not know is
 * valid (canaryd must go on filing) but warned about. */
START_TEST(test_access_keys)
{
	struct group *root = getgrgid(0);
	ck_assert_ptr_nonnull(root);
	g_autofree char *text = g_strdup_printf(KEYS_BLOCK "[access]\ntriage = %s\n"
							   "custodian = canary-no-such-custodians\n"
							   "admin = canary.admins_2\n",
						root->gr_name);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = load_text(text, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	ck_assert_str_eq(config->access.triage, root->gr_name);
	ck_assert_str_eq(config->access.custodian, "canary-no-such-custodians");
	ck_assert_str_eq(config->access.admin, "canary.admins_2");
	g_autofree char *warnings = canary_config_warnings(config);
	ck_assert_ptr_nonnull(warnings);
	assert_has(warnings, "[access] custodian = canary-no-such-custodians: no such group on "
			     "this system; until it exists only root and canaryd's user hold the "
			     "custodian role");
	assert_has(warnings, "[access] admin = canary.admins_2: no such group");
	ck_assert_ptr_null(strstr(warnings, "[access] triage"));
}
END_TEST

/* [notify] lists and [reply]: addresses checked, each problem named; with
 * no [smtp] group the warnings say that nothing can be sent. */
START_TEST(test_notify_keys)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config =
		load_text(KEYS_BLOCK "[notify]\ntriage = Triage@Example.org, desk@example.net\n"
				     "triage_digest = daily\ncustodian = keeper@example.org\n",
			  &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	ck_assert(config->notify.triage_daily);
	ck_assert(!config->notify.custodian_daily);
	g_autofree char *bad_entry = NULL;
	g_auto(GStrv) list = canary_value_split_addresses(config->notify.triage, &bad_entry);
	ck_assert_ptr_nonnull(list);
	ck_assert_str_eq(list[0], "triage@example.org");
	ck_assert_str_eq(list[1], "desk@example.net");
	ck_assert_ptr_null(list[2]);
	ck_assert_ptr_null(config->reply.acknowledge);
	ck_assert(canary_config_sends_mail(config));
	g_autofree char *warnings = canary_config_warnings(config);
	ck_assert_ptr_nonnull(warnings);
	assert_has(warnings, "no notice or acknowledgement can be sent");

	g_autoptr(GError) bad = NULL;
	g_autoptr(canary_config) none =
		load_text(KEYS_BLOCK "[notify]\ntriage = Triage Desk <t@example.org>\n"
				     "custodian = ,\ncustodian_digest = weekly\n"
				     "[reply]\nacknowledge = missing.txt\n",
			  &bad);
	ck_assert_ptr_null(none);
	assert_has(bad->message, "[notify] triage: 'Triage Desk <t@example.org>' is not a mail "
				 "address; expected mail addresses");
	assert_has(bad->message, "[notify] custodian: no address");
	assert_has(bad->message, "[notify] custodian_digest: 'weekly' is not pass or daily");
	assert_has(bad->message, "[reply] acknowledge: ");
	assert_has(bad->message, "missing.txt: no such file");

	static const char *const good[] = {"a@example.org", "a.b+c@mail.example.net"};
	static const char *const wrong[] = {"",      "a",           "@example.org", "a@example",
					    "a@@example.org", "a b@example.org", "a@.example.org",
					    "a@example.org."};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		ck_assert_msg(canary_value_valid_address(good[i]), "%s", good[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(wrong); i++)
		ck_assert_msg(!canary_value_valid_address(wrong[i]), "%s", wrong[i]);
}
END_TEST

/* [store] group of an older canary: accepted, ignored, warned about, so
 * that canaryd keeps filing after an upgrade. */
START_TEST(test_obsolete_store_group)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config =
		load_text("[store]\ngroup = reprisals\n" KEYS_BLOCK, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	ck_assert_str_eq(config->store.obsolete_group, "reprisals");
	g_autofree char *warnings = canary_config_warnings(config);
	ck_assert_ptr_nonnull(warnings);
	assert_has(warnings, "[store] group = reprisals: ignored: the database is private to "
			     "canaryd's user");
	assert_has(warnings, "remove the line");
	/* Still one key among the others: given twice is refused as before. */
	g_autoptr(GError) twice = NULL;
	g_autoptr(canary_config) none =
		load_text("[store]\ngroup = a\ngroup = b\n" KEYS_BLOCK, &twice);
	ck_assert_ptr_null(none);
	assert_has(twice->message, "[store] group: given twice");
}
END_TEST

/* Server copies: a retention is 0, a duration or forever; the two folders
 * differ. Each problem names the key and what is expected. */
START_TEST(test_server_copy_keys)
{
	static const struct {
		const char *imap, *expected;
	} bad[] = {
		{"processed_retention = never\n",
		 "[imap] processed_retention: 'never' is not 0, a duration or forever; expected 0 "
		 "(removed from the server once filed), a duration such as 2d or 12h, or forever"},
		{"quarantine_retention = 2w\n", "[imap] quarantine_retention: '2w' is not"},
		{"quarantine_retention = -1\n", "[imap] quarantine_retention: '-1' is not"},
		{"quarantine_folder = Processed\n",
		 "[imap] quarantine_folder: 'Processed' is also processed_folder; expected a "
		 "folder of its own"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *text = g_strdup_printf(
			KEYS_BLOCK "[imap]\nurl = imaps://mail.example.org/INBOX\nusername = u\n"
				   "password_file = imap-password\n%s",
			bad[i].imap);
		g_autoptr(GError) error = NULL;
		g_autoptr(canary_config) config = load_text(text, &error);
		ck_assert_ptr_null(config);
		ck_assert_msg(strstr(error->message, bad[i].expected) != NULL, "%s", error->message);
		ck_assert_ptr_nonnull(strstr(error->message, "canary.conf"));
	}
	guint64 seconds = 1;
	ck_assert(canary_config_parse_keep("0", &seconds) && seconds == 0);
	ck_assert(canary_config_parse_keep("12h", &seconds) && seconds == 12 * 3600);
	ck_assert(canary_config_parse_keep("forever", &seconds) &&
		  seconds == CANARY_CONFIG_FOREVER);
	ck_assert(!canary_config_parse_keep("", &seconds));
	ck_assert(!canary_config_parse_keep("Forever", &seconds));
	ck_assert(!canary_config_parse_keep("99999999999999999d", &seconds));
}
END_TEST

/* A missing file, a directory, a FIFO and an unreadable file are reported
 * as such, naming the file, without blocking. */
START_TEST(test_unreadable_files)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *missing = g_build_filename(tmpdir, "none.conf", NULL);
	ck_assert_ptr_null(canary_config_load(missing, &error));
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO));
	g_autofree char *want =
		g_strdup_printf("%s: cannot read the configuration: no such file", missing);
	ck_assert_str_eq(error->message, want);
	ck_assert_str_eq(g_quark_to_string(error->domain), "canary-config-error-quark");
	g_clear_error(&error);

	g_autofree char *keys = g_build_filename(tmpdir, "keys", NULL);
	ck_assert_ptr_null(canary_config_load(keys, &error));
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO));
	g_free(want);
	want = g_strdup_printf("%s: is a directory", keys);
	assert_has(error->message, want);
	g_clear_error(&error);

	g_autofree char *fifo = g_build_filename(tmpdir, "fifo", NULL);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_ptr_null(canary_config_load(fifo, &error));
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO));
	g_free(want);
	want = g_strdup_printf("%s: not a regular file", fifo);
	assert_has(error->message, want);
	g_clear_error(&error);

	ck_assert_ptr_null(canary_config_load("/dev/zero", &error));
	assert_has(error->message, "/dev/zero: not a regular file");
	g_clear_error(&error);

	/* root reads through chmod 000; the directory case above covers it. */
	if (geteuid() != 0) {
		g_free(tu_write_file(tmpdir, "canary.conf", KEYS_BLOCK));
		ck_assert_int_eq(chmod(conf_path, 0), 0);
		ck_assert_ptr_null(canary_config_load(conf_path, &error));
		ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO));
		g_free(want);
		want = g_strdup_printf("%s: cannot read the configuration: permission denied",
				       conf_path);
		ck_assert_str_eq(error->message, want);
	}
}
END_TEST

/* A key file that exists but cannot be read is named (not as root). */
START_TEST(test_unreadable_key_file)
{
	if (geteuid() == 0)
		return;
	g_autofree char *key = g_build_filename(tmpdir, "keys", "custodian.pub", NULL);
	ck_assert_int_eq(chmod(key, 0), 0);
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(load_text(KEYS_BLOCK, &error));
	g_autofree char *want = g_strdup_printf("[keys] custodian_public: %s: cannot be read", key);
	assert_has(error->message, want);
}
END_TEST

/* An empty file and a huge one are refused with a clear message. */
START_TEST(test_empty_and_huge_files)
{
	g_autoptr(GError) error = NULL;
	ck_assert_ptr_null(load_text("", &error));
	assert_has(error->message, "[keys] custodian_public: not set");
	g_clear_error(&error);

	g_autofree char *big = g_strnfill(2 * 1024 * 1024, '#');
	ck_assert_ptr_null(load_text(big, &error));
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_IO));
	assert_has(error->message, "larger than 1M");
}
END_TEST

/* A NUL byte is a syntax error with its line, not a truncated file. */
START_TEST(test_nul_byte)
{
	static const char data[] = KEYS_BLOCK "[store]\ndatabase = a\0b\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config =
		canary_config_load_data("mem.conf", data, sizeof data - 1, &error);
	ck_assert_ptr_null(config);
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_SYNTAX));
	ck_assert_str_eq(error->message, "mem.conf: line 6: a NUL byte; expected UTF-8 text");
}
END_TEST

/* Many bad lines are listed up to a limit, then counted. */
START_TEST(test_many_syntax_errors)
{
	GString *text = g_string_new(KEYS_BLOCK);
	for (int i = 0; i < 30; i++)
		g_string_append(text, "garbage\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = load_text(text->str, &error);
	g_string_free(text, TRUE);
	ck_assert_ptr_null(config);
	ck_assert(g_error_matches(error, CANARY_CONFIG_ERROR, CANARY_CONFIG_ERROR_SYNTAX));
	assert_has(error->message, ": line 5: ");
	assert_has(error->message, ": line 24: ");
	assert_has(error->message, ": 10 more lines that are not");
	ck_assert_uint_eq(count_lines(error->message), 21);
}
END_TEST

/* Relative paths resolve against the config file's directory, also when the
 * config itself is named by a relative path. */
START_TEST(test_relative_paths)
{
	g_autofree char *sub = g_build_filename(tmpdir, "etc", NULL);
	ck_assert_int_eq(g_mkdir(sub, 0700), 0);
	g_free(tu_write_file(sub, "canary.conf",
			     "[store]\ndatabase = ../state/./x/../canary.db\n"
			     "[keys]\ncustodian_public = ../keys/custodian.pub\n"
			     "default_section_public = ../keys/section.pub\n"
			     "pseudonym_key = ../keys/pseudonym.key\n"));
	g_autofree char *cwd = g_get_current_dir();
	ck_assert_int_eq(chdir(tmpdir), 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load("etc/canary.conf", &error);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	ck_assert_str_eq(config->path, "etc/canary.conf");
	ck_assert_str_eq(config->dir, sub);
	g_autofree char *db = g_build_filename(tmpdir, "state", "canary.db", NULL);
	ck_assert_str_eq(config->store.database, db);
	g_autofree char *key = g_build_filename(tmpdir, "keys", "pseudonym.key", NULL);
	ck_assert_str_eq(config->keys.pseudonym_key, key);
}
END_TEST

/* The fixture in tests/data/config loads with its keys next to it. */
START_TEST(test_fixture_loads)
{
	g_autofree char *path = tu_data_path("config/valid.conf");
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(path, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	g_autofree char *section = tu_data_path("config/keys/section.pub");
	ck_assert_str_eq(config->keys.default_section_public, section);
	ck_assert_uint_eq(config->limits.max_mime_depth, 8);
	ck_assert_uint_eq(config->limits.max_header_length, 4096);
}
END_TEST

struct resolve_case {
	const char *dir, *path, *expect;
};

static const struct resolve_case resolve_cases[] = {
	{"/etc/canary", "keys/a.pub", "/etc/canary/keys/a.pub"},
	{"/etc/canary", "/srv/keys/a.pub", "/srv/keys/a.pub"},
	{"/etc/canary", "../a.pub", "/etc/a.pub"},
	{"/etc/canary", "./keys//a.pub", "/etc/canary/keys/a.pub"},
	{"/etc/canary/", "a.pub", "/etc/canary/a.pub"},
	{"/", "a", "/a"},
	{"/etc/canary", "/srv/../x", "/x"},
};

/* canary_value_resolve_file() keeps absolute paths and joins relative ones. */
START_TEST(test_resolve_file)
{
	const struct resolve_case *c = &resolve_cases[_i];
	g_autofree char *got = canary_value_resolve_file(c->dir, c->path);
	ck_assert_str_eq(got, c->expect);
}
END_TEST

/* A relative DIR (a config file named by a relative path) is taken from
 * the working directory. */
START_TEST(test_resolve_file_relative_dir)
{
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *expect = g_build_filename(cwd, "etc", "keys", "a.pub", NULL);
	g_autofree char *got = canary_value_resolve_file("etc", "keys/a.pub");
	ck_assert_str_eq(got, expect);
	g_autofree char *here = g_build_filename(cwd, "a.pub", NULL);
	g_autofree char *dot = canary_value_resolve_file(".", "a.pub");
	ck_assert_str_eq(dot, here);
}
END_TEST

/* The config is found by argument, then $CANARY_CONFIG, then the default. */
START_TEST(test_resolve_path)
{
	g_setenv("CANARY_CONFIG", "/from/env.conf", TRUE);
	g_autofree char *explicit_path = canary_config_resolve_path("/from/arg.conf");
	ck_assert_str_eq(explicit_path, "/from/arg.conf");
	g_autofree char *from_env = canary_config_resolve_path(NULL);
	ck_assert_str_eq(from_env, "/from/env.conf");
	g_setenv("CANARY_CONFIG", "", TRUE);
	g_autofree char *empty_env = canary_config_resolve_path(NULL);
	ck_assert_str_eq(empty_env, CANARY_CONFIG_DEFAULT_PATH);
	g_unsetenv("CANARY_CONFIG");
	g_autofree char *fallback = canary_config_resolve_path(NULL);
	ck_assert_str_eq(fallback, CANARY_CONFIG_DEFAULT_PATH);
	ck_assert(g_str_has_suffix(fallback, "/canary/canary.conf"));
}
END_TEST

struct size_case {
	const char *text;
	gboolean ok;
	guint64 value;
};

static const struct size_case size_cases[] = {
	{"4096", TRUE, 4096},
	{"0", TRUE, 0},
	{"512K", TRUE, 512 * 1024},
	{"512k", TRUE, 512 * 1024},
	{"50M", TRUE, 50 * 1024 * 1024},
	{"50m", TRUE, 50 * 1024 * 1024},
	{"1G", TRUE, 1024 * 1024 * 1024},
	{"007K", TRUE, 7 * 1024},
	{"18446744073709551615", TRUE, G_MAXUINT64},
	{"17179869183G", TRUE, G_GUINT64_CONSTANT(17179869183) << 30},
	{"17179869184G", FALSE, 0},
	{"18446744073709551616", FALSE, 0},
	{"99999999999999999999", FALSE, 0},
	{"50 MB", FALSE, 0},
	{"50 M", FALSE, 0},
	{"50MB", FALSE, 0},
	{"-1", FALSE, 0},
	{"+1", FALSE, 0},
	{" 1", FALSE, 0},
	{"1 ", FALSE, 0},
	{"1T", FALSE, 0},
	{"1.5G", FALSE, 0},
	{"", FALSE, 0},
	{"K", FALSE, 0},
	{"1KK", FALSE, 0},
	{"0x10", FALSE, 0},
	{"1s", FALSE, 0},
};

/* canary_value_parse_size() takes whole numbers with K, M or G only. */
START_TEST(test_parse_size)
{
	const struct size_case *c = &size_cases[_i];
	guint64 value = 12345;
	ck_assert_msg(canary_value_parse_size(c->text, &value) == c->ok, "'%s'", c->text);
	ck_assert_uint_eq(value, c->ok ? c->value : 12345);
}
END_TEST

static const struct size_case duration_cases[] = {
	{"90", TRUE, 90},
	{"60s", TRUE, 60},
	{"5m", TRUE, 300},
	{"1h", TRUE, 3600},
	{"365d", TRUE, 365 * 86400},
	{"2D", TRUE, 172800},
	{"5 m", FALSE, 0},
	{"1w", FALSE, 0},
	{"", FALSE, 0},
	{"-5s", FALSE, 0},
	{"1.5h", FALSE, 0},
	{"s", FALSE, 0},
};

/* canary_value_parse_duration() takes whole numbers with s, m, h or d. */
START_TEST(test_parse_duration)
{
	const struct size_case *c = &duration_cases[_i];
	guint64 value = 12345;
	ck_assert_msg(canary_value_parse_duration(c->text, &value) == c->ok, "'%s'", c->text);
	ck_assert_uint_eq(value, c->ok ? c->value : 12345);
}
END_TEST

/* Returns conf/canary.conf as a string (g_free). */
static char *shipped_config(void)
{
	g_autofree char *path = g_build_filename(CANARY_SOURCE_DIR, "conf", "canary.conf", NULL);
	char *text = NULL;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &text, NULL, &error))
		ck_abort_msg("%s", error->message);
	return text;
}

/* conf/canary.conf, installed beside the files it names, loads cleanly and
 * gives the defaults. */
START_TEST(test_shipped_config_loads)
{
	g_autofree char *text = shipped_config();
	/* Beside it: the shipped routing rules and a key for each section. */
	g_autofree char *rules_path =
		g_build_filename(CANARY_SOURCE_DIR, "conf", "routing.conf", NULL);
	g_autofree char *rules = NULL;
	ck_assert(g_file_get_contents(rules_path, &rules, NULL, NULL));
	g_free(tu_write_file(tmpdir, "routing.conf", rules));
	g_autoptr(GKeyFile) kf = g_key_file_new();
	ck_assert(g_key_file_load_from_data(kf, rules, -1, G_KEY_FILE_NONE, NULL));
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	g_autofree char *keys = g_build_filename(tmpdir, "keys", NULL);
	for (gsize i = 0; groups[i] != NULL; i++) {
		if (!g_str_has_prefix(groups[i], "section "))
			continue;
		g_autofree char *name = g_strdup_printf("%s.pub", groups[i] + 8);
		g_autofree char *key = g_build_filename(keys, name, NULL);
		if (!g_file_test(key, G_FILE_TEST_EXISTS))
			g_free(tu_write_file(keys, name, "placeholder\n"));
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = load_text(text, &error);
	ck_assert_msg(config != NULL, "%s", error ? error->message : "");
	ck_assert_str_eq(config->store.database, "/var/lib/canary/canary.db");
	ck_assert_uint_eq(config->limits.max_message_size, 50 * 1024 * 1024);
	ck_assert_int_eq(config->logging.level, CANARY_LOG_INFO);
	ck_assert_str_eq(config->imap.url, "imaps://mail.example.org/INBOX");
	ck_assert_uint_eq(config->imap.poll_interval, 60);
}
END_TEST

/* conf/canary.conf where it lies in the source tree: the only problems are
 * the key and password files, which an installation has to make. */
START_TEST(test_shipped_config_in_tree)
{
	g_autofree char *path = g_build_filename(CANARY_SOURCE_DIR, "conf", "canary.conf", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(canary_config) config = canary_config_load(path, &error);
	ck_assert_ptr_null(config);
	g_auto(GStrv) lines = g_strsplit(error->message, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++)
		ck_assert_msg(strstr(lines[i], ": no such file; expected") != NULL, "%s", lines[i]);
	/* custodian_public, pseudonym_key, password_file (the section keys of
	 * routing.conf are checked once these exist). */
	ck_assert_uint_eq(g_strv_length(lines), 3);
}
END_TEST

/* conf/canary.conf documents every known key with its default. */
START_TEST(test_shipped_config_documents_every_key)
{
	g_autofree char *text = shipped_config();
	const struct canary_config_key *known = canary_config_known_keys();
	guint n = 0;
	for (; known[n].key != NULL; n++) {
		g_autofree char *group = g_strdup_printf("\n[%s]\n", known[n].group);
		/* An optional group that enables something ([smtp]) is shown commented. */
		g_autofree char *commented = g_strdup_printf("\n# [%s]\n", known[n].group);
		g_autofree char *line =
			known[n].default_value != NULL
				? g_strdup_printf("%s = %s\n", known[n].key, known[n].default_value)
				: g_strdup_printf("%s = ", known[n].key);
		ck_assert_msg(strstr(text, group) != NULL || strstr(text, commented) != NULL, "no %s",
			      group);
		ck_assert_msg(strstr(text, line) != NULL, "conf/canary.conf lacks \"%s\"", line);
		ck_assert_ptr_nonnull(known[n].expected);
	}
	ck_assert_uint_ge(n, 7);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad_file, 0, G_N_ELEMENTS(bad_files));
	tcase_add_test(tc, test_many_errors_at_once);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_access_keys);
	tcase_add_test(tc, test_notify_keys);
	tcase_add_test(tc, test_obsolete_store_group);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_server_copy_keys);
	tcase_add_test(tc, test_unreadable_files);
	tcase_add_test(tc, test_unreadable_key_file);
	tcase_add_test(tc, test_empty_and_huge_files);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_many_syntax_errors);
	tcase_add_test(tc, test_relative_paths);
	tcase_add_test(tc, test_fixture_loads);
	tcase_add_test(tc, test_shipped_config_loads);
	tcase_add_test(tc, test_shipped_config_in_tree);
	tcase_add_test(tc, test_shipped_config_documents_every_key);
	suite_add_tcase(s, tc);

	TCase *syntax = tcase_create("syntax");
	tcase_add_loop_test(syntax, test_resolve_file, 0, G_N_ELEMENTS(resolve_cases));
	tcase_add_test(syntax, test_resolve_file_relative_dir);
	tcase_add_test(syntax, test_resolve_path);
	tcase_add_loop_test(syntax, test_parse_size, 0, G_N_ELEMENTS(size_cases));
	tcase_add_loop_test(syntax, test_parse_duration, 0, G_N_ELEMENTS(duration_cases));
	suite_add_tcase(s, syntax);
	return s;
}

int main(void)
{
	return tu_run_suite(config_suite());
}
