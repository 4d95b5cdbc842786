/*
 * graph_item.c - see graph_item.h.
 */
#include "graph/graph_item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/ids.h"
#include "util/jsonw.h"
#include "util/time.h"

void ak_graph_item_free(ak_graph_item *it)
{
    free(it->obs);
    free(it->props);
    it->obs = it->props = NULL;
}

static ak_code bad(ak_err *err, const char *field, const char *what)
{
    return ak_err_set(err, AK_ERR_INVALID, "%s: %s", field, what);
}

static ak_code text_of(const ak_json *o, const char *field, size_t max, const char **out,
                       ak_err *err)
{
    const ak_json *v = ak_json_get(o, field);
    if (!v || v->type == AK_JSON_NULL)
        return bad(err, field, "required");
    if (v->type != AK_JSON_STRING)
        return bad(err, field, "must be a string");
    if (v->str_len == 0 || strlen(v->str) != v->str_len)
        return bad(err, field, "must be a non-empty string without NUL");
    if (v->str_len > max)
        return ak_err_set(err, AK_ERR_INVALID, "%s: longer than %zu bytes", field, max);
    *out = v->str;
    return AK_OK;
}

static ak_code time_of(const ak_json *o, const char *field, int64_t *us, ak_err *err)
{
    const ak_json *v = ak_json_get(o, field);
    *us = 0;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != AK_JSON_STRING || !ak_time_parse(v->str, v->str_len, us))
        return bad(err, field, "must be an ISO-8601 timestamp");
    return AK_OK;
}

/* A JSON member kept as its text in canonical form (ak_json_write: the same
 * content sent as a snapshot's JSON column or as a push's arguments is the
 * same text, so the digest (graph.c) finds it a duplicate): observations
 * (strings only) or properties (an object); empty is NULL, like missing. */
static ak_code json_of(const ak_json *o, const char *field, ak_json_type type, char **out,
                       ak_err *err)
{
    const ak_json *v = ak_json_get(o, field);
    *out = NULL;
    if (!v || v->type == AK_JSON_NULL)
        return AK_OK;
    if (v->type != type)
        return bad(err, field, type == AK_JSON_ARRAY ? "must be an array of strings"
                                                     : "must be an object");
    for (const ak_json *k = type == AK_JSON_ARRAY ? v->first : NULL; k; k = k->next)
        if (k->type != AK_JSON_STRING)
            return bad(err, field, "must be an array of strings");
    if (v->raw_len > AK_GRAPH_TEXT_MAX)
        return ak_err_set(err, AK_ERR_INVALID, "%s: longer than %u bytes", field,
                          AK_GRAPH_TEXT_MAX);
    if (!v->first)
        return AK_OK;
    ak_buf b = {0};
    if (ak_json_write(&b, v) || ak_buf_putc(&b, '\0')) {
        ak_buf_free(&b);
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    }
    *out = b.data; /* canonical text is never longer than the raw one */
    return AK_OK;
}

static ak_code entity_of(const ak_json *o, ak_graph_item *it, ak_err *err)
{
    ak_graph_entity *e = &it->e;
    ak_code rc = text_of(o, "id", AK_GRAPH_ID_MAX, &e->id, err);
    if (rc == AK_OK)
        rc = text_of(o, "name", AK_GRAPH_NAME_MAX, &e->name, err);
    if (rc == AK_OK)
        rc = text_of(o, "entity_type", AK_GRAPH_NAME_MAX, &e->type, err);
    if (rc == AK_OK)
        rc = json_of(o, "observations", AK_JSON_ARRAY, &it->obs, err);
    if (rc == AK_OK)
        rc = json_of(o, "properties", AK_JSON_OBJECT, &it->props, err);
    if (rc == AK_OK)
        rc = time_of(o, "created_at", &e->created_us, err);
    if (rc == AK_OK)
        rc = time_of(o, "updated_at", &e->updated_us, err);
    e->observations = it->obs;
    e->properties = it->props;
    return rc;
}

static ak_code relation_of(const ak_json *o, ak_graph_item *it, ak_err *err)
{
    ak_graph_relation *r = &it->r;
    ak_code rc = text_of(o, "id", AK_GRAPH_ID_MAX, &r->id, err);
    if (rc == AK_OK)
        rc = text_of(o, "from_entity", AK_GRAPH_ID_MAX, &r->from, err);
    if (rc == AK_OK)
        rc = text_of(o, "to_entity", AK_GRAPH_ID_MAX, &r->to, err);
    if (rc == AK_OK)
        rc = text_of(o, "relation_type", AK_GRAPH_NAME_MAX, &r->type, err);
    if (rc == AK_OK)
        rc = json_of(o, "properties", AK_JSON_OBJECT, &it->props, err);
    if (rc == AK_OK)
        rc = time_of(o, "created_at", &r->created_us, err);
    if (rc == AK_OK)
        rc = time_of(o, "updated_at", &r->updated_us, err);
    r->properties = it->props;
    return rc;
}

