/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-run-history.h"

#include "sluice-dbus-generated.h"

#define RUN_INTERFACE "org.sluice.Sluice1.Run"

typedef struct {
  GList       link;      /* in active or finished, oldest first */
  char       *id;
  const char *workflow;  /* interned */
  const char *state;     /* static */
  gboolean    watched;   /* started by Trigger, or read while in progress */
  gint64      started;
  gint64      finished;
  gint64      kept_since; /* monotonic, when it finished */
  char       *error;
  char       *trace_id;
} RunEntry;

struct _SluiceRunHistory
{
  GObject parent_instance;

  SluiceEngine    *engine;
  SluiceClock     *clock;
  guint            max;
  gint64           keep_usec;
  gboolean         signal_all;
  GHashTable      *runs;      /* id -> RunEntry (owned) */
  GQueue           active;    /* queued or running */
  GQueue           finished;
  gulong           started_handler;
  gulong           finished_handler;
  GDBusConnection *connection;
  guint            subtree_id;
};

G_DEFINE_FINAL_TYPE (SluiceRunHistory, sluice_run_history, G_TYPE_OBJECT)

static void
run_entry_free (RunEntry *entry)
{
  g_free (entry->id);
  g_free (entry->error);
  g_free (entry->trace_id);
  g_free (entry);
}

char *
sluice_run_history_dup_path (const char *run_id)
{
  g_autofree char *node = g_dbus_escape_object_path (run_id);

  return g_strconcat (SLUICE_RUN_HISTORY_PATH "/", node, NULL);
}

/* ---- Keeping ---- */

/* Called for every run: nothing here is done per run that can be done
 * when someone looks (escaping an object path, say). */
static RunEntry *
lookup_or_add (SluiceRunHistory *self, const char *workflow, const char *run_id)
{
  RunEntry *entry = g_hash_table_lookup (self->runs, run_id);

  if (entry != NULL)
    return entry;
  entry = g_new0 (RunEntry, 1);
  entry->link.data = entry;
  entry->id = g_strdup (run_id);
  entry->workflow = g_intern_string (workflow);
  entry->state = "queued";
  g_hash_table_insert (self->runs, entry->id, entry);
  g_queue_push_tail_link (&self->active, &entry->link);
  return entry;
}

/* Finished runs past the count or the age go, oldest first. */
static void
trim (SluiceRunHistory *self)
{
  gint64 now = sluice_clock_get_monotonic_time (self->clock);

  while (self->finished.length > 0)
    {
      RunEntry *oldest = g_queue_peek_head_link (&self->finished)->data;

      if (self->finished.length <= self->max && now - oldest->kept_since < self->keep_usec)
        break;
      g_queue_unlink (&self->finished, &oldest->link);
      g_hash_table_remove (self->runs, oldest->id);
    }
}

void
sluice_run_history_add_queued (SluiceRunHistory *self,
                               const char       *workflow,
                               const char       *run_id)
{
  g_return_if_fail (SLUICE_IS_RUN_HISTORY (self));

  if (self->max > 0)
    lookup_or_add (self, workflow, run_id)->watched = TRUE;
}

static void
on_run_started (SluiceEngine  *engine,
                const char    *workflow,
                const char    *run_id,
                SluiceMessage *message,
                gpointer       user_data)
{
  SluiceRunHistory *self = user_data;
  RunEntry *entry = lookup_or_add (self, workflow, run_id);

  entry->state = "running";
  /* A retried run keeps its first start. */
  if (entry->started == 0)
    entry->started = sluice_clock_get_real_time (self->clock);
  if (entry->trace_id == NULL)
    entry->trace_id = sluice_message_dup_trace_id (message);
}

static const char *
outcome_to_state (SluiceEventOutcome outcome)
{
  switch (outcome)
    {
    case SLUICE_EVENT_ACKED:
      return "succeeded";
    case SLUICE_EVENT_DEAD_LETTERED:
      return "failed";
    case SLUICE_EVENT_RETRY:
    default:
      return "handed-back";
    }
}

static void
on_run_finished (SluiceEngine  *engine,
                 const char    *workflow,
                 const char    *run_id,
                 guint          outcome,
                 const char    *error_message,
                 SluiceMessage *message,
                 gpointer       user_data)
{
  SluiceRunHistory *self = user_data;
  RunEntry *entry = lookup_or_add (self, workflow, run_id);

  entry->state = outcome_to_state (outcome);
  entry->finished = sluice_clock_get_real_time (self->clock);
  entry->kept_since = sluice_clock_get_monotonic_time (self->clock);
  g_free (entry->error);
  entry->error = outcome != SLUICE_EVENT_ACKED ? g_strdup (error_message != NULL ? error_message : "")
                                               : NULL;
  if (entry->trace_id == NULL)
    entry->trace_id = sluice_message_dup_trace_id (message);
  g_queue_unlink (&self->active, &entry->link);
  g_queue_push_tail_link (&self->finished, &entry->link);

  /* A signal costs the bus and this process far more than the run did
   * on a fast path: sent when someone follows the run, or when asked for
   * every run. */
  if (self->connection != NULL && (entry->watched || self->signal_all))
    {
      g_autofree char *path = sluice_run_history_dup_path (entry->id);

      g_dbus_connection_emit_signal (self->connection, NULL, path, RUN_INTERFACE, "Finished",
                                     g_variant_new ("(ss)", entry->state,
                                                    entry->error != NULL ? entry->error : ""),
                                     NULL);
    }
  trim (self);
}

