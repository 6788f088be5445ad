/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-redis-source.h"

typedef struct
{
  GSource                   source;
  redisAsyncContext        *ac; /* NULL once hiredis let go of it */
  GPollFD                   poll_fd;
  SluiceRedisSourceLostFunc lost;
  gpointer                  user_data;
} RedisSource;

#define ERROR_EVENTS (G_IO_ERR | G_IO_HUP | G_IO_NVAL)

/* Event changes come from the thread that runs the context (in a reply
 * callback or from code on the main loop): the next poll picks them up.
 * Only a change from another thread needs to wake the context. */
static void
update_events (RedisSource *self,
               gushort      add,
               gushort      remove)
{
  GMainContext *context;

  self->poll_fd.events = (self->poll_fd.events | add) & ~remove;
  if (g_source_is_destroyed ((GSource *) self))
    return;
  context = g_source_get_context ((GSource *) self);
  if (context != NULL && !g_main_context_is_owner (context))
    g_main_context_wakeup (context);
}

static void
add_read (gpointer data)
{
  update_events (data, G_IO_IN, 0);
}

static void
del_read (gpointer data)
{
  update_events (data, 0, G_IO_IN);
}

static void
add_write (gpointer data)
{
  update_events (data, G_IO_OUT, 0);
}

static void
del_write (gpointer data)
{
  update_events (data, 0, G_IO_OUT);
}

/* hiredis calls this while it frees the context. */
static void
cleanup (gpointer data)
{
  RedisSource              *self = data;
  GSource                  *source = data;
  SluiceRedisSourceLostFunc lost = self->lost;
  gpointer                  user_data = self->user_data;

  if (self->ac == NULL)
    return;
  self->ac->ev.cleanup = NULL;
  self->ac = NULL;
  self->poll_fd.events = 0;
  self->lost = NULL;
  self->user_data = NULL;

  if (!g_source_is_destroyed (source))
    {
      g_source_remove_poll (source, &self->poll_fd);
      g_source_destroy (source);
    }

  if (lost != NULL)
    lost (user_data);

  /* The reference hiredis held, through ev.data. */
  g_source_unref (source);
}

static gboolean
prepare (GSource *source,
         gint    *timeout)
{
  RedisSource *self = (RedisSource *) source;

  *timeout = -1;
  return (self->poll_fd.revents & (self->poll_fd.events | ERROR_EVENTS)) != 0;
}

static gboolean
check (GSource *source)
{
  RedisSource *self = (RedisSource *) source;

  return (self->poll_fd.revents & (self->poll_fd.events | ERROR_EVENTS)) != 0;
}

static gboolean
dispatch (GSource    *source,
          GSourceFunc callback,
          gpointer    user_data)
{
  RedisSource *self = (RedisSource *) source;
  gushort      revents = self->poll_fd.revents;

  self->poll_fd.revents = 0;

  /* Either call may free the context (and run cleanup()): check before
   * each. An error or hang-up is handled by reading, which reports it. */
  if (self->ac != NULL && (revents & G_IO_OUT))
    redisAsyncHandleWrite (self->ac);
  if (self->ac != NULL && (revents & (G_IO_IN | ERROR_EVENTS)))
    redisAsyncHandleRead (self->ac);

  return G_SOURCE_CONTINUE;
}

static void
finalize (GSource *source)
{
}

static GSourceFuncs source_funcs = {
  prepare,
  check,
  dispatch,
  finalize,
  NULL,
  NULL,
};

GSource *
sluice_redis_source_attach (redisAsyncContext        *ac,
                            GMainContext             *context,
                            SluiceRedisSourceLostFunc lost,
                            gpointer                  user_data)
{
  RedisSource *self;
  GSource     *source;

  g_return_val_if_fail (ac != NULL, NULL);
  g_return_val_if_fail (ac->ev.data == NULL, NULL);

  source = g_source_new (&source_funcs, sizeof (RedisSource));
  self = (RedisSource *) source;
  self->ac = ac;
  self->lost = lost;
  self->user_data = user_data;
  self->poll_fd.fd = ac->c.fd;
  self->poll_fd.events = 0;
  self->poll_fd.revents = 0;
  g_source_set_static_name (source, "sluice-redis");
  g_source_add_poll (source, &self->poll_fd);

  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = source;

  /* The context holds one reference, hiredis (ev.data) the other. */
  g_source_attach (source, context);
  return source;
}

void
sluice_redis_source_disown (GSource *source)
{
  RedisSource *self = (RedisSource *) source;

  g_return_if_fail (source != NULL);

  self->lost = NULL;
  self->user_data = NULL;
}
