/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* The fields of a stream entry that carries a message. */
#define SLUICE_REDIS_STREAM_FIELD_BODY         "body"
#define SLUICE_REDIS_STREAM_FIELD_CONTENT_TYPE "content-type"
#define SLUICE_REDIS_STREAM_FIELD_ID           "id"
#define SLUICE_REDIS_STREAM_FIELD_TRACEPARENT  "traceparent"
#define SLUICE_REDIS_STREAM_FIELD_HEADERS      "headers"

/* The header that carries the entry's id in the stream. */
#define SLUICE_REDIS_STREAM_HEADER_ID "redis-stream-id"

/* Longest entry id: two 64-bit numbers and a dash. */
#define SLUICE_REDIS_STREAM_ID_MAX 41

/* The connection keys both stream components share with the stores
 * (sluice-redis-config.c reads them), as JSON Schema properties. */
#define SLUICE_REDIS_STREAM_CONNECTION_PROPERTIES                                              \
  "    \"url\": {\"type\": \"string\", \"minLength\": 1,"                                      \
  "              \"description\": \"redis://[user@]host[:port][/db] or unix:///path[?db=N]; "  \
  "required unless 'connection' is given\"},"                                                  \
  "    \"connection\": {\"type\": \"string\", \"minLength\": 1,"                               \
  "                     \"description\": \"A named connection with 'url' and optionally "      \
  "'password'\"},"                                                                             \
  "    \"password\": {\"type\": \"object\","                                                   \
  "                   \"description\": \"Secret reference: {\\\"file\\\": PATH} or "           \
  "{\\\"credential\\\": NAME}\","                                                              \
  "                   \"additionalProperties\": true},"                                        \
  "    \"prefix\": {\"type\": \"string\", \"minLength\": 1, \"default\": \"sluice:\","         \
  "                 \"description\": \"Prefix of the stream's key\"},"                         \
  "    \"timeout\": {\"type\": \"string\", \"format\": \"duration\", \"default\": \"5s\","      \
  "                  \"description\": \"Connect and command timeout\"},"                       \
  "    \"reconnect_max\": {\"type\": \"string\", \"format\": \"duration\","                    \
  "                        \"default\": \"10s\","                                              \
  "                        \"description\": \"Longest wait between reconnection attempts "     \
  "(the wait doubles from 100ms)\"},"                                                          \
  "    \"stream\": {\"type\": \"string\", \"minLength\": 1,"                                   \
  "                 \"description\": \"The stream: its key is the prefix followed by this\"},"

/* Configuration getters. The host checks a configuration against the
 * schema and fills in defaults, but components can also be made without
 * a host (tests, other embedders), so each getter checks the type itself
 * and falls back to the default. A %NULL @default_value makes the key
 * required. */
gboolean sluice_redis_stream_config_get_string (JsonObject  *config,
                                                const char  *component,
                                                const char  *key,
                                                const char  *default_value,
                                                char       **out_value,
                                                GError     **error);
gboolean sluice_redis_stream_config_get_boolean (JsonObject *config,
                                                 const char *component,
                                                 const char *key,
                                                 gboolean    default_value,
                                                 gboolean   *out_value,
                                                 GError    **error);
gboolean sluice_redis_stream_config_get_uint64 (JsonObject *config,
                                                const char *component,
                                                const char *key,
                                                guint64     minimum,
                                                guint64     maximum,
                                                guint64     default_value,
                                                guint64    *out_value,
                                                GError    **error);
gboolean sluice_redis_stream_config_get_duration (JsonObject *config,
                                                  const char *component,
                                                  const char *key,
                                                  const char *default_value,
                                                  gint64      minimum,
                                                  gint64     *out_usec,
                                                  GError    **error);

/* Appends @message's headers to @out as a JSON object of strings.
 * Returns FALSE, appending nothing, when it has none. */
gboolean sluice_redis_stream_headers_to_json (SluiceMessage *message,
                                              GString       *out);

/* Sets the headers of the JSON object @json (@len bytes) on @message.
 * Strings are taken as they are, other scalars as their JSON text, and
 * nested objects and arrays as their JSON. @scratch is a buffer the
 * caller keeps between calls, to spare an allocation per header. Fails
 * with %SLUICE_ERROR_INVALID_DATA when @json is not an object. */
gboolean sluice_redis_stream_headers_from_json (const char    *json,
                                                gsize          len,
                                                SluiceMessage *message,
                                                GString       *scratch,
                                                GError       **error);

G_END_DECLS
