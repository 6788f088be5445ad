/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* Where and how to reach Redis, from a component's configuration (and
 * the named connection it may refer to). */
typedef struct
{
  char   *url;  /* for messages: the URL without any secret */
  char   *host; /* TCP host; NULL for a unix socket */
  guint16 port;
  char   *socket_path; /* unix socket; NULL for TCP */
  guint   db;
  char   *username;     /* for AUTH; NULL for the default user */
  GBytes *password;     /* NULL without; wiped when freed */
  char   *prefix;       /* of every key */
  gint64  timeout_usec; /* connect and command timeout */
  gint64  reconnect_max_usec;
} SluiceRedisConfig;

/* Both stores take the same configuration. */
extern const char sluice_redis_store_schema[];

/* Reads @config of @component ("redis.batch-store"); secrets are resolved
 * through @context. Errors say which key is wrong and never contain the
 * password. */
SluiceRedisConfig *sluice_redis_config_new (SluiceContext *context,
                                            JsonObject    *config,
                                            const char    *component,
                                            GError       **error);
void               sluice_redis_config_free (SluiceRedisConfig *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceRedisConfig, sluice_redis_config_free)

/* Parses a redis:// or unix:// URL into @self's url, host, port,
 * socket_path, db and username. @what names the URL in errors. */
gboolean sluice_redis_config_parse_url (SluiceRedisConfig *self,
                                        const char        *url,
                                        const char        *what,
                                        GError           **error);

G_END_DECLS
