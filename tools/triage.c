/* triage.c: helpers shared by the triage officers' commands. */
#include "triage.h"

#include "case.h"

#include <string.h>

#include "cli.h"
#include "text.h"
#include "wipe.h"

gboolean triage_parse_date(const char *option, const char *date, gint64 *t_r)
{
	int y = 0, m = 0, d = 0, n = 0;
	if (date != NULL && sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 &&
	    (size_t)n == strlen(date) && strlen(date) == 10 && g_date_valid_dmy(d, m, y)) {
		g_autoptr(GDateTime) dt = g_date_time_new_utc(y, m, d, 0, 0, 0);
		if (dt != NULL) {
			*t_r = g_date_time_to_unix(dt);
			return TRUE;
		}
	}
	cli_error("%s %s: expected a date as YYYY-MM-DD (UTC), e.g. 2026-01-31", option,
		  date != NULL ? date : "");
	return FALSE;
}

gint64 triage_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

char *triage_format_age(gint64 seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT "m", seconds / 60);
	if (seconds < 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT "h", seconds / 3600);
	if (seconds < 14 * 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT "d", seconds / 86400);
	return g_strdup_printf("%" G_GINT64_FORMAT "w", seconds / (7 * 86400));
}

/* Columns one character takes. */
static guint char_columns(gunichar c)
{
	if (g_unichar_iszerowidth(c))
		return 0;
	return g_unichar_iswide(c) ? 2 : 1;
}

guint triage_columns(const char *text)
{
	guint n = 0;
	for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p))
		n += char_columns(g_utf8_get_char(p));
	return n;
}

/* Cuts valid UTF-8 TEXT (in place) to WIDTH columns, ending with MARK (one
 * column) when cut. Returns the columns it takes. */
static guint cut(GString *text, guint width, const char *mark)
{
	guint total = triage_columns(text->str);
	if (total <= width)
		return total;
	guint used = 0;
	const char *p = text->str;
	for (; *p != '\0'; p = g_utf8_next_char(p)) {
		guint w = char_columns(g_utf8_get_char(p));
		if (used + w + 1 > width)
			break;
		used += w;
	}
	gsize at = (gsize)(p - text->str);
	canary_wipe(text->str + at, text->len - at);
	g_string_truncate(text, at);
	if (width > 0) {
		g_string_append(text, mark);
		used++;
	}
	return used;
}

/* TEXT escaped onto one line and cut to WIDTH columns, ending with MARK
 * when cut. Returns a new string; wipe it with canary_wipe_free(). */
static char *safe_cell(const char *text, guint width, const char *mark)
{
	char *line = canary_text_escape(text != NULL ? text : "-", -1, CANARY_TEXT_LINE);
	gsize len = strlen(line);
	GString *s = g_string_sized_new(len + 8);
	g_string_append_len(s, line, (gssize)len);
	canary_wipe_free(line);
	cut(s, width, mark);
	return g_string_free(s, FALSE);
}

void triage_cell(FILE *out, const char *text, guint width)
{
	char *cell = safe_cell(text, width, "~");
	fputs(cell, out);
	for (guint used = triage_columns(cell); used < width; used++)
		fputc(' ', out);
	canary_wipe_free(cell);
}

char *triage_untrusted_cell(const char *text, guint width)
{
	return safe_cell(text, width, "\xe2\x80\xa6"); /* … */
}

void triage_json_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value != NULL)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

void triage_json_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

void triage_json_double(JsonBuilder *b, const char *name, double value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_double_value(b, value);
}

void triage_json_bool(JsonBuilder *b, const char *name, gboolean value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

char *triage_format_day(gint64 day)
{
	return cli_format_utc(day, "%Y-%m-%d");
}

char *triage_format_age_days(gint64 day, gint64 now)
{
	gint64 days = MAX(canary_store_day(now) - day, 0) / 86400;
	if (days < 14)
		return g_strdup_printf("%" G_GINT64_FORMAT "d", days);
	return g_strdup_printf("%" G_GINT64_FORMAT "w", days / 7);
}

void triage_json_time(JsonBuilder *b, const char *name, gint64 t)
{
	g_autofree char *text = cli_format_time(t);
	triage_json_string(b, name, text);
}

/* Appends JSON text TEXT (valid UTF-8 from json-glib) to OUT with the
 * characters json-glib leaves raw but a terminal or a JavaScript parser
 * would act on (DEL, C1 controls, bidi controls, U+2028/2029, U+FEFF) as
 * \uXXXX. JSON has nothing but ASCII outside its strings, so each such
 * character is inside a string and parses back unchanged. */
static void json_escape_controls(GString *out, const char *text)
{
	for (const char *p = text; *p != '\0';) {
		gunichar c = g_utf8_get_char_validated(p, -1);
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append(out, "\\ufffd"); /* invalid UTF-8 from the store */
			p++;
			continue;
		}
		const char *next = g_utf8_next_char(p);
		if (c >= 0x7f && canary_text_is_control(c))
			g_string_append_printf(out, "\\u%04x", c);
		else
			g_string_append_len(out, p, next - p);
		p = next;
	}
}

void triage_json_print(JsonBuilder *b)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	gsize len = 0;
	char *text = json_generator_to_data(gen, &len);
	/* DEL or an invalid byte becomes 6 bytes: sized once, never reallocated. */
	GString *safe = g_string_sized_new(6 * len + 1);
	json_escape_controls(safe, text);
	puts(safe->str);
	// Subjects and notes are in both: wipe before freeing.
	canary_wipe(text, len);
	g_free(text);
	canary_wipe(safe->str, safe->len);
	g_string_free(safe, TRUE);
}

gboolean triage_check_ref(const char *ref)
{
	/* Random references, and the numbered ones of older versions. */
	if (g_regex_match_simple("^R-[0-9]{4}-([0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}|"
				 "[0-9]{6,})$",
				 ref, 0, 0))
		return TRUE;
	cli_error("'%s' is not a case reference: expected R-YYYY-XXXX-XXXX, as canary list shows",
		  ref);
	return FALSE;
}

gboolean triage_valid_name(const char *name)
{
	return canary_case_valid_name(name);
}