/* ---- Listing ---- */

static GVariant *
entry_to_variant (RunEntry *entry)
{
  GVariantDict dict;
  g_autofree char *path = sluice_run_history_dup_path (entry->id);

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "s", entry->id);
  g_variant_dict_insert (&dict, "path", "o", path);
  g_variant_dict_insert (&dict, "workflow", "s", entry->workflow);
  g_variant_dict_insert (&dict, "state", "s", entry->state);
  g_variant_dict_insert (&dict, "started", "x", entry->started);
  g_variant_dict_insert (&dict, "finished", "x", entry->finished);
  g_variant_dict_insert (&dict, "error", "s", entry->error != NULL ? entry->error : "");
  g_variant_dict_insert (&dict, "trace_id", "s", entry->trace_id != NULL ? entry->trace_id : "");
  return g_variant_dict_end (&dict);
}

static gboolean
entry_matches (RunEntry *entry, const char *workflow, const char *state)
{
  return (workflow == NULL || g_str_equal (entry->workflow, workflow)) &&
         (state == NULL || g_str_equal (entry->state, state));
}

GVariant *
sluice_run_history_list (SluiceRunHistory *self,
                         const char       *workflow,
                         const char       *state,
                         guint             limit)
{
  GVariantBuilder builder;
  guint count = 0;

  g_return_val_if_fail (SLUICE_IS_RUN_HISTORY (self), NULL);

  trim (self);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  /* Newest first: those in progress, then the finished ones. */
  for (GList *l = self->active.tail; l != NULL && count < limit; l = l->prev)
    if (entry_matches (l->data, workflow, state))
      {
        g_variant_builder_add_value (&builder, entry_to_variant (l->data));
        count++;
      }
  for (GList *l = self->finished.tail; l != NULL && count < limit; l = l->prev)
    if (entry_matches (l->data, workflow, state))
      {
        g_variant_builder_add_value (&builder, entry_to_variant (l->data));
        count++;
      }
  return g_variant_builder_end (&builder);
}

/* ---- D-Bus: one subtree, each kept run a node of it ---- */

/* The run of an object path's last element (an escaped id), or NULL. */
static RunEntry *
entry_for_node (SluiceRunHistory *self, const char *node)
{
  g_autofree guint8 *id = node != NULL ? g_dbus_unescape_object_path (node) : NULL;

  return id != NULL ? g_hash_table_lookup (self->runs, (const char *) id) : NULL;
}

static RunEntry *
entry_for_path (SluiceRunHistory *self, const char *object_path)
{
  const char *node = strrchr (object_path, '/');

  return node != NULL ? entry_for_node (self, node + 1) : NULL;
}

static GVariant *
run_get_property (GDBusConnection *connection,
                  const char      *sender,
                  const char      *object_path,
                  const char      *interface_name,
                  const char      *property_name,
                  GError         **error,
                  gpointer         user_data)
{
  SluiceRunHistory *self = user_data;
  RunEntry *entry = entry_for_path (self, object_path);

  if (entry == NULL)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                   "run %s is no longer kept", object_path);
      return NULL;
    }
  /* Someone follows it: its end is told. */
  if (entry->finished == 0)
    entry->watched = TRUE;
  if (g_str_equal (property_name, "Id"))
    return g_variant_new_string (entry->id);
  if (g_str_equal (property_name, "Workflow"))
    return g_variant_new_string (entry->workflow);
  if (g_str_equal (property_name, "State"))
    return g_variant_new_string (entry->state);
  if (g_str_equal (property_name, "Started"))
    return g_variant_new_int64 (entry->started);
  if (g_str_equal (property_name, "Finished"))
    return g_variant_new_int64 (entry->finished);
  if (g_str_equal (property_name, "Error"))
    return g_variant_new_string (entry->error != NULL ? entry->error : "");
  if (g_str_equal (property_name, "TraceId"))
    return g_variant_new_string (entry->trace_id != NULL ? entry->trace_id : "");
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s on %s",
               property_name, interface_name);
  return NULL;
}

static void
run_method_call (GDBusConnection       *connection,
                 const char            *sender,
                 const char            *object_path,
                 const char            *interface_name,
                 const char            *method_name,
                 GVariant              *parameters,
                 GDBusMethodInvocation *invocation,
                 gpointer               user_data)
{
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                         "%s has no method %s", interface_name, method_name);
}

static const GDBusInterfaceVTable run_vtable = {
  run_method_call, run_get_property, NULL, { NULL },
};

