/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-schedule-ticker.h"

#include <string.h>

#include "sluice-cron.h"
#include "sluice-schedule-event.h"

/* Wall-clock time can jump (NTP, a suspended host) while timeouts run on
 * the monotonic clock: no single wait is longer than this, and each
 * wake-up looks at the real time again. */
#define MAX_WAIT (60 * G_USEC_PER_SEC)

/* How long a tick's lock outlives the tick. Other hosts decide the same
 * tick within their clock skew plus the jitter; later than that, the last
 * fire time in the store tells them it ran. */
#define LOCK_LEASE (5 * G_TIME_SPAN_MINUTE)

/* Missed ticks are counted up to this many (the "missed" of an event). */
#define COUNT_LIMIT G_GUINT64_CONSTANT (1000000)

typedef enum {
  MISFIRE_SKIP,
  MISFIRE_RUN_ONCE,
  MISFIRE_CATCH_UP,
} Misfire;

typedef enum {
  OVERLAP_SKIP,
  OVERLAP_QUEUE,
} Overlap;

static const char * const misfire_names[] = { "skip", "run-once", "catch-up", NULL };
static const char * const overlap_names[] = { "skip", "queue", NULL };

typedef struct {
  gint64   scheduled;
  guint64  missed;
  gboolean late;       /* stands for missed ticks: waits its turn, never skipped */
  gboolean claimed;    /* locked and recorded already (a retried tick) */
  gboolean retrying;   /* in flight, waiting for its retry delay */
  guint    deliveries;
} Tick;

typedef void (*WaitFunc) (SluiceScheduleTicker *self,
                          gpointer              data);

/* A wait for a wall-clock time; see MAX_WAIT. */
typedef struct {
  SluiceScheduleTicker *self;  /* unowned: waits are cancelled by stop and dispose */
  gint64                target;
  guint                 timer_id;
  WaitFunc              func;
  gpointer              data;
  GDestroyNotify        destroy;  /* frees data when cancelled */
} Wait;

typedef struct {
  /* configuration */
  GTimeZone        *tz;
  Misfire           misfire;
  Overlap           overlap;
  gint64            jitter;

  /* host services */
  SluiceClock      *clock;
  SluiceStateStore *store;        /* NULL: one host, nothing remembered */
  GMainContext     *main_context;
  char             *name;         /* the context's name, for keys and messages */
  char             *last_key;
  char             *owner;
  GRand            *rand;

  gboolean          started;
  GCancellable     *cancellable;  /* a new one per start */
  gboolean          recovering;   /* looking for ticks missed while stopped */
  gint64            next_tick;    /* the next live tick, or -1 */
  GQueue            waits;        /* Wait */
  GQueue            pending;      /* Tick, waiting for their turn */
  gboolean          claiming;     /* a tick's lock is being taken */
  GHashTable       *in_flight;    /* &Tick.scheduled -> Tick, emitted and not settled */
  gboolean          backlog;      /* catch-up: ticks in (cursor, end] still to run */
  gint64            backlog_cursor;
  gint64            backlog_end;
  Tick             *backlog_head;
  GSource          *pump_source;
} SluiceScheduleTickerPrivate;

static void sluice_schedule_ticker_initable_iface_init (GInitableIface *iface);
static void sluice_schedule_ticker_trigger_iface_init (SluiceTriggerInterface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (SluiceScheduleTicker, sluice_schedule_ticker, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (SluiceScheduleTicker)
                                  G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                         sluice_schedule_ticker_initable_iface_init)
                                  G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER,
                                                         sluice_schedule_ticker_trigger_iface_init))

#define GET_PRIV(self) ((SluiceScheduleTickerPrivate *) sluice_schedule_ticker_get_instance_private (self))

static void sluice_schedule_ticker_pump (SluiceScheduleTicker *self);
static void arm_live (SluiceScheduleTicker *self);

static const char *
component_name (SluiceScheduleTicker *self)
{
  return SLUICE_SCHEDULE_TICKER_GET_CLASS (self)->component;
}

static SluiceContext *
get_context (SluiceScheduleTicker *self)
{
  return sluice_component_get_context (self);
}

static Tick *
tick_new (gint64   scheduled,
          guint64  missed,
          gboolean late)
{
  Tick *tick = g_new0 (Tick, 1);

  tick->scheduled = scheduled;
  tick->missed = missed;
  tick->late = late;
  return tick;
}

static char *
format_time (SluiceScheduleTicker *self,
             gint64                usec)
{
  return sluice_cron_format_time (usec, GET_PRIV (self)->tz);
}

/* ---- Tick arithmetic, with the subclass's next_after() ---- */

static gint64
next_after (SluiceScheduleTicker *self,
            gint64                after_usec)
{
  return SLUICE_SCHEDULE_TICKER_GET_CLASS (self)->next_after (self, after_usec);
}

