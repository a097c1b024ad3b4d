/* identity.c: who wrote in: addresses from From/Sender/Reply-To, IP literals
 * from Received headers (RFC 5321 4.4), phone numbers and signature e-mail
 * addresses from the text; scrubbing them out; the sealed record (GVariant). */
#include "identity.h"

#include <arpa/inet.h>
#include <string.h>

#include "text.h"
#include "wipe.h"

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-identity-error-quark, canary_identity_error)
// clang-format on

#define RECORD_TYPE_V1   "(ya(ss)asasasms)"
#define RECORD_TYPE      "(ya(ss)asasasmsu)" /* version 2 adds the count omitted */
#define RECORD_VERSION   2
#define PHONE_MIN_DIGITS 8
#define PHONE_MAX_DIGITS 15 /* E.164 */
#define SEPARATOR_RUN    3  /* separator characters allowed between two digit groups */
#define SIGNATURE_LINES  10
#define FILL_SLACK       256  /* characters looked ahead beyond the longest needle */
#define COMPACT_AFTER    4096 /* characters scrubbed before the window drops them */

static void address_free(gpointer p)
{
	struct canary_address *a = p;
	if (a == NULL)
		return;
	canary_wipe_free(a->name);
	canary_wipe_free(a->address);
	g_free(a);
}

/* A growable buffer that wipes what it leaves behind (g_realloc would not). */
struct wbuf {
	char *data;
	gsize len, size;
};

static void wbuf_clear(struct wbuf *b)
{
	if (b->data != NULL) {
		canary_wipe(b->data, b->size);
		g_free(b->data);
	}
	*b = (struct wbuf){0};
}

static void wbuf_append(struct wbuf *b, const char *s, gsize n)
{
	if (b->size - b->len < n) {
		gsize size = MAX(b->size * 2, b->len + n + 64);
		char *data = g_malloc(size);
		if (b->len > 0)
			memcpy(data, b->data, b->len);
		gsize len = b->len;
		wbuf_clear(b);
		*b = (struct wbuf){data, len, size};
	}
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Drops the first N bytes (none yet allocated when N is 0). */
static void wbuf_consume(struct wbuf *b, gsize n)
{
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	canary_wipe(b->data + b->len, n);
}

/* A copy of S with the white space around it removed; NULL if S is NULL or blank. */
static char *dup_trimmed(const char *s)
{
	if (s == NULL)
		return NULL;
	char *copy = g_strstrip(g_strdup(s));
	if (*copy == '\0') {
		g_free(copy);
		return NULL;
	}
	return copy;
}

/* A set of strings that wipes its keys. */
static GHashTable *string_set_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, canary_wipe_free, NULL);
}

/* Adds the case-folded form of PREFIX + S to SET; TRUE if it was not there yet. */
static gboolean set_add_folded(GHashTable *set, const char *prefix, const char *s)
{
	g_autofree char *joined = g_strconcat(prefix, s, NULL);
	char *key = g_utf8_casefold(joined, -1);
	canary_wipe(joined, strlen(joined));
	if (g_hash_table_contains(set, key)) {
		canary_wipe_free(key);
		return FALSE;
	}
	return g_hash_table_add(set, key);
}

static struct canary_identity *identity_new(void)
{
	struct canary_identity *id = g_new0(struct canary_identity, 1);
	id->addresses = g_ptr_array_new_with_free_func(address_free);
	id->ips = g_ptr_array_new_with_free_func(canary_wipe_free);
	id->phones = g_ptr_array_new_with_free_func(canary_wipe_free);
	id->emails = g_ptr_array_new_with_free_func(canary_wipe_free);
	return id;
}

void canary_identity_free(struct canary_identity *identity)
{
	if (identity == NULL)
		return;
	g_clear_pointer(&identity->addresses, g_ptr_array_unref);
	g_clear_pointer(&identity->ips, g_ptr_array_unref);
	g_clear_pointer(&identity->phones, g_ptr_array_unref);
	g_clear_pointer(&identity->emails, g_ptr_array_unref);
	canary_wipe_free(identity->primary);
	g_free(identity);
}

/* ---- characters ---- */

/* What the word-edge and phone-start rules need to know of a character,
 * found once for it (the scrubber's skip asks them of every character).
 * Eight bytes, so that it is returned in one register: with two gbooleans
 * it went through the stack, and reading it back stalled the skip. */
struct kind {
	gunichar c;
	guint8 word;     /* canary_text_is_word() */
	guint8 unspaced; /* canary_text_is_unspaced(), asked of words only */
};

static struct kind kind_of(gunichar c)
{
	guint classes = canary_text_classes(c);
	gboolean word = (classes & CANARY_TEXT_WORD) != 0;
	return (struct kind){c, word, word && (classes & CANARY_TEXT_UNSPACED) != 0};
}

/* TRUE if a match may end (or start) between OUTSIDE and INSIDE, its own
 * edge character: "Ana" must not match inside "Analysis". The text's end
 * (0) is no word. */
static gboolean edge_ok_kinds(const struct kind *outside, const struct kind *inside)
{
	return !outside->word || !inside->word || outside->unspaced || inside->unspaced;
}

static gboolean edge_ok(gunichar outside, gunichar inside)
{
	struct kind o = kind_of(outside), i = kind_of(inside);
	return edge_ok_kinds(&o, &i);
}

static gboolean ascii_in(gunichar c, const char *set)
{
	return c != 0 && c < 0x80 && strchr(set, (int)c) != NULL;
}

/* ---- addresses ---- */

/* Adds the mailboxes of LIST not seen yet (SEEN: "a:" + folded address, or
 * "n:" + folded name for a mailbox without address); a later duplicate only
 * lends its display name to an entry that has none. */
static void add_addresses(struct canary_identity *id, GHashTable *seen, GHashTable *by_key,
			  const GPtrArray *list)
{
	for (guint i = 0; list != NULL && i < list->len; i++) {
		const struct canary_address *a = list->pdata[i];
		char *name = dup_trimmed(a->name);
		char *address = dup_trimmed(a->address);
		if (name == NULL && address == NULL)
			continue;
		g_autofree char *joined = g_strconcat(
			address != NULL ? "a:" : "n:", address != NULL ? address : name, NULL);
		char *key = g_utf8_casefold(joined, -1);
		canary_wipe(joined, strlen(joined));
		struct canary_address *known = NULL;
		gboolean seen_before =
			g_hash_table_lookup_extended(by_key, key, NULL, (gpointer *)&known);
		if (seen_before) {
			if (known != NULL && known->name == NULL)
				known->name = g_steal_pointer(&name);
			canary_wipe_free(name);
			canary_wipe_free(address);
			canary_wipe_free(key);
			continue;
		}
		if (id->addresses->len >= CANARY_IDENTITY_MAX_ADDRESSES) {
			/* Counted once per distinct key: repeats are not new people. */
			g_hash_table_insert(by_key, key, NULL);
			id->omitted++;
			canary_wipe_free(name);
			canary_wipe_free(address);
			continue;
		}
		struct canary_address *copy = g_new0(struct canary_address, 1);
		copy->name = name;
		copy->address = address;
		g_ptr_array_add(id->addresses, copy);
		g_hash_table_insert(by_key, key, copy);
		if (address != NULL)
			set_add_folded(seen, "", address);
	}
}

/* ---- IP literals ---- */

static gboolean ip_char(char c)
{
	return g_ascii_isxdigit(c) || c == ':' || c == '.';
}

/* Addresses that say nothing about the sender: loopback and unspecified. */
static gboolean ip_uninteresting(int family, const guint8 *b)
{
	static const guint8 mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const guint8 zero[15] = {0};
	if (family == AF_INET)
		return b[0] == 127 || (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0);
	if (memcmp(b, mapped, sizeof mapped) == 0)
		return ip_uninteresting(AF_INET, b + 12);
	return memcmp(b, zero, sizeof zero) == 0 && b[15] <= 1;
}

