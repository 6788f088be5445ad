/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-dbus-batches.h"

#include "sluice-dbus-generated.h"

/* Progress signals per batch: at most one per this interval. */
#define PROGRESS_INTERVAL_USEC (500 * 1000)
#define LIST_FAILED_DEFAULT 100
#define LIST_FAILED_MAX 10000

typedef struct {
  SluiceDBusBatches *owner;      /* borrowed */
  SluiceDBusBatch   *skeleton;
  char              *id;
  guint64            settled_at_emit; /* succeeded + failed at the last Progress */
  gint64             emitted_usec;    /* monotonic, last Progress; 0: never */
  guint              progress_timer;  /* a Progress held back by the rate limit */
  gboolean           seen;            /* in the last listing */
} BatchObject;

struct _SluiceDBusBatches
{
  GObject parent_instance;

  SluiceBatchManager *manager;
  SluiceClock        *clock;
  GDBusConnection    *connection;
  GHashTable         *objects;    /* id -> BatchObject */
  gulong              listed_handler;
  gulong              progress_handler;
  gulong              finished_handler;
};

G_DEFINE_FINAL_TYPE (SluiceDBusBatches, sluice_dbus_batches, G_TYPE_OBJECT)

static void
batch_object_free (BatchObject *object)
{
  g_clear_handle_id (&object->progress_timer, g_source_remove);
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (object->skeleton));
  g_clear_object (&object->skeleton);
  g_free (object->id);
  g_free (object);
}

static char *
batch_path (const char *id)
{
  g_autofree char *node = g_dbus_escape_object_path (id);

  return g_strconcat (SLUICE_DBUS_BATCHES_PATH "/", node, NULL);
}

static GVariant *
counts_variant (const SluiceBatchInfo *info)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{st}"));
  g_variant_builder_add (&builder, "{st}", "pending", info->counts[SLUICE_RECORD_PENDING]);
  g_variant_builder_add (&builder, "{st}", "processing", info->counts[SLUICE_RECORD_PROCESSING]);
  g_variant_builder_add (&builder, "{st}", "succeeded", info->counts[SLUICE_RECORD_SUCCEEDED]);
  g_variant_builder_add (&builder, "{st}", "failed", info->counts[SLUICE_RECORD_FAILED]);
  return g_variant_builder_end (&builder);
}

static guint64
counts_lookup (GVariant *counts, const char *state)
{
  guint64 value = 0;

  if (counts != NULL)
    g_variant_lookup (counts, state, "t", &value);
  return value;
}

/* ---- Progress ---- */

static void
progress_emit (BatchObject *object)
{
  GVariant *counts = sluice_dbus_batch_get_counts (object->skeleton);
  guint64 settled = counts_lookup (counts, "succeeded") + counts_lookup (counts, "failed");
  gint64 now = sluice_clock_get_monotonic_time (object->owner->clock);
  double rate = 0.0;

  if (object->emitted_usec != 0 && now > object->emitted_usec && settled >= object->settled_at_emit)
    rate = (double) (settled - object->settled_at_emit) * G_USEC_PER_SEC /
           (double) (now - object->emitted_usec);
  object->settled_at_emit = settled;
  object->emitted_usec = now;
  sluice_dbus_batch_emit_progress (object->skeleton, counts,
                                   sluice_dbus_batch_get_state (object->skeleton), rate);
}

static gboolean
on_progress_due (gpointer user_data)
{
  BatchObject *object = user_data;

  object->progress_timer = 0;
  progress_emit (object);
  return G_SOURCE_REMOVE;
}

/* Now if the last one is old enough, else once it is, with the counts of
 * that time; a finished batch's last word is never held back. */
static void
progress_changed (BatchObject *object, gboolean final)
{
  gint64 now = sluice_clock_get_monotonic_time (object->owner->clock);
  gint64 wait = object->emitted_usec + PROGRESS_INTERVAL_USEC - now;

  if (final || object->emitted_usec == 0 || wait <= 0)
    {
      g_clear_handle_id (&object->progress_timer, g_source_remove);
      progress_emit (object);
      return;
    }
  if (object->progress_timer == 0)
    object->progress_timer = g_timeout_add ((guint) (wait / 1000) + 1, on_progress_due, object);
}

/* ---- Methods ---- */

