/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sluicectl.h"

static char    *opt_workflow;
static char    *opt_node;
static char    *opt_error_contains;
static gint64   opt_offset;
static int      opt_limit;
static gboolean opt_all;

/* The filters of ListDeadLetters, for list, replay --all and purge --all. */
static const GOptionEntry list_entries[] = {
  { "workflow", 0, 0, G_OPTION_ARG_STRING, &opt_workflow, "Only those of workflow NAME", "NAME" },
  { "node", 0, 0, G_OPTION_ARG_STRING, &opt_node, "Only those that failed in node ID", "ID" },
  { "error-contains", 0, 0, G_OPTION_ARG_STRING, &opt_error_contains,
    "Only those whose error contains TEXT", "TEXT" },
  { "offset", 0, 0, G_OPTION_ARG_INT64, &opt_offset, "Skip the first N matches", "N" },
  { "limit", 0, 0, G_OPTION_ARG_INT, &opt_limit, "At most N dead letters (default 100)", "N" },
  { NULL }
};

static const GOptionEntry replay_entries[] = {
  { "workflow", 0, 0, G_OPTION_ARG_STRING, &opt_workflow, "With --all: only those of workflow NAME",
    "NAME" },
  { "node", 0, 0, G_OPTION_ARG_STRING, &opt_node, "With --all: only those that failed in node ID",
    "ID" },
  { "error-contains", 0, 0, G_OPTION_ARG_STRING, &opt_error_contains,
    "With --all: only those whose error contains TEXT", "TEXT" },
  { "all", 0, 0, G_OPTION_ARG_NONE, &opt_all,
    "Every dead letter that matches the filters (all of them without filters)", NULL },
  { NULL }
};

static gboolean
have_filters (void)
{
  return opt_workflow != NULL || opt_node != NULL || opt_error_contains != NULL;
}

static GVariant *
build_filter (gboolean with_paging)
{
  g_auto (GVariantDict) filter = G_VARIANT_DICT_INIT (NULL);

  if (opt_workflow != NULL)
    g_variant_dict_insert (&filter, "workflow", "s", opt_workflow);
  if (opt_node != NULL)
    g_variant_dict_insert (&filter, "node", "s", opt_node);
  if (opt_error_contains != NULL)
    g_variant_dict_insert (&filter, "error_contains", "s", opt_error_contains);
  if (with_paging && opt_offset > 0)
    g_variant_dict_insert (&filter, "offset", "t", (guint64) opt_offset);
  if (with_paging && opt_limit > 0)
    g_variant_dict_insert (&filter, "limit", "u", (guint32) opt_limit);
  return g_variant_dict_end (&filter);
}

/* ---- dead-letters list ---- */

static int
dead_letters_list (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GVariant) letters = NULL;

  if (opt_offset < 0)
    return sluicectl_usage_error ("dead-letters list: --offset %" G_GINT64_FORMAT ": expected 0 "
                                  "or more",
                                  opt_offset);
  if (opt_limit < 0)
    return sluicectl_usage_error ("dead-letters list: --limit %d: expected 1 or more", opt_limit);

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "dead-letters list");
  sluice_dbus_manager_call_list_dead_letters (manager, build_filter (TRUE), NULL,
                                              sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_list_dead_letters_finish (manager, &letters, result, &error))
    return sluicectl_report_error (error, "dead-letters list");

  if (ctl->json)
    {
      g_autoptr (JsonNode) root = sluicectl_vardict_list_to_json (letters);
      sluicectl_print_json (root, FALSE);
    }
  else
    {
      g_autoptr (SluicectlTable) table = sluicectl_table_new ("ID", "WORKFLOW", "NODE", "ATTEMPTS",
                                                              "LAST", "SIZE", "ERROR", NULL);

      for (gsize i = 0; i < g_variant_n_children (letters); i++)
        {
          g_autoptr (GVariant) letter = g_variant_get_child_value (letters, i);
          g_autofree char *attempts = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                       sluicectl_dict_uint (letter, "attempts"));
          g_autofree char *last = sluicectl_format_time (sluicectl_dict_int (letter, "last"));
          g_autofree char *size = NULL;
          g_autofree char *error_text = sluicectl_first_line (sluicectl_dict_string (letter,
                                                                                     "error", ""));

          if (g_variant_lookup (letter, "size", "t", NULL))
            size = g_strdup_printf ("%" G_GUINT64_FORMAT, sluicectl_dict_uint (letter, "size"));
          else
            size = g_strdup ("-");
          sluicectl_table_add_row (table, sluicectl_dict_string (letter, "id", "?"),
                                   sluicectl_dict_string (letter, "workflow", "-"),
                                   sluicectl_dict_string (letter, "node", "-"), attempts, last,
                                   size, error_text, NULL);
        }
      sluicectl_table_print (table);
    }
  return SLUICECTL_EXIT_OK;
}

/* ---- dead-letters show ID ---- */

