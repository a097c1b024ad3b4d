/* case_sealed.h: the operations that hand out a case's sealed blobs (list
 * --key, show, attachment, reveal) or store what an officer's process
 * sealed (move, status with a note), each recorded before any blob leaves;
 * and the client's helpers to read their results.
 *
 * The ops (args -> result; "sealed" is {field: base64}, "case" the object of
 * canary_case_to_json()):
 *   keys {ref}                   -> {case, sealed: every key copy}, not recorded
 *   list {status?, section?, assignee?, since?, keys?, subjects?: [ref],
 *         values?: [ref], pseudonym?} -> {cases: [case + sealed?]}; records
 *         "subject listed" / "exact values listed" / "listed by pseudonym"
 *   show {ref}                   -> {case, sealed, damaged: [detail]}; "show"
 *   attachment {ref, number}     -> {case, sealed}; "attachment" "attachment N"
 *   reveal {ref, raw?}           -> {case, sealed}; "reveal" ["with raw message"]
 *   move-prepare {ref, section}  -> {case, sealed: key copies, public_key}
 *   move {ref, section, sealed}  -> {ref, from, section}; "moved to section S"
 *   status-prepare {ref}         -> {case, note, user, section_key, triage_key}
 *   status {ref, status, note?, sealed?} -> {ref, status, note}; "status S"
 * A quarantined case is answered by keys, show, attachment, move-prepare and
 * status-prepare with its case alone. */
#ifndef CANARY_CASE_SEALED_H
#define CANARY_CASE_SEALED_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "store.h"

/* A case's clear metadata as the ops send it: {"id", "ref", "received_day",
 * "section", "status", "assignee", "rule", "quarantine_reason",
 * "size_class", "attachments"}. New object. */
JsonObject *canary_case_to_json(const struct canary_case *c);

/* The reverse; NULL with a CANARY_CONTROL_ERROR_PROTOCOL error when O lacks
 * "id", "ref", "section" or "status". Free with canary_case_free(). */
struct canary_case *canary_case_from_json(JsonObject *o, GError **error);

/* For the ops of case_reply.c too: an envelope error re-classed as a bad
 * argument (a forged or malformed set of blobs), and the case named by
 * argument "ref", whoever asks (else NULL with USAGE or NOT_FOUND). */
void canary_case_error_as_usage(GError **error);
/* The blobs of argument "sealed" for case CASE_ID, or NULL with USAGE;
 * WHAT names them when the argument is missing. Free with
 * canary_sealed_case_free(). */
struct canary_sealed_case *canary_case_sealed_arg(JsonObject *args, gint64 case_id,
						  const char *what, GError **error);
struct canary_control_context;
struct canary_case *canary_case_lookup(struct canary_control_context *ctx, JsonObject *args,
				       GError **error);

#endif
