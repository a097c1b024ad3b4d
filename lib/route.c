/* route.c: routing rules and scoring.
 *
 * Matching works on words: the subject and text are normalised (NFKC) and
 * case-folded, then cut into words (runs of letters, digits and combining
 * marks); in scripts written without spaces (Chinese, Japanese, Thai, ...)
 * each character is a word. A rule term is cut the same way and matches a
 * run of equal words, so "Niger" never matches inside "Nigeria". Where terms
 * overlap, the one with the most words wins, left to right: "Papua New
 * Guinea" is not "Guinea", "South Sudan" is not "Sudan". */
#include "route.h"

#include <stdarg.h>
#include <string.h>

#include "text.h"
#include "values.h"

/* Bits of canary_routing.starts: few enough to stay in the L1 cache, many
 * enough that a few hundred terms leave most bits clear. */
#define START_BITS 32768

/* Defaults of [scoring], documented in conf/routing.conf. */
#define DEFAULT_COUNTRY_POINTS 10.0
#define DEFAULT_KEYWORD_POINTS 3.0
#define DEFAULT_SUBJECT_FACTOR 2.0

struct section {
	char *name;
	char *title;
	char *key_path;
	char *group; /* its officers' Unix group, or NULL */
	double weight;
	char **recipients; /* lower-case glob patterns */
	gboolean has_retention;
	guint64 retention; /* seconds after closing; 0: forever */
	char **notify;      /* addresses told of its new work, or NULL */
	gboolean notify_daily;
};

struct term {
	char *text;    /* as written in the rules */
	char *country; /* NULL for a keyword */
	guint section; /* index into sections */
	char **words;  /* folded */
	guint n_words;
	gsize length; /* bytes of the folded words, to break ties */
};

struct canary_routing {
	GPtrArray *sections; /* struct section * */
	GPtrArray *names;    /* const char * section names, NULL-terminated */
	GPtrArray *terms;    /* struct term * */
	GHashTable *index;   /* first folded word -> GPtrArray of struct term * */
	/* Bit word_hash() % START_BITS is set for each term's first word: a
	 * word whose bit is clear starts no term, without a lookup in INDEX
	 * (most words of a text start none). */
	guint64 starts[START_BITS / 64];
	double country_points, keyword_points, subject_factor;
	guint default_section;
};

/* --- Words ------------------------------------------------------------------ */

/* Folded words, each NUL-terminated in one buffer. */
struct words {
	GPtrArray *list; /* const char *, into CHARS */
	GArray *hashes;	 /* guint32 word_hash() of each */
	char *chars;
	char *end; /* where the next word goes in CHARS */
};

static void words_clear(struct words *w)
{
	g_clear_pointer(&w->list, g_ptr_array_unref);
	g_clear_pointer(&w->hashes, g_array_unref);
	g_clear_pointer(&w->chars, g_free);
}
typedef struct words struct_words;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(struct_words, words_clear)

/* Bernstein's hash: cheap, and only a filter (canary_routing.starts);
 * terms are still found by comparing their words. */
static guint32 word_hash(const char *word, gsize len)
{
	guint32 h = 5381;
	for (gsize i = 0; i < len; i++)
		h = h * 33 + (guchar)word[i];
	return h;
}

/* Notes in ROUTING.starts that a term's first word has HASH. */
static void starts_add(struct canary_routing *routing, guint32 hash)
{
	guint32 bit = hash % START_BITS;
	routing->starts[bit / 64] |= G_GUINT64_CONSTANT(1) << (bit % 64);
}

/* FALSE if a word with HASH is surely the first word of no term. */
static gboolean starts_may(const struct canary_routing *routing, guint32 hash)
{
	guint32 bit = hash % START_BITS;
	return (routing->starts[bit / 64] & (G_GUINT64_CONSTANT(1) << (bit % 64))) != 0;
}

/* Appends the word WORD[0..LEN) to W. */
static inline void words_add(struct words *w, const char *word, gsize len)
{
	g_ptr_array_add(w->list, w->end);
	guint32 hash = word_hash(word, len);
	g_array_append_val(w->hashes, hash);
	memcpy(w->end, word, len);
	w->end += len;
	*w->end++ = '\0';
}

