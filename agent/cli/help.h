/* help: the --help texts of the command line. */
#ifndef CASSETTE_HELP_H
#define CASSETTE_HELP_H

#define DEFAULT_CONFIG "/etc/cassette/cassette.ini"

/* The --help text of `cmd` (NULL: the overview), or NULL for an unknown
 * command. Static strings. */
const char *cli_help_for(const char *cmd);

#endif
