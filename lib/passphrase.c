/* passphrase.c: the rules for the passphrase of a new secret key file: our
 * own length rule, then libpasswdqc (Openwall) for common words, passwords,
 * sequences and too simple ones. */
#include "passphrase.h"

#include <stdlib.h>
#include <string.h>

#include <passwdqc.h>

#include "wipe.h"

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-passphrase-error-quark, canary_passphrase_error)
// clang-format on

/* Said after every refusal: what a good passphrase looks like. */
#define ADVICE                                                                            \
	"choose three or more unrelated words separated by spaces, or 12 characters or "  \
	"more mixing letters, digits and punctuation"

/* passwdqc's settings: a password of one kind of character only (all lower
 * case, say) is refused at any length; every other, a passphrase of three or
 * more words included, needs 12 bytes, which our own rule of 12 characters
 * already guarantees. MAX is ours too. Everything else is passwdqc's
 * default. */
static const char *const qc_options[] = {
	"min=disabled,12,12,12,12",
	"max=" G_STRINGIFY(CANARY_PASSPHRASE_MAX_BYTES),
};

/* passwdqc's reasons (passwdqc_check.c) and what we say for each. */
static const struct {
	const char *prefix;
	enum canary_passphrase_error code;
	const char *says;
} reasons[] = {
	{"based on a dictionary word", CANARY_PASSPHRASE_ERROR_COMMON,
	 "it is based on a common word or password"},
	{"based on a word list entry", CANARY_PASSPHRASE_ERROR_COMMON,
	 "it is based on a common word or password"},
	{"is in deny list", CANARY_PASSPHRASE_ERROR_COMMON,
	 "it is based on a common word or password"},
	{"based on a common sequence", CANARY_PASSPHRASE_ERROR_PATTERN,
	 "it is based on a common sequence of characters (like qwerty or 12345)"},
	{"not enough different characters", CANARY_PASSPHRASE_ERROR_SIMPLE,
	 "it is too simple: too few different characters, or all of one kind (only "
	 "lower-case letters, say)"},
	{"too short", CANARY_PASSPHRASE_ERROR_SHORT, "it has fewer than 12 characters"},
};

/* Runs passwdqc on PASSPHRASE (NUL-terminated). Returns FALSE if passwdqc
 * cannot run; else TRUE, with *REASON_R its reason for a refusal (a static
 * string that never holds the passphrase) or NULL. */
static gboolean run_passwdqc(const char *passphrase, const char **reason_r, GError **error)
{
	passwdqc_params_t params;
	passwdqc_params_reset(&params);
	char *problem = NULL;
	if (passwdqc_params_parse(&params, &problem, G_N_ELEMENTS(qc_options), qc_options) != 0) {
		g_set_error(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_FAILED,
			    "the passphrase checker (passwdqc) refused its settings: %s",
			    problem != NULL ? problem : "?");
		free(problem);
		return FALSE;
	}
	*reason_r = passwdqc_check(&params.qc, passphrase, NULL, NULL);
	passwdqc_params_free(&params);
	return TRUE;
}

gboolean canary_passphrase_check(const char *passphrase, gsize len, GError **error)
{
	if (len > CANARY_PASSPHRASE_MAX_BYTES) {
		g_set_error(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_LONG,
			    "passphrase refused: it is longer than %d bytes",
			    CANARY_PASSPHRASE_MAX_BYTES);
		return FALSE;
	}
	if (len > 0 && memchr(passphrase, '\0', len) != NULL) {
		g_set_error(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_INVALID,
			    "passphrase refused: it holds a NUL byte");
		return FALSE;
	}
	/* Characters, not bytes: "пароль" is 6 characters in 12 bytes. */
	glong chars = g_utf8_validate(passphrase, (gssize)len, NULL)
			      ? g_utf8_strlen(passphrase, (gssize)len)
			      : (glong)len;
	if (chars < CANARY_PASSPHRASE_MIN_CHARS) {
		g_set_error(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_SHORT,
			    "passphrase refused: it has fewer than %d characters; " ADVICE,
			    CANARY_PASSPHRASE_MIN_CHARS);
		return FALSE;
	}

	/* passwdqc wants a C string: a copy, wiped after. */
	char *copy = g_strndup(passphrase, len);
	const char *reason = NULL;
	gboolean ran = run_passwdqc(copy, &reason, error);
	canary_wipe_free(copy);
	if (!ran)
		return FALSE;
	if (reason == NULL)
		return TRUE;
	for (gsize i = 0; i < G_N_ELEMENTS(reasons); i++) {
		if (g_str_has_prefix(reason, reasons[i].prefix)) {
			g_set_error(error, CANARY_PASSPHRASE_ERROR, reasons[i].code,
				    "passphrase refused: %s; " ADVICE, reasons[i].says);
			return FALSE;
		}
	}
	/* A reason this version does not know: passwdqc's own words. */
	g_set_error(error, CANARY_PASSPHRASE_ERROR, CANARY_PASSPHRASE_ERROR_SIMPLE,
		    "passphrase refused: %s (passwdqc); " ADVICE, reason);
	return FALSE;
}
