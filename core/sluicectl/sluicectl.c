/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>
#include <string.h>

#include "sluicectl.h"

static SluicectlContext ctl = { .timeout_secs = 25 };
static gboolean         opt_version;

static const GOptionEntry global_entries[] = {
  { "session", 0, 0, G_OPTION_ARG_NONE, &ctl.session,
    "Talk to sluiced on the session bus instead of the system bus", NULL },
  { "address", 0, 0, G_OPTION_ARG_STRING, &ctl.address,
    "Talk to sluiced on the bus at ADDR (a D-Bus address)", "ADDR" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &ctl.json, "Print JSON instead of text", NULL },
  { "timeout", 0, 0, G_OPTION_ARG_INT, &ctl.timeout_secs,
    "Give up on a call after SECS seconds (default 25)", "SECS" },
  { NULL }
};

static const GOptionEntry main_entries[] = {
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { NULL }
};

static const SluicectlCommand *const command_tables[] = {
  sluicectl_status_commands,
  sluicectl_workflow_commands,
  sluicectl_run_commands,
  sluicectl_batch_commands,
  sluicectl_dead_letter_commands,
  sluicectl_cron_commands,
};

static const char description[] =
    "Commands:\n"
    "  status                          The daemon at a glance\n"
    "  plugins                         Loaded plugins and their components\n"
    "  workflows                       List the workflows\n"
    "  workflow enable|disable|pause|resume NAME\n"
    "  workflow load PATH              Load (or replace) a workflow from a file\n"
    "  workflow reload                 Read the workflows folder again\n"
    "  workflow trigger NAME           Run a workflow once on an event\n"
    "  runs                            List recent runs\n"
    "  run show ID                     One run\n"
    "  batches                         List the batches\n"
    "  batch show|retry|pause|resume|close|cancel ID\n"
    "  batch failed ID                 List a batch's failed records\n"
    "  batch watch ID                  Follow a batch's progress\n"
    "  dead-letters list               List dead letters\n"
    "  dead-letters show ID            One dead letter, payload included\n"
    "  dead-letters replay ID…|--all   Run dead letters again\n"
    "  dead-letters purge ID…|--all    Remove dead letters\n"
    "  cron next EXPR                  When a cron expression fires next (no daemon)\n"
    "\n"
    "Run 'sluicectl COMMAND --help' (or 'sluicectl GROUP --help' for workflow, run,\n"
    "batch, dead-letters and cron) for a command's options.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the operation failed; also a run that did not succeed (trigger --wait), a\n"
    "     batch that failed or was cancelled (batch watch), dead letters not replayed\n"
    "  2  usage error (unknown command, bad or missing argument)\n"
    "  3  not found (no such workflow, run, batch or dead letter)\n"
    "  4  permission denied (the bus policy or sluiced refused the caller)\n"
    "  5  sluiced or the bus is not reachable, or a service sluiced needs is unavailable\n"
    "  6  invalid state (e.g. enabling a workflow that is not disabled)\n"
    "  7  invalid input (a workflow file, argument, cron expression or payload refused)\n"
    "  8  timed out\n";

static const SluicectlCommand *
find_command (const char *group, const char *name)
{
  for (gsize t = 0; t < G_N_ELEMENTS (command_tables); t++)
    for (const SluicectlCommand *command = command_tables[t]; command->name != NULL; command++)
      if (g_strcmp0 (command->group, group) == 0 && g_strcmp0 (command->name, name) == 0)
        return command;
  return NULL;
}

static gboolean
is_group (const char *name)
{
  for (gsize t = 0; t < G_N_ELEMENTS (command_tables); t++)
    for (const SluicectlCommand *command = command_tables[t]; command->name != NULL; command++)
      if (g_strcmp0 (command->group, name) == 0)
        return TRUE;
  return FALSE;
}

static void
print_group_help (const char *group)
{
  g_print ("Usage:\n  sluicectl [OPTION…] %s COMMAND [ARGS…]\n\nCommands:\n", group);
  for (gsize t = 0; t < G_N_ELEMENTS (command_tables); t++)
    for (const SluicectlCommand *command = command_tables[t]; command->name != NULL; command++)
      if (g_strcmp0 (command->group, group) == 0)
        {
          g_autofree char *usage = g_strdup_printf ("%s %s", command->name,
                                                    command->parameters != NULL ? command->parameters : "");

          g_print ("  %-36s %s\n", usage, command->summary);
        }
  g_print ("\nRun 'sluicectl %s COMMAND --help' for a command's options.\n", group);
}

