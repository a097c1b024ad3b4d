/* order.h: what worker threads make, handed to one taker in index order.
 * Workers claim indexes in order while the bytes claimed and not yet taken
 * stay within a budget; the index the taker waits for may always be
 * claimed, however large, so one item over the budget cannot stall it.
 * The owner's mutex guards it: every call but canary_order_take() is made
 * with that mutex held. */
#ifndef CANARY_ORDER_H
#define CANARY_ORDER_H

#include <glib.h>

/* One item: made (a value, or the error making it met), or not yet. */
struct canary_order_slot {
	gpointer value;
	GError *error;
	gboolean done;
};

struct canary_order {
	struct canary_order_slot *slots;
	gsize *costs; /* bytes each item counts against the budget */
	guint n;
	gsize budget;
	guint next_claim; /* the next index a worker makes */
	guint next_take;  /* the next index the taker takes */
	gsize claimed;    /* bytes claimed and not yet taken */
};

/* Sets up ORDER for N items, item I counting COSTS[I] bytes (COSTS, from
 * g_malloc(), is taken over). */
void canary_order_init(struct canary_order *order, gsize *costs, guint n, gsize budget);

/* Frees what ORDER holds, values not taken with FREE_VALUE. */
void canary_order_clear(struct canary_order *order, GDestroyNotify free_value);

/* May a worker claim the next index now? FALSE when none is left. */
gboolean canary_order_may_claim(const struct canary_order *order);

/* Claims the next index (canary_order_may_claim() must be TRUE). */
guint canary_order_claim(struct canary_order *order);

/* Leaves item INDEX made: VALUE or ERROR (both taken over). Then
 * broadcast the owner's condition. */
void canary_order_put(struct canary_order *order, guint index, gpointer value, GError *error);

/* Locks LOCK, waits on CHANGED for item INDEX, takes it, broadcasts CHANGED
 * and unlocks. Returns its value, or NULL with its ERROR. Take every index
 * in order, each once. */
gpointer canary_order_take(struct canary_order *order, GMutex *lock, GCond *changed, guint index,
			   GError **error);

#endif
