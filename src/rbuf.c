/* rbuf.c: the one bounded reader (and capacity-checked writer) for packet bytes. */
#include <errno.h>
#include <string.h>

#include "rbuf.h"

/* Start reading len bytes at p. */
void
rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
}

/* Bytes not yet read. */
size_t
rbuf_left(const struct rbuf *r)
{
	return r->len - r->pos;
}

/* Read one byte. */
int
rbuf_u8(struct rbuf *r, uint8_t *v)
{
	if (rbuf_left(r) < 1)
		return -EOVERFLOW;
	*v = r->p[r->pos++];
	return 0;
}

/* Read a big-endian 16-bit value. */
int
rbuf_u16(struct rbuf *r, uint16_t *v)
{
	if (rbuf_left(r) < 2)
		return -EOVERFLOW;
	*v = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
	r->pos += 2;
	return 0;
}

/* Read a big-endian 32-bit value. */
int
rbuf_u32(struct rbuf *r, uint32_t *v)
{
	if (rbuf_left(r) < 4)
		return -EOVERFLOW;
	*v = ((uint32_t)r->p[r->pos] << 24) | ((uint32_t)r->p[r->pos + 1] << 16) |
	    ((uint32_t)r->p[r->pos + 2] << 8) | r->p[r->pos + 3];
	r->pos += 4;
	return 0;
}

/* Copy n bytes out. */
int
rbuf_mem(struct rbuf *r, void *dst, size_t n)
{
	if (rbuf_left(r) < n)
		return -EOVERFLOW;
	memcpy(dst, r->p + r->pos, n);
	r->pos += n;
	return 0;
}

/* Point at the next n bytes without copying them. */
int
rbuf_ptr(struct rbuf *r, const uint8_t **dst, size_t n)
{
	if (rbuf_left(r) < n)
		return -EOVERFLOW;
	*dst = r->p + r->pos;
	r->pos += n;
	return 0;
}

/* Step over n bytes. */
int
rbuf_skip(struct rbuf *r, size_t n)
{
	if (rbuf_left(r) < n)
		return -EOVERFLOW;
	r->pos += n;
	return 0;
}

/* Carve the next n bytes into their own reader, so a field cannot read past its own length. */
int
rbuf_sub(struct rbuf *r, struct rbuf *sub, size_t n)
{
	const uint8_t *p;
	int rc;

	if ((rc = rbuf_ptr(r, &p, n)) != 0)
		return rc;
	rbuf_init(sub, p, n);
	return 0;
}

/* Start writing into cap bytes at p. */
void
wbuf_init(struct wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

/* Reserve n bytes, or mark the buffer overflowed. */
static uint8_t *
wbuf_reserve(struct wbuf *w, size_t n)
{
	uint8_t *at;

	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return NULL;
	}
	at = w->p + w->len;
	w->len += n;
	return at;
}

/* Append one byte. */
int
wbuf_u8(struct wbuf *w, uint8_t v)
{
	uint8_t *at;

	if ((at = wbuf_reserve(w, 1)) == NULL)
		return -ENOSPC;
	at[0] = v;
	return 0;
}

/* Append a big-endian 16-bit value. */
int
wbuf_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *at;

	if ((at = wbuf_reserve(w, 2)) == NULL)
		return -ENOSPC;
	at[0] = (uint8_t)(v >> 8);
	at[1] = (uint8_t)v;
	return 0;
}

/* Append a big-endian 32-bit value. */
int
wbuf_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *at;

	if ((at = wbuf_reserve(w, 4)) == NULL)
		return -ENOSPC;
	at[0] = (uint8_t)(v >> 24);
	at[1] = (uint8_t)(v >> 16);
	at[2] = (uint8_t)(v >> 8);
	at[3] = (uint8_t)v;
	return 0;
}

/* Append n bytes. */
int
wbuf_mem(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *at;

	if ((at = wbuf_reserve(w, n)) == NULL)
		return -ENOSPC;
	if (n > 0)
		memcpy(at, src, n);
	return 0;
}

/* Append n zero bytes. */
int
wbuf_zero(struct wbuf *w, size_t n)
{
	uint8_t *at;

	if ((at = wbuf_reserve(w, n)) == NULL)
		return -ENOSPC;
	memset(at, 0, n);
	return 0;
}

/* Overwrite a 16-bit value already written (a length field filled in later). */
int
wbuf_put_u16_at(struct wbuf *w, size_t off, uint16_t v)
{
	if (off > w->len || w->len - off < 2)
		return -EOVERFLOW;
	w->p[off] = (uint8_t)(v >> 8);
	w->p[off + 1] = (uint8_t)v;
	return 0;
}