/* The canonical text of the IP literal CAND, or NULL if it is none (or loopback). */
static char *ip_parse(const char *cand)
{
	guint8 bin[16];
	char out[INET6_ADDRSTRLEN];
	int family = strchr(cand, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(family, cand, bin) != 1 || ip_uninteresting(family, bin) ||
	    inet_ntop(family, bin, out, sizeof out) == NULL)
		return NULL;
	return g_strdup(out);
}

/* Adds the candidate of LEN bytes at START if it is an IP literal not seen yet. */
static void add_ip(struct canary_identity *id, GHashTable *seen, const char *start, gsize len)
{
	char cand[64];
	while (len > 0 && start[len - 1] == '.')
		len--;
	if (len > 0 && start[0] == ':' && (len < 2 || start[1] != ':')) {
		start++;
		len--;
	}
	if (len < 2 || len >= sizeof cand)
		return;
	memcpy(cand, start, len);
	cand[len] = '\0';
	char *ip = ip_parse(cand);
	char *colon = strchr(cand, ':');
	if (ip == NULL && colon != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = '\0'; /* "192.0.2.1:25": address and port */
		ip = ip_parse(cand);
	}
	if (ip != NULL && !g_hash_table_contains(seen, ip)) {
		g_hash_table_add(seen, g_strdup(ip));
		g_ptr_array_add(id->ips, g_steal_pointer(&ip));
	}
	canary_wipe_free(ip);
}

/* Adds the IP literals of one Received header VALUE: "[192.0.2.1]",
 * "(host [IPv6:2001:db8::1])", ... */
static void scan_ips(struct canary_identity *id, GHashTable *seen, const char *value)
{
	const char *p = value;
	while (*p != '\0') {
		if (g_ascii_strncasecmp(p, "IPv6:", 5) == 0) {
			p += 5;
			continue;
		}
		if (!ip_char(*p)) {
			p++;
			continue;
		}
		const char *start = p;
		while (ip_char(*p))
			p++;
		/* Hex digits inside a word ("deadline", "host-1.2.3.4") are no literal. */
		if (start > value &&
		    (g_ascii_isalnum(start[-1]) || start[-1] == '-' || start[-1] == '_'))
			continue;
		if (g_ascii_isalnum(*p) || *p == '-' || *p == '_')
			continue;
		add_ip(id, seen, start, (gsize)(p - start));
	}
}

/* ---- phone numbers ---- */

/* One number as scanned: digit groups and what separates them. */
struct phone {
	gsize len; /* bytes from the start to the end of the last digit */
	gboolean plus;
	guint ndigits, ngroups;
	char digits[PHONE_MAX_DIGITS + 1];
	guint group_len[PHONE_MAX_DIGITS];
	guint group_value[PHONE_MAX_DIGITS]; /* capped at 100000 */
	char gap[PHONE_MAX_DIGITS]; /* between group i and i + 1: ' ', '.', '-', '(' or ')' */
};

enum phone_scan {
	PHONE_NONE,     /* no digit */
	PHONE_FOUND,    /* see struct phone */
	PHONE_TOO_LONG, /* more digits than a phone number has */
};

/* Length of the separator at P (space, dot, dash, parenthesis, or a Unicode
 * look-alike), 0 if none; *KIND_R gets its ASCII kind. */
static gsize separator_len(const char *p, char *kind_r)
{
	static const struct {
		const char *s;
		char kind;
	} wide[] = {
		{"\xc2\xa0", ' '},     /* no-break space */
		{"\xe2\x80\x89", ' '}, /* thin space */
		{"\xe2\x80\xaf", ' '}, /* narrow no-break space */
		{"\xe2\x80\x90", '-'}, /* hyphen */
		{"\xe2\x80\x91", '-'}, /* non-breaking hyphen */
		{"\xe2\x80\x93", '-'}, /* en dash */
	};
	if (ascii_in((guchar)*p, " .-()")) {
		*kind_r = *p;
		return 1;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(wide); i++) {
		gsize n = strlen(wide[i].s);
		if (strncmp(p, wide[i].s, n) == 0) {
			*kind_r = wide[i].kind;
			return n;
		}
	}
	return 0;
}

static gboolean phone_start_char(char c)
{
	return c == '+' || c == '(' || g_ascii_isdigit(c);
}

/* TRUE if a number may start after PREV as far as PREV alone tells: not
 * inside a word, nor after '+' or '_'. */
static gboolean phone_may_follow(const struct kind *prev)
{
	return !prev->word && prev->c != '+' && prev->c != '_';
}

/* TRUE if a number may start at P in TEXT: not inside a word or another number. */
static gboolean phone_start_ok(const char *text, const char *p)
{
	if (p == text)
		return TRUE;
	const char *q = g_utf8_prev_char(p);
	gunichar prev = g_utf8_get_char(q);
	struct kind k = kind_of(prev);
	if (!phone_may_follow(&k))
		return FALSE;
	if (ascii_in(prev, ".,:-/"))
		return q == text || !g_ascii_isdigit(q[-1]);
	return TRUE;
}

/* TRUE if a number may end at END: not followed by a word or by ":30", "/11"... */
static gboolean phone_end_ok(const char *end)
{
	gunichar next = g_utf8_get_char(end);
	if (next == 0)
		return TRUE;
	if (canary_text_is_word(next))
		return FALSE;
	return !(ascii_in(next, ":/,.") && g_ascii_isdigit(end[1]));
}

/* Reads digit groups and separators from S (at '+', '(' or a digit) into PH. */
static enum phone_scan phone_scan(const char *s, struct phone *ph)
{
	memset(ph, 0, sizeof *ph);
	const char *p = s;
	if (*p == '+') {
		ph->plus = TRUE;
		p++;
	}
	for (;;) {
		const char *q = p;
		char gap = 0, kind = 0;
		gsize n;
		for (guint k = 0; k < SEPARATOR_RUN && (n = separator_len(q, &kind)) > 0; k++) {
			if (gap == 0 || gap == ' ')
				gap = kind; /* a dot or dash says more than a space */
			q += n;
		}
		if (!g_ascii_isdigit(*q))
			break;
		if (ph->ngroups > 0)
			ph->gap[ph->ngroups - 1] = gap;
		guint len = 0, value = 0;
		for (; g_ascii_isdigit(*q); q++, len++) {
			if (ph->ndigits == PHONE_MAX_DIGITS) {
				ph->len = (gsize)(q - s);
				return PHONE_TOO_LONG;
			}
			ph->digits[ph->ndigits++] = *q;
			value = MIN(value * 10 + (guint)(*q - '0'), 100000);
		}
		ph->group_len[ph->ngroups] = len;
		ph->group_value[ph->ngroups] = value;
		ph->ngroups++;
		p = q;
		ph->len = (gsize)(p - s);
	}
	return ph->ndigits > 0 ? PHONE_FOUND : PHONE_NONE;
}

/* "2026-11-24", "24.11.2026" (and a time after them). */
static gboolean phone_is_date(const struct phone *ph)
{
	const guint *l = ph->group_len, *v = ph->group_value;
	if (ph->ngroups < 3 || ph->gap[0] != ph->gap[1] || ph->gap[0] == '(' || ph->gap[0] == ')')
		return FALSE;
	gboolean ymd = l[0] == 4 && v[0] >= 1900 && v[0] <= 2099 && l[1] <= 2 && v[1] >= 1 &&
		       v[1] <= 12 && l[2] <= 2 && v[2] >= 1 && v[2] <= 31;
	gboolean dmy = l[2] == 4 && v[2] >= 1900 && v[2] <= 2099 && l[0] <= 2 && l[1] <= 2 &&
		       v[0] >= 1 && v[0] <= 31 && v[1] >= 1 && v[1] <= 31 &&
		       (v[0] <= 12 || v[1] <= 12);
	return ymd || dmy;
}

/* "192.0.2.10" or "1.234.567": dotted numbers that are no phone. */
static gboolean phone_is_dotted_number(const struct phone *ph)
{
	gboolean address = ph->ngroups == 4, thousands = ph->ngroups >= 3 && ph->group_len[0] <= 2;
	for (guint i = 0; i < ph->ngroups; i++) {
		if (i + 1 < ph->ngroups && ph->gap[i] != '.')
			return FALSE;
		address = address && ph->group_len[i] <= 3 && ph->group_value[i] <= 255;
		thousands = thousands && (i == 0 || ph->group_len[i] == 3);
	}
	return address || thousands;
}

