/*
 * service: the operator's commands that stop and start Cassandra around an
 * in-place restore ([cassandra] stop_cmd and start_cmd).
 */
#ifndef CASSETTE_SERVICE_H
#define CASSETTE_SERVICE_H

/*
 * Run `cmd` with /bin/sh -c and wait for it. Its standard streams are
 * cassette's (stdout is flushed first, so the order of lines holds). 0 when
 * it exits 0; else CST_ERROR with a message naming `what` ("stop_cmd"), the
 * command and its exit status or signal, or CST_EIO when it cannot be run.
 */
int service_run(const char *what, const char *cmd);

#endif