/* Cuts TEXT (NULL: no words) into folded words. */
static void words_of(const char *text, struct words *words_r)
{
	words_r->list = g_ptr_array_new();
	words_r->hashes = g_array_new(FALSE, FALSE, sizeof(guint32));
	words_r->chars = words_r->end = NULL;
	g_autofree char *folded = text != NULL ? canary_text_fold(text) : NULL;
	if (folded == NULL)
		return;
	/* At worst every character is a word of its own and gains a NUL. */
	words_r->chars = words_r->end = g_malloc(2 * strlen(folded) + 1);
	const char *word = NULL;
	for (const char *p = folded, *next;; p = next) {
		next = p;
		gunichar c = canary_text_next_char(&next); /* the fold is valid UTF-8 */
		guint classes = canary_text_classes(c);
		gboolean inside = (classes & CANARY_TEXT_WORD) != 0;
		gboolean alone = inside && (classes & CANARY_TEXT_UNSPACED) != 0;
		if (word != NULL && (!inside || alone)) {
			words_add(words_r, word, (gsize)(p - word));
			word = NULL;
		}
		if (alone)
			words_add(words_r, p, (gsize)(next - p));
		else if (inside && word == NULL)
			word = p;
		if (c == 0)
			break;
	}
}

/* --- Loading ------------------------------------------------------------------ */

static void section_free(gpointer p)
{
	struct section *s = p;
	g_free(s->name);
	g_free(s->title);
	g_free(s->key_path);
	g_free(s->group);
	g_strfreev(s->recipients);
	g_strfreev(s->notify);
	g_free(s);
}

static void term_free(gpointer p)
{
	struct term *t = p;
	g_free(t->text);
	g_free(t->country);
	g_strfreev(t->words);
	g_free(t);
}

void canary_routing_free(struct canary_routing *routing)
{
	if (routing == NULL)
		return;
	g_hash_table_unref(routing->index);
	g_ptr_array_unref(routing->terms);
	g_ptr_array_unref(routing->names);
	g_ptr_array_unref(routing->sections);
	g_free(routing);
}

struct loader {
	const char *path;
	char *dir;
	GKeyFile *file;
	GPtrArray *problems;
	struct canary_routing *routing;
	GHashTable *country_section; /* country -> section name that lists it */
	GHashTable *term_owner;      /* folded words joined -> "country X" / "keyword of S" */
};

static void problem(struct loader *l, const char *group, const char *key, const char *format, ...)
	G_GNUC_PRINTF(4, 5);

static void problem(struct loader *l, const char *group, const char *key, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	g_autofree char *what = g_strdup_vprintf(format, args);
	va_end(args);
	if (key != NULL)
		g_ptr_array_add(l->problems,
				g_strdup_printf("%s: [%s] %s: %s", l->path, group, key, what));
	else
		g_ptr_array_add(l->problems, g_strdup_printf("%s: [%s]: %s", l->path, group, what));
}

/* Reads a number key of GROUP, DEFAULT_VALUE if absent; must be >= 0. */
static double number(struct loader *l, const char *group, const char *key, double default_value)
{
	if (!g_key_file_has_key(l->file, group, key, NULL))
		return default_value;
	g_autofree char *raw = g_key_file_get_value(l->file, group, key, NULL);
	char *end = NULL;
	double value = g_ascii_strtod(raw, &end);
	if (end == raw || *end != '\0' || value != value /* NaN */ || value < 0 || value > 1e6) {
		problem(l, group, key, "'%s' is not a number; expected a number such as 1.5", raw);
		return default_value;
	}
	return value;
}

/* Checks that GROUP has only the keys in ALLOWED (NULL-terminated). */
static void only_keys(struct loader *l, const char *group, const char *const *allowed)
{
	g_auto(GStrv) keys = g_key_file_get_keys(l->file, group, NULL, NULL);
	for (gsize i = 0; keys != NULL && keys[i] != NULL; i++) {
		gboolean known = FALSE;
		for (gsize k = 0; allowed[k] != NULL && !known; k++)
			known = strcmp(keys[i], allowed[k]) == 0;
		if (!known) {
			g_autofree char *list = g_strjoinv(", ", (char **)allowed);
			problem(l, group, keys[i], "unknown key; expected one of %s", list);
		}
	}
}