/* Like `hexdump -C`: offset, 16 bytes in hex, the printable ones. */
static void
print_hex_dump (const guint8 *data, gsize size)
{
  for (gsize offset = 0; offset < size; offset += 16)
    {
      g_autoptr (GString) line = g_string_new (NULL);
      gsize n = MIN (16, size - offset);

      g_string_append_printf (line, "%08" G_GSIZE_MODIFIER "x  ", offset);
      for (gsize i = 0; i < 16; i++)
        {
          if (i < n)
            g_string_append_printf (line, "%02x ", data[offset + i]);
          else
            g_string_append (line, "   ");
          if (i == 7)
            g_string_append_c (line, ' ');
        }
      g_string_append (line, " |");
      for (gsize i = 0; i < n; i++)
        g_string_append_c (line, g_ascii_isprint (data[offset + i]) ? data[offset + i] : '.');
      g_string_append_c (line, '|');
      g_print ("%s\n", line->str);
    }
}

static void
print_field (const char *label, const char *value)
{
  g_print ("%-14s%s\n", label, value != NULL && *value != '\0' ? value : "-");
}

static int
dead_letters_show (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GVariant) letter = NULL;
  g_autoptr (GVariant) payload = NULL;
  g_autoptr (GVariant) headers = NULL;

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "dead-letters show '%s'", args[0]);
  sluice_dbus_manager_call_get_dead_letter (manager, args[0], NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_get_dead_letter_finish (manager, &letter, result, &error))
    return sluicectl_report_error (error, "dead-letters show '%s'", args[0]);
  payload = g_variant_lookup_value (letter, "payload", G_VARIANT_TYPE_BYTESTRING);
  headers = g_variant_lookup_value (letter, "headers", G_VARIANT_TYPE ("a(ss)"));

  if (ctl->json)
    {
      g_auto (GVariantBuilder) renamed = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
      g_autoptr (GVariant) renamed_letter = NULL;
      g_autoptr (JsonNode) root = NULL;
      GVariantIter iter;
      const char  *key;
      GVariant    *value;

      /* The payload (ay, so base64) named for what it holds; absent when
       * the payload was not kept. */
      g_variant_iter_init (&iter, letter);
      while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
        g_variant_builder_add (&renamed, "{sv}",
                               g_str_equal (key, "payload") ? "payload_base64" : key, value);
      renamed_letter = g_variant_ref_sink (g_variant_builder_end (&renamed));
      root = sluicectl_vardict_to_json (renamed_letter);
      sluicectl_print_json (root, FALSE);
      return SLUICECTL_EXIT_OK;
    }

  {
    g_autofree char *attempts = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                 sluicectl_dict_uint (letter, "attempts"));
    g_autofree char *first = sluicectl_format_time (sluicectl_dict_int (letter, "first"));
    g_autofree char *last = sluicectl_format_time (sluicectl_dict_int (letter, "last"));
    g_auto (GStrv) error_lines = g_strsplit (sluicectl_dict_string (letter, "error", ""), "\n", -1);
    GVariantIter iter;
    const char  *name, *value;

    print_field ("Id:", sluicectl_dict_string (letter, "id", args[0]));
    print_field ("Workflow:", sluicectl_dict_string (letter, "workflow", NULL));
    print_field ("Node:", sluicectl_dict_string (letter, "node", NULL));
    print_field ("Source:", sluicectl_dict_string (letter, "source", NULL));
    print_field ("Trace id:", sluicectl_dict_string (letter, "trace_id", NULL));
    print_field ("Content type:", sluicectl_dict_string (letter, "content_type", NULL));
    print_field ("Attempts:", attempts);
    print_field ("First:", first);
    print_field ("Last:", last);
    /* A multi-line error keeps its lines, indented under the label. */
    print_field ("Error:", error_lines[0]);
    for (guint i = 1; error_lines[0] != NULL && error_lines[i] != NULL; i++)
      g_print ("%-14s%s\n", "", error_lines[i]);

    g_print ("Headers:%s\n", headers == NULL || g_variant_n_children (headers) == 0 ? "      -" : "");
    if (headers != NULL)
      {
        g_variant_iter_init (&iter, headers);
        while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
          g_print ("  %s: %s\n", name, value);
      }

    if (payload == NULL)
      {
        g_print ("Payload:      not kept\n");
        return SLUICECTL_EXIT_OK;
      }
    {
      gsize         size = 0;
      const guint8 *data = g_variant_get_fixed_array (payload, &size, 1);

      if (g_utf8_validate ((const char *) data, size, NULL) && memchr (data, '\0', size) == NULL)
        {
          g_print ("Payload:      %" G_GSIZE_FORMAT " bytes, text\n", size);
          g_print ("%.*s", (int) size, (const char *) data);
          if (size > 0 && data[size - 1] != '\n')
            g_print ("\n");
        }
      else
        {
          g_print ("Payload:      %" G_GSIZE_FORMAT " bytes, binary\n", size);
          print_hex_dump (data, size);
        }
    }
  }
  return SLUICECTL_EXIT_OK;
}

