/* fuzz_routing.c: libFuzzer target for routing. Inputs starting with 'R'
 * are loaded as a routing.conf (rules or a list of problems, never a
 * crash); others are routed as a message's text against fixed rules (a
 * section, never a crash, whatever the script or normalisation). */
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>

#include "mail.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_rules[] =
	"[section africa]\ncountries = Guinea;South Sudan\nrecipients = reprisals+africa@*\n"
	"[section asia-pacific]\ncountries = Papua New Guinea\n"
	"[section mena]\ncountries = Egypt;Sudan\n"
	"[section special-procedures]\nkeywords = Special Rapporteur;特别报告员\n"
	"[section triage]\n"
	"[country Guinea]\nnames = Guinea;Guinée\n[country South Sudan]\nnames = South Sudan\n"
	"[country Papua New Guinea]\nnames = Papua New Guinea\n"
	"[country Egypt]\nnames = Egypt;مصر;Египет;埃及\n[country Sudan]\nnames = Sudan\n";

static char *dir;
static struct canary_routing *routing;

/* A directory with the fixed rules and a key file per section. */
static void set_up(void)
{
	dir = g_dir_make_tmp("fuzz-routing-XXXXXX", NULL);
	g_assert(dir != NULL);
	char *keys = g_build_filename(dir, "keys", NULL);
	g_mkdir(keys, 0700);
	const char *sections[] = {"africa", "asia-pacific", "mena", "special-procedures", "triage"};
	for (gsize i = 0; i < G_N_ELEMENTS(sections); i++) {
		char *name = g_strdup_printf("%s/%s.pub", keys, sections[i]);
		g_assert(g_file_set_contents(name, "x\n", -1, NULL));
		g_free(name);
	}
	g_free(keys);
	char *path = g_build_filename(dir, "routing.conf", NULL);
	g_assert(g_file_set_contents(path, fixed_rules, -1, NULL));
	GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
	routing = canary_routing_load(path, "triage", problems);
	g_assert(routing != NULL);
	g_ptr_array_unref(problems);
	g_free(path);
	canary_mail_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dir == NULL)
		set_up();
	if (size > 0 && data[0] == 'R') {
		char *path = g_build_filename(dir, "fuzzed.conf", NULL);
		g_assert(g_file_set_contents(path, (const char *)data + 1, (gssize)size - 1, NULL));
		GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
		struct canary_routing *loaded = canary_routing_load(path, "triage", problems);
		g_assert((loaded == NULL) == (problems->len > 0));
		for (guint i = 0; i < problems->len; i++)
			g_assert(g_str_has_prefix(problems->pdata[i], path));
		canary_routing_free(loaded);
		g_ptr_array_unref(problems);
		g_free(path);
		return 0;
	}
	GBytes *raw = g_bytes_new(data, size);
	struct canary_mail *mail = canary_mail_parse(raw, NULL);
	struct canary_route *route = canary_route_mail(routing, mail);
	g_assert(route->section != NULL && route->rule != NULL);
	g_free(canary_route_describe(route));
	canary_route_free(route);
	canary_mail_free(mail);
	g_bytes_unref(raw);
	return 0;
}
