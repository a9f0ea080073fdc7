/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small .eh_frame CFI interpreter: finds the FDE of a pc (through the
 * sorted .eh_frame_hdr table when there is one), runs the CIE and FDE
 * programs up to the pc, and computes the caller's registers. It covers
 * what GCC, Clang, binutils and glibc emit on x86_64: CFA as register plus
 * offset or as a DWARF expression (PLT entries, signal trampolines),
 * register rules offset/val_offset/register/expression/val_expression,
 * remember/restore state, and "undefined return address" for the outermost
 * frame. Everything read is bounded by the section it comes from.
 */
#include <errno.h>
#include <string.h>

#include "user-int.h"

#define STATE_STACK 8
#define EXPR_STACK 32
#define INSN_MAX 100000

struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t u8(struct cur *c)
{
	if (c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

static uint64_t fixed(struct cur *c, unsigned n)
{
	uint64_t v = 0;

	if ((size_t)(c->end - c->p) < n) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	memcpy(&v, c->p, n);	/* little-endian hosts only, as the targets */
	c->p += n;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint64_t b = u8(c);
		v |= (b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static int64_t sleb(struct cur *c)
{
	uint64_t v = 0, b;
	unsigned shift = 0;

	do {
		b = u8(c);
		if (shift < 64)
			v |= (b & 0x7f) << shift;
		shift += 7;
	} while ((b & 0x80) && !c->bad && shift < 70);
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

/* Reads a DW_EH_PE-encoded pointer; base is the runtime address of c->p's buffer start. */
static uint64_t encoded(struct cur *c, uint8_t enc, const uint8_t *buf, uint64_t buf_vaddr,
			uint64_t datarel)
{
	uint64_t here = buf_vaddr + (uint64_t)(c->p - buf), v;

	if (enc == 0xff)
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = fixed(c, 8); break;
	case 0x01: v = uleb(c); break;
	case 0x02: v = fixed(c, 2); break;
	case 0x03: v = fixed(c, 4); break;
	case 0x04: v = fixed(c, 8); break;
	case 0x09: v = (uint64_t)sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)fixed(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)fixed(c, 4); break;
	case 0x0c: v = fixed(c, 8); break;
	default: c->bad = true; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += here; break;
	case 0x30: v += datarel; break;
	default: c->bad = true; break;	/* textrel, funcrel: not used on Linux */
	}
	if (enc & 0x80)
		c->bad = true;	/* indirect: only for personality, which we skip */
	return v;
}

struct cie {
	uint64_t code_align;
	int64_t data_align;
	unsigned ra;
	uint8_t fde_enc;
	bool has_z, signal;
	const uint8_t *insn, *insn_end;
};

/* Entry at off: its bounds and CIE id field; returns -ENOENT at a terminator. */
static int entry_at(const struct lf_unwind_cfi *cfi, uint64_t off, struct cur *body,
		    uint64_t *ret_next, uint64_t *ret_id_off)
{
	struct cur c = { cfi->eh + off, cfi->eh + cfi->eh_size, false };
	uint64_t len = fixed(&c, 4);

	if (c.bad || len == 0)
		return -ENOENT;
	if (len == 0xffffffff)
		len = fixed(&c, 8);
	if (c.bad || len > (uint64_t)(c.end - c.p) || len < 4)
		return -EINVAL;
	*ret_id_off = (uint64_t)(c.p - cfi->eh);
	*body = (struct cur){ c.p, c.p + len, false };
	*ret_next = *ret_id_off + len;
	return 0;
}

static int parse_cie(const struct lf_unwind_cfi *cfi, uint64_t off, struct cie *cie)
{
	struct cur c;
	uint64_t next, id_off;

	if (off >= cfi->eh_size || entry_at(cfi, off, &c, &next, &id_off) < 0)
		return -EINVAL;
	if (fixed(&c, 4) != 0)
		return -EINVAL;
	unsigned version = (unsigned)u8(&c);
	const char *aug = (const char *)c.p;
	const uint8_t *nul = memchr(c.p, 0, (size_t)(c.end - c.p));
	if (!nul || (version != 1 && version != 3))
		return -EINVAL;
	c.p = nul + 1;
	*cie = (struct cie){ .fde_enc = 0 };
	cie->code_align = uleb(&c);
	cie->data_align = sleb(&c);
	cie->ra = version == 1 ? (unsigned)u8(&c) : (unsigned)uleb(&c);
	const uint8_t *aug_end = c.p;
	if (aug[0] == 'z') {
		uint64_t alen = uleb(&c);
		if (alen > (uint64_t)(c.end - c.p))
			return -EINVAL;
		aug_end = c.p + alen;
		cie->has_z = true;
		for (const char *a = aug + 1; *a && !c.bad; a++) {
			if (*a == 'R')
				cie->fde_enc = (uint8_t)u8(&c);
			else if (*a == 'L')
				u8(&c);
			else if (*a == 'P') {
				uint8_t enc = (uint8_t)u8(&c);
				struct cur tmp = c;
				encoded(&tmp, enc & 0x7f, cfi->eh, cfi->eh_vaddr, 0);
				c.p = tmp.p;
			} else if (*a == 'S')
				cie->signal = true;
			else if (*a != 'B')
				return -EINVAL;
		}
		c.p = aug_end;
	} else if (aug[0]) {
		return -EINVAL;
	}
	if (c.bad || cie->ra >= LF_DWARF_NREGS)
		return -EINVAL;
	cie->insn = c.p;
	cie->insn_end = c.end;
	return 0;
}

struct fde {
	uint64_t start, end;
	const uint8_t *insn, *insn_end;
	struct cie cie;
};

static int parse_fde(const struct lf_unwind_cfi *cfi, uint64_t off, struct fde *f)
{
	struct cur c;
	uint64_t next, id_off;

	if (off >= cfi->eh_size || entry_at(cfi, off, &c, &next, &id_off) < 0)
		return -EINVAL;
	uint64_t id = fixed(&c, 4);
	if (!id || id > id_off || parse_cie(cfi, id_off - id, &f->cie) < 0)
		return -EINVAL;
	f->start = encoded(&c, f->cie.fde_enc, cfi->eh, cfi->eh_vaddr, 0);
	f->end = f->start + encoded(&c, f->cie.fde_enc & 0x0f, cfi->eh, cfi->eh_vaddr, 0);
	if (f->cie.has_z) {
		uint64_t alen = uleb(&c);
		if (alen > (uint64_t)(c.end - c.p))
			return -EINVAL;
		c.p += alen;
	}
	if (c.bad)
		return -EINVAL;
	f->insn = c.p;
	f->insn_end = c.end;
	return 0;
}

/* Binary search of .eh_frame_hdr's table (datarel sdata4 pairs). */
static int find_in_hdr(const struct lf_unwind_cfi *cfi, uint64_t pc, struct fde *f)
{
	struct cur c = { cfi->hdr, cfi->hdr + cfi->hdr_size, false };

	if (u8(&c) != 1)
		return -EINVAL;
	uint8_t ptr_enc = (uint8_t)u8(&c), cnt_enc = (uint8_t)u8(&c), tab_enc = (uint8_t)u8(&c);
	encoded(&c, ptr_enc, cfi->hdr, cfi->hdr_vaddr, cfi->hdr_vaddr);
	uint64_t count = encoded(&c, cnt_enc, cfi->hdr, cfi->hdr_vaddr, cfi->hdr_vaddr);
	if (c.bad || tab_enc != 0x3b || count > (uint64_t)(c.end - c.p) / 8)
		return -EINVAL;
	const uint8_t *tab = c.p;
	uint64_t lo = 0, hi = count;
	while (lo < hi) {	/* last entry with start <= pc */
		uint64_t mid = lo + (hi - lo) / 2;
		int32_t start;
		memcpy(&start, tab + 8 * mid, 4);
		if (cfi->hdr_vaddr + (int64_t)start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT;
	int32_t fde_rel;
	memcpy(&fde_rel, tab + 8 * (lo - 1) + 4, 4);
	uint64_t fde_vaddr = cfi->hdr_vaddr + (int64_t)fde_rel;
	if (fde_vaddr < cfi->eh_vaddr || fde_vaddr - cfi->eh_vaddr >= cfi->eh_size)
		return -EINVAL;
	if (parse_fde(cfi, fde_vaddr - cfi->eh_vaddr, f) < 0)
		return -EINVAL;
	return pc >= f->start && pc < f->end ? 0 : -ENOENT;
}

static int find_linear(const struct lf_unwind_cfi *cfi, uint64_t pc, struct fde *f)
{
	uint64_t off = 0;

	while (off < cfi->eh_size) {
		struct cur c;
		uint64_t next, id_off;
		int r = entry_at(cfi, off, &c, &next, &id_off);
		if (r == -ENOENT)
			break;
		if (r < 0)
			return r;
		if (fixed(&c, 4) != 0 && parse_fde(cfi, off, f) == 0 && pc >= f->start && pc < f->end)
			return 0;
		off = next;
	}
	return -ENOENT;
}

static int find_fde(const struct lf_unwind_cfi *cfi, uint64_t pc, struct fde *f)
{
	if (cfi->hdr) {
		int r = find_in_hdr(cfi, pc, f);
		if (r != -EINVAL)
			return r;
	}
	return find_linear(cfi, pc, f);
}

int lf_unwind_find_fde(const struct lf_unwind_cfi *cfi, uint64_t pc, uint64_t *ret_start,
		       uint64_t *ret_end)
{
	struct fde f;
	int r = find_fde(cfi, pc, &f);

	if (r < 0)
		return r;
	*ret_start = f.start;
	*ret_end = f.end;
	return 0;
}

/* Factored offsets wrap instead of overflowing: garbage in, garbage addresses out. */
static int64_t scale(uint64_t v, int64_t factor)
{
	return (int64_t)(v * (uint64_t)factor);
}

enum rule { R_SAME, R_UNDEF, R_OFFSET, R_VAL_OFFSET, R_REG, R_EXPR, R_VAL_EXPR };

struct row {
	unsigned cfa_reg;
	int64_t cfa_off;
	const uint8_t *cfa_expr, *cfa_expr_end;
	struct {
		enum rule rule;
		int64_t v;
		const uint8_t *expr, *expr_end;
	} reg[LF_DWARF_NREGS];
};

struct interp {
	struct row row, init;
	struct row stack[STATE_STACK];
	unsigned depth;
	uint64_t loc, pc;
	const struct cie *cie;
};

static int set_rule(struct interp *s, uint64_t reg, enum rule rule, int64_t v, struct cur *expr_from)
{
	const uint8_t *e = NULL, *ee = NULL;

	if (expr_from) {
		uint64_t len = uleb(expr_from);
		if (len > (uint64_t)(expr_from->end - expr_from->p))
			return -EINVAL;
		e = expr_from->p;
		ee = e + len;
		expr_from->p = ee;
	}
	if (reg >= LF_DWARF_NREGS)
		return 0;	/* vector registers: not needed to find return addresses */
	s->row.reg[reg].rule = rule;
	s->row.reg[reg].v = v;
	s->row.reg[reg].expr = e;
	s->row.reg[reg].expr_end = ee;
	return 0;
}

/* One extended (low-6-bits-zero primary) CFA instruction. */
static int run_ext(struct interp *s, uint8_t op, struct cur *c)
{
	const struct cie *cie = s->cie;
	uint64_t reg;

	switch (op) {
	case 0x00: return 0;
	case 0x01: s->loc = fixed(c, 8); return 0;
	case 0x02: s->loc += u8(c) * cie->code_align; return 0;
	case 0x03: s->loc += fixed(c, 2) * cie->code_align; return 0;
	case 0x04: s->loc += fixed(c, 4) * cie->code_align; return 0;
	case 0x05: reg = uleb(c); return set_rule(s, reg, R_OFFSET, scale(uleb(c), cie->data_align), NULL);
	case 0x06: reg = uleb(c);
		if (reg < LF_DWARF_NREGS)
			s->row.reg[reg] = s->init.reg[reg];
		return 0;
	case 0x07: return set_rule(s, uleb(c), R_UNDEF, 0, NULL);
	case 0x08: return set_rule(s, uleb(c), R_SAME, 0, NULL);
	case 0x09: reg = uleb(c); return set_rule(s, reg, R_REG, (int64_t)uleb(c), NULL);
	case 0x0a:
		if (s->depth == STATE_STACK)
			return -EINVAL;
		s->stack[s->depth++] = s->row;
		return 0;
	case 0x0b:	/* the CFA rule is part of the state, as GCC's epilogues expect */
		if (!s->depth)
			return -EINVAL;
		s->row = s->stack[--s->depth];
		return 0;
	case 0x0c: s->row.cfa_reg = (unsigned)uleb(c); s->row.cfa_off = (int64_t)uleb(c);
		s->row.cfa_expr = NULL; return 0;
	case 0x0d: s->row.cfa_reg = (unsigned)uleb(c); s->row.cfa_expr = NULL; return 0;
	case 0x0e: s->row.cfa_off = (int64_t)uleb(c); return 0;
	case 0x0f: {
		uint64_t len = uleb(c);
		if (len > (uint64_t)(c->end - c->p))
			return -EINVAL;
		s->row.cfa_expr = c->p;
		s->row.cfa_expr_end = c->p + len;
		c->p += len;
		return 0;
	}
	case 0x10: return set_rule(s, uleb(c), R_EXPR, 0, c);
	case 0x11: reg = uleb(c); return set_rule(s, reg, R_OFFSET, scale((uint64_t)sleb(c), cie->data_align), NULL);
	case 0x12: s->row.cfa_reg = (unsigned)uleb(c); s->row.cfa_off = scale((uint64_t)sleb(c), cie->data_align);
		s->row.cfa_expr = NULL; return 0;
	case 0x13: s->row.cfa_off = scale((uint64_t)sleb(c), cie->data_align); return 0;
	case 0x14: reg = uleb(c); return set_rule(s, reg, R_VAL_OFFSET, scale(uleb(c), cie->data_align), NULL);
	case 0x15: reg = uleb(c); return set_rule(s, reg, R_VAL_OFFSET, scale((uint64_t)sleb(c), cie->data_align), NULL);
	case 0x16: return set_rule(s, uleb(c), R_VAL_EXPR, 0, c);
	case 0x2e: uleb(c); return 0;	/* GNU_args_size */
#if defined(__aarch64__)
	/*
	 * AARCH64_negate_ra_state: the return address is signed from here
	 * (pointer authentication); the PAC bits are masked off the unwound
	 * pc (LF_ARCH_PC_MASK), so the state itself is not needed.
	 */
	case 0x2d: return 0;
#endif
	case 0x2f: reg = uleb(c); return set_rule(s, reg, R_OFFSET, scale(0 - uleb(c), cie->data_align), NULL);
	default: return -EINVAL;
	}
}

/* Runs a CFA program until the row covering s->pc is complete. */
static int run(struct interp *s, const uint8_t *p, const uint8_t *end)
{
	struct cur c = { p, end, false };

	for (unsigned n = 0; c.p < c.end && n < INSN_MAX; n++) {
		uint8_t op = (uint8_t)u8(&c);
		uint8_t hi = op & 0xc0, lo = op & 0x3f;
		int r = 0;
		if (hi == 0x40) {
			s->loc += lo * s->cie->code_align;
		} else if (hi == 0x80) {
			r = set_rule(s, lo, R_OFFSET, scale(uleb(&c), s->cie->data_align), NULL);
		} else if (hi == 0xc0) {
			if (lo < LF_DWARF_NREGS)
				s->row.reg[lo] = s->init.reg[lo];
		} else {
			r = run_ext(s, op, &c);
		}
		if (r < 0 || c.bad)
			return -EINVAL;
		if (s->loc > s->pc)
			return 0;	/* the row for pc was the one before this advance */
	}
	return 0;
}

static int rd64(const struct lf_unwind_mem *mem, uint64_t addr, uint64_t *v)
{
	return mem->read(mem->ud, addr, v, 8);
}

static bool binop(uint8_t op, uint64_t a, uint64_t b, uint64_t *ret)
{
	switch (op) {
	case 0x1a: a &= b; break;
	case 0x1c: a -= b; break;
	case 0x1e: a *= b; break;
	case 0x21: a |= b; break;
	case 0x22: a += b; break;
	case 0x24: a = b < 64 ? a << b : 0; break;
	case 0x25: a = b < 64 ? a >> b : 0; break;
	case 0x27: a ^= b; break;
	case 0x29: a = a == b; break;
	case 0x2a: a = (int64_t)a >= (int64_t)b; break;
	case 0x2b: a = (int64_t)a > (int64_t)b; break;
	case 0x2c: a = (int64_t)a <= (int64_t)b; break;
	case 0x2d: a = (int64_t)a < (int64_t)b; break;
	case 0x2e: a = a != b; break;
	default: return false;
	}
	*ret = a;
	return true;
}

/* The DWARF expression subset found in CFI. */
static int eval(const uint8_t *p, const uint8_t *end, const uint64_t *regs, uint64_t valid,
		const struct lf_unwind_mem *mem, bool push_cfa, uint64_t cfa, uint64_t *ret)
{
	uint64_t st[EXPR_STACK];
	unsigned sp = 0;
	struct cur c = { p, end, false };

#define PUSH(x) do { uint64_t v_ = (x); if (sp == EXPR_STACK) return -EINVAL; st[sp++] = v_; } while (0)
#define NEED(n) do { if (sp < (n)) return -EINVAL; } while (0)
	if (push_cfa)
		PUSH(cfa);
	for (unsigned n = 0; c.p < c.end && n < 1000; n++) {
		uint8_t op = (uint8_t)u8(&c);
		uint64_t a, b;
		if (op >= 0x30 && op <= 0x4f) {		/* lit0..31 */
			PUSH(op - 0x30u);
		} else if (op >= 0x70 && op <= 0x8f) {	/* breg0..31 */
			unsigned r = op - 0x70u;
			int64_t off = sleb(&c);
			if (r >= LF_DWARF_NREGS || !(valid & LF_REG_BIT(r)))
				return -EINVAL;
			PUSH(regs[r] + off);
		} else if (op >= 0x50 && op <= 0x6f) {	/* reg0..31: value in register */
			unsigned r = op - 0x50u;
			if (r >= LF_DWARF_NREGS || !(valid & LF_REG_BIT(r)))
				return -EINVAL;
			PUSH(regs[r]);
		} else {
			switch (op) {
			case 0x08: PUSH(u8(&c)); break;
			case 0x09: PUSH((uint64_t)(int64_t)(int8_t)u8(&c)); break;
			case 0x0a: PUSH(fixed(&c, 2)); break;
			case 0x0b: PUSH((uint64_t)(int64_t)(int16_t)fixed(&c, 2)); break;
			case 0x0c: PUSH(fixed(&c, 4)); break;
			case 0x0d: PUSH((uint64_t)(int64_t)(int32_t)fixed(&c, 4)); break;
			case 0x0e: case 0x0f: PUSH(fixed(&c, 8)); break;
			case 0x10: PUSH(uleb(&c)); break;
			case 0x11: PUSH((uint64_t)sleb(&c)); break;
			case 0x12: NEED(1); PUSH(st[sp - 1]); break;			/* dup */
			case 0x13: NEED(1); sp--; break;				/* drop */
			case 0x14: NEED(2); PUSH(st[sp - 2]); break;			/* over */
			case 0x16: NEED(2); a = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = a; break;
			case 0x06: NEED(1); if (rd64(mem, st[sp - 1], &st[sp - 1]) < 0) return -EFAULT; break;
			case 0x23: NEED(1); st[sp - 1] += uleb(&c); break;		/* plus_uconst */
			default:
				NEED(2);
				b = st[--sp];
				if (!binop(op, st[sp - 1], b, &st[sp - 1]))
					return -EINVAL;
			}
		}
		if (c.bad)
			return -EINVAL;
	}
#undef PUSH
#undef NEED
	if (!sp)
		return -EINVAL;
	*ret = st[sp - 1];
	return 0;
}

static void init_row(struct row *r, const struct cie *cie)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < LF_DWARF_NREGS; i++)
		r->reg[i].rule = R_SAME;
	(void)cie;
}

/* The caller's value of register i under its rule; false when unknown. */
static bool recover(const struct row *row, unsigned i, uint64_t cfa, const uint64_t *regs,
		    uint64_t valid, const struct lf_unwind_mem *mem, uint64_t *ret)
{
	uint64_t addr;

	switch (row->reg[i].rule) {
	case R_SAME:
		*ret = regs[i];
		return valid & LF_REG_BIT(i);
	case R_UNDEF:
		return false;
	case R_OFFSET:
		return rd64(mem, cfa + row->reg[i].v, ret) == 0;
	case R_VAL_OFFSET:
		*ret = cfa + row->reg[i].v;
		return true;
	case R_REG: {
		uint64_t src = (uint64_t)row->reg[i].v;
		if (src >= LF_DWARF_NREGS || !(valid & LF_REG_BIT(src)))
			return false;
		*ret = regs[src];
		return true;
	}
	case R_EXPR:
		return eval(row->reg[i].expr, row->reg[i].expr_end, regs, valid, mem, true, cfa,
			    &addr) == 0 && rd64(mem, addr, ret) == 0;
	case R_VAL_EXPR:
		return eval(row->reg[i].expr, row->reg[i].expr_end, regs, valid, mem, true, cfa,
			    ret) == 0;
	}
	return false;
}

int lf_unwind_step(const struct lf_unwind_cfi *cfi, uint64_t pc, uint64_t *regs, uint64_t *valid,
		   const struct lf_unwind_mem *mem, bool *signal_frame)
{
	struct fde f;
	struct interp s;
	uint64_t cfa, out[LF_DWARF_NREGS] = { 0 };
	uint64_t out_valid = 0;
	int r = find_fde(cfi, pc, &f);

	if (r < 0)
		return r;
	memset(&s, 0, sizeof(s));
	s.cie = &f.cie;
	init_row(&s.row, &f.cie);
	s.pc = UINT64_MAX;	/* the CIE's program applies at every pc */
	if (run(&s, f.cie.insn, f.cie.insn_end) < 0)
		return -EINVAL;
	s.init = s.row;
	s.pc = pc;
	s.loc = f.start;
	s.depth = 0;
	if (run(&s, f.insn, f.insn_end) < 0)
		return -EINVAL;
	*signal_frame = f.cie.signal;
	const struct row *row = &s.row;
	if (row->reg[f.cie.ra].rule == R_UNDEF)
		return 1;	/* outermost frame: _start, clone, thread start */
	if (row->cfa_expr) {
		if (eval(row->cfa_expr, row->cfa_expr_end, regs, *valid, mem, false, 0, &cfa) < 0)
			return -EINVAL;
	} else {
		if (row->cfa_reg >= LF_DWARF_NREGS || !(*valid & LF_REG_BIT(row->cfa_reg)))
			return -EINVAL;
		cfa = regs[row->cfa_reg] + row->cfa_off;
	}
	for (unsigned i = 0; i < LF_DWARF_NREGS; i++)
		if (recover(row, i, cfa, regs, *valid, mem, &out[i]))
			out_valid |= LF_REG_BIT(i);
	if (!(out_valid & LF_REG_BIT(f.cie.ra)))
		return -EFAULT;
	out[LF_DWARF_SP] = cfa;	/* x86_64 and aarch64: the CFA is the caller's sp */
	out_valid |= LF_REG_BIT(LF_DWARF_SP);
	out[LF_DWARF_PC] = out[f.cie.ra] & LF_ARCH_PC_MASK;	/* the caller's pc */
	out_valid |= LF_REG_BIT(LF_DWARF_PC);
	memcpy(regs, out, sizeof(out));
	*valid = out_valid;
	return 0;
}
