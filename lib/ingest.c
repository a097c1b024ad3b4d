/* ingest.c: one raw message -> one stored case. Dedupe first (by source,
 * then by content hash), then parse, then write the case and its fields. */
#include "ingest.h"
#include "log.h"
#include "smtp.h"
#include "outgoing.h"

#include <string.h>
#include <sys/stat.h>

#include "envelope.h"
#include "identity.h"
#include "route.h"
#include "seal.h"
#include "values.h"
#include "wipe.h"

/* The quark name is stringified as written: keep clang-format off it. */
// clang-format off
G_DEFINE_QUARK(canary-ingest-error-quark, canary_ingest_error)
// clang-format on

/* Without routing rules every case goes to one queue. */

/* Dates a sender wrote before this, or more than a day ahead of us, are not
 * believed. */
#define EARLIEST_BELIEVABLE_DATE 631152000 /* 1990-01-01 */
#define FUTURE_SLACK             (24 * 3600)

struct canary_ingest {
	const struct canary_config *config;
	struct canary_store *store;
	/* Public keys only: the pipeline can seal but never open. */
	struct canary_public_key *custodian, *triage;
	/* Section name -> its key: each section of the routing rules, or
	 * without them [routing] default_section -> [keys] default_section_public. */
	GHashTable *section_keys;
	struct canary_pseudonym_key *pseudonym_key;
	char *actor;
	struct canary_stage_times spent; /* CANARY_STAGE_STORE: left to the store */
	gboolean acknowledging;             /* canaryd's passes: [reply] acknowledge is sent */
	GPtrArray *acknowledgements;        /* struct acknowledgement *: committed? then sent */
};

/* An acknowledgement due once the case it answers is committed. The
 * address lives only here, in memory, and is wiped with it. */
struct acknowledgement {
	gint64 case_id;
	char *ref;
	char *address;
	char *message_id; /* the message's own, to thread under; or NULL */
};

static void acknowledgement_free(gpointer data)
{
	struct acknowledgement *a = data;
	canary_wipe_free(a->address);
	canary_wipe_free(a->message_id);
	g_free(a->ref);
	g_free(a);
}

void canary_ingest_get_times(const struct canary_ingest *ingest,
			     struct canary_stage_times *times_r)
{
	*times_r = ingest->spent;
	times_r->usec[CANARY_STAGE_STORE] = canary_store_write_usec(ingest->store);
}

/* Loads the public key at PATH, naming the config key on failure. */
static struct canary_public_key *load_public(const struct canary_config *config,
					     const char *key_name, const char *path, GError **error)
{
	g_autoptr(GError) local = NULL;
	struct canary_public_key *key = canary_key_load_public(path, &local);
	if (key == NULL)
		g_set_error(error, CANARY_INGEST_ERROR, CANARY_INGEST_ERROR_SETUP,
			    "%s: [keys] %s: %s", config->path, key_name, local->message);
	return key;
}

struct canary_ingest *canary_ingest_new(const struct canary_config *config,
					struct canary_store *store, const char *actor,
					GError **error)
{
	g_autoptr(GError) local = NULL; /* before any goto: it is cleaned up at exit */
	struct canary_ingest *ingest = g_new0(struct canary_ingest, 1);
	ingest->actor = g_strdup(actor);
	ingest->config = config;
	ingest->store = store;
	ingest->custodian =
		load_public(config, "custodian_public", config->keys.custodian_public, error);
	if (ingest->custodian == NULL)
		goto fail;
	ingest->section_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (config->rules != NULL) {
		const char *const *sections = canary_routing_sections(config->rules);
		for (gsize i = 0; sections[i] != NULL; i++) {
			const char *path = canary_routing_section_key(config->rules, sections[i]);
			struct canary_public_key *key = canary_key_load_public(path, &local);
			if (key == NULL) {
				g_set_error(error, CANARY_INGEST_ERROR, CANARY_INGEST_ERROR_SETUP,
					    "%s: [section %s] public_key: %s",
					    config->routing.rules, sections[i], local->message);
				goto fail;
			}
			g_hash_table_insert(ingest->section_keys, g_strdup(sections[i]), key);
		}
	} else {
		struct canary_public_key *key =
			load_public(config, "default_section_public",
				    config->keys.default_section_public, error);
		if (key == NULL)
			goto fail;
		g_hash_table_insert(ingest->section_keys, g_strdup(config->routing.default_section),
				    key);
	}
	if (config->keys.triage_public != NULL) {
		ingest->triage =
			load_public(config, "triage_public", config->keys.triage_public, error);
		if (ingest->triage == NULL)
			goto fail;
	}
	/* Whoever reads the pseudonym key can test guessed addresses against
	 * every pseudonym: it must not be readable by everyone. */
	struct stat st;
	if (stat(config->keys.pseudonym_key, &st) == 0 && (st.st_mode & 0004) != 0) {
		g_set_error(error, CANARY_INGEST_ERROR, CANARY_INGEST_ERROR_SETUP,
			    "%s: [keys] pseudonym_key: %s is readable by every user; make it "
			    "private (chmod 600)",
			    config->path, config->keys.pseudonym_key);
		goto fail;
	}
	ingest->pseudonym_key = canary_key_load_pseudonym(config->keys.pseudonym_key, &local);
	if (ingest->pseudonym_key == NULL) {
		g_set_error(error, CANARY_INGEST_ERROR, CANARY_INGEST_ERROR_SETUP,
			    "%s: [keys] pseudonym_key: %s", config->path, local->message);
		goto fail;
	}
	return ingest;
fail:
	canary_ingest_free(ingest);
	return NULL;
}

