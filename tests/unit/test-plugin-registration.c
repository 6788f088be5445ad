/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <sluice/sluice.h>

#define SCHEMA "{\"type\": \"object\", \"description\": \"Does a thing\"}"

/* One small type per SDK interface, plus a few that must be refused. */

#define TEST_TYPE_STEP (test_step_get_type ())
G_DECLARE_FINAL_TYPE (TestStep, test_step, TEST, STEP, GObject)
struct _TestStep { GObject parent_instance; };
static void test_step_iface_init (SluiceStepInterface *iface) { }
G_DEFINE_FINAL_TYPE_WITH_CODE (TestStep, test_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_step_iface_init))
static void test_step_class_init (TestStepClass *klass) { }
static void test_step_init (TestStep *self) { }

#define TEST_TYPE_TRIGGER (test_trigger_get_type ())
G_DECLARE_FINAL_TYPE (TestTrigger, test_trigger, TEST, TRIGGER, GObject)
struct _TestTrigger { GObject parent_instance; };
static void test_trigger_iface_init (SluiceTriggerInterface *iface) { }
G_DEFINE_FINAL_TYPE_WITH_CODE (TestTrigger, test_trigger, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_TRIGGER, test_trigger_iface_init))
static void test_trigger_class_init (TestTriggerClass *klass) { }
static void test_trigger_init (TestTrigger *self) { }

#define TEST_TYPE_SOURCE (test_source_get_type ())
G_DECLARE_FINAL_TYPE (TestSource, test_source, TEST, SOURCE, GObject)
struct _TestSource { GObject parent_instance; };
static void test_source_iface_init (SluiceSourceInterface *iface) { }
G_DEFINE_FINAL_TYPE_WITH_CODE (TestSource, test_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_SOURCE, test_source_iface_init))
static void test_source_class_init (TestSourceClass *klass) { }
static void test_source_init (TestSource *self) { }

#define TEST_TYPE_BATCH_STORE (test_batch_store_get_type ())
G_DECLARE_FINAL_TYPE (TestBatchStore, test_batch_store, TEST, BATCH_STORE, GObject)
struct _TestBatchStore { GObject parent_instance; };
static void test_batch_store_iface_init (SluiceBatchStoreInterface *iface) { }
G_DEFINE_FINAL_TYPE_WITH_CODE (TestBatchStore, test_batch_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_BATCH_STORE, test_batch_store_iface_init))
static void test_batch_store_class_init (TestBatchStoreClass *klass) { }
static void test_batch_store_init (TestBatchStore *self) { }

#define TEST_TYPE_STATE_STORE (test_state_store_get_type ())
G_DECLARE_FINAL_TYPE (TestStateStore, test_state_store, TEST, STATE_STORE, GObject)
struct _TestStateStore { GObject parent_instance; };
static void test_state_store_iface_init (SluiceStateStoreInterface *iface) { }
G_DEFINE_FINAL_TYPE_WITH_CODE (TestStateStore, test_state_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STATE_STORE, test_state_store_iface_init))
static void test_state_store_class_init (TestStateStoreClass *klass) { }
static void test_state_store_init (TestStateStore *self) { }

/* implements two interfaces: ambiguous */
#define TEST_TYPE_TWO_FACED (test_two_faced_get_type ())
G_DECLARE_FINAL_TYPE (TestTwoFaced, test_two_faced, TEST, TWO_FACED, GObject)
struct _TestTwoFaced { GObject parent_instance; };
G_DEFINE_FINAL_TYPE_WITH_CODE (TestTwoFaced, test_two_faced, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_step_iface_init)
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_SOURCE, test_source_iface_init))
static void test_two_faced_class_init (TestTwoFacedClass *klass) { }
static void test_two_faced_init (TestTwoFaced *self) { }

/* an abstract step cannot be instantiated */
#define TEST_TYPE_ABSTRACT_STEP (test_abstract_step_get_type ())
G_DECLARE_DERIVABLE_TYPE (TestAbstractStep, test_abstract_step, TEST, ABSTRACT_STEP, GObject)
struct _TestAbstractStepClass { GObjectClass parent_class; };
G_DEFINE_ABSTRACT_TYPE_WITH_CODE (TestAbstractStep, test_abstract_step, G_TYPE_OBJECT,
                                  G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_step_iface_init))
static void test_abstract_step_class_init (TestAbstractStepClass *klass) { }
static void test_abstract_step_init (TestAbstractStep *self) { }