static int
run_command (const SluicectlCommand *command, int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *parameters = NULL;
  int              n_args;

  parameters = g_strdup_printf ("%s%s%s%s%s", command->group != NULL ? command->group : "",
                                command->group != NULL ? " " : "", command->name,
                                command->parameters != NULL ? " " : "",
                                command->parameters != NULL ? command->parameters : "");
  context = g_option_context_new (parameters);
  g_option_context_set_summary (context, command->summary);
  if (command->entries != NULL)
    g_option_context_add_main_entries (context, command->entries, NULL);
  /* The global options work after the command word too. */
  g_option_context_add_main_entries (context, global_entries, NULL);

  /* argv[0] is the command word: the parser skips it like a program name. */
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sluicectl_usage_error ("%s: %s (see '--help')", parameters, error->message);
  if (argc > 1 && g_str_equal (argv[1], "--"))
    {
      memmove (argv + 1, argv + 2, (argc - 1) * sizeof (char *));
      argc--;
    }

  n_args = argc - 1;
  if (n_args < command->min_args)
    return sluicectl_usage_error ("%s: missing argument (usage: sluicectl %s)", parameters,
                                  parameters);
  if (command->max_args >= 0 && n_args > command->max_args)
    return sluicectl_usage_error ("%s: unexpected argument '%s'", parameters,
                                  argv[1 + command->max_args]);
  if (ctl.timeout_secs < 1 || ctl.timeout_secs > G_MAXINT / 1000)
    return sluicectl_usage_error ("--timeout %d: expected 1 to %d seconds", ctl.timeout_secs,
                                  G_MAXINT / 1000);

  return command->func (&ctl, argv + 1);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const SluicectlCommand *command;
  int                     status;

  setlocale (LC_ALL, "");

  context = g_option_context_new ("COMMAND [ARGS…]");
  g_option_context_set_summary (context, "Control sluiced, the Sluice integration daemon, "
                                         "over D-Bus.");
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, global_entries, NULL);
  g_option_context_add_main_entries (context, main_entries, NULL);
  /* Options after the command word belong to the command. */
  g_option_context_set_strict_posix (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return sluicectl_usage_error ("%s (see 'sluicectl --help')", error->message);

  if (opt_version)
    {
      g_print ("sluicectl %s\n", SLUICECTL_VERSION);
      return SLUICECTL_EXIT_OK;
    }
  if (argc > 1 && g_str_equal (argv[1], "--"))
    {
      argv++;
      argc--;
    }
  if (argc < 2)
    return sluicectl_usage_error ("no command given (see 'sluicectl --help')");
  if (g_str_equal (argv[1], "help"))
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

      g_print ("%s", help);
      return SLUICECTL_EXIT_OK;
    }

  if (is_group (argv[1]))
    {
      if (argc < 3)
        {
          sluicectl_usage_error ("%s: no command given", argv[1]);
          print_group_help (argv[1]);
          return SLUICECTL_EXIT_USAGE;
        }
      if (g_str_equal (argv[2], "--help") || g_str_equal (argv[2], "-h") ||
          g_str_equal (argv[2], "help"))
        {
          print_group_help (argv[1]);
          return SLUICECTL_EXIT_OK;
        }
      command = find_command (argv[1], argv[2]);
      if (command == NULL)
        return sluicectl_usage_error ("%s: unknown command '%s' (see 'sluicectl %s --help')",
                                      argv[1], argv[2], argv[1]);
      status = run_command (command, argc - 2, argv + 2);
    }
  else
    {
      command = find_command (NULL, argv[1]);
      if (command == NULL)
        return sluicectl_usage_error ("unknown command '%s' (see 'sluicectl --help')", argv[1]);
      status = run_command (command, argc - 1, argv + 1);
    }

  sluicectl_context_clear (&ctl);
  return status;
}