static guint64
count_between (SluiceScheduleTicker *self,
               gint64                after_usec,
               gint64                upto_usec)
{
  return SLUICE_SCHEDULE_TICKER_GET_CLASS (self)->count_between (self, after_usec, upto_usec,
                                                                 COUNT_LIMIT);
}

static gint64
last_between (SluiceScheduleTicker *self,
              gint64                after_usec,
              gint64                upto_usec)
{
  return SLUICE_SCHEDULE_TICKER_GET_CLASS (self)->last_between (self, after_usec, upto_usec);
}

static guint64
sluice_schedule_ticker_real_count_between (SluiceScheduleTicker *self,
                                           gint64                after_usec,
                                           gint64                upto_usec,
                                           guint64               limit)
{
  guint64 count = 0;
  gint64 t = after_usec;

  while (count < limit && (t = next_after (self, t)) >= 0 && t <= upto_usec)
    count++;
  return count;
}

/* Looks back from @upto_usec in windows that double, so that a long
 * stretch of missed ticks is not walked through from its start. */
static gint64
sluice_schedule_ticker_real_last_between (SluiceScheduleTicker *self,
                                          gint64                after_usec,
                                          gint64                upto_usec)
{
  gint64 window = G_USEC_PER_SEC;

  if (upto_usec <= after_usec)
    return -1;

  for (;;)
    {
      gint64 from = upto_usec - after_usec <= window ? after_usec : upto_usec - window;
      gint64 t = next_after (self, from);

      if (t >= 0 && t <= upto_usec)
        {
          gint64 last = t;

          while ((t = next_after (self, last)) >= 0 && t <= upto_usec)
            last = t;
          return last;
        }
      if (from == after_usec)
        return -1;
      window = window > G_MAXINT64 / 2 ? G_MAXINT64 : window * 2;
    }
}

/* ---- Waiting for wall-clock times ---- */

static void wait_arm (Wait *wait);

static void
on_wait_timer (gpointer user_data)
{
  Wait *wait = user_data;
  SluiceScheduleTicker *self = wait->self;
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  wait->timer_id = 0;
  if (sluice_clock_get_real_time (priv->clock) < wait->target)
    {
      wait_arm (wait);
      return;
    }

  g_queue_remove (&priv->waits, wait);
  wait->func (self, wait->data);
  g_free (wait);
}

static void
wait_arm (Wait *wait)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (wait->self);
  gint64 delay = wait->target - sluice_clock_get_real_time (priv->clock);

  wait->timer_id = sluice_clock_add_timeout (priv->clock, CLAMP (delay, 0, MAX_WAIT),
                                             on_wait_timer, wait, NULL);
}

/* Calls @func with @data once the real time reached @target; @func owns
 * @data from then on, @destroy frees it if the wait is cancelled. */
static Wait *
wait_until (SluiceScheduleTicker *self,
            gint64                target,
            WaitFunc              func,
            gpointer              data,
            GDestroyNotify        destroy)
{
  Wait *wait = g_new0 (Wait, 1);

  wait->self = self;
  wait->target = target;
  wait->func = func;
  wait->data = data;
  wait->destroy = destroy;
  g_queue_push_tail (&GET_PRIV (self)->waits, wait);
  wait_arm (wait);
  return wait;
}

static void
cancel_waits (SluiceScheduleTicker *self)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  Wait *wait;

  while ((wait = g_queue_pop_head (&priv->waits)) != NULL)
    {
      if (wait->timer_id != 0)
        sluice_clock_cancel_timeout (priv->clock, wait->timer_id);
      if (wait->destroy != NULL)
        wait->destroy (wait->data);
      g_free (wait);
    }
}

/* ---- Pumping soon, outside the caller's stack ---- */

static gboolean
on_pump_source (gpointer user_data)
{
  SluiceScheduleTicker *self = user_data;
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  g_clear_pointer (&priv->pump_source, g_source_unref);
  sluice_schedule_ticker_pump (self);
  return G_SOURCE_REMOVE;
}

/* Settling and credit come from the engine's own stack: the pump, which
 * may emit at once, runs from the main loop instead. */
static void
schedule_pump (SluiceScheduleTicker *self)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  if (priv->pump_source != NULL)
    return;
  priv->pump_source = g_idle_source_new ();
  g_source_set_name (priv->pump_source, "SluiceScheduleTicker pump");
  g_source_set_callback (priv->pump_source, on_pump_source, self, NULL);
  g_source_attach (priv->pump_source, priv->main_context);
}

static void
cancel_pump (SluiceScheduleTicker *self)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  if (priv->pump_source != NULL)
    {
      g_source_destroy (priv->pump_source);
      g_clear_pointer (&priv->pump_source, g_source_unref);
    }
}