/* a step that checks its configuration in GInitable init */
#define TEST_TYPE_CHECKED_STEP (test_checked_step_get_type ())
G_DECLARE_FINAL_TYPE (TestCheckedStep, test_checked_step, TEST, CHECKED_STEP, GObject)
struct _TestCheckedStep
{
  GObject        parent_instance;
  char          *path;
  SluiceContext *context_seen;
};

static gboolean
test_checked_step_initable_init (GInitable    *initable,
                                 GCancellable *cancellable,
                                 GError      **error)
{
  TestCheckedStep *self = TEST_CHECKED_STEP (initable);
  JsonObject *config = sluice_component_get_config (self);

  self->context_seen = sluice_component_get_context (self);
  g_assert_nonnull (config);
  if (!json_object_has_member (config, "path"))
    {
      g_set_error_literal (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG,
                           "key 'path' is missing");
      return FALSE;
    }
  self->path = g_strdup (json_object_get_string_member (config, "path"));
  return TRUE;
}

static void
test_checked_step_initable_iface_init (GInitableIface *iface)
{
  iface->init = test_checked_step_initable_init;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestCheckedStep, test_checked_step, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SLUICE_TYPE_STEP, test_step_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, test_checked_step_initable_iface_init))

static void
test_checked_step_finalize (GObject *object)
{
  g_free (TEST_CHECKED_STEP (object)->path);
  G_OBJECT_CLASS (test_checked_step_parent_class)->finalize (object);
}

static void
test_checked_step_class_init (TestCheckedStepClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_checked_step_finalize;
}

static void test_checked_step_init (TestCheckedStep *self) { }

static const SluicePluginDescriptor test_descriptor = {
  SLUICE_PLUGIN_ABI, SLUICE_PLUGIN_ABI_MINOR, "acme", "1.2.3", "LGPL-2.1-or-later",
  "Connects to ACME", NULL, { NULL }
};

typedef struct {
  SluicePlugin *plugin;
} PluginFixture;

static void
plugin_fixture_set_up (PluginFixture *fixture,
                       gconstpointer  data)
{
  fixture->plugin = sluice_plugin_new (&test_descriptor, NULL);
}

static void
plugin_fixture_tear_down (PluginFixture *fixture,
                          gconstpointer  data)
{
  g_clear_object (&fixture->plugin);
}

static void
test_descriptor_fields (PluginFixture *fixture,
                        gconstpointer  data)
{
  g_autoptr(SluicePlugin) from_file = sluice_plugin_new (&test_descriptor, "/usr/lib/sluice-1/plugins/acme.so");

  g_assert_cmpstr (sluice_plugin_get_name (fixture->plugin), ==, "acme");
  g_assert_cmpstr (sluice_plugin_get_version (fixture->plugin), ==, "1.2.3");
  g_assert_cmpstr (sluice_plugin_get_license (fixture->plugin), ==, "LGPL-2.1-or-later");
  g_assert_cmpstr (sluice_plugin_get_description (fixture->plugin), ==, "Connects to ACME");
  g_assert_cmpstr (sluice_plugin_get_path (fixture->plugin), ==, "built-in");
  g_assert_cmpstr (sluice_plugin_get_path (from_file), ==, "/usr/lib/sluice-1/plugins/acme.so");
  g_assert_cmpuint (sluice_plugin_get_components (fixture->plugin)->len, ==, 0);
}

static void
test_kinds (PluginFixture *fixture,
            gconstpointer  data)
{
  static const struct {
    const char         *name;
    SluiceComponentKind kind;
    const char         *kind_name;
  } expected[] = {
    { "acme.receive", SLUICE_COMPONENT_TRIGGER, "trigger" },
    { "acme.send", SLUICE_COMPONENT_STEP, "step" },
    { "acme.list", SLUICE_COMPONENT_SOURCE, "source" },
    { "acme.batches", SLUICE_COMPONENT_BATCH_STORE, "batch-store" },
    { "acme.state", SLUICE_COMPONENT_STATE_STORE, "state-store" },
  };
  GType types[G_N_ELEMENTS (expected)];
  GPtrArray *components;

  types[0] = TEST_TYPE_TRIGGER;
  types[1] = TEST_TYPE_STEP;
  types[2] = TEST_TYPE_SOURCE;
  types[3] = TEST_TYPE_BATCH_STORE;
  types[4] = TEST_TYPE_STATE_STORE;

  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (sluice_plugin_add_component (fixture->plugin, expected[i].name, types[i],
                                                  SCHEMA, &error));
      g_assert_no_error (error);
    }

  components = sluice_plugin_get_components (fixture->plugin);
  g_assert_cmpuint (components->len, ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      SluiceComponentFactory *factory = g_ptr_array_index (components, i);
      JsonNode *schema = sluice_component_factory_get_schema (factory);

      /* registration order */
      g_assert_cmpstr (sluice_component_factory_get_name (factory), ==, expected[i].name);
      g_assert_cmpstr (sluice_component_factory_get_plugin_name (factory), ==, "acme");
      g_assert_cmpint (sluice_component_factory_get_kind (factory), ==, expected[i].kind);
      g_assert_cmpstr (sluice_component_kind_to_string (sluice_component_factory_get_kind (factory)),
                       ==, expected[i].kind_name);
      g_assert_true (sluice_component_factory_get_instance_type (factory) == types[i]);
      g_assert_cmpstr (sluice_component_factory_get_description (factory), ==, "Does a thing");
      g_assert_true (JSON_NODE_HOLDS_OBJECT (schema));
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (schema), "type"), ==,
                       "object");
    }
}