static char **string_list(struct loader *l, const char *group, const char *key)
{
	if (!g_key_file_has_key(l->file, group, key, NULL))
		return g_new0(char *, 1);
	g_autoptr(GError) error = NULL;
	char **list = g_key_file_get_string_list(l->file, group, key, NULL, &error);
	if (list == NULL) {
		problem(l, group, key, "%s; expected a list separated by ';'", error->message);
		return g_new0(char *, 1);
	}
	return list;
}

/* Adds TEXT as a term of SECTION (naming COUNTRY, or a keyword if NULL). */
static void add_term(struct loader *l, const char *group, const char *key, const char *text,
		     const char *country, guint section)
{
	g_auto(struct_words) cut = {0};
	words_of(text, &cut);
	g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < cut.list->len; i++)
		g_ptr_array_add(words, g_strdup(cut.list->pdata[i]));
	if (words->len == 0) {
		problem(l, group, key, "'%s' has no letters or digits; expected a name or phrase",
			text);
		return;
	}
	g_ptr_array_add(words, NULL);
	g_autofree char *joined = g_strjoinv(" ", (char **)words->pdata);
	const char *owner = g_hash_table_lookup(l->term_owner, joined);
	g_autofree char *me =
		country != NULL
			? g_strdup_printf("country %s", country)
			: g_strdup_printf(
				  "a keyword of section %s",
				  ((struct section *)l->routing->sections->pdata[section])->name);
	if (owner != NULL) {
		if (strcmp(owner, me) != 0)
			problem(l, group, key,
				"'%s' is also %s; expected each name or keyword to mean one thing",
				text, owner);
		return; /* the same name twice for one country: harmless */
	}
	g_hash_table_insert(l->term_owner, g_strdup(joined), g_strdup(me));
	struct term *t = g_new0(struct term, 1);
	t->text = g_strdup(text);
	t->country = g_strdup(country);
	t->section = section;
	t->n_words = words->len - 1;
	t->length = strlen(joined);
	t->words = (char **)g_ptr_array_free(g_steal_pointer(&words), FALSE);
	g_ptr_array_add(l->routing->terms, t);
	starts_add(l->routing, g_array_index(cut.hashes, guint32, 0));
	GPtrArray *bucket = g_hash_table_lookup(l->routing->index, t->words[0]);
	if (bucket == NULL) {
		bucket = g_ptr_array_new();
		g_hash_table_insert(l->routing->index, t->words[0], bucket);
	}
	g_ptr_array_add(bucket, t);
}

/* Reads GROUP's notify and notify_digest into S. */
static void load_section_notify(struct loader *l, const char *group, struct section *s)
{
	g_autofree char *notify = g_key_file_get_value(l->file, group, "notify", NULL);
	g_autofree char *bad = NULL;
	if (notify != NULL) {
		s->notify = canary_value_split_addresses(g_strstrip(notify), &bad);
		if (s->notify == NULL)
			problem(l, group, "notify",
				"'%s' is not a mail address; expected addresses separated by commas",
				bad);
		else if (s->notify[0] == NULL)
			problem(l, group, "notify",
				"no address; expected addresses separated by commas");
	}
	g_autofree char *digest = g_key_file_get_value(l->file, group, "notify_digest", NULL);
	if (digest != NULL && strcmp(g_strstrip(digest), "daily") != 0 &&
	    strcmp(digest, "pass") != 0)
		problem(l, group, "notify_digest",
			"'%s' is not pass or daily; expected pass (a notice after each pass) or "
			"daily (one digest a day)",
			digest);
	s->notify_daily = digest != NULL && strcmp(digest, "daily") == 0;
}