/* ---- The last fire time in the state store ---- */

static gboolean
parse_last_fire (GBytes *value,
                 gint64 *out_usec)
{
  g_autofree char *text = NULL;

  if (value == NULL)
    return FALSE;
  text = g_strndup (g_bytes_get_data (value, NULL), g_bytes_get_size (value));
  return g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, out_usec, NULL);
}

static GBytes *
last_fire_value (gint64 usec)
{
  char *text = g_strdup_printf ("%" G_GINT64_FORMAT, usec);

  return g_bytes_new_take (text, strlen (text));
}

static char *
lock_name (SluiceScheduleTicker *self,
           gint64                scheduled)
{
  return g_strdup_printf ("schedule:%s:tick:%" G_GINT64_FORMAT, GET_PRIV (self)->name, scheduled);
}

typedef struct {
  SluiceStateStore *store;
  SluiceContext    *context;
  char             *key;
  char             *what;  /* the tick, for messages */
  gint64            scheduled;
} GiveBack;

static void
give_back_free (GiveBack *give_back)
{
  g_object_unref (give_back->store);
  g_clear_object (&give_back->context);
  g_free (give_back->key);
  g_free (give_back->what);
  g_free (give_back);
}

static void on_give_back_read (GObject      *source,
                               GAsyncResult *result,
                               gpointer      user_data);

static void
on_give_back_unlocked (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GiveBack *give_back = user_data;
  g_autoptr(GError) error = NULL;

  /* A lock that stays only keeps the tick from running a little longer. */
  if (!sluice_state_store_unlock_finish (give_back->store, result, &error))
    sluice_log (give_back->context, NULL, G_LOG_LEVEL_DEBUG,
                "tick %s was handed back, but its lock could not be released: %s",
                give_back->what, error->message);
  sluice_state_store_get_async (give_back->store, give_back->key, NULL, on_give_back_read,
                                give_back);
}

static void
on_given_back (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GiveBack *give_back = user_data;
  g_autoptr(GError) error = NULL;

  if (!sluice_state_store_set_finish (give_back->store, result, &error))
    sluice_log (give_back->context, NULL, G_LOG_LEVEL_WARNING,
                "tick %s was handed back, but its fire time could not be taken back: %s",
                give_back->what, error->message);
  give_back_free (give_back);
}

static void
on_give_back_read (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GiveBack *give_back = user_data;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GBytes) earlier = NULL;
  g_autoptr(GError) error = NULL;
  gint64 last;

  value = sluice_state_store_get_finish (give_back->store, result, &error);
  /* Another tick fired since: that one is the last now. */
  if (!parse_last_fire (value, &last) || last != give_back->scheduled)
    {
      give_back_free (give_back);
      return;
    }

  earlier = last_fire_value (give_back->scheduled - 1);
  sluice_state_store_set_async (give_back->store, give_back->key, earlier, 0, NULL,
                                on_given_back, give_back);
}

/* A tick that was recorded as fired but did not run (handed back when
 * stopping): its lock is released and its record moves back just before
 * it, so that the misfire policy of the next start (here or on another
 * host) counts it as missed. */
static void
give_back (SluiceScheduleTicker *self,
           gint64                scheduled)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  g_autofree char *lock = NULL;
  GiveBack *give_back;

  if (priv->store == NULL)
    return;

  give_back = g_new0 (GiveBack, 1);
  give_back->store = g_object_ref (priv->store);
  give_back->context = get_context (self) != NULL ? g_object_ref (get_context (self)) : NULL;
  give_back->key = g_strdup (priv->last_key);
  give_back->what = format_time (self, scheduled);
  give_back->scheduled = scheduled;
  lock = lock_name (self, scheduled);
  sluice_state_store_unlock_async (priv->store, lock, priv->owner, NULL, on_give_back_unlocked,
                                   give_back);
}

/* ---- Emitting ---- */

static void
emit_tick (SluiceScheduleTicker *self,
           Tick                 *tick)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autoptr(SluiceMessage) message = NULL;
  g_autoptr(SluiceScheduleEvent) event = NULL;
  g_autofree char *scheduled = format_time (self, tick->scheduled);
  g_autofree char *fired = format_time (self, sluice_clock_get_real_time (priv->clock));

  if (g_hash_table_contains (priv->in_flight, &tick->scheduled))
    {
      /* The same tick twice (a clock set back past it): once is enough. */
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_INFO,
                  "%s: tick %s is still running; not running it again",
                  component_name (self), scheduled);
      g_free (tick);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "scheduled");
  json_builder_add_string_value (builder, scheduled);
  json_builder_set_member_name (builder, "fired");
  json_builder_add_string_value (builder, fired);
  json_builder_set_member_name (builder, "missed");
  json_builder_add_int_value (builder, (gint64) MIN (tick->missed, (guint64) G_MAXINT64));
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  message = sluice_message_new_json (body);
  sluice_message_set_header (message, SLUICE_SCHEDULE_HEADER_TICK, scheduled);
  sluice_message_set_attempt (message, tick->deliveries);
  tick->deliveries++;

  g_hash_table_insert (priv->in_flight, &tick->scheduled, tick);
  event = sluice_schedule_event_new (self, message, tick->scheduled);
  sluice_trigger_emit (SLUICE_TRIGGER (self), SLUICE_EVENT (event));
}

