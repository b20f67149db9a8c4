/* medusa_keys: the keys of Cassandra Medusa's medusa.ini that cassette reads
 * without using, so that `--config /etc/medusa/medusa.ini` loads. */
#ifndef CASSETTE_MEDUSA_KEYS_H
#define CASSETTE_MEDUSA_KEYS_H

#include <stddef.h>

/* medusa_key_count() is below this. */
#define MEDUSA_KEYS_MAX 128

/* The sections of medusa.ini that hold only keys with no effect here. */
int medusa_section_is_known(const char *section);
/* The index of a Medusa key that has no effect in cassette ([section] name,
 * the name compared without case, as Python's configparser does), or -1. */
int medusa_key_index(const char *section, const char *name);
/* How many such keys there are; an index's section, name, and what Medusa
 * uses it for (for the warning). */
size_t medusa_key_count(void);
const char *medusa_key_section(int i);
const char *medusa_key_name(int i);
const char *medusa_key_note(int i);

#endif
