/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sluice/sluice.h>

/**
 * SECTION:sluice-clock
 * @title: SluiceClock
 *
 * The time source of components. A system clock follows the real clocks
 * and runs its timeouts on a main context; a manual clock stands still
 * until sluice_clock_advance() moves it, so that tests of schedules and
 * retries never sleep.
 */

typedef struct {
  guint           id;
  gint64          deadline;
  SluiceClockFunc func;
  gpointer        user_data;
  GDestroyNotify  destroy;
  GSource        *source;  /* system clock only */
  GSequenceIter  *iter;    /* manual clock only */
} ClockTimeout;

typedef struct {
  GSource      source;
  SluiceClock *clock;
  guint        id;
} ClockSource;

struct _SluiceClock
{
  GObject parent_instance;

  gboolean    manual;
  gint64      start_real_usec;
  gint64      now;        /* manual monotonic time */
  guint       last_id;
  GMutex      lock;
  GHashTable *timeouts;   /* id -> ClockTimeout, owned */
  GSequence  *pending;    /* manual: ClockTimeout by deadline, then id */
};

G_DEFINE_FINAL_TYPE (SluiceClock, sluice_clock, G_TYPE_OBJECT)

static void
clock_timeout_free (ClockTimeout *timeout)
{
  if (timeout->source != NULL)
    {
      g_source_destroy (timeout->source);
      g_source_unref (timeout->source);
    }
  if (timeout->destroy != NULL)
    timeout->destroy (timeout->user_data);
  g_free (timeout);
}

static void
clock_timeout_fire (ClockTimeout *timeout)
{
  timeout->func (timeout->user_data);
  clock_timeout_free (timeout);
}

static gint
clock_timeout_compare (gconstpointer a,
                       gconstpointer b,
                       gpointer      user_data)
{
  const ClockTimeout *ta = a;
  const ClockTimeout *tb = b;

  if (ta->deadline != tb->deadline)
    return ta->deadline < tb->deadline ? -1 : 1;
  /* ids grow, so timeouts due at the same time fire in the order added */
  if (ta->id != tb->id)
    return ta->id < tb->id ? -1 : 1;
  return 0;
}

static void
sluice_clock_finalize (GObject *object)
{
  SluiceClock *self = SLUICE_CLOCK (object);
  GHashTableIter iter;
  gpointer value;
  GPtrArray *left = g_ptr_array_new ();

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->timeouts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_ptr_array_add (left, value);
      g_hash_table_iter_steal (&iter);
    }
  g_mutex_unlock (&self->lock);

  /* destroy notifies run without the lock: they may call into the clock's
   * other users */
  for (guint i = 0; i < left->len; i++)
    clock_timeout_free (g_ptr_array_index (left, i));
  g_ptr_array_unref (left);

  g_hash_table_unref (self->timeouts);
  g_sequence_free (self->pending);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (sluice_clock_parent_class)->finalize (object);
}

static void
sluice_clock_class_init (SluiceClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sluice_clock_finalize;
}

static void
sluice_clock_init (SluiceClock *self)
{
  g_mutex_init (&self->lock);
  self->timeouts = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->pending = g_sequence_new (NULL);
}

/**
 * sluice_clock_new_system:
 *
 * Creates a clock that follows the system's real and monotonic clocks.
 * Its timeouts run on the thread-default main context of the thread that
 * adds them.
 *
 * Returns: (transfer full): a new #SluiceClock
 */
SluiceClock *
sluice_clock_new_system (void)
{
  return g_object_new (SLUICE_TYPE_CLOCK, NULL);
}

/**
 * sluice_clock_new_manual:
 * @start_real_usec: the real time the clock starts at, in microseconds
 *   since the epoch
 *
 * Creates a clock whose time moves only with sluice_clock_advance(). Its
 * monotonic time starts at 0.
 *
 * Returns: (transfer full): a new #SluiceClock
 */
SluiceClock *
sluice_clock_new_manual (gint64 start_real_usec)
{
  SluiceClock *self = g_object_new (SLUICE_TYPE_CLOCK, NULL);

  self->manual = TRUE;
  self->start_real_usec = start_real_usec;
  return self;
}