/* ---- Claiming a tick: one host per tick ---- */

typedef struct {
  SluiceScheduleTicker *self;
  GCancellable         *cancellable;  /* the start it belongs to */
  Tick                 *tick;
  char                 *what;
} Claim;

static void
claim_free (Claim *claim)
{
  g_object_unref (claim->self);
  g_object_unref (claim->cancellable);
  g_free (claim->tick);
  g_free (claim->what);
  g_free (claim);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Claim, claim_free)

/* Ends a claim; emits its tick if @run. */
static void
claim_done (Claim   *claim,
            gboolean run)
{
  SluiceScheduleTicker *self = claim->self;

  GET_PRIV (self)->claiming = FALSE;
  if (run)
    emit_tick (self, g_steal_pointer (&claim->tick));
  sluice_schedule_ticker_pump (self);
}

static void
on_recorded (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(Claim) claim = user_data;
  SluiceScheduleTicker *self = claim->self;
  g_autoptr(GError) error = NULL;

  if (!sluice_state_store_set_finish (SLUICE_STATE_STORE (source), result, &error) &&
      !g_cancellable_is_cancelled (claim->cancellable))
    /* The lock is ours, so this host runs it; only a later start may
     * count it as missed. */
    sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                "%s: tick %s runs, but its fire time could not be recorded: %s",
                component_name (self), claim->what, error->message);

  if (g_cancellable_is_cancelled (claim->cancellable))
    {
      give_back (self, claim->tick->scheduled);
      return;
    }
  claim_done (claim, TRUE);
}

static void
on_last_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Claim) claim = user_data;
  SluiceScheduleTicker *self = claim->self;
  SluiceScheduleTickerPrivate *priv;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GBytes) record = NULL;
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;
  gint64 last;

  value = sluice_state_store_get_finish (SLUICE_STATE_STORE (source), result, &error);
  if (g_cancellable_is_cancelled (claim->cancellable))
    return;

  if (error != NULL)
    sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                "%s: cannot read the last fire time (tick %s runs anyway: its lock is ours): %s",
                component_name (self), claim->what, error->message);
  else if (parse_last_fire (value, &last) && last >= claim->tick->scheduled)
    {
      /* Run by a host whose lock has expired since. */
      claim_done (claim, FALSE);
      return;
    }

  priv = GET_PRIV (self);
  cancellable = claim->cancellable;
  record = last_fire_value (claim->tick->scheduled);
  sluice_state_store_set_async (priv->store, priv->last_key, record, 0, cancellable,
                                on_recorded, g_steal_pointer (&claim));
}

static void
on_locked (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Claim) claim = user_data;
  SluiceScheduleTicker *self = claim->self;
  SluiceScheduleTickerPrivate *priv;
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;
  gboolean acquired = FALSE;

  if (!sluice_state_store_lock_finish (SLUICE_STATE_STORE (source), result, &acquired, &error))
    {
      if (!g_cancellable_is_cancelled (claim->cancellable))
        {
          /* Running it anyway could run it on every host. */
          sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                      "%s: tick %s does not run: its lock could not be taken: %s",
                      component_name (self), claim->what, error->message);
          claim_done (claim, FALSE);
        }
      return;
    }
  if (g_cancellable_is_cancelled (claim->cancellable))
    return;

  if (!acquired)
    {
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_DEBUG,
                  "%s: tick %s runs on another host", component_name (self), claim->what);
      claim_done (claim, FALSE);
      return;
    }

  priv = GET_PRIV (self);
  cancellable = claim->cancellable;
  sluice_state_store_get_async (priv->store, priv->last_key, cancellable, on_last_read,
                                g_steal_pointer (&claim));
}

static void
claim_tick (SluiceScheduleTicker *self,
            Tick                 *tick)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  g_autofree char *lock = NULL;
  Claim *claim;

  if (tick->claimed || priv->store == NULL)
    {
      emit_tick (self, tick);
      return;
    }

  claim = g_new0 (Claim, 1);
  claim->self = g_object_ref (self);
  claim->cancellable = g_object_ref (priv->cancellable);
  claim->tick = tick;
  claim->what = format_time (self, tick->scheduled);
  priv->claiming = TRUE;

  lock = lock_name (self, tick->scheduled);
  sluice_state_store_lock_async (priv->store, lock, priv->owner, LOCK_LEASE + priv->jitter,
                                 priv->cancellable, on_locked, claim);
}