static void load_section(struct loader *l, const char *group, const char *name)
{
	static const char *const allowed[] = {"title",     "public_key", "countries",
					      "keywords",  "recipients", "weight",
					      "retention", "group",      "notify",
					      "notify_digest", NULL};
	only_keys(l, group, allowed);
	struct section *s = g_new0(struct section, 1);
	s->name = g_strdup(name);
	s->title = g_key_file_get_string(l->file, group, "title", NULL);
	s->weight = number(l, group, "weight", 1.0);
	g_autofree char *retention = g_key_file_get_value(l->file, group, "retention", NULL);
	s->has_retention = retention != NULL;
	if (retention != NULL && !canary_value_parse_period(g_strstrip(retention), &s->retention))
		problem(l, group, "retention",
			"'%s' is not a period; expected a period such as 730d, 104w or 2y after a "
			"case was closed, or forever",
			retention);
	s->group = g_key_file_get_value(l->file, group, "group", NULL);
	if (s->group != NULL && !canary_value_valid_group_name(g_strstrip(s->group)))
		problem(l, group, "group",
			"'%s' is not a group name; expected the Unix group of the section's "
			"officers (letters, digits, _, - and .)",
			s->group);
	load_section_notify(l, group, s);
	g_autofree char *key = g_key_file_get_string(l->file, group, "public_key", NULL);
	g_autofree char *default_key = g_strdup_printf("keys/%s.pub", name);
	s->key_path = canary_value_resolve_file(l->dir, key != NULL ? key : default_key);
	if (!g_file_test(s->key_path, G_FILE_TEST_IS_REGULAR))
		problem(l, group, "public_key",
			"%s: no such file; expected the section's public key (canary keygen "
			"--out DIR %s)",
			s->key_path, name);
	g_auto(GStrv) recipients = string_list(l, group, "recipients");
	GPtrArray *patterns = g_ptr_array_new();
	for (gsize i = 0; recipients[i] != NULL; i++) {
		g_strstrip(recipients[i]);
		if (*recipients[i] != '\0')
			g_ptr_array_add(patterns, g_utf8_strdown(recipients[i], -1));
	}
	g_ptr_array_add(patterns, NULL);
	s->recipients = (char **)g_ptr_array_free(patterns, FALSE);
	g_ptr_array_add(l->routing->sections, s);
}

/* Adds the terms of section INDEX: its countries' names and its keywords. */
static void load_section_terms(struct loader *l, guint index)
{
	const struct section *s = l->routing->sections->pdata[index];
	g_autofree char *group = g_strdup_printf("section %s", s->name);
	g_auto(GStrv) countries = string_list(l, group, "countries");
	for (gsize i = 0; countries[i] != NULL; i++) {
		const char *country = g_strstrip(countries[i]);
		if (*country == '\0')
			continue;
		const char *other = g_hash_table_lookup(l->country_section, country);
		if (other != NULL) {
			problem(l, group, "countries",
				"%s is already in section %s; expected each country in one section",
				country, other);
			continue;
		}
		g_hash_table_insert(l->country_section, g_strdup(country), g_strdup(s->name));
		g_autofree char *country_group = g_strdup_printf("country %s", country);
		if (!g_key_file_has_group(l->file, country_group)) {
			problem(l, group, "countries",
				"%s has no [country %s] group; expected its names there", country,
				country);
			continue;
		}
		g_auto(GStrv) names = string_list(l, country_group, "names");
		add_term(l, group, "countries", country, country, index);
		for (gsize n = 0; names[n] != NULL; n++)
			if (*g_strstrip(names[n]) != '\0')
				add_term(l, country_group, "names", names[n], country, index);
	}
	g_auto(GStrv) keywords = string_list(l, group, "keywords");
	for (gsize i = 0; keywords[i] != NULL; i++)
		if (*g_strstrip(keywords[i]) != '\0')
			add_term(l, group, "keywords", keywords[i], NULL, index);
}

/* Countries defined but listed in no section, and their keys. */
static void check_country(struct loader *l, const char *group, const char *country)
{
	static const char *const allowed[] = {"names", NULL};
	only_keys(l, group, allowed);
	if (!g_hash_table_contains(l->country_section, country))
		problem(l, group, NULL, "%s is in no section's countries; expected it in one",
			country);
}

