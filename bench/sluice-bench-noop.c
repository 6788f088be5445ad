/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sluice-bench-noop.h"

#define BENCH_TYPE_NOOP (bench_noop_get_type ())
G_DECLARE_FINAL_TYPE (BenchNoop, bench_noop, BENCH, NOOP, GObject)
struct _BenchNoop { GObject parent_instance; };
static void bench_noop_step_init (SluiceStepInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (BenchNoop, bench_noop, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, bench_noop_step_init))

static void
bench_noop_process_async (SluiceStep *step, SluiceMessage *message, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);

  g_task_return_pointer (task, sluice_message_iter_new_empty (), g_object_unref);
}

static SluiceMessageIter *
bench_noop_process_finish (SluiceStep *step, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
bench_noop_step_init (SluiceStepInterface *iface)
{
  iface->process_async = bench_noop_process_async;
  iface->process_finish = bench_noop_process_finish;
}

static void bench_noop_class_init (BenchNoopClass *klass) { }
static void bench_noop_init (BenchNoop *self) { }

static gboolean
register_bench (SluicePlugin *plugin, GError **error)
{
  return sluice_plugin_add_component (plugin, "bench.noop", BENCH_TYPE_NOOP,
                                      "{\"type\": \"object\", \"description\": \"does nothing\"}",
                                      error);
}

const SluicePluginDescriptor sluice_bench_descriptor = {
  SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, "bench", "1", "LGPL-2.1-or-later",
  "benchmark components", register_bench, { NULL },
};