static void
return_error (GDBusMethodInvocation *invocation, GError *error)
{
  g_dbus_method_invocation_return_gerror (invocation, error);
}

static void
on_retried (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusBatch *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-batch");
  g_autoptr(GError) error = NULL;
  guint64 count = 0;

  if (!sluice_batch_manager_retry_failed_finish (SLUICE_BATCH_MANAGER (source), result, &count,
                                                 &error))
    return_error (invocation, error);
  else
    sluice_dbus_batch_complete_retry_failed (skeleton, invocation, count);
}

static gboolean
on_handle_retry_failed (SluiceDBusBatch *skeleton, GDBusMethodInvocation *invocation,
                        gpointer user_data)
{
  SluiceDBusBatches *self = user_data;

  g_object_set_data_full (G_OBJECT (invocation), "sluice-batch", g_object_ref (skeleton),
                          g_object_unref);
  sluice_batch_manager_retry_failed_async (self->manager, sluice_dbus_batch_get_id (skeleton),
                                           NULL, on_retried, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_paused_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusBatch *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-batch");
  gboolean paused = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (invocation), "sluice-paused"));
  g_autoptr(GError) error = NULL;

  if (!sluice_batch_manager_set_paused_finish (SLUICE_BATCH_MANAGER (source), result, &error))
    {
      return_error (invocation, error);
      return;
    }
  sluice_dbus_batch_set_paused (skeleton, paused);
  if (paused)
    sluice_dbus_batch_complete_pause (skeleton, invocation);
  else
    sluice_dbus_batch_complete_resume (skeleton, invocation);
}

static gboolean
handle_set_paused (SluiceDBusBatches *self, SluiceDBusBatch *skeleton,
                   GDBusMethodInvocation *invocation, gboolean paused)
{
  g_object_set_data_full (G_OBJECT (invocation), "sluice-batch", g_object_ref (skeleton),
                          g_object_unref);
  g_object_set_data (G_OBJECT (invocation), "sluice-paused", GINT_TO_POINTER (paused));
  sluice_batch_manager_set_paused_async (self->manager, sluice_dbus_batch_get_id (skeleton), paused,
                                         NULL, on_paused_set, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_pause (SluiceDBusBatch *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return handle_set_paused (user_data, skeleton, invocation, TRUE);
}

static gboolean
on_handle_resume (SluiceDBusBatch *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return handle_set_paused (user_data, skeleton, invocation, FALSE);
}

/* Close and Cancel: the state they move from is checked first. */
typedef struct {
  SluiceDBusBatches     *self;
  SluiceDBusBatch       *skeleton;
  GDBusMethodInvocation *invocation;
  SluiceBatchState       target;
} StateChange;

static void
state_change_free (StateChange *change)
{
  g_object_unref (change->self);
  g_object_unref (change->skeleton);
  g_free (change);
}

static void
on_state_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StateChange *change = user_data;
  g_autoptr(GError) error = NULL;
  const char *id = sluice_dbus_batch_get_id (change->skeleton);

  if (!sluice_batch_store_set_state_finish (SLUICE_BATCH_STORE (source), result, &error))
    return_error (change->invocation, error);
  else
    {
      sluice_dbus_batch_set_state (change->skeleton,
                                   sluice_batch_state_to_string (change->target));
      g_message ("batch %s %s over D-Bus", id,
                 change->target == SLUICE_BATCH_CLOSED ? "closed" : "cancelled");
      if (change->target == SLUICE_BATCH_CLOSED)
        {
          /* Its records are worked through now, not at the next watch. */
          sluice_batch_manager_process (change->self->manager, id);
          sluice_dbus_batch_complete_close (change->skeleton, change->invocation);
        }
      else
        sluice_dbus_batch_complete_cancel (change->skeleton, change->invocation);
    }
  state_change_free (change);
}

static void
on_state_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StateChange *change = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SluiceBatchInfo) info = sluice_batch_store_get_info_finish (SLUICE_BATCH_STORE (source),
                                                                        result, &error);
  gboolean allowed;

  if (info == NULL)
    {
      return_error (change->invocation, error);
      state_change_free (change);
      return;
    }
  if (change->target == SLUICE_BATCH_CLOSED)
    allowed = info->state == SLUICE_BATCH_OPEN;
  else
    allowed = info->state == SLUICE_BATCH_OPEN || info->state == SLUICE_BATCH_CLOSED;
  if (!allowed)
    {
      g_dbus_method_invocation_return_error (change->invocation, SLUICE_ERROR,
                                             SLUICE_ERROR_INVALID_STATE,
                                             "batch %s is %s: it cannot be %s", info->id,
                                             sluice_batch_state_to_string (info->state),
                                             change->target == SLUICE_BATCH_CLOSED ? "closed"
                                                                                   : "cancelled");
      state_change_free (change);
      return;
    }
  sluice_batch_store_set_state_async (SLUICE_BATCH_STORE (source), info->id, change->target, NULL,
                                      on_state_set, change);
}