struct canary_routing *canary_routing_load(const char *path, const char *default_section,
					   GPtrArray *problems)
{
	guint problems_before = problems->len;
	g_autoptr(GKeyFile) file = g_key_file_new();
	g_autoptr(GError) error = NULL;
	if (!g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, &error)) {
		g_ptr_array_add(problems, g_strdup_printf("%s: %s", path, error->message));
		return NULL;
	}
	struct canary_routing *routing = g_new0(struct canary_routing, 1);
	routing->sections = g_ptr_array_new_with_free_func(section_free);
	routing->names = g_ptr_array_new();
	routing->terms = g_ptr_array_new_with_free_func(term_free);
	routing->index = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					       (GDestroyNotify)g_ptr_array_unref);
	struct loader l = {
		.path = path,
		.dir = g_path_get_dirname(path),
		.file = file,
		.problems = problems,
		.routing = routing,
		.country_section = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
		.term_owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
	};
	routing->country_points = DEFAULT_COUNTRY_POINTS;
	routing->keyword_points = DEFAULT_KEYWORD_POINTS;
	routing->subject_factor = DEFAULT_SUBJECT_FACTOR;

	g_auto(GStrv) groups = g_key_file_get_groups(file, NULL);
	for (gsize i = 0; groups[i] != NULL; i++) {
		const char *g = groups[i];
		if (strcmp(g, "scoring") == 0) {
			static const char *const allowed[] = {"country", "keyword",
							      "subject_factor", NULL};
			only_keys(&l, g, allowed);
			routing->country_points = number(&l, g, "country", DEFAULT_COUNTRY_POINTS);
			routing->keyword_points = number(&l, g, "keyword", DEFAULT_KEYWORD_POINTS);
			routing->subject_factor =
				number(&l, g, "subject_factor", DEFAULT_SUBJECT_FACTOR);
		} else if (g_str_has_prefix(g, "section ") && g[8] != '\0') {
			load_section(&l, g, g + 8);
		} else if (!g_str_has_prefix(g, "country ") || g[8] == '\0') {
			problem(&l, g, NULL,
				"unknown group; expected [scoring], [section NAME] or [country "
				"NAME]");
		}
	}
	for (guint i = 0; i < routing->sections->len; i++) {
		const struct section *s = routing->sections->pdata[i];
		g_ptr_array_add(routing->names, s->name);
		load_section_terms(&l, i);
		if (strcmp(s->name, default_section) == 0)
			routing->default_section = i;
	}
	g_ptr_array_add(routing->names, NULL);
	if (g_strv_contains((const char *const *)routing->names->pdata, default_section) == FALSE)
		g_ptr_array_add(
			problems,
			g_strdup_printf("%s: no [section %s] for the default section; expected "
					"[routing] default_section to name a section of it",
					path, default_section));
	for (gsize i = 0; groups[i] != NULL; i++)
		if (g_str_has_prefix(groups[i], "country ") && groups[i][8] != '\0')
			check_country(&l, groups[i], groups[i] + 8);

	g_free(l.dir);
	g_hash_table_unref(l.country_section);
	g_hash_table_unref(l.term_owner);
	if (problems->len > problems_before) {
		canary_routing_free(routing);
		return NULL;
	}
	return routing;
}

const char *const *canary_routing_sections(const struct canary_routing *routing)
{
	return (const char *const *)routing->names->pdata;
}

const char *const *canary_routing_section_notify_full(const struct canary_routing *routing,
						      const char *section, gboolean *daily_r)
{
	for (guint i = 0; i < routing->sections->len; i++) {
		const struct section *s = routing->sections->pdata[i];
		if (strcmp(s->name, section) != 0)
			continue;
		if (daily_r != NULL)
			*daily_r = s->notify_daily;
		return s->notify != NULL && s->notify[0] != NULL ? (const char *const *)s->notify
								 : NULL;
	}
	return NULL;
}

const char *canary_routing_section_key(const struct canary_routing *routing, const char *section)
{
	for (guint i = 0; i < routing->sections->len; i++) {
		const struct section *s = routing->sections->pdata[i];
		if (strcmp(s->name, section) == 0)
			return s->key_path;
	}
	return NULL;
}

const char *canary_routing_section_group(const struct canary_routing *routing, const char *section)
{
	for (guint i = 0; i < routing->sections->len; i++) {
		const struct section *s = routing->sections->pdata[i];
		if (strcmp(s->name, section) == 0)
			return s->group;
	}
	return NULL;
}