/* ---- dead-letters replay|purge ID…|--all ---- */

/* IDs or --all with filters, never both, never neither: a bare "purge"
 * must not mean "purge everything". */
static int
check_selection (const char *verb, char **ids)
{
  gboolean have_ids = ids != NULL && ids[0] != NULL;

  if (have_ids && opt_all)
    return sluicectl_usage_error ("dead-letters %s: give dead letter ids or --all, not both",
                                  verb);
  if (!have_ids && !opt_all)
    return sluicectl_usage_error ("dead-letters %s: give dead letter ids, or --all (with "
                                  "--workflow, --node, --error-contains to narrow it)",
                                  verb);
  if (have_ids && have_filters ())
    return sluicectl_usage_error ("dead-letters %s: --workflow, --node and --error-contains go "
                                  "with --all",
                                  verb);
  return SLUICECTL_EXIT_OK;
}

static const char *const *
selected_ids (char **args)
{
  static const char *const none[] = { NULL };

  return opt_all ? none : (const char *const *) args;
}

static int
dead_letters_replay (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult    *slot = NULL;
  guint64          replayed = 0, skipped = 0;
  g_autofree char *reason = NULL;
  int              status = check_selection ("replay", args);

  if (status != SLUICECTL_EXIT_OK)
    return status;
  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "dead-letters replay");
  sluice_dbus_manager_call_replay_dead_letters (manager, selected_ids (args), build_filter (FALSE),
                                                NULL, sluicectl_on_ready, &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_replay_dead_letters_finish (manager, &replayed, &skipped, &reason,
                                                            result, &error))
    return sluicectl_report_error (error, "dead-letters replay");

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_int_member (object, "replayed", (gint64) replayed);
      json_object_set_int_member (object, "skipped", (gint64) skipped);
      json_object_set_string_member (object, "first_skip_reason", reason);
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    g_print ("replayed %" G_GUINT64_FORMAT ", skipped %" G_GUINT64_FORMAT "\n", replayed, skipped);

  if (skipped > 0)
    {
      g_printerr ("sluicectl: dead-letters replay: %" G_GUINT64_FORMAT " not replayed%s%s\n",
                  skipped, *reason != '\0' ? ", the first because: " : "", reason);
      return SLUICECTL_EXIT_FAILED;
    }
  return SLUICECTL_EXIT_OK;
}

static int
dead_letters_purge (SluicectlContext *ctl, char **args)
{
  SluiceDBusManager *manager;
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GAsyncResult *slot = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  guint64 removed = 0;
  int     status = check_selection ("purge", args);

  if (status != SLUICECTL_EXIT_OK)
    return status;
  /* Each id once, so that "removed fewer than asked" means "not found". */
  for (guint i = 0; !opt_all && args[i] != NULL; i++)
    if (!g_ptr_array_find_with_equal_func (ids, args[i], g_str_equal, NULL))
      g_ptr_array_add (ids, args[i]);
  g_ptr_array_add (ids, NULL);

  manager = sluicectl_get_manager (ctl, &error);
  if (manager == NULL)
    return sluicectl_report_error (error, "dead-letters purge");
  sluice_dbus_manager_call_purge_dead_letters (manager, (const char *const *) ids->pdata,
                                               build_filter (FALSE), NULL, sluicectl_on_ready,
                                               &slot);
  result = sluicectl_await (&slot);
  if (!sluice_dbus_manager_call_purge_dead_letters_finish (manager, &removed, result, &error))
    return sluicectl_report_error (error, "dead-letters purge");

  if (ctl->json)
    {
      g_autoptr (JsonObject) object = json_object_new ();
      g_autoptr (JsonNode) root = NULL;

      json_object_set_int_member (object, "removed", (gint64) removed);
      root = json_node_init_object (json_node_alloc (), object);
      sluicectl_print_json (root, FALSE);
    }
  else
    g_print ("removed %" G_GUINT64_FORMAT "\n", removed);

  if (!opt_all && removed < ids->len - 1)
    {
      g_printerr ("sluicectl: dead-letters purge: %" G_GUINT64_FORMAT " of the %u ids given "
                  "were not found\n",
                  (guint64) (ids->len - 1) - removed, ids->len - 1);
      return SLUICECTL_EXIT_NOT_FOUND;
    }
  return SLUICECTL_EXIT_OK;
}

const SluicectlCommand sluicectl_dead_letter_commands[] = {
  { "dead-letters", "list", NULL, "List dead letters, oldest first", list_entries, 0, 0,
    dead_letters_list },
  { "dead-letters", "show", "ID", "Show one dead letter with its headers and payload", NULL, 1, 1,
    dead_letters_show },
  { "dead-letters", "replay", "[ID…]", "Run dead letters through their workflow again",
    replay_entries, 0, -1, dead_letters_replay },
  { "dead-letters", "purge", "[ID…]", "Remove dead letters for good", replay_entries, 0, -1,
    dead_letters_purge },
  { NULL }
};
