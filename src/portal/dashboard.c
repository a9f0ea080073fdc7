/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The web dashboard: static HTML, CSS and JavaScript compiled into the
 * binary, served without authentication (they hold no data), and the one
 * endpoint the page needs beyond the existing API: who the token is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"
#include "portal.h"

const struct lf_dashboard_file *lf_dashboard_find(const char *name)
{
	for (const struct lf_dashboard_file *f = lf_dashboard_files; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static int serve_file(struct lf_req *req, const char *name)
{
	const struct lf_dashboard_file *f = lf_dashboard_find(name);
	const char *inm = lf_req_header(req, "If-None-Match");

	if (!f)
		return lf_req_error(req, -ENOENT, "no such dashboard file");
	snprintf(req->etag, sizeof(req->etag), "%s", f->etag);
	req->content_type = f->content_type;
	if (inm && !strcmp(inm, f->etag)) {
		req->status = 304;
		return 0;
	}
	req->resp_data = malloc(f->len);
	if (!req->resp_data)
		return -ENOMEM;
	memcpy(req->resp_data, f->data, f->len);
	req->resp_len = f->len;
	return 0;
}

int lf_api_dashboard_index(struct lf_req *req)
{
	return serve_file(req, "index.html");
}

int lf_api_dashboard_file(struct lf_req *req)
{
	return serve_file(req, req->params[0]);
}

int lf_api_session(struct lf_req *req)
{
	return lf_req_json(req, 200, json_pack("{s:s,s:I}", "role", lf_access_name(req->who.role),
					       "token_id", (json_int_t)req->who.token_id));
}