/* ---- Deciding what runs next ---- */

static gboolean
has_credit (SluiceScheduleTicker *self)
{
  return sluice_trigger_get_credit (SLUICE_TRIGGER (self)) > 0;
}

/* One tick at a time: a tick is claimed (and emitted) only when nothing
 * else is being claimed. Ticks that stand for missed ones (late), and
 * retried ones, wait for the run in progress; a live tick is skipped or
 * held as the overlap option says. Without credit, a tick is held. */
static void
sluice_schedule_ticker_pump (SluiceScheduleTicker *self)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  if (!priv->started || priv->recovering || priv->claiming)
    return;

  for (;;)
    {
      Tick *head = g_queue_peek_head (&priv->pending);
      gboolean from_backlog = FALSE;

      if ((head == NULL || !(head->claimed || head->late)) && priv->backlog)
        {
          if (priv->backlog_head == NULL)
            {
              gint64 t = next_after (self, priv->backlog_cursor);

              if (t < 0 || t > priv->backlog_end)
                priv->backlog = FALSE;
              else
                {
                  priv->backlog_head = tick_new (t, 1, TRUE);
                  priv->backlog_cursor = t;
                }
            }
          if (priv->backlog_head != NULL)
            {
              head = priv->backlog_head;
              from_backlog = TRUE;
            }
        }

      if (head == NULL)
        return;

      if (g_hash_table_size (priv->in_flight) > 0)
        {
          g_autofree char *what = NULL;

          if (head->late || head->claimed || priv->overlap == OVERLAP_QUEUE)
            return;

          what = format_time (self, head->scheduled);
          sluice_log (get_context (self), NULL, G_LOG_LEVEL_INFO,
                      "%s: tick %s skipped: the previous run is still going (overlap: skip)",
                      component_name (self), what);
          g_free (g_queue_pop_head (&priv->pending));
          continue;
        }

      if (!has_credit (self))
        return;

      if (from_backlog)
        priv->backlog_head = NULL;
      else
        g_queue_pop_head (&priv->pending);
      claim_tick (self, head);
      return;
    }
}

/* A live tick whose (jittered) time has come. */
static void
enqueue_tick (SluiceScheduleTicker *self,
              gpointer              data)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  Tick *tick = data;

  for (GList *l = priv->pending.head; l != NULL; l = l->next)
    {
      Tick *waiting = l->data;

      if (!waiting->late && !waiting->claimed)
        {
          g_autofree char *what = format_time (self, tick->scheduled);
          g_autofree char *held = format_time (self, waiting->scheduled);

          sluice_log (get_context (self), NULL, G_LOG_LEVEL_INFO,
                      "%s: tick %s skipped: tick %s is still waiting to run",
                      component_name (self), what, held);
          g_free (tick);
          return;
        }
    }

  g_queue_push_tail (&priv->pending, tick);
  sluice_schedule_ticker_pump (self);
}

static void
tick_due (SluiceScheduleTicker *self,
          gint64                scheduled,
          guint64               missed)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  Tick *tick = tick_new (scheduled, missed, FALSE);

  if (priv->jitter > 0)
    {
      /* Uniform over [0, jitter], whatever its size. */
      gint64 delay = (gint64) g_rand_double_range (priv->rand, 0, (double) priv->jitter + 1);

      wait_until (self, scheduled + MIN (delay, priv->jitter), enqueue_tick, tick, g_free);
      return;
    }
  enqueue_tick (self, tick);
}

static void
add_backlog (SluiceScheduleTicker *self,
             gint64                after,
             gint64                upto)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  if (priv->backlog)
    {
      /* The cursor is where it has got to; a wider range only extends it. */
      priv->backlog_end = MAX (priv->backlog_end, upto);
      return;
    }
  priv->backlog = TRUE;
  priv->backlog_cursor = after;
  priv->backlog_end = upto;
}

/* Ticks in (@after, @upto] that did not run at their time: after a stop,
 * or while the host was suspended or its clock jumped. */
static void
handle_missed (SluiceScheduleTicker *self,
               gint64                after,
               gint64                upto,
               guint64               count)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  g_autofree char *from = format_time (self, after);
  g_autofree char *to = format_time (self, upto);

  switch (priv->misfire)
    {
    case MISFIRE_SKIP:
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE,
                  "%s: %" G_GUINT64_FORMAT " tick%s missed after %s up to %s: skipped "
                  "(misfire: skip)", component_name (self), count, count == 1 ? "" : "s",
                  from, to);
      break;
    case MISFIRE_RUN_ONCE:
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE,
                  "%s: %" G_GUINT64_FORMAT " tick%s missed after %s up to %s: running once "
                  "(misfire: run-once)", component_name (self), count, count == 1 ? "" : "s",
                  from, to);
      g_queue_push_head (&priv->pending, tick_new (last_between (self, after, upto), count, TRUE));
      break;
    case MISFIRE_CATCH_UP:
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE,
                  "%s: %" G_GUINT64_FORMAT " tick%s missed after %s up to %s: running each "
                  "(misfire: catch-up)", component_name (self), count, count == 1 ? "" : "s",
                  from, to);
      add_backlog (self, after, upto);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
