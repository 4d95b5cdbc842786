/*
 * ids.h - the identifier rules of SPEC section 2 and 3.
 *
 * Every id that arrives from outside (bucket keys, manifests, HTTP paths,
 * command lines) passes one of these before it becomes part of a path, an
 * object key or a database key.  They return 1 when valid, else 0 and, when
 * why is non-NULL, a short reason ("contains '/'", "longer than 100").
 */
#ifndef AK_IDS_H
#define AK_IDS_H

#include <stddef.h>

#define AK_SYSTEM_ID_MAX 253 /* a DNS host name's limit */
#define AK_UPLOAD_ID_MAX 100
#define AK_FILE_NAME_MAX 255

/* ^[A-Za-z0-9_.-]{1,253}$, not starting with "." and no "..": host names
 * such as "Les-MacBook-Pro.local" (Session-Buddy's default is $HOSTNAME). */
int ak_id_system_valid(const char *id, const char **why);
/* ^[A-Za-z0-9_.-]{1,100}$ and no ".." */
int ak_id_upload_valid(const char *id, const char **why);
/* payload file names: ^[A-Za-z0-9_.-]{1,255}$, no "..", no "~", no NUL */
int ak_id_file_valid(const char *name, size_t len, const char **why);

/* A system id taken from request field `field` (value NULL when the field
 * is absent or not a string; alt names a field the caller also accepts):
 * when valid copies it to sid (AK_SYSTEM_ID_MAX + 1 bytes) and returns 1;
 * else writes "<prefix><field> ..." into why (n bytes) and returns 0. */
int ak_id_system_field(const char *value, const char *prefix, const char *field,
                       const char *alt, char *sid, char *why, size_t n);

#endif
