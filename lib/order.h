/* order.h: what worker threads make, handed to one taker in index order.
 * Workers claim indexes in order while the bytes claimed and not yet taken
 * stay within a budget; the index the taker waits for may always be
 * claimed, however large, so one item over the budget cannot stall it.
 *
 * The order owns its mutex and condition. Its owner (prefetch.c,
 * prepare.c) keeps its own shared state under the same mutex and signals
 * its own news on the same condition, so that one wait covers both: every
 * call but init, clear and canary_order_take() is made with the mutex
 * held (canary_order_lock()). See threads.h for who runs where. */
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
	GMutex lock;    /* guards the order and its owner's state beside it */
	GCond changed;  /* an item made or taken, or news of the owner's */
	struct canary_order_slot *slots;
	gsize *costs; /* bytes each item counts against the budget */
	guint n;
	gsize budget;
	guint next_claim; /* the next index a worker makes */
	guint next_take;  /* the next index the taker takes */
	gsize claimed;    /* bytes claimed and not yet taken */
	guint waiters;    /* threads asleep on CHANGED: no broadcast without */
};

/* Sets up ORDER for N items, item I counting COSTS[I] bytes (COSTS, from
 * g_malloc(), is taken over), with its mutex and condition. */
void canary_order_init(struct canary_order *order, gsize *costs, guint n, gsize budget);

/* Frees what ORDER holds, values not taken with FREE_VALUE. No thread may
 * use it any more. */
void canary_order_clear(struct canary_order *order, GDestroyNotify free_value);

/* The mutex, and the condition: waits (mutex held) until a broadcast or,
 * for _until, the monotonic time END (FALSE then). */
void canary_order_lock(struct canary_order *order);
void canary_order_unlock(struct canary_order *order);
void canary_order_wait(struct canary_order *order);
gboolean canary_order_wait_until(struct canary_order *order, gint64 end);
void canary_order_broadcast(struct canary_order *order);

/* May a worker claim the next index now? FALSE when none is left. */
gboolean canary_order_may_claim(const struct canary_order *order);

/* Whether item INDEX is made (and not yet taken). */
gboolean canary_order_done(const struct canary_order *order, guint index);

/* Claims the next index; canary_order_may_claim() must be TRUE (checked:
 * G_MAXUINT and a critical warning otherwise). */
guint canary_order_claim(struct canary_order *order);

/* Leaves item INDEX made: VALUE or ERROR (both taken over), and wakes
 * whoever waits. */
void canary_order_put(struct canary_order *order, guint index, gpointer value, GError *error);

/* Locks, waits for item INDEX, takes it, wakes the workers and unlocks.
 * Returns its value, or NULL with its ERROR. Take every index in order,
 * each once. */
gpointer canary_order_take(struct canary_order *order, guint index, GError **error);

#endif