on_live_due (SluiceScheduleTicker *self,
             gpointer              data)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  gint64 now = sluice_clock_get_real_time (priv->clock);
  gint64 first = priv->next_tick;
  guint64 count = MAX (count_between (self, first - 1, now), 1);
  gint64 latest = last_between (self, first - 1, now);

  if (latest < 0)
    latest = first;

  if (priv->backlog)
    /* Catching up: this tick takes its place behind the missed ones. */
    add_backlog (self, first - 1, now);
  else if (count > 1 && priv->misfire == MISFIRE_CATCH_UP)
    handle_missed (self, first - 1, now, count);
  else if (count > 1)
    {
      /* The host slept or its clock jumped: the latest tick is this one,
       * those before it were missed. */
      g_autofree char *from = format_time (self, first);
      g_autofree char *to = format_time (self, latest);

      sluice_log (get_context (self), NULL, G_LOG_LEVEL_MESSAGE,
                  "%s: %" G_GUINT64_FORMAT " tick%s from %s missed before %s: %s",
                  component_name (self), count - 1, count == 2 ? "" : "s", from, to,
                  priv->misfire == MISFIRE_RUN_ONCE ? "it runs for them (misfire: run-once)"
                                                    : "skipped (misfire: skip)");
      tick_due (self, latest, priv->misfire == MISFIRE_RUN_ONCE ? count - 1 : 0);
    }
  else
    tick_due (self, latest, 0);

  /* Emitting may have stopped it. */
  if (!priv->started)
    return;
  priv->next_tick = next_after (self, now);
  arm_live (self);
  sluice_schedule_ticker_pump (self);
}

static void
arm_live (SluiceScheduleTicker *self)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  if (priv->next_tick < 0)
    {
      sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                  "%s: the schedule has no more ticks", component_name (self));
      return;
    }
  wait_until (self, priv->next_tick, on_live_due, NULL, NULL);
}

/* ---- Settling ---- */

static void
on_retry_due (SluiceScheduleTicker *self,
              gpointer              data)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  Tick *tick = data;

  /* Still counted in flight until now, so that nothing overtook it. */
  g_hash_table_steal (priv->in_flight, &tick->scheduled);
  tick->retrying = FALSE;
  tick->claimed = TRUE;
  g_queue_push_head (&priv->pending, tick);
  schedule_pump (self);
}

GTimeZone *
sluice_schedule_ticker_get_time_zone (SluiceScheduleTicker *self)
{
  g_return_val_if_fail (SLUICE_IS_SCHEDULE_TICKER (self), NULL);

  return GET_PRIV (self)->tz;
}

void
sluice_schedule_ticker_settled (SluiceScheduleTicker *self,
                                gint64                scheduled_usec,
                                SluiceEventOutcome    outcome,
                                gint64                retry_delay_usec)
{
  SluiceScheduleTickerPrivate *priv;
  Tick *tick;

  g_return_if_fail (SLUICE_IS_SCHEDULE_TICKER (self));

  priv = GET_PRIV (self);
  tick = g_hash_table_lookup (priv->in_flight, &scheduled_usec);
  g_return_if_fail (tick != NULL && !tick->retrying);

  if (outcome == SLUICE_EVENT_RETRY && priv->started)
    {
      tick->retrying = TRUE;
      if (retry_delay_usec <= 0)
        on_retry_due (self, tick);
      else
        wait_until (self, sluice_clock_get_real_time (priv->clock) + retry_delay_usec,
                    on_retry_due, tick, NULL);
      return;
    }

  /* Handed back while stopping: it did not run. */
  if (outcome == SLUICE_EVENT_RETRY)
    give_back (self, scheduled_usec);
  g_hash_table_remove (priv->in_flight, &scheduled_usec);
  schedule_pump (self);
}

/* ---- Start and stop ---- */

typedef struct {
  SluiceScheduleTicker *self;
  GCancellable         *cancellable;
  gint64                started_at;
} Recovery;

static void
recovery_free (Recovery *recovery)
{
  g_object_unref (recovery->self);
  g_object_unref (recovery->cancellable);
  g_free (recovery);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Recovery, recovery_free)