static gboolean
handle_state_change (SluiceDBusBatches *self, SluiceDBusBatch *skeleton,
                     GDBusMethodInvocation *invocation, SluiceBatchState target)
{
  StateChange *change = g_new0 (StateChange, 1);

  change->self = g_object_ref (self);
  change->skeleton = g_object_ref (skeleton);
  change->invocation = invocation;
  change->target = target;
  sluice_batch_store_get_info_async (sluice_batch_manager_get_store (self->manager),
                                     sluice_dbus_batch_get_id (skeleton), NULL, on_state_info,
                                     change);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_close (SluiceDBusBatch *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return handle_state_change (user_data, skeleton, invocation, SLUICE_BATCH_CLOSED);
}

static gboolean
on_handle_cancel (SluiceDBusBatch *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return handle_state_change (user_data, skeleton, invocation, SLUICE_BATCH_CANCELLED);
}

static void
on_failed_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GDBusMethodInvocation *invocation = user_data;
  SluiceDBusBatch *skeleton = g_object_get_data (G_OBJECT (invocation), "sluice-batch");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = sluice_batch_store_list_failed_finish (SLUICE_BATCH_STORE (source),
                                                                       result, &error);
  GVariantBuilder builder;

  if (records == NULL)
    {
      return_error (invocation, error);
      return;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < records->len; i++)
    {
      SluiceMessage *record = g_ptr_array_index (records, i);
      const char *why = sluice_message_get_header (record, "sluice-error");
      GVariantDict dict;

      g_variant_dict_init (&dict, NULL);
      g_variant_dict_insert (&dict, "id", "s", sluice_message_get_id (record));
      g_variant_dict_insert (&dict, "error", "s", why != NULL ? why : "");
      g_variant_dict_insert (&dict, "attempts", "u", sluice_message_get_attempt (record));
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }
  sluice_dbus_batch_complete_list_failed (skeleton, invocation, g_variant_builder_end (&builder));
}

static gboolean
on_handle_list_failed (SluiceDBusBatch *skeleton, GDBusMethodInvocation *invocation,
                       guint64 offset, guint limit, gpointer user_data)
{
  SluiceDBusBatches *self = user_data;

  if (limit == 0)
    limit = LIST_FAILED_DEFAULT;
  g_object_set_data_full (G_OBJECT (invocation), "sluice-batch", g_object_ref (skeleton),
                          g_object_unref);
  sluice_batch_store_list_failed_async (sluice_batch_manager_get_store (self->manager),
                                        sluice_dbus_batch_get_id (skeleton), offset,
                                        MIN (limit, LIST_FAILED_MAX), NULL, on_failed_listed,
                                        invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Objects ---- */

static BatchObject *
object_for (SluiceDBusBatches *self, const char *id)
{
  BatchObject *object = g_hash_table_lookup (self->objects, id);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (object != NULL)
    return object;

  object = g_new0 (BatchObject, 1);
  object->owner = self;
  object->id = g_strdup (id);
  object->skeleton = sluice_dbus_batch_skeleton_new ();
  sluice_dbus_batch_set_id (object->skeleton, id);
  g_signal_connect (object->skeleton, "handle-retry-failed", G_CALLBACK (on_handle_retry_failed),
                    self);
  g_signal_connect (object->skeleton, "handle-pause", G_CALLBACK (on_handle_pause), self);
  g_signal_connect (object->skeleton, "handle-resume", G_CALLBACK (on_handle_resume), self);
  g_signal_connect (object->skeleton, "handle-close", G_CALLBACK (on_handle_close), self);
  g_signal_connect (object->skeleton, "handle-cancel", G_CALLBACK (on_handle_cancel), self);
  g_signal_connect (object->skeleton, "handle-list-failed", G_CALLBACK (on_handle_list_failed),
                    self);
  path = batch_path (id);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (object->skeleton),
                                         self->connection, path, &error))
    g_warning ("batch %s: not published on D-Bus: %s", id, error->message);
  g_hash_table_insert (self->objects, object->id, object);
  return object;
}