ak_code ak_graph_item_parse(ak_json_doc *doc, const char *text, size_t len, const char *system,
                            ak_graph_item *it, ak_err *err)
{
    const ak_json *root, *kind;
    memset(it, 0, sizeof *it);
    ak_code rc = ak_json_parse(doc, text, len, &root, err);
    if (rc)
        return rc == AK_ERR_NOMEM ? rc : ak_err_set(err, AK_ERR_INVALID, "%s", err->msg);
    if (root->type != AK_JSON_OBJECT)
        return ak_err_set(err, AK_ERR_INVALID, "expected an object");
    kind = ak_json_get(root, "kind");
    if (!kind || kind->type != AK_JSON_STRING ||
        (strcmp(kind->str, "entity") != 0 && strcmp(kind->str, "relation") != 0))
        return bad(err, "kind", "must be \"entity\" or \"relation\"");
    it->relation = kind->str[0] == 'r';
    it->e.system = it->r.system = system;
    rc = it->relation ? relation_of(root, it, err) : entity_of(root, it, err);
    if (rc)
        ak_graph_item_free(it);
    return rc;
}

/* ---- Session-Buddy's push arguments ---- */

static const ak_json *member(const ak_json *o, const char *key)
{
    const ak_json *v = o && o->type == AK_JSON_OBJECT ? ak_json_get(o, key) : NULL;
    return v && v->type != AK_JSON_NULL ? v : NULL;
}

static void copy(ak_jw *w, const char *key, const ak_json *v)
{
    if (v) {
        ak_jw_key(w, key);
        ak_jw_raw(w, v->raw, v->raw_len);
    }
}

static const char *str_or(const ak_json *v, const char *dflt)
{
    return v && v->type == AK_JSON_STRING ? v->str : dflt;
}

/* The push's properties without what the line carries in its own members
 * (the system, the id, the times) and how it was sent: a snapshot's
 * properties lack them, and the same item pushed and snapshotted must be
 * the same content. */
static void copy_properties(ak_jw *w, const ak_json *props)
{
    static const char *const lifted[] = {"source_system", "original_id", "created_at",
                                         "updated_at", "ingestion_method", NULL};
    int open = 0;
    for (const ak_json *m = props && props->type == AK_JSON_OBJECT ? props->first : NULL; m;
         m = m->next) {
        int skip = 0;
        for (const char *const *k = lifted; *k && !skip; k++)
            skip = strcmp(*k, m->key) == 0;
        if (skip)
            continue;
        if (!open++) {
            ak_jw_key(w, "properties");
            ak_jw_obj(w);
        }
        ak_jw_key(w, m->key);
        ak_jw_raw(w, m->raw, m->raw_len);
    }
    if (open)
        ak_jw_end(w);
    else if (props && props->type != AK_JSON_OBJECT)
        copy(w, "properties", props); /* not an object: the line's rules refuse it */
}

/* The id when properties.original_id is missing: what identifies the
 * item within its system. */
static void default_id(ak_jw *w, const ak_json *args, int relation)
{
    const char *a = str_or(member(args, relation ? "from_entity" : "entity_type"), "");
    const char *b = str_or(member(args, relation ? "relation_type" : "name"), "");
    const char *c = str_or(member(args, "to_entity"), "");
    char id[3 * AK_GRAPH_NAME_MAX + 8];
    if (relation)
        snprintf(id, sizeof id, "%s|%s|%s", a, b, c);
    else
        snprintf(id, sizeof id, "%s:%s", a, b);
    ak_jw_kstr(w, "id", id);
}

int ak_graph_push_line(const ak_json *args, int relation, ak_buf *line, char *sid, char *why,
                       size_t n)
{
    const ak_json *props = member(args, "properties"), *md = member(args, "metadata");
    const ak_json *src = member(props, "source_system");
    if (!src)
        src = member(md, "source");
    if (!ak_id_system_field(src && src->type == AK_JSON_STRING ? src->str : NULL, "",
                            "properties.source_system", "metadata.source", sid, why, n))
        return 0;
    ak_jw w;
    ak_buf_reset(line);
    ak_jw_init(&w, line);
    ak_jw_obj(&w);
    ak_jw_kstr(&w, "kind", relation ? "relation" : "entity");
    const ak_json *orig = member(props, "original_id");
    if (orig)
        copy(&w, "id", orig);
    else
        default_id(&w, args, relation);
    static const char *const ent[] = {"name", "entity_type", "observations", NULL};
    static const char *const rel[] = {"from_entity", "to_entity", "relation_type", NULL};
    for (const char *const *k = relation ? rel : ent; *k; k++)
        copy(&w, *k, member(args, *k));
    copy_properties(&w, props);
    copy(&w, "created_at", member(props, "created_at"));
    copy(&w, "updated_at", member(props, "updated_at"));
    ak_jw_end(&w);
    return 1;
}