static void
on_last_fire (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(Recovery) recovery = user_data;
  SluiceScheduleTicker *self = recovery->self;
  g_autoptr(GBytes) value = NULL;
  g_autoptr(GError) error = NULL;
  gint64 last;

  value = sluice_state_store_get_finish (SLUICE_STATE_STORE (source), result, &error);
  if (g_cancellable_is_cancelled (recovery->cancellable))
    return;
  GET_PRIV (self)->recovering = FALSE;

  if (error != NULL)
    sluice_log (get_context (self), NULL, G_LOG_LEVEL_WARNING,
                "%s: cannot read the last fire time, so ticks missed while stopped are not "
                "looked for: %s", component_name (self), error->message);
  else if (parse_last_fire (value, &last) && last < recovery->started_at)
    {
      guint64 count = count_between (self, last, recovery->started_at);

      if (count > 0)
        handle_missed (self, last, recovery->started_at, count);
    }

  sluice_schedule_ticker_pump (self);
}

static gboolean
sluice_schedule_ticker_start (SluiceTrigger *trigger,
                              GError       **error)
{
  SluiceScheduleTicker *self = SLUICE_SCHEDULE_TICKER (trigger);
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  gint64 now;

  if (priv->started)
    return TRUE;

  priv->started = TRUE;
  g_clear_object (&priv->cancellable);
  priv->cancellable = g_cancellable_new ();

  now = sluice_clock_get_real_time (priv->clock);
  priv->next_tick = next_after (self, now);
  arm_live (self);

  if (priv->store != NULL)
    {
      Recovery *recovery = g_new0 (Recovery, 1);

      recovery->self = g_object_ref (self);
      recovery->cancellable = g_object_ref (priv->cancellable);
      recovery->started_at = now;
      priv->recovering = TRUE;
      sluice_state_store_get_async (priv->store, priv->last_key, priv->cancellable,
                                    on_last_fire, recovery);
    }
  return TRUE;
}

static gboolean
remove_if_retrying (gpointer key,
                    gpointer value,
                    gpointer user_data)
{
  Tick *tick = value;

  if (!tick->retrying)
    return FALSE;
  give_back (user_data, tick->scheduled);
  return TRUE;
}

static void
sluice_schedule_ticker_stop (SluiceTrigger *trigger)
{
  SluiceScheduleTicker *self = SLUICE_SCHEDULE_TICKER (trigger);
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  if (!priv->started)
    return;
  priv->started = FALSE;

  /* A claim on its way learns of the stop from its cancellable. */
  g_cancellable_cancel (priv->cancellable);
  priv->claiming = FALSE;
  priv->recovering = FALSE;

  cancel_waits (self);
  cancel_pump (self);
  g_queue_clear_full (&priv->pending, g_free);
  g_clear_pointer (&priv->backlog_head, g_free);
  priv->backlog = FALSE;

  /* Events that are out are settled as usual; retried ones would have run
   * again, and are handed back instead. */
  g_hash_table_foreach_remove (priv->in_flight, remove_if_retrying, self);
}

static void
sluice_schedule_ticker_credit_available (SluiceTrigger *trigger)
{
  schedule_pump (SLUICE_SCHEDULE_TICKER (trigger));
}

static void
sluice_schedule_ticker_trigger_iface_init (SluiceTriggerInterface *iface)
{
  iface->start = sluice_schedule_ticker_start;
  iface->stop = sluice_schedule_ticker_stop;
  iface->credit_available = sluice_schedule_ticker_credit_available;
}

/* ---- Configuration ---- */

gboolean
sluice_schedule_config_get_string (JsonObject  *config,
                                   const char  *component,
                                   const char  *key,
                                   const char  *default_value,
                                   char       **out_value,
                                   GError     **error)
{
  JsonNode *node = config != NULL ? json_object_get_member (config, key) : NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (default_value == NULL)
        {
          g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "%s: key '%s' is required", component, key);
          return FALSE;
        }
      *out_value = g_strdup (default_value);
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: key '%s': expected a string", component, key);
      return FALSE;
    }

  *out_value = g_strdup (json_node_get_string (node));
  return TRUE;
}

gboolean
sluice_schedule_config_get_duration (JsonObject *config,
                                     const char *component,
                                     const char *key,
                                     const char *default_value,
                                     gint64     *out_usec,
                                     GError    **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!sluice_schedule_config_get_string (config, component, key, default_value, &text, error))
    return FALSE;

  if (!sluice_parse_duration (text, out_usec, &local_error))
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                   "%s: key '%s': %s", component, key, local_error->message);
      return FALSE;
    }
  return TRUE;
}

void
sluice_schedule_propagate_config_error (GError    **dest,
                                        GError     *src,
                                        const char *component,
                                        const char *key)
{
  g_set_error (dest, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG, "%s: key '%s': %s",
               component, key, src->message);
  g_error_free (src);
}