void canary_ingest_free(struct canary_ingest *ingest)
{
	if (ingest == NULL)
		return;
	g_free(ingest->custodian);
	g_free(ingest->triage);
	if (ingest->section_keys != NULL)
		g_hash_table_unref(ingest->section_keys);
	canary_pseudonym_key_free(ingest->pseudonym_key);
	g_free(ingest->actor);
	if (ingest->acknowledgements != NULL)
		g_ptr_array_unref(ingest->acknowledgements);
	g_free(ingest);
}

void canary_ingest_set_acknowledging(struct canary_ingest *ingest, gboolean on)
{
	ingest->acknowledging =
		on && ingest->config->reply.acknowledge != NULL && ingest->config->smtp.url != NULL;
	if (ingest->acknowledgements == NULL)
		ingest->acknowledgements = g_ptr_array_new_with_free_func(acknowledgement_free);
}

void canary_ingest_drop_acknowledgements(struct canary_ingest *ingest)
{
	if (ingest->acknowledgements != NULL)
		g_ptr_array_set_size(ingest->acknowledgements, 0);
}

void canary_ingest_result_clear(struct canary_ingest_result *result)
{
	g_clear_pointer(&result->ref, g_free);
}

/* Where cases go that routing does not place: the rules' default section,
 * or without rules [routing] default_section (its default: "triage"). */
static const char *default_section(const struct canary_config *config)
{
	return config->rules != NULL ? canary_routing_default_section(config->rules)
				     : config->routing.default_section;
}

/* Returns the first believable time: the server's, the topmost Received
 * header's, the Date header's, else NOW. */
static gint64 pick_received_at(const struct canary_ingest_source *source,
			       const struct canary_mail *mail, gint64 now)
{
	const gint64 candidates[] = {source->received_at, mail->received_date, mail->date};
	for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
		gint64 t = candidates[i];
		if (t >= EARLIEST_BELIEVABLE_DATE && t <= now + FUTURE_SLACK)
			return t;
	}
	return now;
}

/* Looks for RAW among stored cases. Returns TRUE with the reference in
 * RESULT when it is there (recording a new IMAP source for it if needed). */
static gboolean find_duplicate(struct canary_ingest *ingest,
			       const struct canary_ingest_source *source, const guint8 hash[32],
			       struct canary_ingest_result *result, gboolean *found_r,
			       GError **error)
{
	char *ref = NULL;
	*found_r = FALSE;
	if (source->mailbox != NULL &&
	    !canary_store_find_source(ingest->store, source->mailbox, source->uidvalidity,
				      source->uid, &ref, error))
		return FALSE;
	if (ref == NULL) {
		if (!canary_store_find_hash(ingest->store, hash, &ref, error))
			return FALSE;
		/* Same bytes under a new UIDVALIDITY: remember the new UID too. */
		if (ref != NULL && source->mailbox != NULL &&
		    !canary_store_add_source(ingest->store, ref, source->mailbox,
					     source->uidvalidity, source->uid, error)) {
			g_free(ref);
			return FALSE;
		}
	}
	if (ref != NULL) {
		result->outcome = CANARY_INGEST_DUPLICATE;
		result->ref = ref;
		*found_r = TRUE;
	}
	return TRUE;
}

/* Scrubs each attachment's name. Returns a new NULL-terminated vector with
 * one entry (possibly NULL) per attachment; free with free_names(). */
static char **scrub_names(const struct canary_identity *identity, const char *pseudonym,
			  const GPtrArray *attachments)
{
	char **names = g_new0(char *, attachments->len + 1);
	for (guint i = 0; i < attachments->len; i++) {
		const struct canary_attachment *a = attachments->pdata[i];
		if (a->filename != NULL)
			names[i] = canary_identity_scrub(identity, a->filename, pseudonym);
	}
	return names;
}

/* Wipes and frees what scrub_names() returned. */
static void free_names(char **names, guint n)
{
	for (guint i = 0; i < n; i++)
		canary_wipe_free(names[i]);
	g_free(names);
}

struct canary_ingest_prepared {
	GBytes *raw;
	struct canary_ingest_source source; /* MAILBOX borrowed from the caller */
	guint8 hash[32];
	struct canary_mail *mail;
	struct canary_identity *identity;
	char *pseudonym;            /* NULL without a sender address */
	struct canary_route *route; /* NULL without rules or when quarantined */
	char *routing;              /* the matched terms, or NULL; wiped */
	/* What section officers read, scrubbed (NULL when quarantined); wiped. */
	char *subject, *text;
	char **names;
	/* Its keys, sealed ahead to the recipients its section and quarantine
	 * decide (a follow-up to a case elsewhere seals the rest when stored). */
	struct canary_envelope_keys *keys;
	struct canary_stage_times spent; /* CANARY_STAGE_STORE: unused */
};

