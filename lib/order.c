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
}

gboolean canary_order_may_claim(const struct canary_order *order)
{
	guint i = order->next_claim;
	return i < order->n &&
	       (i == order->next_take || order->claimed + order->costs[i] <= order->budget);
}

guint canary_order_claim(struct canary_order *order)
{
	guint i = order->next_claim++;
	order->claimed += order->costs[i];
	return i;
}

void canary_order_put(struct canary_order *order, guint index, gpointer value, GError *error)
{
	order->slots[index] =
		(struct canary_order_slot){.value = value, .error = error, .done = TRUE};
}

gpointer canary_order_take(struct canary_order *order, GMutex *lock, GCond *changed, guint index,
			   GError **error)
{
	g_return_val_if_fail(index == order->next_take && index < order->n, NULL);
	g_mutex_lock(lock);
	while (!order->slots[index].done)
		g_cond_wait(changed, lock);
	struct canary_order_slot slot = order->slots[index];
	order->slots[index] = (struct canary_order_slot){.done = TRUE};
	order->next_take++;
	order->claimed -= order->costs[index];
	g_cond_broadcast(changed);
	g_mutex_unlock(lock);
	if (slot.error != NULL)
		g_propagate_error(error, slot.error);
	return slot.value;
}
