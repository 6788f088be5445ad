/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluicectl.h"

/* How many failed records `batch show` lists. */
#define SHOW_FAILED_LIMIT 20

static char *
uint_text (guint64 value)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, value);
}

/* ---- batches ---- */

static int
batches (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GVariant) list = NULL;

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "batches");
  sluice_dbus_manager_call_list_batches (manager, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_list_batches_finish (manager, &list, result, &error))
    return sluicectl_report_error (error, "batches");

  if (ctl->json)
    {
      g_autoptr (JsonNode) root = sluicectl_vardict_list_to_json (list);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autoptr (SluicectlTable) table = sluicectl_table_new ("ID", "WORKFLOW", "STATE", "PAUSED",
                                                              "PENDING", "PROCESSING", "SUCCEEDED",
                                                              "FAILED", "EXPIRES", NULL);

      for (gsize i = 0; i < g_variant_n_children (list); i++)
        {
          g_autoptr (GVariant) batch = g_variant_get_child_value (list, i);
          g_autofree char *pending = uint_text (sluicectl_dict_uint (batch, "pending"));
          g_autofree char *processing = uint_text (sluicectl_dict_uint (batch, "processing"));
          g_autofree char *succeeded = uint_text (sluicectl_dict_uint (batch, "succeeded"));
          g_autofree char *failed = uint_text (sluicectl_dict_uint (batch, "failed_records"));
          g_autofree char *expires = sluicectl_format_time (sluicectl_dict_int (batch, "expires"));

          sluicectl_table_add_row (table, sluicectl_dict_string (batch, "id", "?"),
                                   sluicectl_dict_string (batch, "workflow", "?"),
                                   sluicectl_dict_string (batch, "state", "?"),
                                   sluicectl_dict_bool (batch, "paused") ? "yes" : "no", pending,
                                   processing, succeeded, failed, expires, NULL);
        }
      sluicectl_table_print (table);
    }
  return SLUICECTL_EXIT_OK;
}

/* ---- batch failed ID ---- */

static gint64 opt_offset;
static int    opt_limit;

static const GOptionEntry failed_entries[] = {
  { "offset", 0, 0, G_OPTION_ARG_INT64, &opt_offset, "Skip the first N failed records", "N" },
  { "limit", 0, 0, G_OPTION_ARG_INT, &opt_limit, "At most N records (default 100)", "N" },
  { NULL }
};

static GVariant *
list_failed (SluicectlContext *ctl,
             const char       *path,
             guint64           offset,
             guint             limit,
             GError          **error)
{
  g_autoptr (SluiceDBusBatch) batch = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  GVariant     *records = NULL;

  batch = sluicectl_get_batch (ctl, path, error);
  if (batch == NULL)
    return NULL;
  sluice_dbus_batch_call_list_failed (batch, offset, limit, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_batch_call_list_failed_finish (batch, &records, result, error))
    return NULL;
  return records;
}

static void
add_failed_rows (SluicectlTable *table, GVariant *records)
{
  for (gsize i = 0; i < g_variant_n_children (records); i++)
    {
      g_autoptr (GVariant) record = g_variant_get_child_value (records, i);
      g_autofree char *attempts = uint_text (sluicectl_dict_uint (record, "attempts"));
      g_autofree char *error_text = sluicectl_first_line (sluicectl_dict_string (record, "error",
                                                                                 ""));

      sluicectl_table_add_row (table, sluicectl_dict_string (record, "id", "?"), attempts,
                               error_text, NULL);
    }
}


static int
batch_failed (SluicectlContext *ctl, char **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GVariant) records = NULL;

  if (opt_offset < 0)
    return sluicectl_usage_error ("batch failed: --offset %" G_GINT64_FORMAT ": expected 0 or "
                                  "more",
                                  opt_offset);
  if (opt_limit < 0)
    return sluicectl_usage_error ("batch failed: --limit %d: expected 1 or more", opt_limit);
  path = sluicectl_object_path (SLUICECTL_BATCHES_PATH, args[0], &error);
  if (path == NULL)
    return sluicectl_report_error (error, "batch failed");
  records = list_failed (ctl, path, (guint64) opt_offset, (guint) opt_limit, &error);
  if (records == NULL)
    return sluicectl_report_object_error (error, "batch failed", "batch", args[0]);

  if (ctl->json)
    {
      g_autoptr (JsonNode) root = sluicectl_vardict_list_to_json (records);

      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autoptr (SluicectlTable) table = sluicectl_table_new ("ID", "ATTEMPTS", "ERROR", NULL);

      add_failed_rows (table, records);
      sluicectl_table_print (table);
    }
  return SLUICECTL_EXIT_OK;
}