static void
test_name_rules (PluginFixture *fixture,
                 gconstpointer  data)
{
  static const char * const valid[] = {
    "acme.read", "acme.stream.send", "acme.v2-read", "acme.0", "acme.a.b-c.d",
  };
  static const char * const invalid[] = {
    "acme", "acme.", "read", "other.read", "acmeread", "acme.Read", "acme.-read", "acme..read",
    "acme._x", "acme.read/write", "acme.re ad", "ACME.read", ".acme.read", "acme-x.read",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("valid '%s'", valid[i]);
      g_assert_true (sluice_plugin_add_component (fixture->plugin, valid[i], TEST_TYPE_STEP,
                                                  SCHEMA, &error));
      g_assert_no_error (error);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *quoted = g_strdup_printf ("'%s'", invalid[i]);

      g_test_message ("invalid '%s'", invalid[i]);
      g_assert_false (sluice_plugin_add_component (fixture->plugin, invalid[i], TEST_TYPE_STEP,
                                                   SCHEMA, &error));
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
      g_assert_nonnull (strstr (error->message, quoted));
    }

  g_assert_cmpuint (sluice_plugin_get_components (fixture->plugin)->len, ==, G_N_ELEMENTS (valid));
}

static void
test_duplicate (PluginFixture *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (sluice_plugin_add_component (fixture->plugin, "acme.send", TEST_TYPE_STEP,
                                              SCHEMA, NULL));
  g_assert_false (sluice_plugin_add_component (fixture->plugin, "acme.send", TEST_TYPE_SOURCE,
                                               SCHEMA, &error));
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "'acme.send'"));
  g_assert_cmpuint (sluice_plugin_get_components (fixture->plugin)->len, ==, 1);
}

static void
test_bad_types (PluginFixture *fixture,
                gconstpointer  data)
{
  GType bad[5];

  bad[0] = G_TYPE_OBJECT;              /* implements nothing */
  bad[1] = TEST_TYPE_TWO_FACED;        /* ambiguous */
  bad[2] = TEST_TYPE_ABSTRACT_STEP;    /* cannot be instantiated */
  bad[3] = G_TYPE_STRING;              /* not a GObject */
  bad[4] = SLUICE_TYPE_STEP;           /* an interface */

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("type %s", g_type_name (bad[i]));
      g_assert_false (sluice_plugin_add_component (fixture->plugin, "acme.bad", bad[i], SCHEMA,
                                                   &error));
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
      g_assert_nonnull (strstr (error->message, "'acme.bad'"));
      g_assert_nonnull (strstr (error->message, g_type_name (bad[i])));
    }
  g_assert_cmpuint (sluice_plugin_get_components (fixture->plugin)->len, ==, 0);
}

static void
test_bad_schema (PluginFixture *fixture,
                 gconstpointer  data)
{
  static const char * const bad[] = {
    "{\"type\": \"object\"",
    "not json",
    "[]",
    "\"object\"",
    "{}",
    "{\"type\": \"array\"}",
    "{\"type\": [\"object\"]}",
    "{\"type\": \"object\", \"description\": 7}",
    "",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("schema '%s'", bad[i]);
      g_assert_false (sluice_plugin_add_component (fixture->plugin, "acme.send", TEST_TYPE_STEP,
                                                   bad[i], &error));
      g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
      g_assert_nonnull (strstr (error->message, "'acme.send'"));
    }

  {
    g_autoptr(GError) error = NULL;

    /* the JSON parser's own message says where */
    g_assert_false (sluice_plugin_add_component (fixture->plugin, "acme.send", TEST_TYPE_STEP,
                                                 "{\"type\": \"object\",}", &error));
    g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_PLUGIN);
    g_assert_nonnull (strstr (error->message, "not valid JSON: "));
  }

  g_assert_cmpuint (sluice_plugin_get_components (fixture->plugin)->len, ==, 0);
}