/**
 * sluice_clock_is_manual:
 * @self: a #SluiceClock
 *
 * Returns: whether @self is a manual clock
 */
gboolean
sluice_clock_is_manual (SluiceClock *self)
{
  g_return_val_if_fail (SLUICE_IS_CLOCK (self), FALSE);

  return self->manual;
}

/**
 * sluice_clock_get_real_time:
 * @self: a #SluiceClock
 *
 * Returns: the wall-clock time in microseconds since the epoch
 */
gint64
sluice_clock_get_real_time (SluiceClock *self)
{
  gint64 now;

  g_return_val_if_fail (SLUICE_IS_CLOCK (self), 0);

  if (!self->manual)
    return g_get_real_time ();

  g_mutex_lock (&self->lock);
  now = self->start_real_usec + self->now;
  g_mutex_unlock (&self->lock);
  return now;
}

/**
 * sluice_clock_get_monotonic_time:
 * @self: a #SluiceClock
 *
 * Returns: the monotonic time in microseconds; deadlines of timeouts are
 *   on this scale
 */
gint64
sluice_clock_get_monotonic_time (SluiceClock *self)
{
  gint64 now;

  g_return_val_if_fail (SLUICE_IS_CLOCK (self), 0);

  if (!self->manual)
    return g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  now = self->now;
  g_mutex_unlock (&self->lock);
  return now;
}

static gboolean
clock_source_dispatch (GSource    *source,
                       GSourceFunc callback,
                       gpointer    user_data)
{
  ClockSource *clock_source = (ClockSource *) source;
  SluiceClock *self = clock_source->clock;
  ClockTimeout *timeout;

  g_mutex_lock (&self->lock);
  timeout = g_hash_table_lookup (self->timeouts, GUINT_TO_POINTER (clock_source->id));
  if (timeout != NULL)
    g_hash_table_remove (self->timeouts, GUINT_TO_POINTER (clock_source->id));
  g_mutex_unlock (&self->lock);

  if (timeout != NULL)
    {
      /* the source is being dispatched and removes itself by returning
       * G_SOURCE_REMOVE; only our reference remains to be dropped */
      g_source_unref (g_steal_pointer (&timeout->source));
      clock_timeout_fire (timeout);
    }

  return G_SOURCE_REMOVE;
}

static GSourceFuncs clock_source_funcs = {
  .dispatch = clock_source_dispatch,
};

static guint
clock_next_id (SluiceClock *self)
{
  do
    self->last_id++;
  while (self->last_id == 0 ||
         g_hash_table_contains (self->timeouts, GUINT_TO_POINTER (self->last_id)));
  return self->last_id;
}

/**
 * sluice_clock_add_timeout:
 * @self: a #SluiceClock
 * @delay_usec: how long from now, in microseconds (negative counts as 0)
 * @func: called once when the timeout expires
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data after @func ran, or when the
 *   timeout is cancelled, or when the clock is finalized
 *
 * Calls @func once after @delay_usec. On a system clock the timeout runs on
 * the thread-default main context of the calling thread; on a manual clock
 * it runs inside sluice_clock_advance().
 *
 * Returns: the timeout's id (never 0), for sluice_clock_cancel_timeout()
 */
guint
sluice_clock_add_timeout (SluiceClock    *self,
                          gint64          delay_usec,
                          SluiceClockFunc func,
                          gpointer        user_data,
                          GDestroyNotify  destroy)
{
  ClockTimeout *timeout;
  guint id;

  g_return_val_if_fail (SLUICE_IS_CLOCK (self), 0);
  g_return_val_if_fail (func != NULL, 0);

  if (delay_usec < 0)
    delay_usec = 0;

  timeout = g_new0 (ClockTimeout, 1);
  timeout->func = func;
  timeout->user_data = user_data;
  timeout->destroy = destroy;

  g_mutex_lock (&self->lock);
  id = timeout->id = clock_next_id (self);

  if (self->manual)
    {
      timeout->deadline = self->now > G_MAXINT64 - delay_usec ? G_MAXINT64 : self->now + delay_usec;
      timeout->iter = g_sequence_insert_sorted (self->pending, timeout, clock_timeout_compare, NULL);
      g_hash_table_insert (self->timeouts, GUINT_TO_POINTER (id), timeout);
      g_mutex_unlock (&self->lock);
    }
  else
    {
      g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
      GSource *source = g_source_new (&clock_source_funcs, sizeof (ClockSource));
      ClockSource *clock_source = (ClockSource *) source;
      gint64 now = g_get_monotonic_time ();

      clock_source->clock = self;
      clock_source->id = id;
      timeout->deadline = now > G_MAXINT64 - delay_usec ? G_MAXINT64 : now + delay_usec;
      timeout->source = source;
      g_source_set_name (source, "SluiceClock timeout");
      g_source_set_ready_time (source, timeout->deadline);
      g_hash_table_insert (self->timeouts, GUINT_TO_POINTER (id), timeout);
      g_mutex_unlock (&self->lock);

      /* attached after the timeout is in the table, so that a dispatch on
       * another thread finds it */
      g_source_attach (source, context);
    }

  return id;
}

