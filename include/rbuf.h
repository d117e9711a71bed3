/* rbuf.h: bounded reader and writer over caller-owned bytes; reads fail rather than overrun. */
#ifndef MINIRTC_RBUF_H
#define MINIRTC_RBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read cursor over [p, p + len). Every read checks the bytes left first. */
struct rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
};

/* A write cursor with a fixed capacity. A write that would not fit sets
 * 'overflow' and writes nothing; later writes fail too, so a builder can
 * check once at the end. */
struct wbuf {
	uint8_t		*p;
	size_t		 cap;
	size_t		 len;
	bool		 overflow;
};

void	 rbuf_init(struct rbuf *, const void *, size_t);
size_t	 rbuf_left(const struct rbuf *);
int	 rbuf_u8(struct rbuf *, uint8_t *);
int	 rbuf_u16(struct rbuf *, uint16_t *);
int	 rbuf_u32(struct rbuf *, uint32_t *);
int	 rbuf_mem(struct rbuf *, void *, size_t);
int	 rbuf_ptr(struct rbuf *, const uint8_t **, size_t);
int	 rbuf_skip(struct rbuf *, size_t);
int	 rbuf_sub(struct rbuf *, struct rbuf *, size_t);

void	 wbuf_init(struct wbuf *, void *, size_t);
int	 wbuf_u8(struct wbuf *, uint8_t);
int	 wbuf_u16(struct wbuf *, uint16_t);
int	 wbuf_u32(struct wbuf *, uint32_t);
int	 wbuf_mem(struct wbuf *, const void *, size_t);
int	 wbuf_zero(struct wbuf *, size_t);
int	 wbuf_put_u16_at(struct wbuf *, size_t, uint16_t);

#endif