/* Every value a case stores is made from the message: its bytes, what its
 * parts decode to, and text read from them and scrubbed (a replacement may
 * be a few times longer than what it replaces), either sealed (a few dozen
 * bytes more) or written as JSON (at most six bytes for one). Eight times
 * all of that together, plus the fixed fields, bounds the longest. */
#define STORED_GROWTH 8
#define STORED_FIXED (1u << 20)

static guint64 c_strlen(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

guint64 canary_ingest_prepared_bound(const struct canary_ingest_prepared *p)
{
	guint64 made = g_bytes_get_size(p->raw) + c_strlen(p->subject) + c_strlen(p->text) +
		       c_strlen(p->routing);
	const struct canary_mail *mail = p->mail;
	if (mail != NULL) {
		made += c_strlen(mail->text) + c_strlen(mail->subject);
		for (guint i = 0; i < mail->attachments->len; i++) {
			const struct canary_attachment *a = mail->attachments->pdata[i];
			made += a->size + c_strlen(a->filename) +
				(p->names != NULL ? c_strlen(p->names[i]) : 0);
		}
	}
	if (made > (G_MAXUINT64 - STORED_FIXED) / STORED_GROWTH)
		return G_MAXUINT64;
	return made * STORED_GROWTH + STORED_FIXED;
}

void canary_ingest_prepared_free(struct canary_ingest_prepared *p)
{
	if (p == NULL)
		return;
	// These are plaintext copies we made: wipe them before they go.
	canary_wipe_free(p->routing);
	canary_wipe_free(p->subject);
	canary_wipe_free(p->text);
	if (p->names != NULL)
		free_names(p->names, p->mail->attachments->len);
	g_free(p->pseudonym);
	canary_envelope_keys_free(p->keys);
	g_clear_pointer(&p->route, canary_route_free);
	g_clear_pointer(&p->identity, canary_identity_free);
	g_clear_pointer(&p->mail, canary_mail_free);
	g_bytes_unref(p->raw);
	g_free(p);
}

/* TRUE when the sender of MAIL, filed as a new case, may be answered
 * automatically (RFC 3834 section 2): never automatic or list mail, a null
 * sender, no usable address, or the confidential address itself. */
static gboolean may_acknowledge(const struct canary_ingest *ingest,
				const struct canary_ingest_prepared *p)
{
	const struct canary_mail *mail = p->mail;
	const char *address = p->identity->primary;
	return ingest->acknowledging && mail->quarantine == CANARY_QUARANTINE_NONE &&
	       !mail->auto_submitted && !mail->list_mail && !mail->null_sender && !mail->report &&
	       address != NULL && canary_value_valid_address(address) &&
	       g_ascii_strcasecmp(address, ingest->config->smtp.from) != 0;
}

/* Queues an acknowledgement of P, filed as case REF (CASE_ID), unless its
 * sender was answered in the last day (a keyed record, in this transaction). */
static gboolean queue_acknowledgement(struct canary_ingest *ingest,
				      const struct canary_ingest_prepared *p, gint64 case_id,
				      const char *ref, GError **error)
{
	if (!may_acknowledge(ingest, p))
		return TRUE;
	g_autofree char *address = g_ascii_strdown(p->identity->primary, -1);
	guint8 hash[32];
	canary_seal_keyed_hash(ingest->pseudonym_key, CANARY_SEAL_CONTEXT_ACKNOWLEDGED, address,
			       strlen(address), hash);
	gboolean first = FALSE;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	if (!canary_store_acknowledge_once(ingest->store, hash, now, &first, error)) {
		canary_wipe(address, strlen(address));
		return FALSE;
	}
	if (!first) {
		canary_wipe(address, strlen(address));
		return TRUE;
	}
	struct acknowledgement *a = g_new0(struct acknowledgement, 1);
	a->case_id = case_id;
	a->ref = g_strdup(ref);
	a->address = g_steal_pointer(&address);
	a->message_id = g_strdup(p->mail->message_id);
	g_ptr_array_add(ingest->acknowledgements, a);
	return TRUE;
}

/* TEMPLATE with every "{reference}" replaced by REF. New string. */
static char *fill_reference(const char *template, const char *ref)
{
	g_auto(GStrv) parts = g_strsplit(template, "{reference}", -1);
	return g_strjoinv(ref, parts);
}

/* Sends acknowledgement A; records its Message-ID keyed, so that an answer
 * to it joins the case. Errors never name the address. */
static gboolean send_acknowledgement(struct canary_ingest *ingest, const struct acknowledgement *a,
				     const char *text, GError **error)
{
	const struct canary_config *config = ingest->config;
	g_autofree char *subject = fill_reference(config->reply.acknowledge_subject, a->ref);
	g_autofree char *body = fill_reference(text, a->ref);
	const char *const to[] = {a->address, NULL};
	const char *const references[] = {a->message_id, NULL};
	gboolean threaded = a->message_id != NULL && strchr(a->message_id, '<') == NULL &&
			    strchr(a->message_id, '>') == NULL;
	struct canary_outgoing m = {
		.kind = CANARY_OUTGOING_AUTO_REPLIED,
		.from = config->smtp.from,
		.to = to,
		.subject = subject,
		.text = body,
		.in_reply_to = threaded ? a->message_id : NULL,
		.references = threaded ? references : NULL,
	};
	g_autofree char *id = NULL;
	g_autoptr(GBytes) raw = canary_outgoing_compose(&m, &id, error);
	if (raw == NULL && threaded) {
		/* A Message-ID we will not write back: answer without threading. */
		g_clear_error(error);
		m.in_reply_to = NULL;
		m.references = NULL;
		raw = canary_outgoing_compose(&m, &id, error);
	}
	if (raw == NULL || !canary_smtp_send(config, to, 1, raw, error))
		return FALSE;
	guint8 hash[32];
	canary_ingest_message_id_hash(ingest->pseudonym_key, id, hash);
	if (!canary_store_begin(ingest->store, error))
		return FALSE;
	if (!canary_store_add_message_id(ingest->store, a->case_id, hash, error)) {
		canary_store_rollback(ingest->store);
		return FALSE;
	}
	return canary_store_commit(ingest->store, error);
}

guint canary_ingest_send_acknowledgements(struct canary_ingest *ingest)
{
	if (ingest->acknowledgements == NULL || ingest->acknowledgements->len == 0)
		return 0;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	if (!g_file_get_contents(ingest->config->reply.acknowledge, &text, NULL, &error)) {
		canary_warning("[reply] acknowledge: %s: no acknowledgement sent", error->message);
		canary_ingest_drop_acknowledgements(ingest);
		return 0;
	}
	guint sent = 0;
	for (guint i = 0; i < ingest->acknowledgements->len; i++) {
		const struct acknowledgement *a = ingest->acknowledgements->pdata[i];
		g_clear_error(&error);
		if (send_acknowledgement(ingest, a, text, &error))
			sent++;
		else
			/* Not retried: the address is gone once this pass is. */
			canary_warning("case %s: no acknowledgement sent: %s", a->ref,
				       error->message);
	}
	canary_ingest_drop_acknowledgements(ingest);
	return sent;
}

#ifdef CANARY_TEST_KDF
/* Test builds only: CANARY_TEST_STALL_UID=N[:MS][,N[:MS]...] makes
 * preparing UID N sleep MS milliseconds (default: an hour), to hold it in
 * hand. */
static void test_stall(const struct canary_ingest_source *source)
{
	const char *spec = g_getenv("CANARY_TEST_STALL_UID");
	if (spec == NULL || source->uid == 0)
		return;
	g_auto(GStrv) stalls = g_strsplit(spec, ",", -1);
	for (guint i = 0; stalls[i] != NULL; i++) {
		char *end = NULL;
		guint64 uid = g_ascii_strtoull(stalls[i], &end, 10);
		if (uid != source->uid)
			continue;
		guint64 ms = *end == ':' ? g_ascii_strtoull(end + 1, NULL, 10) : 3600 * 1000;
		g_usleep(ms * 1000);
		return;
	}
}
#else
static void test_stall(const struct canary_ingest_source *source)
{
	(void)source;
}
#endif

/* Quarantines P as too-slow when it has been preparing since START for
 * longer than [limits] message_time; what was made for officers is
 * dropped: the custodian gets the raw bytes, as for every quarantined case.
 * Returns TRUE when it did. */
static gboolean out_of_time(const struct canary_ingest *ingest, struct canary_ingest_prepared *p,
			    gint64 start)
{
	gint64 budget = (gint64)ingest->config->message_time * G_USEC_PER_SEC;
	gint64 spent = g_get_monotonic_time() - start;
	if (budget <= 0 || spent <= budget)
		return FALSE;
	p->mail->quarantine = CANARY_QUARANTINE_TOO_SLOW;
	g_free(p->mail->quarantine_detail);
	p->mail->quarantine_detail = g_strdup_printf(
		"%" G_GINT64_FORMAT " ms > %" G_GINT64_FORMAT " ms", spent / 1000, budget / 1000);
	g_clear_pointer(&p->route, canary_route_free);
	g_clear_pointer(&p->routing, canary_wipe_free);
	g_clear_pointer(&p->subject, canary_wipe_free);
	g_clear_pointer(&p->text, canary_wipe_free);
	if (p->names != NULL)
		free_names(g_steal_pointer(&p->names), p->mail->attachments->len);
	return TRUE;
}

/* Prepares RAW, a message found poison (in hand at two crashes, see poll.c),
 * as quarantined "poison" without parsing it: the mail is read from an
 * empty header block and then holds RAW, so the custodian gets its bytes. */
static struct canary_ingest_prepared *prepare_poison(struct canary_ingest_prepared *p, GBytes *raw)
{
	g_autoptr(GBytes) empty = g_bytes_new_static("\r\n", 2);
	p->mail = canary_mail_parse(empty, NULL);
	g_bytes_unref(p->mail->raw);
	p->mail->raw = g_bytes_ref(raw);
	p->mail->quarantine = CANARY_QUARANTINE_POISON;
	g_clear_pointer(&p->mail->quarantine_detail, g_free);
	p->identity = canary_identity_extract(p->mail);
	return p;
}

/* The work of canary_ingest_prepare() for RAW whose content hash is
 * HASH, begun at START. The clock is checked between the stages, so a
 * message that outruns its budget stops at the next one. */
static struct canary_ingest_prepared *prepare(const struct canary_ingest *ingest, GBytes *raw,
					      const struct canary_ingest_source *source,
					      const guint8 hash[32], gint64 clock)
{
	gint64 start = clock;
	struct canary_ingest_prepared *p = g_new0(struct canary_ingest_prepared, 1);
	p->raw = g_bytes_ref(raw);
	p->source = *source;
	memcpy(p->hash, hash, sizeof p->hash);
	if (source->poison && source->full_size <= g_bytes_get_size(raw))
		return prepare_poison(p, raw);
	test_stall(source);
	p->mail = canary_mail_parse(raw, &ingest->config->limits);
	if (source->full_size > g_bytes_get_size(raw)) {
		/* Only the header block was fetched: the message stays on the
		 * server, in the quarantine folder, for the custodian. */
		p->mail->quarantine = CANARY_QUARANTINE_TOO_LARGE;
	}
	p->identity = canary_identity_extract(p->mail);
	if (p->identity->primary != NULL)
		p->pseudonym = canary_seal_pseudonym(ingest->pseudonym_key, p->identity->primary);
	canary_stage_lap(&p->spent, CANARY_STAGE_PARSE, &clock);
	if (p->mail->quarantine != CANARY_QUARANTINE_NONE || out_of_time(ingest, p, start))
		return p; /* the custodian alone decides what becomes of it */

	if (ingest->config->rules != NULL) {
		p->route = canary_route_mail(ingest->config->rules, p->mail);
		p->routing = canary_route_describe(p->route);
	}
	canary_stage_lap(&p->spent, CANARY_STAGE_ROUTE, &clock);
	if (out_of_time(ingest, p, start))
		return p;
	const char *shown = p->pseudonym != NULL ? p->pseudonym : "[sender]";
	if (p->mail->subject != NULL)
		p->subject = canary_identity_scrub(p->identity, p->mail->subject, shown);
	p->text = canary_identity_scrub(p->identity, p->mail->text, shown);
	p->names = scrub_names(p->identity, shown, p->mail->attachments);
	canary_stage_lap(&p->spent, CANARY_STAGE_SEAL, &clock);
	out_of_time(ingest, p, start);
	return p;
}

/* The section a new case of P goes to. */
static const char *section_of(const struct canary_ingest *ingest,
			      const struct canary_ingest_prepared *p)
{
	return p->route != NULL ? p->route->section : default_section(ingest->config);
}

/* Who the exact values of a case in SECTION are sealed to: a quarantined
 * case's to the custodian alone, like the rest of it. */
static struct canary_envelope_recipients meta_recipients(const struct canary_ingest *ingest,
							 const char *section, gboolean quarantined)
{
	struct canary_envelope_recipients to = {.custodian = ingest->custodian};
	if (!quarantined) {
		to.section = g_hash_table_lookup(ingest->section_keys, section);
		to.triage = ingest->triage;
	}
	return to;
}

void canary_ingest_prepare_keys(const struct canary_ingest *ingest,
				struct canary_ingest_prepared *p)
{
	if (p->keys != NULL)
		return;
	gboolean quarantined = p->mail->quarantine != CANARY_QUARANTINE_NONE;
	struct canary_envelope_recipients to =
		meta_recipients(ingest, section_of(ingest, p), quarantined);
	gint64 start = canary_stage_clock();
	p->keys = canary_envelope_keys_new(&to);
	canary_stage_lap(&p->spent, CANARY_STAGE_SEAL, &start);
}

/* The keyed content hash of RAW, by which a message is recognised. */
static void hash_of(const struct canary_ingest *ingest, GBytes *raw, guint8 hash_r[32])
{
	gsize size = 0;
	const void *data = g_bytes_get_data(raw, &size);
	canary_seal_content_hash(ingest->pseudonym_key, data, size, hash_r);
}

struct canary_ingest_prepared *canary_ingest_prepare(const struct canary_ingest *ingest,
						     GBytes *raw,
						     const struct canary_ingest_source *source)
{
	gint64 clock = g_get_monotonic_time();
	guint8 hash[32];
	hash_of(ingest, raw, hash);
	return prepare(ingest, raw, source, hash, clock);
}

/* What the officer is told, inside the sealed content, of a case reference
 * in the subject of a message that joined no case: references are not
 * secret, so they never join a case by themselves. New string or NULL. */
static char *subject_reference_note(const struct canary_mail *mail)
{
	static GRegex *reference;
	if (g_once_init_enter(&reference)) {
		GRegex *r = g_regex_new("\\bR-[0-9]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\\b",
					G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&reference, r);
	}
	g_autoptr(GMatchInfo) match = NULL;
	if (mail->subject == NULL || !g_regex_match(reference, mail->subject, 0, &match))
		return NULL;
	g_autofree char *ref = g_match_info_fetch(match, 0);
	return g_strdup_printf("subject names %s; not joined: references are not secret (the "
			       "message answers no message of that case)",
			       ref);
}

/* Seals the case's fields: the identity record and the raw message to the
 * custodian; META (exact times, size, pseudonym) as meta_recipients() says;
 * unless quarantined, the scrubbed subject, text and attachments to the
 * section (and triage). */
static gboolean seal_case(struct canary_ingest *ingest, gint64 case_id,
			  const struct canary_ingest_prepared *p, const char *section,
			  const struct canary_case_meta *meta, GError **error)
{
	struct canary_envelope_recipients to = {
		.section = g_hash_table_lookup(ingest->section_keys, section),
		.triage = ingest->triage,
		.custodian = ingest->custodian,
	};
	gboolean quarantined = p->mail->quarantine != CANARY_QUARANTINE_NONE;
	struct canary_envelope_recipients meta_to = meta_recipients(ingest, section, quarantined);
	/* Made here when no preparing thread made them ahead. */
	g_autoptr(canary_envelope_keys) own =
		p->keys == NULL ? canary_envelope_keys_new(&meta_to) : NULL;
	const struct canary_envelope_keys *keys = p->keys != NULL ? p->keys : own;
	if (!canary_envelope_seal_message_identity(ingest->store, case_id, 1, &to, keys,
						   p->identity, p->mail->raw,
						   quarantined ? NULL : p->mail->attachments, error) ||
	    !canary_envelope_seal_message_meta(ingest->store, case_id, 1, &meta_to, keys, meta,
					       error))
		return FALSE;
	if (quarantined)
		return TRUE;
	g_autofree char *note = subject_reference_note(p->mail);
	g_autofree char *routing = NULL;
	if (note != NULL)
		routing = p->routing != NULL ? g_strdup_printf("%s\n%s", p->routing, note)
					     : g_strdup(note);
	gboolean ok = canary_envelope_seal_message_content(
		ingest->store, case_id, 1, &to, keys, p->subject, p->text, p->mail->attachments,
		p->names, routing != NULL ? routing : p->routing, error);
	/* The routing terms are the sender's words: wipe our copy. */
	if (routing != NULL)
		canary_wipe(routing, strlen(routing));
	return ok;
}

/* The microseconds since SINCE, minus what the store spent writing
 * meanwhile (since STORE_SINCE): the store counts its own. */
static gint64 spent_outside_store(const struct canary_ingest *ingest, gint64 since,
				  gint64 store_since)
{
	gint64 spent = canary_stage_clock() - since;
	return spent - (canary_store_write_usec(ingest->store) - store_since);
}

void canary_ingest_message_id_hash(const struct canary_pseudonym_key *key, const char *message_id,
				   guint8 out[32])
{
	canary_seal_keyed_hash(key, CANARY_SEAL_CONTEXT_MESSAGE_ID, message_id, strlen(message_id),
			       out);
}

/* Records the keyed hash of MAIL's own Message-ID for case CASE_ID, so that
 * an answer to it joins the case. */
static gboolean record_message_id(struct canary_ingest *ingest, gint64 case_id,
				  const struct canary_mail *mail, GError **error)
{
	if (mail->message_id == NULL || *mail->message_id == '\0')
		return TRUE;
	guint8 hash[32];
	canary_ingest_message_id_hash(ingest->pseudonym_key, mail->message_id, hash);
	return canary_store_add_message_id(ingest->store, case_id, hash, error);
}

/* The case MAIL answers: the first of In-Reply-To, then References from
 * the newest, whose keyed hash a case recorded. TRUE with *CASE_ID_R 0 when
 * none; quarantined mail answers nothing. */
static gboolean find_thread(struct canary_ingest *ingest, const struct canary_mail *mail,
			    gint64 *case_id_r, char **ref_r, GError **error)
{
	*case_id_r = 0;
	*ref_r = NULL;
	if (mail->quarantine != CANARY_QUARANTINE_NONE)
		return TRUE;
	GPtrArray *lists[] = {mail->in_reply_to, mail->references};
	for (gsize l = 0; l < G_N_ELEMENTS(lists); l++) {
		for (guint i = lists[l]->len; i-- > 0;) {
			guint8 hash[32];
			canary_ingest_message_id_hash(ingest->pseudonym_key, lists[l]->pdata[i],
						      hash);
			if (!canary_store_find_message_id(ingest->store, hash, case_id_r, ref_r,
							  error))
				return FALSE;
			if (*ref_r != NULL)
				return TRUE;
		}
	}
	return TRUE;
}

/* The sealed metadata of P, filed now: when it was received, its size (the
 * server's count when that is more) and the sender's pseudonym. */
static struct canary_case_meta meta_of(const struct canary_ingest_prepared *p)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gsize size = g_bytes_get_size(p->raw);
	return (struct canary_case_meta){
		.received_at = pick_received_at(&p->source, p->mail, now),
		.ingested_at = now,
		.size = MAX(size, p->source.full_size),
		.pseudonym = p->pseudonym,
	};
}