/**
 * sluice_clock_cancel_timeout:
 * @self: a #SluiceClock
 * @id: an id from sluice_clock_add_timeout()
 *
 * Cancels a pending timeout: its function is not called, its destroy
 * notify is. Cancelling a timeout that already fired does nothing.
 */
void
sluice_clock_cancel_timeout (SluiceClock *self,
                             guint        id)
{
  ClockTimeout *timeout;

  g_return_if_fail (SLUICE_IS_CLOCK (self));

  if (id == 0)
    return;

  g_mutex_lock (&self->lock);
  timeout = g_hash_table_lookup (self->timeouts, GUINT_TO_POINTER (id));
  if (timeout != NULL)
    {
      g_hash_table_remove (self->timeouts, GUINT_TO_POINTER (id));
      if (timeout->iter != NULL)
        g_sequence_remove (timeout->iter);
    }
  g_mutex_unlock (&self->lock);

  if (timeout != NULL)
    clock_timeout_free (timeout);
}

/**
 * sluice_clock_advance:
 * @self: a manual #SluiceClock
 * @usec: how far to move time forward, in microseconds
 *
 * Moves a manual clock forward. Time stops at each due deadline in order
 * and its timeout runs there, so a callback sees the time it was due at;
 * a timeout added by a callback that falls due within the window runs in
 * the same call.
 */
void
sluice_clock_advance (SluiceClock *self,
                      gint64       usec)
{
  gint64 target;

  g_return_if_fail (SLUICE_IS_CLOCK (self));
  g_return_if_fail (self->manual);
  g_return_if_fail (usec >= 0);

  g_mutex_lock (&self->lock);
  target = self->now > G_MAXINT64 - usec ? G_MAXINT64 : self->now + usec;

  for (;;)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (self->pending);
      ClockTimeout *timeout;

      if (g_sequence_iter_is_end (first))
        break;
      timeout = g_sequence_get (first);
      if (timeout->deadline > target)
        break;

      g_sequence_remove (first);
      timeout->iter = NULL;
      g_hash_table_remove (self->timeouts, GUINT_TO_POINTER (timeout->id));
      if (timeout->deadline > self->now)
        self->now = timeout->deadline;
      g_mutex_unlock (&self->lock);

      clock_timeout_fire (timeout);

      g_mutex_lock (&self->lock);
    }

  /* a callback may have advanced the clock further itself */
  if (target > self->now)
    self->now = target;
  g_mutex_unlock (&self->lock);
}

/**
 * sluice_clock_get_next_deadline:
 * @self: a #SluiceClock
 *
 * Returns: the monotonic time at which the earliest pending timeout is
 *   due, or -1 when none is pending
 */
gint64
sluice_clock_get_next_deadline (SluiceClock *self)
{
  gint64 deadline = -1;

  g_return_val_if_fail (SLUICE_IS_CLOCK (self), -1);

  g_mutex_lock (&self->lock);
  if (self->manual)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (self->pending);

      if (!g_sequence_iter_is_end (first))
        deadline = ((ClockTimeout *) g_sequence_get (first))->deadline;
    }
  else
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->timeouts);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          ClockTimeout *timeout = value;

          if (deadline < 0 || timeout->deadline < deadline)
            deadline = timeout->deadline;
        }
    }
  g_mutex_unlock (&self->lock);

  return deadline;
}
