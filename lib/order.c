/* order.c: see order.h. */
#include "order.h"

void canary_order_init(struct canary_order *order, gsize *costs, guint n, gsize budget)
{
	*order = (struct canary_order){
		.slots = g_new0(struct canary_order_slot, MAX(n, 1)),
		.costs = costs,
		.n = n,
		.budget = budget,
	};
	g_mutex_init(&order->lock);
	g_cond_init(&order->changed);
}

void canary_order_clear(struct canary_order *order, GDestroyNotify free_value)
{
	for (guint i = 0; i < order->n; i++) {
		if (order->slots[i].value != NULL)
			free_value(order->slots[i].value);
		g_clear_error(&order->slots[i].error);
	}
	g_clear_pointer(&order->slots, g_free);
	g_clear_pointer(&order->costs, g_free);
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

gboolean canary_order_may_claim(const struct canary_order *order)
{
	guint i = order->next_claim;
	return i < order->n &&
	       (i == order->next_take || order->claimed + order->costs[i] <= order->budget);
}

gboolean canary_order_done(const struct canary_order *order, guint index)
{
	return index < order->n && order->slots[index].done;
}

guint canary_order_claim(struct canary_order *order)
{
	g_return_val_if_fail(canary_order_may_claim(order), G_MAXUINT);
	guint i = order->next_claim++;
	order->claimed += order->costs[i];
	return i;
}

void canary_order_put(struct canary_order *order, guint index, gpointer value, GError *error)
{
	order->slots[index] =
		(struct canary_order_slot){.value = value, .error = error, .done = TRUE};
	canary_order_broadcast(order);
}

gpointer canary_order_take(struct canary_order *order, guint index, GError **error)
{
	g_return_val_if_fail(index == order->next_take && index < order->n, NULL);
	g_mutex_lock(&order->lock);
	while (!order->slots[index].done)
		canary_order_wait(order);
	struct canary_order_slot slot = order->slots[index];
	order->slots[index] = (struct canary_order_slot){.done = TRUE};
	order->next_take++;
	order->claimed -= order->costs[index];
	canary_order_broadcast(order);
	g_mutex_unlock(&order->lock);
	if (slot.error != NULL)
		g_propagate_error(error, slot.error);
	return slot.value;
}
