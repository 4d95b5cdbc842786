/* ids.c - see ids.h.  One checker, driven by a small rule table, serves all
 * three rules so they cannot drift apart. */
#include "util/ids.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    size_t max;
    const char *too_long; /* the reason when longer than max */
    int no_leading_dot; /* ".x" would be a hidden file as a path segment */
} id_rule;

static const id_rule system_rule = {AK_SYSTEM_ID_MAX, "is longer than 253 characters", 1};
static const id_rule upload_rule = {AK_UPLOAD_ID_MAX, "is longer than 100 characters", 0};
static const id_rule file_rule = {AK_FILE_NAME_MAX, "is longer than 255 characters", 0};

static int allowed(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static const char *bad_char(unsigned char c)
{
    return c == '/'   ? "contains '/'"
           : c == '~' ? "contains '~'"
           : c == ' ' ? "contains a space"
                      : "has a character outside [A-Za-z0-9_.-]";
}

static int check(const char *id, size_t len, const id_rule *r, const char **why)
{
    const char *reason = NULL;
    if (!id || len == 0)
        reason = "is empty";
    else if (len > r->max)
        reason = r->too_long;
    else if (memchr(id, '\0', len))
        reason = "contains a NUL byte";
    else if (len >= 2 && memmem(id, len, "..", 2))
        reason = "contains '..'";
    else if (len == 1 && id[0] == '.')
        reason = "is '.'"; /* a path segment meaning "this directory" */
    else if (r->no_leading_dot && id[0] == '.')
        reason = "starts with '.'";
    else {
        for (size_t i = 0; i < len && !reason; i++)
            if (!allowed((unsigned char)id[i]))
                reason = bad_char((unsigned char)id[i]);
    }
    if (why)
        *why = reason;
    return reason == NULL;
}

int ak_id_system_valid(const char *id, const char **why)
{
    return check(id, id ? strlen(id) : 0, &system_rule, why);
}

int ak_id_upload_valid(const char *id, const char **why)
{
    return check(id, id ? strlen(id) : 0, &upload_rule, why);
}

int ak_id_file_valid(const char *name, size_t len, const char **why)
{
    return check(name, len, &file_rule, why);
}

int ak_id_system_field(const char *value, const char *prefix, const char *field,
                       const char *alt, char *sid, char *why, size_t n)
{
    const char *bad;
    if (!value) {
        snprintf(why, n, "%s%s%s%s%s is required: the system's id (its host name)", prefix,
                 field, alt ? " (or " : "", alt ? alt : "", alt ? ")" : "");
        return 0;
    }
    if (!ak_id_system_valid(value, &bad)) {
        snprintf(why, n, "%s%s \"%.100s\": %s", prefix, field, value, bad);
        return 0;
    }
    snprintf(sid, AK_SYSTEM_ID_MAX + 1, "%s", value);
    return 1;
}