/* "2026-000123", "2026/4711": a reference numbered by year. */
static gboolean phone_is_yearly_reference(const struct phone *ph)
{
	return ph->group_len[0] == 4 && ph->group_value[0] >= 1900 && ph->group_value[0] <= 2099 &&
	       ph->gap[0] != ' ' && ph->gap[0] != '(' && ph->gap[0] != ')';
}

/* "12 345 678", "1.234.567": groups of three after the first, as amounts are written. */
static gboolean phone_is_amount(const struct phone *ph)
{
	if (ph->ngroups < 2 || ph->group_len[0] > 3)
		return FALSE;
	for (guint i = 1; i < ph->ngroups; i++)
		if (ph->group_len[i] != 3 || ph->gap[i - 1] != ph->gap[0])
			return FALSE;
	return TRUE;
}

/* "555.867.5309", "77 123 45 67": three groups or more of two to four digits,
 * the way phone numbers are written when no label says what they are. */
static gboolean phone_has_phone_groups(const struct phone *ph)
{
	if (ph->ngroups < 3 || phone_is_amount(ph))
		return FALSE;
	for (guint i = 0; i < ph->ngroups; i++) {
		if (ph->group_len[i] < 2 || ph->group_len[i] > 4)
			return FALSE;
		if (i + 1 < ph->ngroups && (ph->gap[i] == '(' || ph->gap[i] == ')'))
			return FALSE;
	}
	return TRUE;
}

/* Words that say a phone number follows, in the six UN languages and the
 * messengers people give numbers for; compared after NFKC and case folding. */
static const char *const phone_labels[] = {
	"tel",       "tél",     "telephone", "téléphone", "phone",    "ph",      "mobile",
	"mob",       "mobil",   "cell",      "cellphone", "gsm",      "fax",     "office",
	"whatsapp",  "signal",  "telegram",  "viber",     "portable", "tfno",    "teléfono",
	"telefono",  "móvil",   "movil",     "celular",   "тел",      "телефон", "моб",
	"мобильный", "сотовый", "电话",      "電話",      "手机",     "手機",    "هاتف",
	"جوال",      "الهاتف",  "موبايل",
};

static char *fold_label(const char *s, gssize len)
{
	char *nfkc = g_utf8_normalize(s, len, G_NORMALIZE_NFKC);
	char *folded = nfkc != NULL ? g_utf8_casefold(nfkc, -1) : NULL;
	canary_wipe_free(nfkc);
	return folded;
}

/* TRUE if WORD (folded) is a label, or ends with one written without spaces ("请拨电话"). */
static gboolean is_phone_label(const char *word)
{
	gsize len = strlen(word);
	for (gsize i = 0; i < G_N_ELEMENTS(phone_labels); i++) {
		g_autofree char *label = fold_label(phone_labels[i], -1);
		if (label == NULL)
			continue;
		gsize n = strlen(label);
		if (strcmp(word, label) == 0 ||
		    (n < len && canary_text_is_unspaced(g_utf8_get_char(label)) &&
		     strcmp(word + len - n, label) == 0))
			return TRUE;
	}
	return FALSE;
}

/* TRUE if a label ("Tel.:", "Моб.", "电话：") stands just before P, on its line. */
static gboolean phone_labelled(const char *text, const char *p)
{
	const char *end = p;
	for (guint n = 0; end > text && n < 6; n++) {
		const char *prev = g_utf8_prev_char(end);
		gunichar c = g_utf8_get_char(prev);
		if (c == '\n' || !(g_unichar_isspace(c) || ascii_in(c, ":.-#") || c == 0xff1a))
			break;
		end = prev;
	}
	const char *start = end;
	for (guint n = 0; start > text && n < 16; n++) {
		const char *prev = g_utf8_prev_char(start);
		if (!canary_text_is_word(g_utf8_get_char(prev)))
			break;
		start = prev;
	}
	if (start == end)
		return FALSE;
	char *word = fold_label(start, (gssize)(end - start)); /* may be a name: wiped */
	gboolean labelled = word != NULL && is_phone_label(word);
	canary_wipe_free(word);
	return labelled;
}

/* TRUE if the number scanned at P reads as a phone number: 8 to 15 digits,
 * not a date, an IPv4 address or an amount, and in a phone's shape: with "+"
 * or "00" before it, after a label ("Tel:", "WhatsApp"), or in groups as phone
 * numbers are written. A bare run of digits is a reference, not a phone. */
static gboolean phone_plausible(const char *text, const char *p, const struct phone *ph)
{
	if (ph->ndigits < PHONE_MIN_DIGITS)
		return FALSE;
	if (ph->plus)
		return TRUE;
	if (phone_is_date(ph) || phone_is_dotted_number(ph) || phone_is_yearly_reference(ph))
		return FALSE;
	gboolean international = ph->group_len[0] >= 2 && ph->digits[0] == '0' &&
				 ph->digits[1] == '0' && ph->ngroups >= 2;
	return international || phone_has_phone_groups(ph) ||
	       (phone_labelled(text, p) && !phone_is_amount(ph));
}

/* Skips the rest of a number too long to be a phone, so no part of it is taken. */
static const char *skip_number(const char *p)
{
	for (;;) {
		char kind;
		gsize n = g_ascii_isdigit(*p) ? 1 : separator_len(p, &kind);
		if (n == 0)
			return p;
		p += n;
	}
}

static void scan_phones(struct canary_identity *id, const char *text)
{
	g_autoptr(GHashTable) seen = string_set_new();
	const char *p = text;
	while (*p != '\0') {
		if (!phone_start_char(*p) || !phone_start_ok(text, p)) {
			p++;
			continue;
		}
		struct phone ph;
		enum phone_scan r = phone_scan(p, &ph);
		if (r == PHONE_FOUND && phone_plausible(text, p, &ph) && phone_end_ok(p + ph.len)) {
			char *written = g_strndup(p, ph.len);
			if (!g_hash_table_contains(seen, written) &&
			    id->phones->len >= CANARY_IDENTITY_MAX_FOUND) {
				id->omitted++;
			} else if (!g_hash_table_contains(seen, written)) {
				g_hash_table_add(seen, g_strdup(written));
				g_ptr_array_add(id->phones, g_steal_pointer(&written));
			}
			canary_wipe_free(written);
		}
		p += MAX(ph.len, 1);
		if (r == PHONE_TOO_LONG)
			p = skip_number(p);
		canary_wipe(&ph, sizeof ph);
	}
}

/* The digits of a phone number without leading zeros (trunk or "00" prefix),
 * so "+221 77 123 45 67", "00221771234567" and "77 123 45 67" share a tail. */
static char *phone_key(const char *phone)
{
	GString *key = g_string_new(NULL);
	for (const char *p = phone; *p != '\0'; p++)
		if (g_ascii_isdigit(*p) && (key->len > 0 || *p != '0'))
			g_string_append_c(key, *p);
	gsize len = key->len;
	char *s = g_string_free(key, FALSE);
	if (len >= PHONE_MIN_DIGITS)
		return s;
	canary_wipe_free(s);
	return NULL;
}

/* ---- signature e-mail addresses ---- */

/* "-- " alone on its line (RFC 3676 4.3), or "--" whose space was lost. */
static gboolean is_signature_delimiter(const char *line, gsize len)
{
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return len == 2 && line[0] == '-' && line[1] == '-';
}

/* Finds the signature block of TEXT: the lines after the first delimiter,
 * else the last lines; at most SIGNATURE_LINES either way. */
