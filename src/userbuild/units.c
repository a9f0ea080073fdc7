// SPDX-License-Identifier: Apache-2.0
/*
 * Steps 5 to 7 of the builder for each rebuilt unit: the differ, the
 * fidelity check of what the patch replaces and calls, the bindings of the
 * references to the target's symbols, and the unit's share of the patch
 * object. Every unit is looked at before the build stops, so one run lists
 * every refusal and every mismatch.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ub.h"

struct unit {
	struct ub_job *j;
	const char *name;         /* the unit's source, relative to --source */
	struct lf_elf *o, *p;
	struct lf_diff_result *r;
	struct ub_redirect redir[UB_MAX_FUNCS];
	size_t nredir;
	char **binds;             /* per ref: "name,pos" or NULL */
	bool mismatch;
};

static void print_mismatch(struct unit *u, const struct ub_fid *f, const char *why)
{
	if (!f->found)
		ub_say(u->j, "  DIFFERS  %s (%s): not in the target's symbols", f->name, why);
	else if (f->target_size != f->size)
		ub_say(u->j, "  DIFFERS  %s (%s): %u bytes rebuilt, %u bytes in the target at %#llx",
		       f->name, why, f->size, f->target_size, (unsigned long long)f->addr);
	else
		ub_say(u->j, "  DIFFERS  %s (%s): %u of %u bytes differ from the target at %#llx, "
		       "first at +%#x", f->name, why, f->n_diffs, f->size,
		       (unsigned long long)f->addr, f->first_diff);
	u->mismatch = true;
	u->j->nmismatch++;
}

static int orig_func(const struct lf_elf *o, const char *name, uint32_t *ret)
{
	for (size_t i = 1; i < o->nsyms; i++)
		if (o->syms[i].type == STT_FUNC && lf_elf_symbol_is_defined(&o->syms[i]) &&
		    !strcmp(o->syms[i].name, name)) {
			*ret = (uint32_t)i;
			return 0;
		}
	return -ENOENT;
}

