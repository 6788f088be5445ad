/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-split-common.h"

/* Byte 0: header, trim, skip_empty_lines, columns, two bits of delimiter;
 * byte 1: body kind, max_record_size; the rest is the CSV. */
int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const char * const delimiters[] = { ",", ";", "\\t", " " };
  static const char * const max_sizes[] = { "16777216", "64", "7", "1" };
  g_autofree char *config = NULL;
  guint8 flags, kind;

  if (size < 2)
    return 0;
  flags = data[0];
  kind = data[1];

  config = g_strdup_printf ("{\"format\": \"csv\", \"header\": %s, \"trim\": %s, "
                            "\"skip_empty_lines\": %s, %s\"delimiter\": \"%s\", "
                            "\"quote\": \"%s\", \"max_record_size\": %s}",
                            flags & 1 ? "true" : "false",
                            flags & 2 ? "true" : "false",
                            flags & 4 ? "true" : "false",
                            flags & 8 ? "\"columns\": [\"a\", \"b\", \"c\"], " : "",
                            delimiters[(flags >> 4) & 3],
                            flags & 64 ? "'" : "\\\"",
                            max_sizes[(kind >> 2) & 3]);
  fuzz_split (config, kind & 3, data + 2, size - 2);
  return 0;
}
