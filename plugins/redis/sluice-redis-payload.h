/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* How a record (a message's body, content type and headers) is stored.
 * One leading byte says what follows the header part; a record without a
 * content type and headers costs that one byte:
 *
 *   byte 0: version (high nibble, 0) | 0x01 content type | 0x02 headers
 *   [varint length, content type]
 *   [varint count, count x (varint length, name, varint length, value)]
 *   body: the rest
 *
 * Varints are unsigned LEB128. */

/* The encoded size of @message; the body must be bytes (or JSON). */
gsize sluice_redis_payload_size (SluiceMessage *message);

/* Appends the encoding of @message to @out: exactly
 * sluice_redis_payload_size() bytes. */
void sluice_redis_payload_write (SluiceMessage *message,
                                 GString       *out);

/* A new message from an encoded record; %NULL with @error set when @data
 * is not a record this version can read. */
SluiceMessage *sluice_redis_payload_read (const char *data,
                                          gsize       len,
                                          GError    **error);

G_END_DECLS