static gboolean
get_choice (JsonObject         *config,
            const char         *component,
            const char         *key,
            const char * const *choices,
            guint              *out_index,
            GError            **error)
{
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;

  if (!sluice_schedule_config_get_string (config, component, key, choices[0], &text, error))
    return FALSE;

  for (guint i = 0; choices[i] != NULL; i++)
    if (g_str_equal (text, choices[i]))
      {
        *out_index = i;
        return TRUE;
      }

  expected = g_strjoinv (", ", (char **) choices);
  g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
               "%s: key '%s': '%s' is not one of %s", component, key, text, expected);
  return FALSE;
}

static gboolean
sluice_schedule_ticker_initable_init (GInitable    *initable,
                                      GCancellable *cancellable,
                                      GError      **error)
{
  SluiceScheduleTicker *self = SLUICE_SCHEDULE_TICKER (initable);
  SluiceScheduleTickerClass *klass = SLUICE_SCHEDULE_TICKER_GET_CLASS (self);
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);
  JsonObject *config = sluice_component_get_config (self);
  SluiceContext *context = get_context (self);
  const char *component = klass->component;
  g_autofree char *zone = NULL;
  GError *local_error = NULL;
  guint misfire = 0, overlap = 0;

  if (!sluice_schedule_config_get_string (config, component, "timezone", "UTC", &zone, error))
    return FALSE;
  priv->tz = sluice_cron_time_zone_new (zone, &local_error);
  if (priv->tz == NULL)
    {
      sluice_schedule_propagate_config_error (error, local_error, component, "timezone");
      return FALSE;
    }

  if (!get_choice (config, component, "misfire", misfire_names, &misfire, error) ||
      !get_choice (config, component, "overlap", overlap_names, &overlap, error) ||
      !sluice_schedule_config_get_duration (config, component, "jitter", "0", &priv->jitter,
                                            error) ||
      !klass->configure (self, config, priv->tz, error))
    return FALSE;
  priv->misfire = (Misfire) misfire;
  priv->overlap = (Overlap) overlap;

  if (context != NULL)
    {
      priv->clock = g_object_ref (sluice_context_get_clock (context));
      priv->store = sluice_context_get_state_store (context);
      if (priv->store != NULL)
        g_object_ref (priv->store);
      priv->name = g_strdup (sluice_context_get_name (context));
    }
  else
    {
      priv->clock = sluice_clock_new_system ();
      priv->name = g_strdup (component);
    }

  priv->last_key = g_strdup_printf ("schedule:%s:last", priv->name);
  priv->owner = g_uuid_string_random ();
  priv->rand = g_rand_new ();
  priv->main_context = g_main_context_ref_thread_default ();
  return TRUE;
}

static void
sluice_schedule_ticker_initable_iface_init (GInitableIface *iface)
{
  iface->init = sluice_schedule_ticker_initable_init;
}

/* ---- GObject ---- */

static void
sluice_schedule_ticker_dispose (GObject *object)
{
  SluiceScheduleTicker *self = SLUICE_SCHEDULE_TICKER (object);
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  sluice_schedule_ticker_stop (SLUICE_TRIGGER (self));
  /* Waits hold clock timeouts: cancel them while the clock is there. */
  cancel_waits (self);
  cancel_pump (self);
  g_hash_table_remove_all (priv->in_flight);

  G_OBJECT_CLASS (sluice_schedule_ticker_parent_class)->dispose (object);
}

static void
sluice_schedule_ticker_finalize (GObject *object)
{
  SluiceScheduleTicker *self = SLUICE_SCHEDULE_TICKER (object);
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  g_hash_table_unref (priv->in_flight);
  g_clear_pointer (&priv->tz, g_time_zone_unref);
  g_clear_object (&priv->clock);
  g_clear_object (&priv->store);
  g_clear_object (&priv->cancellable);
  g_clear_pointer (&priv->main_context, g_main_context_unref);
  g_clear_pointer (&priv->rand, g_rand_free);
  g_free (priv->name);
  g_free (priv->last_key);
  g_free (priv->owner);

  G_OBJECT_CLASS (sluice_schedule_ticker_parent_class)->finalize (object);
}

static void
sluice_schedule_ticker_class_init (SluiceScheduleTickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_schedule_ticker_dispose;
  object_class->finalize = sluice_schedule_ticker_finalize;

  klass->count_between = sluice_schedule_ticker_real_count_between;
  klass->last_between = sluice_schedule_ticker_real_last_between;
}

static void
sluice_schedule_ticker_init (SluiceScheduleTicker *self)
{
  SluiceScheduleTickerPrivate *priv = GET_PRIV (self);

  priv->next_tick = -1;
  g_queue_init (&priv->waits);
  g_queue_init (&priv->pending);
  priv->in_flight = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
}
