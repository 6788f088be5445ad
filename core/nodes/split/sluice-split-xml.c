/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xmlreader.h>

#include "sluice-split-private.h"

typedef struct {
  SluiceSplitParser parent;
  GInputStream     *buffered;     /* over parent.stream: libxml2 reads a few KiB at a time */
  xmlTextReaderPtr  reader;
  gboolean          positioned;   /* the reader sits on a node not looked at yet */
  guint64           records;

  /* set while a worker round runs, for the read callback */
  GCancellable     *cancellable;
  guint64           bytes_read;
  gboolean          eof_seen;
  guint64           record_limit; /* while an element is expanded: bytes_read may not reach this */
  gboolean          too_large;
  GError           *read_error;
  char             *parse_error;  /* the first error libxml2 reported */
} SluiceSplitXmlParser;

static int
split_xml_read (void *context,
                char *buffer,
                int   len)
{
  SluiceSplitXmlParser *self = context;
  gssize n;

  if (self->read_error != NULL || self->too_large)
    return -1;
  if (self->record_limit != 0 && self->bytes_read >= self->record_limit)
    {
      /* the element is still open after max_record_size bytes past its
       * start tag: stop before it fills memory */
      self->too_large = TRUE;
      return -1;
    }

  n = g_input_stream_read (self->buffered, buffer, len, self->cancellable, &self->read_error);
  if (n < 0)
    return -1;
  if (n == 0)
    self->eof_seen = TRUE;
  self->bytes_read += n;
  return (int) n;
}

static int
split_xml_close (void *context)
{
  /* the iterator owns and closes the stream */
  return 0;
}

static void
split_xml_on_error (void       *user_data,
                    xmlErrorPtr error)
{
  SluiceSplitXmlParser *self = user_data;
  g_autofree char *message = NULL;

  if (error == NULL || error->level < XML_ERR_ERROR || self->parse_error != NULL)
    return;

  if (self->eof_seen && self->bytes_read == 0)
    {
      self->parse_error = g_strdup ("the input is empty");
      return;
    }

  message = g_strdup (error->message != NULL ? error->message : "malformed XML");
  g_strstrip (message);
  /* the push parser says this both for data after the root element and
   * for an input that stops inside it */
  if (error->code == XML_ERR_DOCUMENT_END && self->eof_seen)
    self->parse_error = g_strdup_printf ("line %d: %s, or the input ends inside the document",
                                         error->line, message);
  else
    self->parse_error = g_strdup_printf ("line %d: %s", error->line, message);
}

/* Turns what went wrong into one error, most specific cause first. */
static gboolean
split_xml_fail (SluiceSplitXmlParser *self,
                const char           *fallback,
                GError              **error)
{
  if (self->too_large)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_TOO_LARGE,
                   "xml: element %" G_GUINT64_FORMAT " <%s> is larger than max_record_size (%"
                   G_GSIZE_FORMAT " bytes)",
                   self->records + 1, self->parent.options->element,
                   self->parent.options->max_record_size);
    }
  else if (self->read_error != NULL)
    {
      if (g_error_matches (self->read_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&self->read_error));
      else
        g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_FAILED,
                     "xml: reading the input failed: %s", self->read_error->message);
    }
  else if (self->parse_error != NULL)
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, "xml: %s", self->parse_error);
    }
  else
    {
      g_set_error (error, SLUICE_ERROR, SLUICE_ERROR_INVALID_DATA, "xml: %s", fallback);
    }
  return FALSE;
}

static gboolean
split_xml_is_match (SluiceSplitXmlParser *self)
{
  const xmlChar *name;

  if (xmlTextReaderNodeType (self->reader) != XML_READER_TYPE_ELEMENT)
    return FALSE;
  name = xmlTextReaderConstLocalName (self->reader);
  return name != NULL && strcmp ((const char *) name, self->parent.options->element) == 0;
}

static void
split_xml_free_outer (gpointer data)
{
  xmlFree (data);
}

