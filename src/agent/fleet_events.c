/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Events waiting for the portal: <state>/events.json, a JSON array of at
 * most LF_FLEET_QUEUE_MAX events, replaced atomically on every change. When
 * the queue is full the oldest event is dropped: the newest say most about
 * the device's state, and the next check-in reports the rest anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "livefix/file.h"
#include "livefix/json.h"

#include "fleet.h"

#define QUEUE_FILE_MAX (LF_FLEET_BODY_MAX - 64)

static int queue_path(const char *state_dir, char *ret, size_t size)
{
	return snprintf(ret, size, "%s/events.json", state_dir) < (int)size ? 0 : -ENAMETOOLONG;
}

/* The queued events; an empty array when there is no queue. */
static int queue_load(const char *state_dir, struct lf_jv **ret)
{
	char path[4096], *data = NULL;
	size_t len = 0;
	int r = queue_path(state_dir, path, sizeof(path));

	if (r == 0)
		r = lf_read_file(path, QUEUE_FILE_MAX, &data, &len);
	if (r == -ENOENT) {
		free(data);
		data = strdup("[]");
		len = 2;
		r = data ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = lf_json_parse(data, len, &lf_json_default_limits, ret);
	free(data);
	if (r == 0 && (*ret)->type != LF_JARR) {
		lf_jv_free(*ret);
		r = -EBADMSG;
	}
	return r;
}

static void event_json(struct lf_buf *out, const struct lf_fleet_event *e)
{
	struct lf_json j;

	lf_json_init(&j, out, false);
	lf_json_object_begin(&j);
	lf_json_kv_string(&j, "type", e->type);
	if (e->id) {
		lf_json_kv_string(&j, "bundle", e->id);
		lf_json_kv_int(&j, "level", e->level);
	}
	lf_json_key(&j, "detail");
	lf_json_object_begin(&j);
	if (e->kind)
		lf_json_kv_string(&j, "kind", e->kind);
	if (e->key && e->text)
		lf_json_kv_string(&j, e->key, e->text);
	if (e->processes >= 0)
		lf_json_kv_int(&j, "processes", e->processes);
	lf_json_kv_int(&j, "at", (int64_t)time(NULL));
	lf_json_object_end(&j);
	lf_json_object_end(&j);
	lf_json_finish(&j);
}

int lf_fleet_event_queue(const char *state_dir, const char *type, const struct lf_manifest *m,
			 const char *detail_key, const char *detail)
{
	struct lf_fleet_event e = {
		.type = type, .id = m ? m->id : NULL, .level = m ? m->level : 0,
		.kind = m ? lf_kind_name(m->target.kind) : NULL,
		.key = detail_key, .text = detail, .processes = -1,
	};

	return lf_fleet_event_add(state_dir, &e);
}

int lf_fleet_event_queue_id(const char *state_dir, const char *type, const char *id,
			    int64_t level, const char *detail_key, const char *detail)
{
	struct lf_fleet_event e = { .type = type, .id = id, .level = level,
				    .key = detail_key, .text = detail, .processes = -1 };

	return lf_fleet_event_add(state_dir, &e);
}

int lf_fleet_event_add(const char *state_dir, const struct lf_fleet_event *e)
{
	struct lf_buf out = LF_BUF_INIT(QUEUE_FILE_MAX), ev = LF_BUF_INIT(16 << 10);
	char path[4096];
	struct lf_jv *q;
	size_t first;
	int r = queue_load(state_dir, &q);

	if (r < 0)
		return r;
	event_json(&ev, e);
	first = q->len >= LF_FLEET_QUEUE_MAX ? q->len - LF_FLEET_QUEUE_MAX + 1 : 0;
	r = lf_buf_putc(&out, '[');
	for (size_t i = first; r == 0 && i < q->len; i++) {
		r = lf_json_canonical(&q->u.kids[i], &out);
		if (r == 0)
			r = lf_buf_putc(&out, ',');
	}
	if (r == 0 && ev.len)
		r = lf_buf_append(&out, ev.data, ev.len);
	if (r == 0)
		r = lf_buf_putc(&out, ']');
	if (r == 0)
		r = queue_path(state_dir, path, sizeof(path));
	if (r == 0)
		r = lf_write_file_atomic(path, out.data, out.len, 0600);
	lf_jv_free(q);
	lf_buf_release(&ev);
	lf_buf_release(&out);
	return r;
}

int lf_fleet_events_count(const char *state_dir)
{
	struct lf_jv *q;
	int r = queue_load(state_dir, &q);

	if (r < 0)
		return r;
	r = (int)q->len;
	lf_jv_free(q);
	return r;
}

int lf_fleet_events_flush(const char *state_dir, const struct lf_fleet_conf *c, char *err,
			  size_t err_size)
{
	struct lf_buf body = LF_BUF_INIT(LF_FLEET_BODY_MAX), ans = LF_BUF_INIT(0);
	char path[4096];
	struct lf_jv *q;
	int r = queue_load(state_dir, &q);

	if (r < 0 || q->len == 0) {
		if (r == 0)
			lf_jv_free(q);
		return r;
	}
	r = lf_buf_puts(&body, "{\"events\":");
	if (r == 0)
		r = lf_json_canonical(q, &body);
	if (r == 0)
		r = lf_buf_putc(&body, '}');
	lf_jv_free(q);
	if (r == 0)
		r = lf_fleet_post(c, "/api/v1/devices/self/events", body.data, body.len, &ans, err,
				  err_size);
	/* Only an accepted batch leaves the queue; 4xx keeps it for a person to see. */
	if (r == 202 && (r = queue_path(state_dir, path, sizeof(path))) == 0)
		r = lf_write_file_atomic(path, "[]", 2, 0600);
	else if (r >= 0)
		r = -EPROTO;
	lf_buf_release(&body);
	lf_buf_release(&ans);
	return r;
}