/* Seals and stores P as the next message of case C (found by find_thread()),
 * to C's current section (and triage, and the custodian), reopening it if
 * it was closed. FALSE with *JOINED_R FALSE (nothing written) when C cannot
 * take it: a quarantined case has no section key to seal to. */
static gboolean store_follow_up(struct canary_ingest *ingest,
				const struct canary_ingest_prepared *p, const struct canary_case *c,
				struct canary_ingest_result *result_r, gboolean *joined_r,
				GError **error)
{
	*joined_r = FALSE;
	const struct canary_public_key *section_key =
		g_hash_table_lookup(ingest->section_keys, c->section);
	if (strcmp(c->status, CANARY_STATUS_QUARANTINED) == 0 || section_key == NULL)
		return TRUE;
	const struct canary_mail *mail = p->mail;
	struct canary_case_meta meta = meta_of(p);
	struct canary_message_new m = {
		.case_id = c->id,
		.direction = CANARY_DIRECTION_IN,
		.received_at = meta.received_at,
		.size = (gint64)meta.size,
		.attachments = mail->attachments->len,
		.content_hash = p->hash,
		.mailbox = p->source.mailbox,
		.uidvalidity = p->source.uidvalidity,
		.uid = p->source.uid,
	};
	struct canary_envelope_recipients to = {
		.section = section_key,
		.triage = ingest->triage,
		.custodian = ingest->custodian,
	};
	guint number = 0;
	g_autoptr(canary_envelope_keys) own = p->keys == NULL ? canary_envelope_keys_new(&to) : NULL;
	const struct canary_envelope_keys *keys = p->keys != NULL ? p->keys : own;
	if (!canary_store_insert_message(ingest->store, &m, &number, error) ||
	    !canary_envelope_seal_message_identity(ingest->store, c->id, number, &to, keys,
						   p->identity, mail->raw, mail->attachments, error) ||
	    !canary_envelope_seal_message_meta(ingest->store, c->id, number, &to, keys, &meta,
					       error) ||
	    !canary_envelope_seal_message_content(ingest->store, c->id, number, &to, keys,
						  p->subject,
						  p->text, mail->attachments, p->names, p->routing,
						  error) ||
	    !record_message_id(ingest, c->id, mail, error))
		return FALSE;
	/* A person who writes again is answered again: a closed case reopens. */
	gboolean reopen = strcmp(c->status, CANARY_STATUS_CLOSED) == 0;
	if (reopen && !canary_store_set_status(ingest->store, c->ref, CANARY_STATUS_OPEN, error))
		return FALSE;
	g_autofree char *detail =
		g_strdup_printf("message %u%s", number, reopen ? ", reopened" : "");
	if (!canary_store_add_event_day(ingest->store, c->ref, ingest->actor, "follow-up", detail,
					error))
		return FALSE;
	result_r->outcome = CANARY_INGEST_FOLLOW_UP;
	result_r->ref = g_strdup(c->ref);
	*joined_r = TRUE;
	return TRUE;
}