static char **
subtree_enumerate (GDBusConnection *connection,
                   const char      *sender,
                   const char      *object_path,
                   gpointer         user_data)
{
  SluiceRunHistory *self = user_data;
  GPtrArray *nodes = g_ptr_array_new ();
  GHashTableIter iter;
  const char *id;

  trim (self);
  g_hash_table_iter_init (&iter, self->runs);
  while (g_hash_table_iter_next (&iter, (gpointer *) &id, NULL))
    g_ptr_array_add (nodes, g_dbus_escape_object_path (id));
  g_ptr_array_add (nodes, NULL);
  return (char **) g_ptr_array_free (nodes, FALSE);
}

static GDBusInterfaceInfo **
subtree_introspect (GDBusConnection *connection,
                    const char      *sender,
                    const char      *object_path,
                    const char      *node,
                    gpointer         user_data)
{
  SluiceRunHistory *self = user_data;
  GDBusInterfaceInfo **infos;

  if (entry_for_node (self, node) == NULL)
    return NULL;
  infos = g_new0 (GDBusInterfaceInfo *, 2);
  infos[0] = g_dbus_interface_info_ref (sluice_dbus_run_interface_info ());
  return infos;
}

static const GDBusInterfaceVTable *
subtree_dispatch (GDBusConnection *connection,
                  const char      *sender,
                  const char      *object_path,
                  const char      *interface_name,
                  const char      *node,
                  gpointer        *out_user_data,
                  gpointer         user_data)
{
  SluiceRunHistory *self = user_data;

  if (g_strcmp0 (interface_name, RUN_INTERFACE) != 0 || entry_for_node (self, node) == NULL)
    return NULL;
  *out_user_data = self;
  return &run_vtable;
}

static const GDBusSubtreeVTable subtree_vtable = {
  subtree_enumerate, subtree_introspect, subtree_dispatch, { NULL },
};

gboolean
sluice_run_history_export (SluiceRunHistory *self,
                           GDBusConnection  *connection,
                           GError          **error)
{
  g_return_val_if_fail (SLUICE_IS_RUN_HISTORY (self), FALSE);
  g_return_val_if_fail (self->connection == NULL, FALSE);

  self->subtree_id = g_dbus_connection_register_subtree (connection, SLUICE_RUN_HISTORY_PATH,
                                                         &subtree_vtable, G_DBUS_SUBTREE_FLAGS_NONE,
                                                         self, NULL, error);
  if (self->subtree_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  return TRUE;
}

void
sluice_run_history_unexport (SluiceRunHistory *self)
{
  if (self->connection == NULL)
    return;
  g_dbus_connection_unregister_subtree (self->connection, self->subtree_id);
  self->subtree_id = 0;
  g_clear_object (&self->connection);
}

/* ---- GObject ---- */

static void
sluice_run_history_dispose (GObject *object)
{
  SluiceRunHistory *self = SLUICE_RUN_HISTORY (object);

  sluice_run_history_unexport (self);
  if (self->engine != NULL)
    {
      g_clear_signal_handler (&self->started_handler, self->engine);
      g_clear_signal_handler (&self->finished_handler, self->engine);
      g_clear_object (&self->engine);
    }
  G_OBJECT_CLASS (sluice_run_history_parent_class)->dispose (object);
}

static void
sluice_run_history_finalize (GObject *object)
{
  SluiceRunHistory *self = SLUICE_RUN_HISTORY (object);

  /* The queues link entries the table owns. */
  g_queue_init (&self->active);
  g_queue_init (&self->finished);
  g_clear_pointer (&self->runs, g_hash_table_unref);
  g_clear_object (&self->clock);
  G_OBJECT_CLASS (sluice_run_history_parent_class)->finalize (object);
}

static void
sluice_run_history_class_init (SluiceRunHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_run_history_dispose;
  object_class->finalize = sluice_run_history_finalize;
}

static void
sluice_run_history_init (SluiceRunHistory *self)
{
  /* Keyed by the entry's own id. */
  self->runs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) run_entry_free);
  g_queue_init (&self->active);
  g_queue_init (&self->finished);
}

SluiceRunHistory *
sluice_run_history_new (SluiceEngine *engine,
                        SluiceClock  *clock,
                        guint         max,
                        gint64        keep_usec,
                        gboolean      signal_all)
{
  SluiceRunHistory *self;

  g_return_val_if_fail (SLUICE_IS_ENGINE (engine), NULL);
  g_return_val_if_fail (SLUICE_IS_CLOCK (clock), NULL);

  self = g_object_new (SLUICE_TYPE_RUN_HISTORY, NULL);
  self->engine = g_object_ref (engine);
  self->clock = g_object_ref (clock);
  self->max = max;
  self->keep_usec = keep_usec;
  self->signal_all = signal_all;
  /* Kept off, it costs the runs nothing. */
  if (max > 0)
    {
      self->started_handler = g_signal_connect (engine, "run-started",
                                                G_CALLBACK (on_run_started), self);
      self->finished_handler = g_signal_connect (engine, "run-finished",
                                                 G_CALLBACK (on_run_finished), self);
    }
  return self;
}
