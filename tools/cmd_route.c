/* cmd_route.c: canary route: which section a message would go to, and the
 * whole scoring, without storing anything; for admins tuning routing.conf. */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "mail.h"
#include "route.h"
#include "text.h"
#include "triage.h"

static void print_json(const struct canary_route *route)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	json_builder_begin_object(b);
	triage_json_string(b, "section", route->section);
	triage_json_string(b, "rule", route->rule);
	json_builder_set_member_name(b, "scores");
	json_builder_begin_object(b);
	for (guint i = 0; i < route->scores->len; i++) {
		const struct canary_route_score *s = route->scores->pdata[i];
		json_builder_set_member_name(b, s->section);
		json_builder_begin_object(b);
		triage_json_double(b, "score", s->score);
		triage_json_bool(b, "recipient", s->recipient);
		json_builder_set_member_name(b, "matches");
		json_builder_begin_array(b);
		for (guint m = 0; m < s->matches->len; m++) {
			const struct canary_route_match *match = s->matches->pdata[m];
			json_builder_begin_object(b);
			triage_json_string(b, "term", match->term);
			triage_json_string(b, "kind",
					   match->country != NULL ? "country" : "keyword");
			triage_json_string(b, "country", match->country);
			triage_json_bool(b, "in_subject", match->in_subject);
			triage_json_double(b, "points", match->points);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	triage_json_print(b);
}

static void print_table(const struct canary_route *route)
{
	fputs("section: ", stdout);
	cli_print_line(stdout, route->section);
	fputs(" (rule: ", stdout);
	cli_print_line(stdout, route->rule);
	fputs(")\n", stdout);
	for (guint i = 0; i < route->scores->len; i++) {
		const struct canary_route_score *s = route->scores->pdata[i];
		g_autofree char *name = canary_text_escape(s->section, -1, CANARY_TEXT_LINE);
		printf("  %-22s %6g%s\n", name, s->score,
		       s->recipient ? "  recipient address matches" : "");
		for (guint m = 0; m < s->matches->len; m++) {
			const struct canary_route_match *match = s->matches->pdata[m];
			g_autofree char *line = g_strdup_printf(
				"      %+6g  %s (%s%s%s)", match->points, match->term,
				match->country != NULL ? "country " : "keyword",
				match->country != NULL ? match->country : "",
				match->in_subject ? ", in the subject" : "");
			cli_print_line(stdout, line);
			fputc('\n', stdout);
		}
	}
}

int cmd_route(int argc, char **argv)
{
	g_auto(cli_common) common = {0};
	gboolean json = FALSE;
	GOptionEntry entries[] = {{"json", 0, 0, G_OPTION_ARG_NONE, &json,
				   "Print a JSON object (section, rule, scores)", NULL},
				  G_OPTION_ENTRY_NULL};
	if (!cli_parse(&argc, &argv, "MESSAGE",
		       "Shows which section MESSAGE (an .eml file) would be filed in and the "
		       "full scoring, without storing anything.",
		       entries, &common))
		return CLI_EXIT_USAGE;
	if (argc != 2) {
		cli_error("route needs one MESSAGE file (see --help)");
		return CLI_EXIT_USAGE;
	}
	g_autoptr(canary_config) config = cli_load_config(&common);
	if (config == NULL)
		return CLI_EXIT_CONFIG;
	if (config->rules == NULL) {
		cli_error("%s: no [routing] rules; expected rules = routing.conf (see "
			  "canary-routing.conf(5))",
			  config->path);
		return CLI_EXIT_CONFIG;
	}
	g_autoptr(GError) error = NULL;
	g_autoptr(GMappedFile) file = g_mapped_file_new(argv[1], FALSE, &error);
	if (file == NULL) {
		cli_error("%s", error->message);
		return CLI_EXIT_NOT_FOUND;
	}
	g_autoptr(GBytes) raw = g_mapped_file_get_bytes(file);
	g_autoptr(canary_mail) mail = canary_mail_parse(raw, &config->limits);
	if (mail->quarantine != CANARY_QUARANTINE_NONE) {
		/* Such mail is never routed: it goes to the default section. */
		cli_error("%s: would be quarantined (%s) in section %s, not routed", argv[1],
			  canary_quarantine_name(mail->quarantine),
			  canary_routing_default_section(config->rules));
		return CLI_EXIT_FAILED;
	}
	g_autoptr(canary_route) route = canary_route_mail(config->rules, mail);
	if (json)
		print_json(route);
	else
		print_table(route);
	return CLI_EXIT_OK;
}
