/* ids.c - see ids.h.  One character-class checker serves all three rules so
 * they cannot drift apart. */
#include "util/ids.h"

#include <string.h>

static int allowed(unsigned char c, int allow_dot)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           (allow_dot && c == '.');
}

static int check(const char *id, size_t len, size_t max, int allow_dot,
                 const char **why)
{
    const char *reason = NULL;
    if (!id || len == 0)
        reason = "is empty";
    else if (len > max)
        reason = max == AK_FILE_NAME_MAX ? "is longer than 255 characters"
                                         : "is longer than 100 characters";
    else if (memchr(id, '\0', len))
        reason = "contains a NUL byte";
    else if (allow_dot && len >= 2 && memmem(id, len, "..", 2))
        reason = "contains '..'";
    else if (allow_dot && len == 1 && id[0] == '.')
        reason = "is '.'"; /* a path segment meaning "this directory" */
    else {
        for (size_t i = 0; i < len && !reason; i++)
            if (!allowed((unsigned char)id[i], allow_dot))
                reason = id[i] == '/' ? "contains '/'"
                         : id[i] == '~' ? "contains '~'"
                         : id[i] == ' ' ? "contains a space"
                         : allow_dot ? "has a character outside [A-Za-z0-9_.-]"
                                     : "has a character outside [A-Za-z0-9_-]";
    }
    if (why)
        *why = reason;
    return reason == NULL;
}

int ak_id_system_valid(const char *id, const char **why)
{
    return check(id, id ? strlen(id) : 0, AK_SYSTEM_ID_MAX, 0, why);
}

int ak_id_upload_valid(const char *id, const char **why)
{
    return check(id, id ? strlen(id) : 0, AK_UPLOAD_ID_MAX, 1, why);
}

int ak_id_file_valid(const char *name, size_t len, const char **why)
{
    return check(name, len, AK_FILE_NAME_MAX, 1, why);
}