static void
test_no_description (PluginFixture *fixture,
                     gconstpointer  data)
{
  SluiceComponentFactory *factory;

  g_assert_true (sluice_plugin_add_component (fixture->plugin, "acme.send", TEST_TYPE_STEP,
                                              "{\"type\": \"object\"}", NULL));
  factory = g_ptr_array_index (sluice_plugin_get_components (fixture->plugin), 0);
  g_assert_cmpstr (sluice_component_factory_get_description (factory), ==, "");
}

static void
test_create (PluginFixture *fixture,
             gconstpointer  data)
{
  g_autoptr(SluiceContext) context = sluice_context_new ("wf.node", NULL, NULL);
  g_autoptr(JsonNode) config_node = json_from_string ("{\"path\": \"/in\"}", NULL);
  g_autoptr(GObject) instance = NULL;
  g_autoptr(GObject) plain = NULL;
  g_autoptr(GObject) refused = NULL;
  g_autoptr(GError) error = NULL;
  SluiceComponentFactory *checked;
  SluiceComponentFactory *step;
  JsonObject *config;

  g_assert_true (sluice_plugin_add_component (fixture->plugin, "acme.checked",
                                              TEST_TYPE_CHECKED_STEP, SCHEMA, NULL));
  g_assert_true (sluice_plugin_add_component (fixture->plugin, "acme.send", TEST_TYPE_STEP,
                                              SCHEMA, NULL));
  checked = g_ptr_array_index (sluice_plugin_get_components (fixture->plugin), 0);
  step = g_ptr_array_index (sluice_plugin_get_components (fixture->plugin), 1);

  /* the configuration and context are there already during init */
  instance = sluice_component_factory_create (checked, context,
                                              json_node_get_object (config_node), &error);
  g_assert_no_error (error);
  g_assert_true (TEST_IS_CHECKED_STEP (instance));
  g_assert_cmpstr (TEST_CHECKED_STEP (instance)->path, ==, "/in");
  g_assert_true (TEST_CHECKED_STEP (instance)->context_seen == context);
  g_assert_true (sluice_component_get_context (instance) == context);
  g_assert_true (sluice_component_get_config (instance) == json_node_get_object (config_node));

  /* init's error is the factory's */
  refused = sluice_component_factory_create (checked, context, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_CONFIG);
  g_assert_cmpstr (error->message, ==, "key 'path' is missing");
  g_clear_error (&error);

  /* no configuration: an empty object */
  plain = sluice_component_factory_create (step, context, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (SLUICE_IS_STEP (plain));
  config = sluice_component_get_config (plain);
  g_assert_nonnull (config);
  g_assert_cmpuint (json_object_get_size (config), ==, 0);
}

static void
test_kind_names (void)
{
  g_assert_cmpstr (sluice_component_kind_to_string (SLUICE_COMPONENT_TRIGGER), ==, "trigger");
  g_assert_cmpstr (sluice_component_kind_to_string (SLUICE_COMPONENT_STEP), ==, "step");
  g_assert_cmpstr (sluice_component_kind_to_string (SLUICE_COMPONENT_SOURCE), ==, "source");
  g_assert_cmpstr (sluice_component_kind_to_string (SLUICE_COMPONENT_BATCH_STORE), ==, "batch-store");
  g_assert_cmpstr (sluice_component_kind_to_string (SLUICE_COMPONENT_STATE_STORE), ==, "state-store");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_summary ("SluicePlugin component registration: names, kinds, schemas, creation");

#define ADD(path, func) \
  g_test_add (path, PluginFixture, NULL, plugin_fixture_set_up, func, plugin_fixture_tear_down)

  ADD ("/plugin/descriptor/fields-and-path", test_descriptor_fields);
  ADD ("/plugin/component/one-of-each-kind", test_kinds);
  ADD ("/plugin/component/name-rules", test_name_rules);
  ADD ("/plugin/component/duplicate-refused", test_duplicate);
  ADD ("/plugin/component/bad-type-refused", test_bad_types);
  ADD ("/plugin/component/bad-schema-refused", test_bad_schema);
  ADD ("/plugin/component/description-optional", test_no_description);
  ADD ("/plugin/factory/create-with-config-and-context", test_create);
  g_test_add_func ("/plugin/component/kind-names", test_kind_names);

#undef ADD

  return g_test_run ();
}
