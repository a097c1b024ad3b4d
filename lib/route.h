/* route.h: which section's queue a message belongs in, and why. Rules come
 * from routing.conf (see conf/routing.conf and canary-routing.conf(5)):
 * sections with countries, keywords and recipient patterns; countries with
 * their names in every language; weights in [scoring]. */
#ifndef CANARY_ROUTE_H
#define CANARY_ROUTE_H

#include <glib.h>

#include "mail.h"

struct canary_routing;

/* Loads the rules at PATH. DEFAULT_SECTION is where cases with no signal
 * (or a tie) go; it must be one of the file's sections. Every problem found
 * is appended to PROBLEMS as a line "PATH: [group] key: what; expected ...";
 * returns NULL if there was any. Section key files are resolved against
 * PATH's directory and must exist. */
struct canary_routing *canary_routing_load(const char *path, const char *default_section,
					   GPtrArray *problems);
void canary_routing_free(struct canary_routing *routing);
typedef struct canary_routing canary_routing;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_routing, canary_routing_free)

/* The section names, in file order; NULL-terminated, owned by ROUTING. */
const char *const *canary_routing_sections(const struct canary_routing *routing);

/* The public key file of SECTION (absolute path), or NULL if there is no
 * such section. */
const char *canary_routing_section_key(const struct canary_routing *routing, const char *section);

/* The Unix group of SECTION's officers ([section NAME] group), or NULL when
 * it sets none or there is no such section. Owned by ROUTING. */
const char *canary_routing_section_group(const struct canary_routing *routing, const char *section);

/* The retention period SECTION sets for its closed cases ([section NAME]
 * retention): TRUE with seconds in *SECONDS_R (0: forever), FALSE when the
 * section sets none (or does not exist) and canary.conf's applies. */
gboolean canary_routing_section_retention(const struct canary_routing *routing,
					  const char *section, guint64 *seconds_r);

/* The addresses SECTION's officers are told at ([section NAME] notify),
 * NULL-terminated and lower-cased, or NULL when it sets none or there is
 * no such section; *DAILY_R (may be NULL) TRUE when notify_digest = daily.
 * Owned by ROUTING. */
const char *const *canary_routing_section_notify_full(const struct canary_routing *routing,
						      const char *section, gboolean *daily_r);
#define canary_routing_section_notify(routing, section) \
	canary_routing_section_notify_full((routing), (section), NULL)

const char *canary_routing_default_section(const struct canary_routing *routing);

/* Why a section won, stored in clear with the case. */
#define CANARY_RULE_RECIPIENT "recipient" /* a To/Cc/Delivered-To pattern */
#define CANARY_RULE_COUNTRY   "country"   /* the best score had a country in it */
#define CANARY_RULE_KEYWORD   "keyword"   /* the best score came from keywords */
#define CANARY_RULE_DEFAULT   "default"   /* no signal, or a tie */

/* One term found in the message. */
struct canary_route_match {
	char *term;    /* as written in the rules ("Côte d'Ivoire") */
	char *country; /* the country it names, or NULL for a keyword */
	gboolean in_subject;
	double points; /* what it added to its section's score */
};

struct canary_route_score {
	char *section;
	double score;
	GPtrArray *matches; /* struct canary_route_match * */
	gboolean recipient; /* a recipient pattern of this section matched */
};

struct canary_route {
	char *section;     /* the winner */
	const char *rule;  /* CANARY_RULE_* */
	GPtrArray *scores; /* struct canary_route_score *, one per section, file order */
};

/* Routes MAIL (its subject, readable text and recipients). Never fails. */
struct canary_route *canary_route_mail(const struct canary_routing *routing,
				       const struct canary_mail *mail);

/* The matched terms as one line per section ("mena: Egypt (country,
 * subject)"), for sealing with the content. New string; NULL if none. */
char *canary_route_describe(const struct canary_route *route);

void canary_route_free(struct canary_route *route);
typedef struct canary_route canary_route;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(canary_route, canary_route_free)

#endif