/* ---- batch show ID ---- */

/* The properties with the keys of ListBatches, Counts spread out as
 * "pending", "processing", "succeeded" and "failed_records". */
static JsonObject *
batch_properties_to_json (GVariant *properties, const char *path)
{
  JsonObject  *object = json_object_new ();
  GVariantIter iter;
  const char  *name;
  GVariant    *value;

  json_object_set_string_member (object, "path", path);
  g_variant_iter_init (&iter, properties);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
    {
      g_autofree char *key = NULL;

      if (g_str_equal (name, "Counts") && g_variant_is_of_type (value, G_VARIANT_TYPE ("a{st}")))
        {
          static const char *const counts[][2] = {
            { "pending", "pending" },
            { "processing", "processing" },
            { "succeeded", "succeeded" },
            { "failed", "failed_records" },
          };

          for (gsize i = 0; i < G_N_ELEMENTS (counts); i++)
            json_object_set_int_member (object, counts[i][1],
                                        (gint64) sluicectl_dict_uint (value, counts[i][0]));
          continue;
        }
      key = sluicectl_property_key (name);
      json_object_set_member (object, key, sluicectl_variant_to_json (key, value));
    }
  return object;
}

static int
batch_show (SluicectlContext *ctl, char **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (GVariant) counts = NULL;
  g_autoptr (GVariant) records = NULL;
  guint64 n_failed;

  path = sluicectl_object_path (SLUICECTL_BATCHES_PATH, args[0], &error);
  if (path == NULL)
    return sluicectl_report_error (error, "batch show");
  properties = sluicectl_get_all_properties (ctl, path, SLUICECTL_BATCH_IFACE, &error);
  if (properties == NULL)
    return sluicectl_report_object_error (error, "batch show", "batch", args[0]);
  records = list_failed (ctl, path, 0, SHOW_FAILED_LIMIT, &error);
  if (records == NULL)
    return sluicectl_report_object_error (error, "batch show", "batch", args[0]);
  counts = g_variant_lookup_value (properties, "Counts", G_VARIANT_TYPE ("a{st}"));
  n_failed = sluicectl_dict_uint (counts, "failed");

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = batch_properties_to_json (properties, path);
      g_autoptr (JsonNode) root = NULL;

      json_object_set_member (object, "first_failed", sluicectl_vardict_list_to_json (records));
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autofree char *created = sluicectl_format_time (sluicectl_dict_int (properties,
                                                                            "Created"));
      g_autofree char *expires = sluicectl_format_time (sluicectl_dict_int (properties,
                                                                            "Expires"));

      g_print ("Id:          %s\n", sluicectl_dict_string (properties, "Id", args[0]));
      g_print ("Path:        %s\n", path);
      g_print ("Workflow:    %s\n", sluicectl_dict_string (properties, "Workflow", "?"));
      g_print ("State:       %s\n", sluicectl_dict_string (properties, "State", "?"));
      g_print ("Paused:      %s\n", sluicectl_dict_bool (properties, "Paused") ? "yes" : "no");
      g_print ("Chunk size:  %" G_GUINT64_FORMAT "\n",
               sluicectl_dict_uint (properties, "ChunkSize"));
      g_print ("Created:     %s\n", created);
      g_print ("Expires:     %s\n", expires);
      g_print ("Pending:     %" G_GUINT64_FORMAT "\n", sluicectl_dict_uint (counts, "pending"));
      g_print ("Processing:  %" G_GUINT64_FORMAT "\n", sluicectl_dict_uint (counts, "processing"));
      g_print ("Succeeded:   %" G_GUINT64_FORMAT "\n", sluicectl_dict_uint (counts, "succeeded"));
      g_print ("Failed:      %" G_GUINT64_FORMAT "\n", n_failed);
      if (g_variant_n_children (records) > 0)
        {
          g_autoptr (SluicectlTable) table = sluicectl_table_new ("ID", "ATTEMPTS", "ERROR", NULL);

          if (n_failed > g_variant_n_children (records))
            g_print ("\nFailed records (first %" G_GSIZE_FORMAT " of %" G_GUINT64_FORMAT
                     "; see 'sluicectl batch failed'):\n",
                     g_variant_n_children (records), n_failed);
          else
            g_print ("\nFailed records:\n");
          add_failed_rows (table, records);
          sluicectl_table_print (table);
        }
    }
  return SLUICECTL_EXIT_OK;
}