static gboolean
split_xml_take_element (SluiceSplitXmlParser *self,
                        GQueue               *out,
                        GError              **error)
{
  gsize max = self->parent.options->max_record_size;
  xmlChar *outer;
  gsize len;

  /* the reader reads ahead, so the element started before this point:
   * once it is still open this many bytes later, it is too large */
  self->record_limit = max > G_MAXUINT64 - self->bytes_read ? G_MAXUINT64 : self->bytes_read + max;
  outer = xmlTextReaderReadOuterXml (self->reader);
  self->record_limit = 0;

  if (outer == NULL || self->too_large || self->read_error != NULL || self->parse_error != NULL)
    {
      g_autofree char *fallback = g_strdup_printf ("element %" G_GUINT64_FORMAT " <%s> could not be read",
                                                   self->records + 1, self->parent.options->element);

      if (outer != NULL)
        xmlFree (outer);
      return split_xml_fail (self, fallback, error);
    }

  len = strlen ((const char *) outer);
  if (len > max)
    {
      xmlFree (outer);
      self->too_large = TRUE;
      return split_xml_fail (self, NULL, error);
    }

  self->records++;
  g_queue_push_tail (out, g_bytes_new_with_free_func (outer, len, split_xml_free_outer, outer));
  return TRUE;
}

static gboolean
split_xml_run (SluiceSplitXmlParser *self,
               GQueue               *out,
               guint                 max_records,
               GError              **error)
{
  if (self->reader == NULL)
    {
      /* creating the reader already reads the first bytes */
      self->reader = xmlReaderForIO (split_xml_read, split_xml_close, self, NULL, NULL,
                                     XML_PARSE_NONET | XML_PARSE_COMPACT);
      if (self->reader == NULL)
        return split_xml_fail (self, "line 1: the input could not be read as XML", error);
      xmlTextReaderSetStructuredErrorHandler (self->reader, split_xml_on_error, self);
    }

  while (out->length < max_records)
    {
      int ret;

      if (!self->positioned)
        {
          ret = xmlTextReaderRead (self->reader);
          if (ret < 0)
            return split_xml_fail (self, "malformed XML", error);
          if (self->parse_error != NULL)
            return split_xml_fail (self, NULL, error);
          if (ret == 0)
            {
              self->parent.finished = TRUE;
              return TRUE;
            }
        }
      self->positioned = FALSE;

      if (!split_xml_is_match (self))
        continue;

      if (!split_xml_take_element (self, out, error))
        return FALSE;

      /* skip the element's subtree: a match inside it is part of it */
      ret = xmlTextReaderNext (self->reader);
      if (ret < 0)
        return split_xml_fail (self, "malformed XML", error);
      if (self->parse_error != NULL)
        return split_xml_fail (self, NULL, error);
      if (ret == 0)
        {
          self->parent.finished = TRUE;
          return TRUE;
        }
      self->positioned = TRUE;
    }

  return TRUE;
}

static gboolean
split_xml_fill (SluiceSplitParser *parser,
                GQueue            *out,
                guint              max_records,
                GCancellable      *cancellable,
                GError           **error)
{
  SluiceSplitXmlParser *self = (SluiceSplitXmlParser *) parser;
  gboolean ret;

  self->cancellable = cancellable;
  ret = split_xml_run (self, out, max_records, error);
  self->cancellable = NULL;
  return ret;
}

static void
split_xml_free (SluiceSplitParser *parser)
{
  SluiceSplitXmlParser *self = (SluiceSplitXmlParser *) parser;

  g_clear_pointer (&self->reader, xmlFreeTextReader);
  g_clear_object (&self->buffered);
  g_clear_error (&self->read_error);
  g_clear_pointer (&self->parse_error, g_free);
  g_free (self);
}

static const SluiceSplitParserVTable split_xml_vtable = {
  .fill = split_xml_fill,
  .free = split_xml_free,
};

SluiceSplitParser *
sluice_split_xml_parser_new (SluiceSplitOptions *options,
                             GInputStream       *stream)
{
  SluiceSplitXmlParser *self = g_new0 (SluiceSplitXmlParser, 1);

  /* libxml2 wants its global state set up once before threads use it */
  xmlInitParser ();

  self->parent.vtable = &split_xml_vtable;
  self->parent.options = sluice_split_options_ref (options);
  self->parent.stream = g_object_ref (stream);
  self->buffered = g_buffered_input_stream_new_sized (stream, SLUICE_SPLIT_CHUNK_SIZE);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (self->buffered), FALSE);
  return &self->parent;
}