gboolean canary_routing_section_retention(const struct canary_routing *routing,
					  const char *section, guint64 *seconds_r)
{
	for (guint i = 0; i < routing->sections->len; i++) {
		const struct section *s = routing->sections->pdata[i];
		if (strcmp(s->name, section) == 0 && s->has_retention) {
			*seconds_r = s->retention;
			return TRUE;
		}
	}
	return FALSE;
}

const char *canary_routing_default_section(const struct canary_routing *routing)
{
	return ((const struct section *)routing->sections->pdata[routing->default_section])->name;
}

/* --- Routing ------------------------------------------------------------------ */

/* A term found, and whether any of its occurrences was in the subject. */
struct found {
	const struct term *term;
	gboolean in_subject;
};

/* Finds the terms in WORDS, leftmost-longest, into FOUND (term -> struct found). */
static void find_terms(const struct canary_routing *routing, const struct words *cut,
		       gboolean in_subject, GHashTable *found)
{
	const GPtrArray *words = cut->list;
	for (guint i = 0; i < words->len;) {
		if (!starts_may(routing, g_array_index(cut->hashes, guint32, i))) {
			i++;
			continue;
		}
		GPtrArray *bucket = g_hash_table_lookup(routing->index, words->pdata[i]);
		const struct term *best = NULL;
		for (guint b = 0; bucket != NULL && b < bucket->len; b++) {
			const struct term *t = bucket->pdata[b];
			if (t->n_words > words->len - i)
				continue;
			guint k = 1;
			while (k < t->n_words && strcmp(t->words[k], words->pdata[i + k]) == 0)
				k++;
			if (k == t->n_words &&
			    (best == NULL || t->n_words > best->n_words ||
			     (t->n_words == best->n_words && t->length > best->length)))
				best = t;
		}
		if (best == NULL) {
			i++;
			continue;
		}
		struct found *f = g_hash_table_lookup(found, best);
		if (f == NULL) {
			f = g_new0(struct found, 1);
			f->term = best;
			g_hash_table_insert(found, (gpointer)best, f);
		}
		f->in_subject |= in_subject;
		i += best->n_words;
	}
}

static void match_free(gpointer p)
{
	struct canary_route_match *m = p;
	g_free(m->term);
	g_free(m->country);
	g_free(m);
}

static void score_free(gpointer p)
{
	struct canary_route_score *s = p;
	g_free(s->section);
	g_ptr_array_unref(s->matches);
	g_free(s);
}

void canary_route_free(struct canary_route *route)
{
	if (route == NULL)
		return;
	g_free(route->section);
	g_ptr_array_unref(route->scores);
	g_free(route);
}

static gint compare_found(gconstpointer a, gconstpointer b)
{
	const struct found *x = *(struct found *const *)a, *y = *(struct found *const *)b;
	return strcmp(x->term->text, y->term->text);
}

/* Adds the points of each distinct country and keyword in FOUND. */
static void add_points(const struct canary_routing *routing, GHashTable *found, GPtrArray *scores)
{
	/* A country named twice (or in two languages) counts once, from the
	 * subject if it was there. */
	g_autoptr(GHashTable) countries = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) list = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value = NULL;
	g_hash_table_iter_init(&iter, found);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(list, value);
	g_ptr_array_sort(list, compare_found);
	for (guint pass = 0; pass < 2; pass++) {
		/* Subject matches first, so a country seen in both counts as subject. */
		for (guint i = 0; i < list->len; i++) {
			const struct found *f = list->pdata[i];
			if (f->in_subject != (pass == 0))
				continue;
			const struct term *t = f->term;
			if (t->country != NULL) {
				if (g_hash_table_contains(countries, t->country))
					continue;
				g_hash_table_add(countries, t->country);
			}
			const struct section *s = routing->sections->pdata[t->section];
			struct canary_route_score *score = scores->pdata[t->section];
			double points = (t->country != NULL ? routing->country_points
							    : routing->keyword_points) *
					(f->in_subject ? routing->subject_factor : 1.0) * s->weight;
			struct canary_route_match *m = g_new0(struct canary_route_match, 1);
			m->term = g_strdup(t->text);
			m->country = g_strdup(t->country);
			m->in_subject = f->in_subject;
			m->points = points;
			g_ptr_array_add(score->matches, m);
			score->score += points;
		}
	}
}

