/* order.c: see order.h. */
#include "order.h"

#include <string.h>

/* The head of each slot; the item's input follows it. */
struct slot {
	gpointer value;
	GError *error;
	gsize cost;
	gboolean done;
};

/* Taken slots are dropped from the front in runs of this many, so that
 * the memmove is paid once per run, not per item. */
#define TRIM_RUN 256

#define ALIGNED(size) (((size) + 15) & ~(gsize)15)

static struct slot *slot_of(const struct canary_order *order, guint index)
{
	return (struct slot *)(void *)(order->slots->data +
				       (gsize)(index - order->first) * order->slot_size);
}

void canary_order_init(struct canary_order *order, gsize input_size, gsize budget)
{
	gsize slot_size = ALIGNED(sizeof(struct slot)) + ALIGNED(input_size);
	*order = (struct canary_order){
		.slots = g_array_new(FALSE, TRUE, (guint)slot_size),
		.slot_size = slot_size,
		.input_size = input_size,
		.budget = budget,
	};
	g_mutex_init(&order->lock);
	g_cond_init(&order->changed);
}

void canary_order_clear(struct canary_order *order, GDestroyNotify free_value)
{
	for (guint i = order->first; i < order->n; i++) {
		struct slot *s = slot_of(order, i);
		if (s->value != NULL)
			free_value(s->value);
		g_clear_error(&s->error);
	}
	g_clear_pointer(&order->slots, g_array_unref);
	g_cond_clear(&order->changed);
	g_mutex_clear(&order->lock);
}

void canary_order_lock(struct canary_order *order)
{
	g_mutex_lock(&order->lock);
}

void canary_order_unlock(struct canary_order *order)
{
	g_mutex_unlock(&order->lock);
}

void canary_order_wait(struct canary_order *order)
{
	order->waiters++;
	g_cond_wait(&order->changed, &order->lock);
	order->waiters--;
}

gboolean canary_order_wait_until(struct canary_order *order, gint64 end)
{
	order->waiters++;
	gboolean woken = g_cond_wait_until(&order->changed, &order->lock, end);
	order->waiters--;
	return woken;
}

/* GLib's broadcast is a futex system call even when nobody sleeps: with
 * every wait and broadcast under the lock, nobody asleep means nobody to
 * wake. Three hand-overs per message, and each call is dear in a VM. */
void canary_order_broadcast(struct canary_order *order)
{
	if (order->waiters > 0)
		g_cond_broadcast(&order->changed);
}

guint canary_order_add(struct canary_order *order, gconstpointer input, gsize cost)
{
	g_return_val_if_fail(!order->closed, G_MAXUINT);
	g_array_set_size(order->slots, order->slots->len + 1); /* zeroed */
	guint index = order->n++;
	struct slot *s = slot_of(order, index);
	s->cost = cost;
	memcpy(canary_order_input(order, index), input, order->input_size);
	canary_order_broadcast(order);
	return index;
}

void canary_order_close(struct canary_order *order)
{
	order->closed = TRUE;
	canary_order_broadcast(order);
}

gpointer canary_order_input(struct canary_order *order, guint index)
{
	g_return_val_if_fail(index >= order->first && index < order->n, NULL);
	return (char *)slot_of(order, index) + ALIGNED(sizeof(struct slot));
}

gboolean canary_order_may_claim(const struct canary_order *order)
{
	guint i = order->next_claim;
	return i < order->n &&
	       (i == order->next_take || order->claimed + slot_of(order, i)->cost <= order->budget);
}

gboolean canary_order_exhausted(const struct canary_order *order)
{
	return order->closed && order->next_claim >= order->n;
}

gboolean canary_order_done(const struct canary_order *order, guint index)
{
	return index >= order->next_take && index < order->n && slot_of(order, index)->done;
}

guint canary_order_claim(struct canary_order *order)
{
	g_return_val_if_fail(canary_order_may_claim(order), G_MAXUINT);
	guint i = order->next_claim++;
	order->claimed += slot_of(order, i)->cost;
	return i;
}

void canary_order_put(struct canary_order *order, guint index, gpointer value, GError *error)
{
	struct slot *s = slot_of(order, index);
	s->value = value;
	s->error = error;
	s->done = TRUE;
	canary_order_broadcast(order);
}

gpointer canary_order_take(struct canary_order *order, guint index, gpointer input_r,
			   GError **error)
{
	g_mutex_lock(&order->lock);
	if (index != order->next_take) {
		g_mutex_unlock(&order->lock);
		g_return_val_if_reached(NULL);
	}
	while (!canary_order_done(order, index))
		canary_order_wait(order);
	struct slot *s = slot_of(order, index);
	if (input_r != NULL)
		memcpy(input_r, canary_order_input(order, index), order->input_size);
	gpointer value = s->value;
	GError *failure = s->error;
	order->claimed -= s->cost;
	*s = (struct slot){0};
	order->next_take++;
	if (order->next_take - order->first >= TRIM_RUN) {
		g_array_remove_range(order->slots, 0, order->next_take - order->first);
		order->first = order->next_take;
	}
	canary_order_broadcast(order);
	g_mutex_unlock(&order->lock);
	if (failure != NULL)
		g_propagate_error(error, failure);
	return value;
}