static void
object_update (SluiceDBusBatches *self, const SluiceBatchInfo *info)
{
  BatchObject *object;
  g_autoptr(GVariant) counts = NULL;
  GVariant *old_counts;
  const char *state = sluice_batch_state_to_string (info->state);
  gboolean moved;

  if (self->connection == NULL)
    return;
  object = object_for (self, info->id);
  object->seen = TRUE;
  counts = g_variant_ref_sink (counts_variant (info));
  old_counts = sluice_dbus_batch_get_counts (object->skeleton);
  moved = old_counts == NULL || !g_variant_equal (old_counts, counts) ||
          g_strcmp0 (sluice_dbus_batch_get_state (object->skeleton), state) != 0;

  sluice_dbus_batch_set_workflow (object->skeleton, info->workflow != NULL ? info->workflow : "");
  sluice_dbus_batch_set_chunk_size (object->skeleton, info->chunk_size);
  sluice_dbus_batch_set_created (object->skeleton, info->created_usec);
  sluice_dbus_batch_set_expires (object->skeleton, info->expires_usec);
  sluice_dbus_batch_set_paused (object->skeleton,
                                sluice_batch_manager_is_paused (self->manager, info->id));
  if (moved)
    {
      sluice_dbus_batch_set_state (object->skeleton, state);
      sluice_dbus_batch_set_counts (object->skeleton, counts);
      if (old_counts != NULL)
        progress_changed (object, info->state == SLUICE_BATCH_COMPLETED ||
                                    info->state == SLUICE_BATCH_FAILED ||
                                    info->state == SLUICE_BATCH_CANCELLED);
    }
}

static void
on_manager_progress (SluiceBatchManager *manager, const char *id, SluiceBatchInfo *info,
                     gpointer user_data)
{
  object_update (user_data, info);
}

/* ---- Listing ---- */

static GVariant *
info_to_variant (SluiceDBusBatches *self, const SluiceBatchInfo *info)
{
  GVariantDict dict;
  g_autofree char *path = batch_path (info->id);

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "s", info->id);
  g_variant_dict_insert (&dict, "path", "o", path);
  g_variant_dict_insert (&dict, "workflow", "s", info->workflow != NULL ? info->workflow : "");
  g_variant_dict_insert (&dict, "state", "s", sluice_batch_state_to_string (info->state));
  g_variant_dict_insert (&dict, "paused", "b",
                         sluice_batch_manager_is_paused (self->manager, info->id));
  g_variant_dict_insert (&dict, "chunk_size", "u", info->chunk_size);
  g_variant_dict_insert (&dict, "created", "x", info->created_usec);
  g_variant_dict_insert (&dict, "expires", "x", info->expires_usec);
  g_variant_dict_insert (&dict, "pending", "t", info->counts[SLUICE_RECORD_PENDING]);
  g_variant_dict_insert (&dict, "processing", "t", info->counts[SLUICE_RECORD_PROCESSING]);
  g_variant_dict_insert (&dict, "succeeded", "t", info->counts[SLUICE_RECORD_SUCCEEDED]);
  g_variant_dict_insert (&dict, "failed_records", "t", info->counts[SLUICE_RECORD_FAILED]);
  return g_variant_dict_end (&dict);
}

static gint
compare_infos (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(SluiceBatchInfo **) a)->id, (*(SluiceBatchInfo **) b)->id);
}

/* Objects of batches the store no longer has (expired, deleted) go. */
static void
apply_listing (SluiceDBusBatches *self, GPtrArray *batches)
{
  GHashTableIter iter;
  BatchObject *object;

  g_hash_table_iter_init (&iter, self->objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &object))
    object->seen = FALSE;
  for (guint i = 0; i < batches->len; i++)
    object_update (self, g_ptr_array_index (batches, i));
  g_hash_table_iter_init (&iter, self->objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &object))
    if (!object->seen)
      g_hash_table_iter_remove (&iter);
}

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SluiceDBusBatches *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batches = sluice_batch_store_list_finish (SLUICE_BATCH_STORE (source),
                                                                 result, &error);
  GVariantBuilder builder;

  if (batches == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_ptr_array_sort (batches, compare_infos);
  apply_listing (self, batches);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < batches->len; i++)
    g_variant_builder_add_value (&builder, info_to_variant (self, g_ptr_array_index (batches, i)));
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_builder_end (&builder)),
                         (GDestroyNotify) g_variant_unref);
}

