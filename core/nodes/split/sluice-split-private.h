/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sluice/sluice.h>

G_BEGIN_DECLS

/* How much of the input is read at a time. Small enough that a large body
 * never sits in memory, large enough that a syscall or a thread hop per
 * chunk does not matter. */
#define SLUICE_SPLIT_CHUNK_SIZE (64 * 1024)

/* How many records one worker round parses ahead at most, so that tiny
 * records in a chunk cannot pile up as thousands of messages. */
#define SLUICE_SPLIT_BATCH_RECORDS 256

/* JSON records are parsed later by json-glib, which recurses: without a
 * bound, "[[[[..." of a few hundred kilobytes overflows its stack. */
#define SLUICE_SPLIT_JSON_MAX_DEPTH 512

typedef enum {
  SLUICE_SPLIT_FORMAT_CSV,
  SLUICE_SPLIT_FORMAT_JSONL,
  SLUICE_SPLIT_FORMAT_JSON_ARRAY,
  SLUICE_SPLIT_FORMAT_XML,
} SluiceSplitFormat;

/* The validated configuration, shared (refcounted, immutable) by a step and
 * the iterators it made. */
typedef struct {
  SluiceSplitFormat format;
  gsize             max_record_size;

  /* csv */
  gboolean header;
  GStrv    columns;          /* nullable */
  char     delimiter;
  char     quote;
  gboolean trim;
  gboolean skip_empty_lines;

  /* xml */
  char *element;
} SluiceSplitOptions;

SluiceSplitOptions *sluice_split_options_new (void);
SluiceSplitOptions *sluice_split_options_ref (SluiceSplitOptions *options);
void sluice_split_options_unref (SluiceSplitOptions *options);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceSplitOptions, sluice_split_options_unref)

const char *sluice_split_format_to_string (SluiceSplitFormat format);

/* A format's parser. It is used by one thread at a time (the iterator runs
 * at most one worker round at once), never concurrently. */
typedef struct _SluiceSplitParser SluiceSplitParser;

typedef struct {
  /* Parses records and appends them to @out (JsonNode for csv, GBytes
   * holding the record's text for the others) until @out holds
   * @max_records, the input ends (parser->finished is set then) or
   * something fails. Blocks on reads. */
  gboolean (*fill) (SluiceSplitParser *self,
                    GQueue            *out,
                    guint              max_records,
                    GCancellable      *cancellable,
                    GError           **error);
  void     (*free) (SluiceSplitParser *self);
} SluiceSplitParserVTable;

struct _SluiceSplitParser
{
  const SluiceSplitParserVTable *vtable;
  SluiceSplitOptions            *options;
  GInputStream                  *stream;
  gboolean                       finished;
};

SluiceSplitParser *sluice_split_parser_new (SluiceSplitOptions *options,
                                            GInputStream       *stream);
void sluice_split_parser_free (SluiceSplitParser *self);
gboolean sluice_split_parser_fill (SluiceSplitParser *self,
                                   GQueue            *out,
                                   guint              max_records,
                                   GCancellable      *cancellable,
                                   GError           **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SluiceSplitParser, sluice_split_parser_free)

SluiceSplitParser *sluice_split_csv_parser_new (SluiceSplitOptions *options,
                                                GInputStream       *stream);
SluiceSplitParser *sluice_split_jsonl_parser_new (SluiceSplitOptions *options,
                                                  GInputStream       *stream);
SluiceSplitParser *sluice_split_json_array_parser_new (SluiceSplitOptions *options,
                                                       GInputStream       *stream);
SluiceSplitParser *sluice_split_xml_parser_new (SluiceSplitOptions *options,
                                                GInputStream       *stream);

/* Chunked reading for the byte-oriented formats: csv, jsonl, json-array. */
typedef struct {
  GInputStream *stream;       /* borrowed from the parser */
  const char   *format_name;  /* for messages */
  guint8       *data;         /* SLUICE_SPLIT_CHUNK_SIZE bytes */
  gsize         len;          /* valid bytes in data */
  gsize         pos;          /* next unread byte in data */
  guint64       offset;       /* input offset of data[0] */
  gboolean      eof;
  gboolean      started;
} SluiceSplitReader;

void sluice_split_reader_init (SluiceSplitReader *reader,
                               GInputStream      *stream,
                               const char        *format_name);
void sluice_split_reader_clear (SluiceSplitReader *reader);
/* When every byte of the current chunk was used, reads the next one (and
 * drops a UTF-8 BOM at the very start). Returns FALSE on a read error;
 * sets reader->eof when the input ended. */
gboolean sluice_split_reader_refill (SluiceSplitReader *reader,
                                     GCancellable      *cancellable,
                                     GError           **error);

/* Checks that @text is exactly one JSON value as RFC 8259 has it, with
 * whitespace around it allowed: objects with string keys, arrays, numbers
 * in JSON's own grammar, true/false/null, strings with JSON's escapes only,
 * no unpaired surrogate escape, no raw control character and valid UTF-8.
 * It also refuses nesting deeper than SLUICE_SPLIT_JSON_MAX_DEPTH. What it
 * accepts, json-glib parses into the value the text says. On failure,
 * @error's message says what is wrong (not where) and @out_offset is the
 * byte of @text where it is. */
gboolean sluice_split_json_validate (const char *text,
                                     gsize       len,
                                     gsize      *out_offset,
                                     GError    **error);
/* A byte for a message: printable ASCII quoted, anything else in hex. */
char *sluice_split_json_describe_byte (guint8 c);

/* The messages one input splits into. */
#define SLUICE_TYPE_SPLIT_ITER (sluice_split_iter_get_type ())
G_DECLARE_FINAL_TYPE (SluiceSplitIter, sluice_split_iter, SLUICE, SPLIT_ITER, SluiceMessageIter)

SluiceSplitIter *sluice_split_iter_new (SluiceSplitOptions *options,
                                        SluiceMessage      *input,
                                        GInputStream       *body);

G_END_DECLS