static void signature_block(const char *text, const char **start_r, const char **end_r)
{
	const char *end = text + strlen(text);
	for (const char *line = text; line < end;) {
		const char *eol = memchr(line, '\n', (gsize)(end - line));
		const char *next = eol != NULL ? eol + 1 : end;
		if (is_signature_delimiter(line, (gsize)((eol != NULL ? eol : end) - line))) {
			const char *p = next;
			for (guint n = 0; p < end && n < SIGNATURE_LINES; n++) {
				const char *nl = memchr(p, '\n', (gsize)(end - p));
				p = nl != NULL ? nl + 1 : end;
			}
			*start_r = next;
			*end_r = p;
			return;
		}
		line = next;
	}
	const char *p = end;
	while (p > text && g_ascii_isspace(p[-1]))
		p--;
	for (guint n = 0; p > text; p--)
		if (p[-1] == '\n' && ++n == SIGNATURE_LINES)
			break;
	*start_r = p;
	*end_r = end;
}

static gboolean local_char(gunichar c)
{
	return ascii_in(c, ".!#$%&'*+/=?^_`{|}~-") || canary_text_is_word(c);
}

static gboolean domain_char(gunichar c)
{
	return ascii_in(c, ".-") || canary_text_is_word(c);
}

/* The e-mail address around the '@' at AT within [LINE, END), or NULL. */
static char *email_at(const char *line, const char *end, const char *at)
{
	const char *l = at, *r = at + 1;
	while (l > line && local_char(g_utf8_get_char(g_utf8_prev_char(l))))
		l = g_utf8_prev_char(l);
	while (r < end && domain_char(g_utf8_get_char(r)))
		r = g_utf8_next_char(r);
	while (l < at && *l == '.')
		l++;
	while (r > at + 1 && (r[-1] == '.' || r[-1] == '-'))
		r--;
	const char *domain = at + 1;
	if (l == at || r == domain || *domain == '.' || *domain == '-' ||
	    memchr(domain, '.', (gsize)(r - domain)) == NULL)
		return NULL;
	return g_strndup(l, (gsize)(r - l));
}

/* Adds the e-mail addresses of the signature block that are not the sender's own
 * (SEEN holds those, folded); quoted lines ("> ...") are someone else's. */
static void scan_signature(struct canary_identity *id, GHashTable *seen, const char *text)
{
	const char *start, *end;
	signature_block(text, &start, &end);
	for (const char *line = start; line < end;) {
		const char *eol = memchr(line, '\n', (gsize)(end - line));
		const char *line_end = eol != NULL ? eol : end;
		const char *p = line;
		while (p < line_end && (*p == ' ' || *p == '\t'))
			p++;
		for (const char *at = memchr(p, '@', (gsize)(line_end - p));
		     at != NULL && *p != '>';
		     at = memchr(at + 1, '@', (gsize)(line_end - at - 1))) {
			char *email = email_at(line, line_end, at);
			if (email != NULL && set_add_folded(seen, "", email)) {
				if (id->emails->len < CANARY_IDENTITY_MAX_FOUND)
					g_ptr_array_add(id->emails, g_steal_pointer(&email));
				else
					id->omitted++;
			}
			canary_wipe_free(email);
		}
		line = eol != NULL ? eol + 1 : end;
	}
}

/* ---- the submitter's own text ---- */

/* TRUE if the fold of the character at P (valid UTF-8) and the fold of
 * any text after it may start with one of the N folded STARTS: the
 * character's fold begins one of them, or one of them begins it. */
static gboolean may_begin_with(const char *p, const char *const *starts, gsize n)
{
	if ((guchar)*p < 0x80) { /* an ASCII character folds to its lower case */
		char lower = g_ascii_tolower(*p);
		for (gsize i = 0; i < n; i++)
			if (starts[i][0] == lower)
				return TRUE;
		return FALSE;
	}
	char *first = g_utf8_casefold(p, g_utf8_next_char(p) - p); /* of a name, maybe: wiped */
	gboolean may = FALSE;
	for (gsize i = 0; i < n && !may; i++)
		may = g_str_has_prefix(starts[i], first) || g_str_has_prefix(first, starts[i]);
	canary_wipe_free(first);
	return may;
}

/* TRUE if LINE (LEN bytes) starts a forwarded or quoted message: what follows
 * is someone else's ("---------- Forwarded message ---------", "-----Original
 * Message-----", "Begin forwarded message:", "On ... wrote:"). */
static gboolean is_forward_marker(const char *line, gsize len)
{
	static const char *const starts[] = {
		"forwarded message",
		"original message",
		"begin forwarded message",
		"message transféré",
		"message d'origine",
		"mensaje reenviado",
		"mensaje original",
		"пересылаемое сообщение",
		"исходное сообщение",
		"转发的邮件",
		"原始邮件",
		"رسالة محولة",
	};
	static const char *const ends[] = {
		"wrote:",   "a écrit :", "a écrit:", "escribió:", "пишет:",
		"написал:", "写道：",    "写道:",    "كتب:"};
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	const char *p = line, *end = line + len;
	/* A mailing list's footer starts with a rule of underscores (Mailman). */
	gsize rule = 0;
	while (rule < len && line[rule] == '_')
		rule++;
	if (rule == len && len >= 20)
		return TRUE;
	while (p < end && (*p == '-' || *p == ' ' || *p == '\t' || *p == '_' || *p == '='))
		p++;
	if (p == end || len > 400)
		return FALSE;
	/* "On Mon, 2 Mar 2026, Bob <bob@example.net> wrote:", not "My brother wrote:". */
	gboolean dated = FALSE;
	for (const char *q = p; q < end && !dated; q++)
		dated = g_ascii_isdigit(*q) || *q == '@';
	/* Most lines are neither kind of marker: a line is folded whole only
	 * if it ends as the dated ones do (every end is a colon, which folds
	 * to itself) or its first character, folded, may begin a start. */
	gboolean may_end = dated && (end[-1] == ':' ||
				     (end - p >= 3 && memcmp(end - 3, "\xef\xbc\x9a", 3) == 0));
	if (!may_end && !may_begin_with(p, starts, G_N_ELEMENTS(starts)))
		return FALSE;
	char *folded = g_utf8_casefold(p, (gssize)(end - p)); /* names and addresses: wiped */
	gsize n = strlen(folded);
	gboolean marker = FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(starts) && !marker; i++)
		marker = g_str_has_prefix(folded, starts[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(ends) && dated && !marker; i++)
		marker = n > strlen(ends[i]) && g_str_has_suffix(folded, ends[i]);
	canary_wipe_free(folded);
	return marker;
}

/* Appends the lines of S (LEN bytes) to OUT up to the first forward marker,
 * without quoted lines ("> ..."); FALSE once a marker was met. */
static gboolean append_own_lines(struct wbuf *out, const char *s, gsize len)
{
	const char *end = s + len;
	for (const char *line = s; line < end;) {
		const char *eol = memchr(line, '\n', (gsize)(end - line));
		const char *next = eol != NULL ? eol + 1 : end;
		gsize line_len = (gsize)((eol != NULL ? eol : end) - line);
		if (is_forward_marker(line, line_len))
			return FALSE;
		if (*line != '>')
			wbuf_append(out, line, (gsize)(next - line));
		line = next;
	}
	return TRUE;
}

/* Appends the submitter's lines of TEXT [FROM, TO) (kept on UTF-8 character
 * boundaries); FALSE once a forward marker was met. */
static gboolean append_own_range(struct wbuf *out, const char *text, gsize from, gsize to)
{
	while (from < to && (text[from] & 0xc0) == 0x80)
		from++;
	while (to > from && (text[to] & 0xc0) == 0x80)
		to--;
	return to <= from || append_own_lines(out, text + from, to - from);
}

/* The text the submitter wrote: TEXT without forwarded messages' parts, up to
 * an inline forwarded or quoted message. NUL-terminated; wipe it. */