/* Stores P as a follow-up when it answers a message of a case; *JOINED_R
 * says whether it did. */
static gboolean join_thread(struct canary_ingest *ingest, const struct canary_ingest_prepared *p,
			    struct canary_ingest_result *result_r, gboolean *joined_r,
			    GError **error)
{
	*joined_r = FALSE;
	if (ingest->pseudonym_key == NULL)
		return TRUE;
	gint64 case_id = 0;
	g_autofree char *ref = NULL;
	if (!find_thread(ingest, p->mail, &case_id, &ref, error))
		return FALSE;
	if (ref == NULL)
		return TRUE;
	g_autoptr(canary_case) c = canary_store_get_case(ingest->store, ref, error);
	return c != NULL && store_follow_up(ingest, p, c, result_r, joined_r, error);
}

/* Stores P, which the caller found among no stored cases, as a new case. */
static gboolean store_new(struct canary_ingest *ingest, const struct canary_ingest_prepared *p,
			  struct canary_ingest_result *result_r, GError **error)
{
	canary_stage_add(&ingest->spent, &p->spent);
	gint64 clock = canary_stage_clock();
	gint64 store_clock = canary_store_write_usec(ingest->store);
	const struct canary_mail *mail = p->mail;
	gboolean quarantined = mail->quarantine != CANARY_QUARANTINE_NONE;
	const char *section = section_of(ingest, p);
	struct canary_case_meta meta = meta_of(p);
	struct canary_case_new c = {
		.received_at = meta.received_at,
		.section = section,
		.status = quarantined ? CANARY_STATUS_QUARANTINED : CANARY_STATUS_NEW,
		.rule = p->route != NULL ? p->route->rule : CANARY_RULE_DEFAULT,
		.quarantine_reason = canary_quarantine_name(mail->quarantine),
		.size = (gint64)meta.size,
		.attachments = mail->attachments->len,
		.content_hash = p->hash,
		.mailbox = p->source.mailbox,
		.uidvalidity = p->source.uidvalidity,
		.uid = p->source.uid,
	};
	gint64 id = 0;
	g_autofree char *ref = NULL;
	if (!canary_store_insert_case(ingest->store, &c, &id, &ref, error))
		return FALSE;
	gboolean sealed =
		seal_case(ingest, id, p, section, &meta, error) &&
		(ingest->pseudonym_key == NULL || record_message_id(ingest, id, mail, error));
	ingest->spent.usec[CANARY_STAGE_SEAL] += spent_outside_store(ingest, clock, store_clock);
	/* Dated by the day: the history must not tell the time of arrival. */
	if (!sealed ||
	    !canary_store_add_event_day(ingest->store, ref, ingest->actor,
					quarantined ? "quarantined" : "filed",
					quarantined ? c.quarantine_reason : c.section, error))
		return FALSE;
	/* Officers see that the text may be incomplete (numbers only, no content). */
	if (mail->damage != NULL && !canary_store_add_event_day(ingest->store, ref, ingest->actor,
								"damaged", mail->damage, error))
		return FALSE;
	if (ingest->acknowledging && !queue_acknowledgement(ingest, p, id, ref, error))
		return FALSE;
	/* The result only once every step has succeeded. */
	result_r->ref = g_steal_pointer(&ref);
	result_r->outcome = quarantined ? CANARY_INGEST_QUARANTINED : CANARY_INGEST_FILED;
	result_r->quarantine = mail->quarantine;
	return TRUE;
}

