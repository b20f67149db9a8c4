/*
 * progress: one status line on stderr while backup-node or restore-node
 * runs -- files and bytes done of the total, the rate and the time left --
 * redrawn in place with '\r' a few times a second by a timer thread. The
 * workers only bump atomic counters, so it costs them nothing measurable.
 *
 * Shown when stderr is a terminal; quiet (nothing printed at all) when it is
 * not. --progress / --no-progress force it on or off; without either,
 * CASSETTE_PROGRESS=1 or 0 does the same.
 */
#ifndef CASSETTE_PROGRESS_H
#define CASSETTE_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

enum progress_mode { PROGRESS_AUTO, PROGRESS_ON, PROGRESS_OFF };

/* What the command line asked for (main() sets it once, before any command
 * runs); the default is PROGRESS_AUTO. */
void progress_set_mode(enum progress_mode mode);
/* 1 when a progress line would be shown now: the mode, else
 * CASSETTE_PROGRESS ("1" or "0"), else whether stderr is a terminal. */
int progress_enabled(void);

struct progress;

/*
 * Start a line for `what` ("backup", "restore": a static string) with these
 * totals and draw it once. NULL when progress is not enabled, or when it
 * cannot start (a cosmetic feature never fails a command). Every call below
 * accepts NULL as a no-op. The caller ends it with progress_end().
 */
struct progress *progress_start(const char *what, uint64_t files_total, uint64_t bytes_total);
/* Count bytes done (any thread, lock-free). */
void progress_add_bytes(struct progress *p, uint64_t bytes);
/* Count one file done, and `bytes` more bytes with it (any thread). */
void progress_file_done(struct progress *p, uint64_t bytes);
/* Stop the timer thread and free. `completed`: draw the final line and end
 * it with a newline; else erase the line, so an error message starts on a
 * clean one. */
void progress_end(struct progress *p, int completed);

/* A snapshot of the counters and the seconds since the start. */
struct progress_state {
	uint64_t files, files_total;
	uint64_t bytes, bytes_total;
	double elapsed;
};

/*
 * The status line, without '\r' or newline, into buf (always NUL-terminated):
 *   "restore: 12/40 files, 1.2 GiB of 3.4 GiB (35%), 410.2 MiB/s, 3s left"
 * The rate is the average since the start; the time left is the bytes still
 * to do at that rate ("-- left" while nothing is measured yet, "0s left" once
 * everything is done). Pure: the time is passed in. Returns strlen(buf).
 */
size_t progress_format(char *buf, size_t len, const char *what, const struct progress_state *s);
/* A duration as "42s", "3m05s", "2h03m" or "99h+" into buf. */
const char *progress_duration(char *buf, size_t len, double seconds);

#endif