/* ---- batch retry|pause|resume|close|cancel ID ---- */

static int
batch_retry (SluicectlContext *ctl, char **args)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (SluiceDBusBatch) batch = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  guint64       count = 0;

  path = sluicectl_object_path (SLUICECTL_BATCHES_PATH, args[0], &error);
  if (path == NULL)
    return sluicectl_report_error (error, "batch retry");
  batch = sluicectl_get_batch (ctl, path, &error);
  if (batch == NULL)
    return sluicectl_report_error (error, "batch retry '%s'", args[0]);
  sluice_dbus_batch_call_retry_failed (batch, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_batch_call_retry_failed_finish (batch, &count, result, &error))
    return sluicectl_report_object_error (error, "batch retry", "batch", args[0]);

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_int_member (object, "retried", (gint64) count);
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    g_print ("%" G_GUINT64_FORMAT " failed record%s of batch %s went back to pending\n", count,
             count == 1 ? "" : "s", args[0]);
  return SLUICECTL_EXIT_OK;
}

typedef void (*BatchCall) (SluiceDBusBatch    *proxy,
                           GCancellable       *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer            user_data);
typedef gboolean (*BatchCallFinish) (SluiceDBusBatch *proxy,
                                     GAsyncResult    *result,
                                     GError         **error);

static int
batch_call (SluicectlContext *ctl,
            const char       *verb,
            const char       *id,
            BatchCall         call,
            BatchCallFinish   finish)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *what = g_strdup_printf ("batch %s", verb);
  g_autoptr (SluiceDBusBatch) batch = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;

  path = sluicectl_object_path (SLUICECTL_BATCHES_PATH, id, &error);
  if (path == NULL)
    return sluicectl_report_error (error, "%s", what);
  batch = sluicectl_get_batch (ctl, path, &error);
  if (batch == NULL)
    return sluicectl_report_error (error, "%s '%s'", what, id);
  call (batch, NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!finish (batch, result, &error))
    return sluicectl_report_object_error (error, what, "batch", id);
  return SLUICECTL_EXIT_OK;
}

static int
batch_pause (SluicectlContext *ctl, char **args)
{
  return batch_call (ctl, "pause", args[0], sluice_dbus_batch_call_pause,
                     sluice_dbus_batch_call_pause_finish);
}

static int
batch_resume (SluicectlContext *ctl, char **args)
{
  return batch_call (ctl, "resume", args[0], sluice_dbus_batch_call_resume,
                     sluice_dbus_batch_call_resume_finish);
}

static int
batch_close (SluicectlContext *ctl, char **args)
{
  return batch_call (ctl, "close", args[0], sluice_dbus_batch_call_close,
                     sluice_dbus_batch_call_close_finish);
}

static int
batch_cancel (SluicectlContext *ctl, char **args)
{
  return batch_call (ctl, "cancel", args[0], sluice_dbus_batch_call_cancel,
                     sluice_dbus_batch_call_cancel_finish);
}

const SluicectlCommand sluicectl_batch_commands[] = {
  { NULL, "batches", NULL,
    "List the batches: ID WORKFLOW STATE PAUSED PENDING PROCESSING SUCCEEDED FAILED EXPIRES", NULL,
    0, 0, batches },
  { "batch", "show", "ID", "Show a batch and its first failed records", NULL, 1, 1, batch_show },
  { "batch", "failed", "ID", "List a batch's failed records", failed_entries, 1, 1,
    batch_failed },
  { "batch", "retry", "ID", "Send a batch's failed records back to pending", NULL, 1, 1,
    batch_retry },
  { "batch", "pause", "ID", "Stop claiming a batch's records, on every host", NULL, 1, 1,
    batch_pause },
  { "batch", "resume", "ID", "Claim a paused batch's records again", NULL, 1, 1, batch_resume },
  { "batch", "close", "ID", "Add no more records: the batch completes once all are processed",
    NULL, 1, 1, batch_close },
  { "batch", "cancel", "ID", "Stop a batch for good", NULL, 1, 1, batch_cancel },
  { "batch", "watch", "ID",
    "Follow a batch's progress until it completes (exit 0), fails or is cancelled (exit 1)", NULL,
    1, 1, sluicectl_batch_watch },
  { NULL }
};