gboolean canary_ingest_store_prepared(struct canary_ingest *ingest,
				      const struct canary_ingest_prepared *p,
				      struct canary_ingest_result *result_r, GError **error)
{
	*result_r = (struct canary_ingest_result){0};
	/* Stored since it was prepared (the same bytes twice in one backlog),
	 * or before. */
	gboolean found = FALSE;
	if (!find_duplicate(ingest, &p->source, p->hash, result_r, &found, error) ||
	    (!found && !join_thread(ingest, p, result_r, &found, error)))
		return FALSE;
	return found || store_new(ingest, p, result_r, error);
}

gboolean canary_ingest_message(struct canary_ingest *ingest, GBytes *raw,
			       const struct canary_ingest_source *source,
			       struct canary_ingest_result *result_r, GError **error)
{
	*result_r = (struct canary_ingest_result){0};
	gint64 clock = canary_stage_clock();
	gint64 store_clock = canary_store_write_usec(ingest->store);
	guint8 hash[32];
	hash_of(ingest, raw, hash);
	/* Look before parsing: importing a folder twice parses nothing. */
	gboolean found = FALSE;
	if (!find_duplicate(ingest, source, hash, result_r, &found, error))
		return FALSE;
	if (found)
		return TRUE;
	ingest->spent.usec[CANARY_STAGE_PARSE] += spent_outside_store(ingest, clock, store_clock);
	struct canary_ingest_prepared *p =
		prepare(ingest, raw, source, hash, g_get_monotonic_time());
	gboolean joined = FALSE;
	gboolean ok = join_thread(ingest, p, result_r, &joined, error) &&
		      (joined || store_new(ingest, p, result_r, error));
	canary_ingest_prepared_free(p);
	return ok;
}

