/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-builtins.h"

#include "sluice-batch-step.h"
#include "sluice-dispatch-step.h"
#include "sluice-batch-process-step.h"
#include "sluice-filter-step.h"
#include "sluice-manual-trigger.h"
#include "sluice-map-step.h"
#include "sluice-split-step.h"

static gboolean
register_core_components (SluicePlugin *plugin, GError **error)
{
  return sluice_plugin_add_component (plugin, "core.manual", SLUICE_TYPE_MANUAL_TRIGGER,
                                      sluice_manual_trigger_schema, error) &&
         sluice_plugin_add_component (plugin, "core.split", SLUICE_TYPE_SPLIT_STEP,
                                      sluice_split_step_schema, error) &&
         sluice_plugin_add_component (plugin, "core.map", SLUICE_TYPE_MAP_STEP,
                                      sluice_map_step_schema, error) &&
         sluice_plugin_add_component (plugin, "core.filter", SLUICE_TYPE_FILTER_STEP,
                                      sluice_filter_step_schema, error) &&
         sluice_plugin_add_component (plugin, "core.batch", SLUICE_TYPE_BATCH_STEP,
                                      sluice_batch_step_schema, error) &&
         sluice_plugin_add_component (plugin, "core.dispatch", SLUICE_TYPE_DISPATCH_STEP,
                                      sluice_dispatch_step_schema, error) &&
         sluice_plugin_add_component (plugin, "core.batch-process", SLUICE_TYPE_BATCH_PROCESS_STEP,
                                      sluice_batch_process_step_schema, error);
}

static const SluicePluginDescriptor core_descriptor = {
  SLUICE_PLUGIN_ABI,
  SLUICE_PLUGIN_ABI_MINOR,
  "core",
  SLUICE_VERSION_STRING,
  "LGPL-2.1-or-later",
  "Built-in nodes: manual trigger, split, map, filter, batch, batch-process, dispatch",
  register_core_components,
  { NULL },
};

const SluicePluginDescriptor *
sluice_builtins_get_descriptor (void)
{
  return &core_descriptor;
}