static struct wbuf own_text(const struct canary_mail *mail)
{
	struct wbuf out = {0};
	gsize text_len = strlen(mail->text), at = 0;
	const GArray *forwarded = mail->forwarded_text;
	gboolean more = TRUE;
	for (guint i = 0; forwarded != NULL && i < forwarded->len && more; i++) {
		const struct canary_text_range *r =
			&g_array_index(forwarded, struct canary_text_range, i);
		if (r->offset < at || r->offset > text_len || r->length > text_len - r->offset)
			continue; /* not from this text: ignored */
		more = append_own_range(&out, mail->text, at, r->offset);
		at = r->offset + r->length;
	}
	if (more)
		append_own_range(&out, mail->text, at, text_len);
	wbuf_append(&out, "", 1);
	return out;
}

struct canary_identity *canary_identity_extract(const struct canary_mail *mail)
{
	struct canary_identity *id = identity_new();
	if (mail == NULL)
		return id;
	g_autoptr(GHashTable) seen = string_set_new();
	g_autoptr(GHashTable) by_key =
		g_hash_table_new_full(g_str_hash, g_str_equal, canary_wipe_free, NULL);
	add_addresses(id, seen, by_key, mail->from);
	/* A mailing list sets Sender and Reply-To to its own addresses. */
	if (!mail->list_mail) {
		add_addresses(id, seen, by_key, mail->sender);
		add_addresses(id, seen, by_key, mail->reply_to);
	}
	/* From comes first, then Sender, then Reply-To: the first address is the primary. */
	for (guint i = 0; i < id->addresses->len && id->primary == NULL; i++) {
		const struct canary_address *a = id->addresses->pdata[i];
		if (a->address != NULL)
			id->primary = g_utf8_strdown(a->address, -1);
	}

	g_autoptr(GHashTable) ips = string_set_new();
	for (guint i = 0; mail->received != NULL && i < mail->received->len; i++)
		if (mail->received->pdata[i] != NULL)
			scan_ips(id, ips, mail->received->pdata[i]);

	/* A bounce report's text is the mail system's, about other people. */
	if (mail->text != NULL && g_utf8_validate(mail->text, -1, NULL) && !mail->report) {
		struct wbuf own = own_text(mail);
		scan_phones(id, own.data);
		scan_signature(id, seen, own.data);
		wbuf_clear(&own);
	}
	return id;
}

/* ---- scrubbing ---- */

/* Folds characters for comparison: compatibility decomposition and case
 * folding (per character, so positions map back to the text), and a run of
 * white space as one space (a second line break stays: no match across
 * paragraphs). */
struct folder {
	GHashTable *cache; /* gunichar -> its folded form, non-ASCII only */
	gboolean in_space, newline;
};

static char *fold_unichar(gunichar c)
{
	char utf8[8];
	gint n = g_unichar_to_utf8(c, utf8);
	g_autofree char *decomposed = g_utf8_normalize(utf8, n, G_NORMALIZE_NFKD);
	if (decomposed == NULL)
		return g_strndup(utf8, (gsize)n);
	g_autofree char *folded = g_utf8_casefold(decomposed, -1);
	/* Folding can compose again ("ǅ"): decompose once more. */
	char *again = g_utf8_normalize(folded, -1, G_NORMALIZE_NFKD);
	return again != NULL ? again : g_strdup(folded);
}

/* g_unichar_isspace(), without its table lookups for ASCII (where, unlike
 * g_ascii_isspace(), it leaves out the vertical tab). */
static gboolean is_space(gunichar c)
{
	if (c < 0x80)
		return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
	return g_unichar_isspace(c);
}

/* Moves F's white-space state past C (SPACE: is_space(C)). Returns what a
 * white-space C folds to: a space for the first of a run, a line break for
 * a second one, else nothing (""). */
static const char *folder_step(struct folder *f, gunichar c, gboolean space)
{
	const char *blank = "";
	if (space && !f->in_space)
		blank = " ";
	else if (space && c == '\n' && f->newline)
		blank = "\n";
	f->newline = space && (f->newline || c == '\n');
	f->in_space = space;
	return blank;
}

static void fold_char(struct folder *f, gunichar c, struct wbuf *out)
{
	gboolean space = is_space(c);
	const char *blank = folder_step(f, c, space);
	if (space) {
		wbuf_append(out, blank, strlen(blank));
		return;
	}
	if (c < 0x80) {
		char lower = g_ascii_tolower((char)c);
		wbuf_append(out, &lower, 1);
		return;
	}
	const char *folded = g_hash_table_lookup(f->cache, GUINT_TO_POINTER(c));
	if (folded == NULL) {
		char *made = fold_unichar(c);
		g_hash_table_insert(f->cache, GUINT_TO_POINTER(c), made);
		folded = made;
	}
	wbuf_append(out, folded, strlen(folded));
}

/* What to look for, folded. */
struct needle {
	char *folded;
	gsize len;
	gboolean name; /* a name or a word of one: only in running text, never in a URL */
};

static void needle_free(gpointer p)
{
	struct needle *n = p;
	canary_wipe_free(n->folded);
	g_free(n);
}

/* Adds S, folded, to NEEDLES unless blank or already there (SEEN). */
static void add_needle(GPtrArray *needles, GHashTable *seen, GHashTable *cache, const char *s,
		       gsize len, gboolean name)
{
	if (s == NULL || needles->len >= CANARY_IDENTITY_MAX_NEEDLES ||
	    !g_utf8_validate(s, (gssize)len, NULL))
		return;
	struct folder f = {cache, TRUE, FALSE};
	struct wbuf b = {0};
	for (const char *p = s; p < s + len && *p != '\0'; p = g_utf8_next_char(p))
		fold_char(&f, g_utf8_get_char(p), &b);
	gsize start = 0, end = b.len;
	while (start < end && (b.data[start] == ' ' || b.data[start] == '\n'))
		start++;
	while (end > start && (b.data[end - 1] == ' ' || b.data[end - 1] == '\n'))
		end--;
	if (end > start && end - start <= CANARY_IDENTITY_MAX_NEEDLE_BYTES) {
		char *folded = g_strndup(b.data + start, end - start);
		if (!g_hash_table_contains(seen, folded)) {
			struct needle *n = g_new0(struct needle, 1);
			n->folded = folded;
			n->len = end - start;
			n->name = name;
			g_hash_table_add(seen, g_strdup(folded));
			g_ptr_array_add(needles, n);
		} else {
			canary_wipe_free(folded);
		}
	}
	wbuf_clear(&b);
}

/* Name particles, kept in the text: scrubbing every "de" would say nothing
 * about anyone and garble the rest. */