/* Marks the sections whose recipient patterns match an address of MAIL;
 * returns the first such section's index, or -1. */
static int match_recipients(const struct canary_routing *routing, const struct canary_mail *mail,
			    GPtrArray *scores)
{
	GPtrArray *lists[] = {mail->to, mail->cc, mail->delivered_to};
	int first = -1;
	for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint a = 0; lists[l] != NULL && a < lists[l]->len; a++) {
			const struct canary_address *address = lists[l]->pdata[a];
			if (address->address == NULL)
				continue;
			g_autofree char *lower = g_utf8_strdown(address->address, -1);
			for (guint s = 0; s < routing->sections->len; s++) {
				const struct section *section = routing->sections->pdata[s];
				for (gsize p = 0; section->recipients[p] != NULL; p++) {
					if (!g_pattern_match_simple(section->recipients[p], lower))
						continue;
					((struct canary_route_score *)scores->pdata[s])->recipient =
						TRUE;
					if (first < 0)
						first = (int)s;
				}
			}
		}
	}
	return first;
}

struct canary_route *canary_route_mail(const struct canary_routing *routing,
				       const struct canary_mail *mail)
{
	struct canary_route *route = g_new0(struct canary_route, 1);
	route->scores = g_ptr_array_new_with_free_func(score_free);
	for (guint i = 0; i < routing->sections->len; i++) {
		struct canary_route_score *score = g_new0(struct canary_route_score, 1);
		score->section = g_strdup(((struct section *)routing->sections->pdata[i])->name);
		score->matches = g_ptr_array_new_with_free_func(match_free);
		g_ptr_array_add(route->scores, score);
	}
	g_autoptr(GHashTable) found = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	g_auto(struct_words) subject = {0};
	g_auto(struct_words) text = {0};
	words_of(mail->subject, &subject);
	words_of(mail->text, &text);
	find_terms(routing, &subject, TRUE, found);
	find_terms(routing, &text, FALSE, found);
	add_points(routing, found, route->scores);

	int by_recipient = match_recipients(routing, mail, route->scores);
	if (by_recipient >= 0) {
		route->section = g_strdup(
			((struct canary_route_score *)route->scores->pdata[by_recipient])->section);
		route->rule = CANARY_RULE_RECIPIENT;
		return route;
	}
	double best = 0;
	int winner = -1;
	gboolean tie = FALSE;
	for (guint i = 0; i < route->scores->len; i++) {
		const struct canary_route_score *s = route->scores->pdata[i];
		if (s->score > best + 1e-9) {
			best = s->score;
			winner = (int)i;
			tie = FALSE;
		} else if (s->score > 0 && s->score > best - 1e-9) {
			tie = TRUE;
		}
	}
	if (winner < 0 || tie) {
		route->section = g_strdup(canary_routing_default_section(routing));
		route->rule = CANARY_RULE_DEFAULT;
		return route;
	}
	const struct canary_route_score *w = route->scores->pdata[winner];
	route->section = g_strdup(w->section);
	route->rule = CANARY_RULE_KEYWORD;
	for (guint m = 0; m < w->matches->len; m++)
		if (((struct canary_route_match *)w->matches->pdata[m])->country != NULL)
			route->rule = CANARY_RULE_COUNTRY;
	return route;
}

char *canary_route_describe(const struct canary_route *route)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < route->scores->len; i++) {
		const struct canary_route_score *s = route->scores->pdata[i];
		if (s->matches->len == 0 && !s->recipient)
			continue;
		g_string_append_printf(out, "%s (%g):", s->section, s->score);
		if (s->recipient)
			g_string_append(out, " recipient address;");
		for (guint m = 0; m < s->matches->len; m++) {
			const struct canary_route_match *match = s->matches->pdata[m];
			g_string_append_printf(out, " %s (%s%s%s)%s", match->term,
					       match->country != NULL ? "country " : "keyword",
					       match->country != NULL ? match->country : "",
					       match->in_subject ? ", subject" : "",
					       m + 1 < s->matches->len ? ";" : "");
		}
		g_string_append_c(out, '\n');
	}
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}
