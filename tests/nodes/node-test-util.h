/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* A "core" plugin holding core.map and core.filter, a context and a main
 * context of the test's own, and a temp dir removed afterwards. */
typedef struct {
  char          *tmpdir;
  SluicePlugin  *plugin;
  SluiceContext *context;
  GMainContext  *main_context;
} NodeFixture;

void node_fixture_set_up (NodeFixture  *fixture,
                          gconstpointer user_data);
void node_fixture_tear_down (NodeFixture  *fixture,
                             gconstpointer user_data);

/* Creates @component ("core.map") through its factory with @config_json. */
GObject *node_fixture_create (NodeFixture *fixture,
                              const char  *component,
                              const char  *config_json,
                              GError     **error);

/* Runs @message through @step on the fixture's main context and returns
 * everything it emitted, or NULL with @error set. */
GPtrArray *node_fixture_process (NodeFixture   *fixture,
                                 SluiceStep    *step,
                                 SluiceMessage *message,
                                 GError       **error);

JsonNode *node_parse_json (const char *text);

/* The message's body, serialized without whitespace. */
char *node_message_body_to_string (SluiceMessage *message);

G_END_DECLS