/* Seals the clear values of one case from before schema 4 and drops them. */
static gboolean seal_legacy_one(struct canary_ingest *ingest, const struct canary_store_legacy *l,
				GError **error)
{
	gboolean quarantined = g_strcmp0(l->status, CANARY_STATUS_QUARANTINED) == 0;
	/* A section no longer in the rules keeps the triage and custodian copies. */
	struct canary_envelope_recipients to = meta_recipients(ingest, l->section, quarantined);
	struct canary_case_meta meta = {
		.received_at = l->received_at,
		.ingested_at = l->ingested_at,
		.size = (guint64)MAX(l->size, 0),
		.pseudonym = l->pseudonym,
	};
	return canary_envelope_seal_meta(ingest->store, l->case_id, &to, &meta, error) &&
	       canary_store_drop_legacy(ingest->store, l->case_id, error);
}

/* Set while sealed legacy values may still linger in free pages or the
 * WAL: a vacuum that failed (a reader held the file) is tried again at the
 * next start. */
#define LEGACY_VACUUM_PENDING "store.legacy_vacuum_pending"

/* Vacuums the database and clears LEGACY_VACUUM_PENDING. */
static gboolean vacuum_legacy(struct canary_ingest *ingest, GError **error)
{
	return canary_store_vacuum(ingest->store, error) &&
	       canary_store_set_state(ingest->store, LEGACY_VACUUM_PENDING, "0", error);
}

gboolean canary_ingest_seal_legacy(struct canary_ingest *ingest, guint *sealed_r, GError **error)
{
	*sealed_r = 0;
	g_autoptr(GPtrArray) rows = canary_store_list_legacy(ingest->store, error);
	if (rows == NULL)
		return FALSE;
	if (rows->len == 0) {
		g_autofree char *pending = NULL;
		if (!canary_store_get_state(ingest->store, LEGACY_VACUUM_PENDING, &pending, error))
			return FALSE;
		return g_strcmp0(pending, "1") != 0 || vacuum_legacy(ingest, error);
	}
	if (!canary_store_begin(ingest->store, error))
		return FALSE;
	for (guint i = 0; i < rows->len; i++) {
		if (!seal_legacy_one(ingest, rows->pdata[i], error)) {
			canary_store_rollback(ingest->store);
			return FALSE;
		}
	}
	/* Commit, then vacuum the dropped values out of free pages and the WAL. */
	if (!canary_store_set_state(ingest->store, LEGACY_VACUUM_PENDING, "1", error) ||
	    !canary_store_commit(ingest->store, error)) {
		canary_store_rollback(ingest->store);
		return FALSE;
	}
	*sealed_r = rows->len;
	return vacuum_legacy(ingest, error);
}