static gboolean is_particle(const char *part, gsize len)
{
	static const char *const particles[] = {
		"de",  "da", "del", "della", "di", "du",  "van",  "von", "der",
		"den", "la", "le",  "al",    "el", "bin", "bint", "ibn", "abu",
		"ben", "y",  "e",   "of",    "بن", "بنت", "ابن",  "أبو", "ابو",
	};
	g_autofree char *folded = g_utf8_casefold(part, (gssize)len);
	for (gsize i = 0; i < G_N_ELEMENTS(particles); i++)
		if (strcmp(folded, particles[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Adds the part of a display name in [START, END), without the punctuation
 * around it ("Diallo," "'Amina'"), if it is two characters or more and no
 * particle. */
static void add_name_part(GPtrArray *needles, GHashTable *seen, GHashTable *cache,
			  const char *start, const char *end)
{
	while (start < end && !canary_text_is_word(g_utf8_get_char(start)))
		start = g_utf8_next_char(start);
	while (end > start && !canary_text_is_word(g_utf8_get_char(g_utf8_prev_char(end))))
		end = g_utf8_prev_char(end);
	gsize len = (gsize)(end - start);
	if (g_utf8_strlen(start, (gssize)len) >= 2 && !is_particle(start, len))
		add_needle(needles, seen, cache, start, len, TRUE);
}

/* Adds the parts of display name NAME: words ("Jean-Pierre", "O'Brien") and
 * the pieces of hyphenated ones ("Jean", "Pierre"). */
static void add_name_parts(GPtrArray *needles, GHashTable *seen, GHashTable *cache,
			   const char *name)
{
	/* An address used as a name ("amina@example.org"): "org" is no name. */
	if (strchr(name, '@') != NULL)
		return;
	const char *word = NULL, *piece = NULL;
	for (const char *p = name;; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		gboolean in_piece = c != 0 && (canary_text_is_word(c) || c == '\'' || c == 0x2019);
		gboolean in_word = c != 0 && !g_unichar_isspace(c) && !ascii_in(c, ",;:()[]<>\"/|");
		if (in_piece && piece == NULL)
			piece = p;
		if (!in_piece && piece != NULL) {
			add_name_part(needles, seen, cache, piece, p);
			piece = NULL;
		}
		if (in_word && word == NULL)
			word = p;
		if (!in_word && word != NULL) {
			add_name_part(needles, seen, cache, word, p);
			word = NULL;
		}
		if (c == 0)
			break;
	}
}

static GPtrArray *scrub_needles(const struct canary_identity *id, GHashTable *cache)
{
	GPtrArray *needles = g_ptr_array_new_with_free_func(needle_free);
	g_autoptr(GHashTable) seen = string_set_new();
	for (guint i = 0; id->addresses != NULL && i < id->addresses->len; i++) {
		const struct canary_address *a = id->addresses->pdata[i];
		if (a->address != NULL)
			add_needle(needles, seen, cache, a->address, strlen(a->address), FALSE);
		if (a->name != NULL && g_utf8_validate(a->name, -1, NULL)) {
			/* An address used as a name is scrubbed whole, like one. */
			add_needle(needles, seen, cache, a->name, strlen(a->name),
				   strchr(a->name, '@') == NULL);
			add_name_parts(needles, seen, cache, a->name);
		}
	}
	GPtrArray *lists[] = {id->phones, id->emails};
	for (gsize l = 0; l < G_N_ELEMENTS(lists); l++)
		for (guint i = 0; lists[l] != NULL && i < lists[l]->len; i++) {
			const char *s = lists[l]->pdata[i];
			if (s != NULL)
				add_needle(needles, seen, cache, s, strlen(s), FALSE);
		}
	return needles;
}

/* All needles in one trie of their folded bytes: the scrubber walks it once
 * at each word start, however many needles there are. Node 0 is the root. */
struct trie_node {
	guint32 child, sibling; /* 0: none (the root is nobody's child) */
	gint32 needle;          /* index of the needle ending here, -1 if none */
	guint8 byte;
};

struct trie {
	GArray *nodes;	   /* struct trie_node */
	gsize depth;	   /* length of the longest needle */
	guint32 first[8];  /* bit set of the bytes a needle starts with */
};

static gboolean trie_starts_with(const struct trie *t, guint8 byte)
{
	return (t->first[byte / 32] >> (byte % 32)) & 1;
}

static guint32 trie_child(const struct trie *t, guint32 node, guint8 byte)
{
	for (guint32 c = g_array_index(t->nodes, struct trie_node, node).child; c != 0;
	     c = g_array_index(t->nodes, struct trie_node, c).sibling)
		if (g_array_index(t->nodes, struct trie_node, c).byte == byte)
			return c;
	return 0;
}

static void trie_add(struct trie *t, const struct needle *n, gint32 index)
{
	guint32 node = 0;
	if (n->len > 0)
		t->first[(guint8)n->folded[0] / 32] |= 1u << ((guint8)n->folded[0] % 32);
	for (gsize i = 0; i < n->len; i++) {
		guint8 byte = (guint8)n->folded[i];
		guint32 next = trie_child(t, node, byte);
		if (next == 0) {
			struct trie_node *parent = &g_array_index(t->nodes, struct trie_node, node);
			struct trie_node fresh = {0, parent->child, -1, byte};
			next = t->nodes->len;
			parent->child = next;
			g_array_append_val(t->nodes, fresh);
		}
		node = next;
	}
	g_array_index(t->nodes, struct trie_node, node).needle = index;
	t->depth = MAX(t->depth, n->len);
}

static struct trie trie_new(const GPtrArray *needles)
{
	struct trie t = {g_array_new(FALSE, FALSE, sizeof(struct trie_node)), 0, {0}};
	struct trie_node root = {0, 0, -1, 0};
	g_array_append_val(t.nodes, root);
	for (guint i = 0; i < needles->len; i++)
		trie_add(&t, needles->pdata[i], (gint32)i);
	return t;
}

/* The trie holds needle bytes, and their first letters: wiped with it. */
static void trie_clear(struct trie *t)
{
	canary_wipe(t->nodes->data, t->nodes->len * sizeof(struct trie_node));
	g_array_unref(t->nodes);
	canary_wipe(t->first, sizeof t->first);
}

/* Where each character of the text starts, in the text and in its folded form. */
struct span {
	gsize orig, fold;
};

/* The folded text, made as the scrubber moves along and dropped behind it:
 * memory stays in proportion to the longest needle, not to the text. */
struct window {
	const char *text;
	gsize len;
	gsize next; /* offset in TEXT of the next character to fold */
	struct folder folder;
	struct wbuf fold; /* folded form of the characters in CHARS */
	GArray *chars;    /* struct span for each character held */
};

static void window_fold_next(struct window *w)
{
	struct span sp = {w->next, w->fold.len};
	g_array_append_val(w->chars, sp);
	const char *p = w->text + w->next;
	w->next = (gsize)(g_utf8_next_char(p) - w->text);
	fold_char(&w->folder, g_utf8_get_char(p), &w->fold);
}

/* Makes sure the window holds character K; FALSE past the end of the text. */
static gboolean window_has(struct window *w, guint k)
{
	while (k >= w->chars->len) {
		if (w->next >= w->len)
			return FALSE;
		window_fold_next(w);
	}
	return TRUE;
}

/* Character K; past the end, where the text ends. */
static struct span window_at(struct window *w, guint k)
{
	if (window_has(w, k))
		return g_array_index(w->chars, struct span, k);
	return (struct span){w->len, w->fold.len};
}

/* Where the folded form of character K (held) ends. */
static gsize window_fold_end(const struct window *w, guint k)
{
	return k + 1 < w->chars->len ? g_array_index(w->chars, struct span, k + 1).fold
				     : w->fold.len;
}

/* Forgets the characters before K once there are many; returns K's new index. */
static guint window_drop(struct window *w, guint k)
{
	if (k < COMPACT_AFTER || k < w->chars->len / 2)
		return k;
	gsize cut = window_at(w, k).fold;
	guint drop = MIN(k, w->chars->len);
	wbuf_consume(&w->fold, cut);
	g_array_remove_range(w->chars, 0, drop);
	for (guint i = 0; i < w->chars->len; i++)
		g_array_index(w->chars, struct span, i).fold -= cut;
	return k - drop;
}

static gunichar char_before(const struct window *w, gsize orig)
{
	return orig > 0 ? g_utf8_get_char(g_utf8_prev_char(w->text + orig)) : 0;
}

static gunichar char_at(const struct window *w, gsize orig)
{
	return orig < w->len ? g_utf8_get_char(w->text + orig) : 0;
}

/* The first character at or after K whose folded form starts at or after
 * TARGET (the window holds the folded bytes up to TARGET). */
static guint window_find_fold(struct window *w, guint k, gsize target)
{
	guint lo = k, hi = w->chars->len; /* answer in [lo, hi]; hi: past the window */
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (g_array_index(w->chars, struct span, mid).fold < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static gboolean url_char(guchar c)
{
	return c > ' ' && strchr("<>()[]\"'`", c) == NULL;
}

static gboolean byte_is_word(guchar c)
{
	return c >= 0x80 || g_ascii_isalnum(c);
}

/* TRUE if the text in [FROM, TO) sits in a URL, an e-mail address or a host
 * name ("http://amina.example.org/", "amina@example.net", "amina.example.org"):
 * those stay whole. Looks at most URL_REACH bytes around it. */
#define URL_REACH 256
static gboolean in_url_or_host(const char *text, gsize len, gsize from, gsize to)
{
	gsize left = from, right = to;
	while (left > 0 && from - left < URL_REACH && url_char((guchar)text[left - 1]))
		left--;
	while (right < len && right - to < URL_REACH && url_char((guchar)text[right]))
		right++;
	for (gsize i = left; i < right; i++) {
		if (i >= from && i < to)
			continue; /* the name itself may hold dots ("J.R.") */
		if (text[i] == '@' ||
		    (text[i] == ':' && i + 2 < len && text[i + 1] == '/' && text[i + 2] == '/'))
			return TRUE;
		if (text[i] == '.' && i > 0 && i + 1 < len && byte_is_word((guchar)text[i - 1]) &&
		    byte_is_word((guchar)text[i + 1]))
			return TRUE;
	}
	return FALSE;
}

/* Tries the needles at character K, the longest that matches first; on a
 * match, *END_R is the first character after it. HITS is scratch space. */
static gboolean match_needles(struct window *w, guint k, const struct trie *t,
			      const GPtrArray *needles, GArray *hits, guint *end_r)
{
	struct span at = window_at(w, k);
	if (t->depth == 0 || !edge_ok(char_before(w, at.orig), char_at(w, at.orig)))
		return FALSE;
	g_array_set_size(hits, 0);
	guint32 node = 0;
	for (gsize i = at.fold;; i++) {
		/* Fold only as far as the trie goes (most words leave it at their
		 * first byte); bounded in characters too, as a long run of white
		 * space folds to nothing. */
		while (i >= w->fold.len && w->next < w->len &&
		       w->chars->len - k < t->depth + FILL_SLACK)
			window_fold_next(w);
		if (i >= w->fold.len)
			break;
		node = trie_child(t, node, (guint8)w->fold.data[i]);
		if (node == 0)
			break;
		gint32 needle = g_array_index(t->nodes, struct trie_node, node).needle;
		if (needle >= 0)
			g_array_append_val(hits, needle);
	}
	for (guint h = hits->len; h-- > 0;) {
		const struct needle *n = needles->pdata[g_array_index(hits, gint32, h)];
		gsize target = at.fold + n->len;
		guint e = window_find_fold(w, k + 1, target);
		struct span after = window_at(w, e);
		/* The match must end between characters, and on a word boundary. */
		if (after.fold != target ||
		    !edge_ok(char_at(w, after.orig), char_before(w, after.orig)))
			continue;
		if (n->name && in_url_or_host(w->text, w->len, at.orig, after.orig))
			continue;
		*end_r = e;
		return TRUE;
	}
	return FALSE;
}

/* TRUE if the digits of PH end like one of KEYS (or the reverse): the same
 * number written another way ("0033 1 23 45 67 89", "01 23 45 67 89"). */
static gboolean phone_key_matches(const GPtrArray *keys, const struct phone *ph)
{
	g_autofree char *mine = phone_key(ph->digits);
	if (mine == NULL)
		return FALSE;
	gsize mine_len = strlen(mine);
	gboolean hit = FALSE;
	for (guint i = 0; i < keys->len && !hit; i++) {
		const char *key = keys->pdata[i];
		gsize key_len = strlen(key), n = MIN(key_len, mine_len);
		hit = memcmp(key + key_len - n, mine + mine_len - n, n) == 0;
	}
	canary_wipe(mine, mine_len);
	return hit;
}

/* Tries the submitter's phone numbers, by their digits, at character K. */
static gboolean match_phone(struct window *w, guint k, const GPtrArray *keys, guint *end_r)
{
	struct span at = window_at(w, k);
	const char *p = w->text + at.orig;
	if (keys->len == 0 || !phone_start_char(*p) || !phone_start_ok(w->text, p))
		return FALSE;
	struct phone ph;
	/* The same digits as an amount, a date or an address are not the phone. */
	gboolean hit = phone_scan(p, &ph) == PHONE_FOUND && ph.ndigits >= PHONE_MIN_DIGITS &&
		       phone_end_ok(p + ph.len) && !phone_is_amount(&ph) && !phone_is_date(&ph) &&
		       !phone_is_dotted_number(&ph) && phone_key_matches(keys, &ph);
	if (hit) {
		guint e = k + 1;
		while (window_at(w, e).orig < at.orig + ph.len)
			e++;
		*end_r = e;
	}
	canary_wipe(&ph, sizeof ph);
	return hit;
}

/* TRUE if no needle of T and no phone number (when PHONES) can start at C,
 * the character after PREV: the inside of a word, a letter no needle starts
 * with, punctuation. The same tests match_needles() and match_phone() begin
 * with, or looser ones. */
static gboolean cannot_start(const struct trie *t, gboolean phones, const struct kind *prev,
			     const struct kind *c)
{
	gboolean edge = edge_ok_kinds(prev, c);
	gboolean needle;
	if (c->c >= 0x80)
		needle = edge; /* its fold may start with anything */
	else if (is_space(c->c))
		needle = trie_starts_with(t, ' ') || trie_starts_with(t, '\n');
	else
		needle = edge && trie_starts_with(t, (guint8)g_ascii_tolower((char)c->c));
	/* phone_start_ok() without its rule for ".,:-/" after a digit: looser. */
	gboolean phone = phones && c->c < 0x80 && phone_start_char((char)c->c) &&
			 phone_may_follow(prev);
	return !needle && !phone;
}

/* cannot_start() of each ASCII character after an ASCII one (or none), by
 * the three kinds of character before that it tells apart: most text is
 * ASCII, and this makes its skip one table look-up per character. */
enum before { BEFORE_OTHER, BEFORE_WORD, BEFORE_PLUS /* '+', '_': no phone after */, BEFORES };

struct starts {
	const struct trie *trie;
	gboolean phones;
	gboolean never[BEFORES][128];
};

static enum before before_kind(const struct kind *k)
{
	if (k->word)
		return BEFORE_WORD;
	return k->c == '+' || k->c == '_' ? BEFORE_PLUS : BEFORE_OTHER;
}

static void starts_init(struct starts *s, const struct trie *t, gboolean phones)
{
	static const gunichar example[BEFORES] = {' ', 'a', '+'};
	s->trie = t;
	s->phones = phones;
	for (guint b = 0; b < BEFORES; b++) {
		struct kind prev = kind_of(example[b]);
		for (gunichar c = 0; c < 128; c++) {
			struct kind k = kind_of(c);
			s->never[b][c] = cannot_start(t, phones, &prev, &k);
		}
	}
}

static gboolean starts_never(const struct starts *s, const struct kind *prev,
			     const struct kind *c)
{
	if (prev->c < 0x80 && c->c < 0x80)
		return s->never[before_kind(prev)][c->c];
	return cannot_start(s->trie, s->phones, prev, c);
}

/* Once nothing is held ahead of K (K is the window's end), moves past the
 * characters no match can start at without folding them: that is most of
 * any text. The folder's white-space state moves as if they had been
 * folded. Nothing before K is looked at again, so the window starts afresh
 * after them. Returns K's new index. */
static guint window_skip(struct window *w, guint k, const struct starts *starts)
{
	if (k < w->chars->len)
		return k;
	gsize p = w->next;
	struct kind prev = kind_of(char_before(w, p));
	struct folder f = w->folder;
	while (p < w->len) {
		const char *next = w->text + p; /* the text is valid UTF-8 */
		struct kind c = kind_of(canary_text_next_char(&next));
		if (!starts_never(starts, &prev, &c))
			break;
		folder_step(&f, c.c, !c.word && is_space(c.c));
		prev = c;
		p = (gsize)(next - w->text);
	}
	if (p == w->next)
		return k;
	w->next = p;
	w->folder = f;
	wbuf_consume(&w->fold, w->fold.len);
	g_array_set_size(w->chars, 0);
	return 0;
}

/* Scrubs TEXT (valid UTF-8) into OUT. */
static void scrub(const struct canary_identity *id, const char *text, const char *replacement,
		  struct wbuf *out)
{
	g_autoptr(GHashTable) cache = g_hash_table_new_full(NULL, NULL, NULL, canary_wipe_free);
	g_autoptr(GPtrArray) needles = scrub_needles(id, cache);
	struct trie trie = trie_new(needles);
	g_autoptr(GArray) hits = g_array_new(FALSE, FALSE, sizeof(gint32));
	g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(canary_wipe_free);
	for (guint i = 0; id->phones != NULL && i < id->phones->len; i++) {
		char *key = id->phones->pdata[i] != NULL ? phone_key(id->phones->pdata[i]) : NULL;
		if (key != NULL)
			g_ptr_array_add(keys, key);
	}
	struct window w = {.text = text, .len = strlen(text), .folder = {cache, FALSE, FALSE}};
	w.chars = g_array_new(FALSE, FALSE, sizeof(struct span));
	struct starts starts;
	starts_init(&starts, &trie, keys->len > 0);
	gsize copied = 0; /* TEXT before this offset is in OUT */
	guint k = 0;
	for (;;) {
		k = window_skip(&w, k, &starts);
		if (!window_has(&w, k))
			break;
		struct span at = window_at(&w, k);
		guint end = 0;
		/* Extra white space folds to nothing: start on the first of a run. */
		gboolean empty = window_fold_end(&w, k) == at.fold;
		if (!empty && (match_needles(&w, k, &trie, needles, hits, &end) ||
			       match_phone(&w, k, keys, &end))) {
			wbuf_append(out, text + copied, at.orig - copied);
			wbuf_append(out, replacement, strlen(replacement));
			copied = window_at(&w, end).orig;
			k = end;
		} else {
			k++;
		}
		k = window_drop(&w, k);
	}
	wbuf_append(out, text + copied, w.len - copied);
	wbuf_clear(&w.fold);
	g_array_unref(w.chars);
	trie_clear(&trie);
	canary_wipe(&starts, sizeof starts); /* which letters the names start with */
}

char *canary_identity_scrub(const struct canary_identity *identity, const char *text,
			    const char *replacement)
{
	if (text == NULL)
		return g_strdup("");
	if (replacement == NULL)
		replacement = "";
	char *valid = g_utf8_validate(text, -1, NULL) ? NULL : g_utf8_make_valid(text, -1);
	struct wbuf out = {0};
	if (identity != NULL)
		scrub(identity, valid != NULL ? valid : text, replacement, &out);
	else
		wbuf_append(&out, valid != NULL ? valid : text,
			    strlen(valid != NULL ? valid : text));
	wbuf_append(&out, "", 1);
	canary_wipe_free(valid);
	return out.data;
}

/* ---- the sealed record ---- */

/* A string GVariant whose bytes are wiped when it is freed; floating. */
static GVariant *wiped_string(const char *s)
{
	if (s == NULL)
		s = "";
	char *copy = g_utf8_validate(s, -1, NULL) ? g_strdup(s) : g_utf8_make_valid(s, -1);
	GBytes *bytes = g_bytes_new_with_free_func(copy, strlen(copy) + 1, canary_wipe_free, copy);
	GVariant *v = g_variant_new_from_bytes(G_VARIANT_TYPE_STRING, bytes, TRUE);
	g_bytes_unref(bytes);
	return v;
}

static GVariant *string_array(const GPtrArray *list)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; list != NULL && i < list->len; i++)
		g_variant_builder_add_value(&b, wiped_string(list->pdata[i]));
	return g_variant_builder_end(&b);
}

/* Serialized bytes and their length, wiped together. */
struct record {
	gsize size;
	guint8 data[];
};

static void record_free(gpointer p)
{
	struct record *r = p;
	canary_wipe(r->data, r->size);
	g_free(r);
}

GBytes *canary_identity_serialize(const struct canary_identity *identity)
{
	GVariantBuilder addresses;
	g_variant_builder_init(&addresses, G_VARIANT_TYPE("a(ss)"));
	for (guint i = 0; identity->addresses != NULL && i < identity->addresses->len; i++) {
		const struct canary_address *a = identity->addresses->pdata[i];
		GVariant *pair[] = {wiped_string(a->name), wiped_string(a->address)};
		g_variant_builder_add_value(&addresses, g_variant_new_tuple(pair, 2));
	}
	GVariant *fields[] = {
		g_variant_new_byte(RECORD_VERSION),
		g_variant_builder_end(&addresses),
		string_array(identity->ips),
		string_array(identity->phones),
		string_array(identity->emails),
		g_variant_new_maybe(G_VARIANT_TYPE_STRING, identity->primary != NULL
								   ? wiped_string(identity->primary)
								   : NULL),
		g_variant_new_uint32(identity->omitted),
	};
	GVariant *v = g_variant_ref_sink(g_variant_new_tuple(fields, G_N_ELEMENTS(fields)));
	/* Stored straight into our buffer: GVariant keeps no unwiped copy. */
	gsize size = g_variant_get_size(v);
	struct record *r = g_malloc(sizeof *r + size);
	r->size = size;
	g_variant_store(v, r->data);
	g_variant_unref(v);
	return g_bytes_new_with_free_func(r->data, size, record_free, r);
}

static void read_strings(GVariant *record, gsize index, GPtrArray *out)
{
	g_autoptr(GVariant) list = g_variant_get_child_value(record, index);
	gsize n = g_variant_n_children(list);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) s = g_variant_get_child_value(list, i);
		g_ptr_array_add(out, g_variant_dup_string(s, NULL));
	}
}

static char *dup_nonempty(const char *s)
{
	return *s != '\0' ? g_strdup(s) : NULL;
}

struct canary_identity *canary_identity_deserialize(GBytes *data, GError **error)
{
	if (data == NULL) {
		g_set_error(error, CANARY_IDENTITY_ERROR, CANARY_IDENTITY_ERROR_FORMAT,
			    "identity record is damaged");
		return NULL;
	}
	/* The version byte comes first in both layouts: it says which to read. */
	gsize size = 0;
	const guint8 *bytes = g_bytes_get_data(data, &size);
	gboolean v1 = size > 0 && bytes[0] == 1;
	g_autoptr(GVariant) record = g_variant_ref_sink(g_variant_new_from_bytes(
		G_VARIANT_TYPE(v1 ? RECORD_TYPE_V1 : RECORD_TYPE), data, FALSE));
	/* Normal form: every offset in range and every string valid UTF-8. */
	if (!g_variant_is_normal_form(record)) {
		g_set_error(error, CANARY_IDENTITY_ERROR, CANARY_IDENTITY_ERROR_FORMAT,
			    "identity record is damaged");
		return NULL;
	}
	guint8 version = 0;
	g_variant_get_child(record, 0, "y", &version);
	if (version != (v1 ? 1 : RECORD_VERSION)) {
		g_set_error(error, CANARY_IDENTITY_ERROR, CANARY_IDENTITY_ERROR_FORMAT,
			    "identity record has unknown version %u (this canary reads %u)",
			    (guint)version, (guint)RECORD_VERSION);
		return NULL;
	}
	struct canary_identity *id = identity_new();
	g_autoptr(GVariant) addresses = g_variant_get_child_value(record, 1);
	GVariantIter iter;
	const char *name, *address;
	g_variant_iter_init(&iter, addresses);
	while (g_variant_iter_next(&iter, "(&s&s)", &name, &address)) {
		struct canary_address *a = g_new0(struct canary_address, 1);
		a->name = dup_nonempty(name);
		a->address = dup_nonempty(address);
		g_ptr_array_add(id->addresses, a);
	}
	read_strings(record, 2, id->ips);
	read_strings(record, 3, id->phones);
	read_strings(record, 4, id->emails);
	g_autoptr(GVariant) maybe = g_variant_get_child_value(record, 5);
	g_autoptr(GVariant) primary = g_variant_get_maybe(maybe);
	if (primary != NULL)
		id->primary = g_variant_dup_string(primary, NULL);
	if (!v1)
		g_variant_get_child(record, 6, "u", &id->omitted);
	return id;
}

/* ---- the recipient of a reply ---- */

struct canary_identity *canary_identity_new_recipient(const char *address)
{
	struct canary_identity *id = identity_new();
	struct canary_address *a = g_new0(struct canary_address, 1);
	a->address = g_strdup(address);
	g_ptr_array_add(id->addresses, a);
	id->primary = g_utf8_strdown(address, -1);
	return id;
}
