/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One source, many plugins: meson builds this file once per variant, each
 * with -D defines that break exactly one thing the plugin host checks.
 *
 *   TEST_GOOD                   a plugin the host accepts (SLUICE_PLUGIN_DEFINE)
 *   TEST_NO_DESCRIPTOR          a shared object without the descriptor symbol
 *   otherwise a hand-made descriptor from TEST_NAME, TEST_VERSION,
 *   TEST_ABI_MAJOR, TEST_ABI_MINOR, TEST_LICENSE and TEST_REGISTER. */

#include <sluice/sluice.h>

#ifndef TEST_NAME
#define TEST_NAME "good"
#endif
#ifndef TEST_VERSION
#define TEST_VERSION "1.0.0"
#endif
#ifndef TEST_COMPONENT
#define TEST_COMPONENT TEST_NAME ".echo"
#endif

#ifndef TEST_NO_DESCRIPTOR

#define TEST_TYPE_ECHO_STEP (test_echo_step_get_type ())
G_DECLARE_FINAL_TYPE (TestEchoStep, test_echo_step, TEST, ECHO_STEP, GObject)

struct _TestEchoStep
{
  GObject parent_instance;
};

static void test_echo_step_iface_init (SluiceStepInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestEchoStep, test_echo_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_echo_step_iface_init))

static void
test_echo_step_process_async (SluiceStep         *step,
                              SluiceMessage      *message,
                              GCancellable       *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer            user_data)
{
  g_autoptr(GTask) task = g_task_new (step, cancellable, callback, user_data);

  g_task_set_source_tag (task, test_echo_step_process_async);
  g_task_return_pointer (task, sluice_message_iter_new_single (message), g_object_unref);
}

static SluiceMessageIter *
test_echo_step_process_finish (SluiceStep   *step,
                               GAsyncResult *result,
                               GError      **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_echo_step_iface_init (SluiceStepInterface *iface)
{
  iface->process_async = test_echo_step_process_async;
  iface->process_finish = test_echo_step_process_finish;
}

static void
test_echo_step_class_init (TestEchoStepClass *klass)
{
}

static void
test_echo_step_init (TestEchoStep *self)
{
}

/* A plugin the host refuses after its register function ran (the
 * "unprefixed" variant) has registered its type for good: GLib cannot
 * unregister types, and the host keeps such a module loaded. A plugin
 * loaded after it in the same process, built from this same file,
 * reuses that type instead of registering the name a second time. */
static GType
echo_step_type (void)
{
  GType type = g_type_from_name ("TestEchoStep");

  return type != 0 ? type : test_echo_step_get_type ();
}

static gboolean G_GNUC_UNUSED
register_echo (SluicePlugin *plugin,
               GError      **error)
{
  return sluice_plugin_add_component (plugin, TEST_COMPONENT, echo_step_type (),
                                      "{\"type\": \"object\"}", error);
}

static gboolean G_GNUC_UNUSED
register_fails (SluicePlugin *plugin,
                GError      **error)
{
  g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                       "the test plugin fails on purpose");
  return FALSE;
}

#endif /* !TEST_NO_DESCRIPTOR */

#if defined(TEST_NO_DESCRIPTOR)

/* Exports something, just not a descriptor. */
G_MODULE_EXPORT int test_plugin_not_a_plugin (void);

G_MODULE_EXPORT int
test_plugin_not_a_plugin (void)
{
  return 42;
}

#elif defined(TEST_GOOD)

SLUICE_PLUGIN_DEFINE (TEST_NAME, TEST_VERSION, "LGPL-2.1-or-later",
                      "Echoes its input; used by the plugin host tests", register_echo)

#else

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR SLUICE_PLUGIN_ABI
#endif
#ifndef TEST_ABI_MINOR
#define TEST_ABI_MINOR SLUICE_PLUGIN_ABI_MINOR
#endif
#ifndef TEST_LICENSE
#define TEST_LICENSE "LGPL-2.1-or-later"
#endif
#ifndef TEST_REGISTER
#define TEST_REGISTER register_echo
#endif

G_MODULE_EXPORT extern const SluicePluginDescriptor sluice_plugin_descriptor;
G_MODULE_EXPORT const SluicePluginDescriptor sluice_plugin_descriptor = {
  TEST_ABI_MAJOR,
  TEST_ABI_MINOR,
  TEST_NAME,
  TEST_VERSION,
  TEST_LICENSE,
  "A plugin the host must refuse; used by the plugin host tests",
  TEST_REGISTER,
  { NULL },
};

#endif
