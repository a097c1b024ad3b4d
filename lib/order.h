/* order.h: what worker threads make, handed to one taker in index order.
 * The owner adds items as it learns of them (each with its own bytes of
 * input, copied into the order, and a cost) and closes the order when no
 * more will come. Workers claim indexes in order while the bytes claimed
 * and not yet taken stay within a budget; the index the taker waits for
 * may always be claimed, however large, so one item over the budget
 * cannot stall it. An order holds only the items added and not yet
 * taken, so its memory follows what is in flight, not how many items pass
 * through it.
 *
 * The order owns its mutex and condition. Its owner (prefetch.c,
 * prepare.c) keeps its own shared state under the same mutex and signals
 * its own news on the same condition, so that one wait covers both: every
 * call but init, clear and canary_order_take() is made with the mutex
 * held (canary_order_lock()). See threads.h for who runs where. */
#ifndef CANARY_ORDER_H
#define CANARY_ORDER_H

#include <glib.h>

struct canary_order {
	GMutex lock;   /* guards the order and its owner's state beside it */
	GCond changed; /* an item added, made or taken, or news of the owner's */
	GArray *slots; /* of slot_size: items FIRST to N-1 */
	gsize slot_size;
	gsize input_size; /* bytes of input each item carries */
	guint first;      /* the index of slots[0]: those before are taken */
	guint n;          /* items added so far */
	gboolean closed;  /* no more will be added */
	gsize budget;
	guint next_claim; /* the next index a worker makes */
	guint next_take;  /* the next index the taker takes */
	gsize claimed;    /* bytes claimed and not yet taken */
	guint waiters;    /* threads asleep on CHANGED: no broadcast without */
};

/* Sets up ORDER for items carrying INPUT_SIZE bytes of input each, with
 * its mutex and condition. */
void canary_order_init(struct canary_order *order, gsize input_size, gsize budget);

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

/* Adds the next item: INPUT (input_size bytes, copied), counting COST
 * bytes against the budget; returns its index. Not once closed. */
guint canary_order_add(struct canary_order *order, gconstpointer input, gsize cost);

/* No more items will be added: workers may stop once all are claimed. */
void canary_order_close(struct canary_order *order);

/* The input of item INDEX, added and not yet taken; valid until the next
 * add or take (copy what is needed before unlocking). */
gpointer canary_order_input(struct canary_order *order, guint index);

/* May a worker claim the next index now? FALSE when none is added yet. */
gboolean canary_order_may_claim(const struct canary_order *order);

/* Whether every item is claimed and none will be added. */
gboolean canary_order_exhausted(const struct canary_order *order);

/* Whether item INDEX is made (and not yet taken). */
gboolean canary_order_done(const struct canary_order *order, guint index);

/* Claims the next index; canary_order_may_claim() must be TRUE (checked:
 * G_MAXUINT and a critical warning otherwise). */
guint canary_order_claim(struct canary_order *order);

/* Leaves item INDEX made: VALUE or ERROR (both taken over), and wakes
 * whoever waits. */
void canary_order_put(struct canary_order *order, guint index, gpointer value, GError *error);

/* Locks, waits for item INDEX (added, or to be added), takes it, copies
 * its input to INPUT_R (input_size bytes; NULL: not wanted), wakes the
 * workers and unlocks. Returns its value, or NULL with its ERROR. Take
 * every index in order, each once. */
gpointer canary_order_take(struct canary_order *order, guint index, gpointer input_r,
			   GError **error);

#endif