static int bind_to(struct unit *u, size_t k, size_t sym)
{
	const struct ub_sym *t = &u->j->img.syms[sym];

	if (t->bind != STB_LOCAL && ub_image_count(&u->j->img, t->name) == 1)
		return 0;   /* the applier finds it by name */
	if (asprintf(&u->binds[k], "%s,%u", t->name, t->pos) < 0) {
		u->binds[k] = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int check_changed(struct unit *u)
{
	for (size_t i = 0; i < u->r->nfuncs; i++) {
		const struct lf_diff_func *f = &u->r->funcs[i];
		struct ub_fid fid;
		uint32_t sym;
		int r;

		if (f->change != LF_DIFF_CHANGED || f->is_part)
			continue;
		if (orig_func(u->o, f->orig_name, &sym) < 0)
			return -ENOEXEC;
		r = ub_fid_check(u->o, sym, u->name, &u->j->img, &fid);
		u->j->rep->checked++;
		if (r == -ENOEXEC) {
			print_mismatch(u, &fid, "replaced");
			continue;
		}
		if (r < 0)
			return r;
		if (u->nredir == UB_MAX_FUNCS)
			return -E2BIG;
		u->redir[u->nredir++] = (struct ub_redirect){ f->name, f->orig_name, fid.addr };
	}
	return 0;
}

static int check_ref(struct unit *u, size_t k)
{
	const struct lf_diff_ref *ref = &u->r->refs[k];
	const struct lf_elf_symbol *s;
	size_t idx[2], n;
	struct ub_fid fid;
	int r;

	if (ref->external || !ref->orig_sym || ref->orig_sym >= u->o->nsyms)
		return 0;
	s = &u->o->syms[ref->orig_sym];
	if (s->type == STT_FUNC) {
		r = ub_fid_check(u->o, ref->orig_sym, u->name, &u->j->img, &fid);
		u->j->rep->checked++;
		if (r == -ENOEXEC)
			return print_mismatch(u, &fid, "called"), 0;
		return r < 0 ? r : bind_to(u, k, fid.sym);
	}
	n = ub_image_find_sym(&u->j->img, s, u->name, idx, 2);
	if (n == 1)
		return bind_to(u, k, idx[0]);
	ub_say(u->j, "  UNBOUND  %s: %s in the target", s->name,
	       n ? "more than one symbol of that name from this unit" : "no such symbol");
	u->mismatch = true;
	u->j->nmismatch++;
	return 0;
}

/*
 * Is the unit linked into the target at all? A compile database covers a
 * whole project (the library and its tools): a header change rebuilds them
 * all, and the units of other programs are not this target's business.
 */
static bool in_target(const struct unit *u)
{
	size_t idx[1];
	bool any = false;

	for (size_t i = 1; i < u->o->nsyms; i++) {
		const struct lf_elf_symbol *s = &u->o->syms[i];

		if (s->type != STT_FUNC || !lf_elf_symbol_is_defined(s))
			continue;
		any = true;
		if (ub_image_find_sym(&u->j->img, s, u->name, idx, 1))
			return true;
	}
	return !any;
}

static void print_diff(struct unit *u)
{
	ub_say(u->j, "unit %s: %zu changed, %zu new, %zu unchanged, %zu new data, %zu references",
	       u->name, u->r->nchanged, u->r->nnew, u->r->nunchanged, u->r->ndata, u->r->nrefs);
	for (size_t i = 0; i < u->r->nfuncs; i++) {
		const struct lf_diff_func *f = &u->r->funcs[i];

		if (f->change == LF_DIFF_CHANGED || f->change == LF_DIFF_NEW)
			ub_say(u->j, "  %-8s %s%s%s", lf_diff_change_name(f->change), f->name,
			       f->change == LF_DIFF_CHANGED ? ": " : "",
			       f->change == LF_DIFF_CHANGED ? lf_diff_why_name(f->why) : "");
	}
	for (size_t i = 0; i < u->r->ndata; i++)
		ub_say(u->j, "  new-data %s (%llu bytes)", u->r->data[i].name,
		       (unsigned long long)u->r->data[i].size);
	for (size_t i = 0; i < u->r->nproblems; i++)
		ub_say(u->j, "  %s %s: %s: %s", u->r->problems[i].fatal ? "REFUSED " : "warning ",
		       u->r->problems[i].symbol, lf_diff_reason_name(u->r->problems[i].reason),
		       u->r->problems[i].detail);
}

static int do_unit(struct unit *u, struct ub_emit *m, size_t i)
{
	struct ub_job *j = u->j;
	char path[PATH_MAX + 64], msg[512] = "";
	int r;

	snprintf(path, sizeof(path), "%s/orig-%zu.o", j->work, i);
	r = lf_elf_open(path, &u->o);
	snprintf(path, sizeof(path), "%s/patched-%zu.o", j->work, i);
	if (r == 0)
		r = lf_elf_open(path, &u->p);
	if (r == 0)
		r = lf_diff_objects(u->o, u->p, NULL, &u->r);
	if (r < 0)
		return ub_say(j, "unit %s: the differ failed: %s", u->name, strerror(-r)), r;
	if (!in_target(u))
		return ub_say(j, "unit %s: none of its functions is in %s: not part of it, skipped",
			      u->name, j->o->target), 0;
	print_diff(u);
	j->rep->changed += u->r->nchanged;
	j->rep->added += u->r->nnew;
	j->rep->data += u->r->ndata;
	j->rep->refs += u->r->nrefs;
	if (u->r->nrefused)
		return -EOPNOTSUPP;
	if (!u->r->nchanged && !u->r->nnew)
		return 0;
	u->binds = calloc(u->r->nrefs + 1, sizeof(*u->binds));
	if (!u->binds)
		return -ENOMEM;
	r = check_changed(u);
	for (size_t k = 0; r == 0 && k < u->r->nrefs; k++)
		r = check_ref(u, k);
	if (r < 0 || u->mismatch)
		return r < 0 ? r : -ENOEXEC;
	snprintf(path, sizeof(path), "%s/diff-%zu.o", j->work, i);
	r = lf_diff_write_object(u->p, u->r, path);
	if (r == 0)
		r = ub_emit_unit(m, path, u->p, u->r, u->redir, u->nredir, u->binds, msg, sizeof(msg));
	if (r < 0)
		ub_say(j, "unit %s: %s", u->name, msg[0] ? msg : strerror(-r));
	j->rep->redirected += u->nredir;
	return r;
}

static void unit_release(struct unit *u)
{
	for (size_t k = 0; u->binds && u->r && k < u->r->nrefs; k++)
		free(u->binds[k]);
	free(u->binds);
	lf_diff_result_free(u->r);
	lf_elf_free(u->o);
	lf_elf_free(u->p);
}

int ub_diff_units(struct ub_job *j)
{
	struct ub_emit *m = NULL;
	int r, first = 0;

	r = ub_emit_new(j->o->id, j->o->level, &j->img, &m);
	if (r < 0)
		return r;
	for (size_t i = 0; i < j->nunits; i++) {
		struct unit *u = calloc(1, sizeof(*u));
		const char *file = j->db.units[j->units[i]].file;
		size_t n = strlen(j->from);

		if (!u) {
			r = -ENOMEM;
			break;
		}
		u->j = j;
		u->name = !strncmp(file, j->from, n) && file[n] == '/' ? file + n + 1 : file;
		r = do_unit(u, m, i);
		unit_release(u);
		free(u);
		if (r < 0 && r != -EOPNOTSUPP && r != -ENOEXEC)
			break;
		if (r < 0 && !first)
			first = r;
		r = 0;
	}
	if (r == 0 && first)
		r = first;
	if (r == 0 && j->rep->redirected == 0) {
		ub_say(j, "nothing to redirect: the fix changes no function of the target");
		r = -EMEDIUMTYPE;
	}
	if (r == 0) {
		r = ub_emit_write(m, j->o->out);
		if (r < 0)
			ub_say(j, "%s: cannot write the patch object: %s", j->o->out, strerror(-r));
	}
	if (j->nmismatch)
		ub_say(j, "fidelity: %zu function(s) or symbol(s) of the rebuilt original do not "
		       "match %s: wrong source, flags or compiler", j->nmismatch, j->o->target);
	ub_emit_free(m);
	return r;
}