void
sluice_dbus_batches_list_async (SluiceDBusBatches  *self,
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, sluice_dbus_batches_list_async);
  sluice_batch_store_list_async (sluice_batch_manager_get_store (self->manager), cancellable,
                                 on_listed, g_steal_pointer (&task));
}

GVariant *
sluice_dbus_batches_list_finish (SluiceDBusBatches *self,
                                 GAsyncResult      *result,
                                 GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_first_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(SluiceDBusBatches) self = user_data;
  g_autoptr(GVariant) batches = NULL;
  g_autoptr(GError) error = NULL;

  batches = sluice_dbus_batches_list_finish (self, result, &error);
  if (batches == NULL)
    g_debug ("D-Bus batch objects not listed yet: %s", error->message);
}

/* The manager's own look at the store, every few seconds, keeps the
 * objects of batches this host does not process up to date. */
static void
on_manager_listed (SluiceBatchManager *manager, GPtrArray *batches, gpointer user_data)
{
  apply_listing (user_data, batches);
}

void
sluice_dbus_batches_export (SluiceDBusBatches *self,
                            GDBusConnection   *connection)
{
  g_return_if_fail (SLUICE_IS_DBUS_BATCHES (self));
  g_return_if_fail (self->connection == NULL);

  self->connection = g_object_ref (connection);
  self->progress_handler = g_signal_connect (self->manager, "progress",
                                             G_CALLBACK (on_manager_progress), self);
  self->finished_handler = g_signal_connect (self->manager, "finished",
                                             G_CALLBACK (on_manager_progress), self);
  self->listed_handler = g_signal_connect (self->manager, "listed",
                                           G_CALLBACK (on_manager_listed), self);
  /* Published at once, not at the manager's next look. */
  sluice_dbus_batches_list_async (self, NULL, on_first_listed, g_object_ref (self));
}

void
sluice_dbus_batches_unexport (SluiceDBusBatches *self)
{
  if (self->connection == NULL)
    return;
  g_clear_signal_handler (&self->progress_handler, self->manager);
  g_clear_signal_handler (&self->finished_handler, self->manager);
  g_clear_signal_handler (&self->listed_handler, self->manager);
  g_hash_table_remove_all (self->objects);
  g_clear_object (&self->connection);
}

/* ---- GObject ---- */

static void
sluice_dbus_batches_dispose (GObject *object)
{
  SluiceDBusBatches *self = SLUICE_DBUS_BATCHES (object);

  sluice_dbus_batches_unexport (self);
  G_OBJECT_CLASS (sluice_dbus_batches_parent_class)->dispose (object);
}

static void
sluice_dbus_batches_finalize (GObject *object)
{
  SluiceDBusBatches *self = SLUICE_DBUS_BATCHES (object);

  g_clear_pointer (&self->objects, g_hash_table_unref);
  g_clear_object (&self->manager);
  g_clear_object (&self->clock);
  G_OBJECT_CLASS (sluice_dbus_batches_parent_class)->finalize (object);
}

static void
sluice_dbus_batches_class_init (SluiceDBusBatchesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sluice_dbus_batches_dispose;
  object_class->finalize = sluice_dbus_batches_finalize;
}

static void
sluice_dbus_batches_init (SluiceDBusBatches *self)
{
  self->objects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) batch_object_free);
}

SluiceDBusBatches *
sluice_dbus_batches_new (SluiceBatchManager *manager,
                         SluiceClock        *clock)
{
  SluiceDBusBatches *self;

  g_return_val_if_fail (SLUICE_IS_BATCH_MANAGER (manager), NULL);
  g_return_val_if_fail (SLUICE_IS_CLOCK (clock), NULL);

  self = g_object_new (SLUICE_TYPE_DBUS_BATCHES, NULL);
  self->manager = g_object_ref (manager);
  self->clock = g_object_ref (clock);
  return self;
}
