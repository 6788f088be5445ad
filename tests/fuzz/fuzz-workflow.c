/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the workflow loader on arbitrary bytes. Every input
 * must either load or fail with an error naming the file; never crash. */
#include <sluice/sluice.h>

#include "sluice-builtins.h"
#include "sluice-workflow.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static SluicePluginHost *host;

static void
quiet_log (const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr(SluiceWorkflow) workflow = NULL;
  g_autoptr(GError) error = NULL;

  if (host == NULL)
    {
      g_log_set_default_handler (quiet_log, NULL);
      host = sluice_plugin_host_new ();
      if (!sluice_plugin_host_add_builtin (host, sluice_builtins_get_descriptor (), &error))
        g_error ("%s", error->message);
    }

  workflow = sluice_workflow_load_data (host, (const char *) data, (gssize) size, "fuzz.json",
                                        &error);
  if (workflow == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "fuzz.json"));
    }
  return 0;
}
