/* config.c: one option table -> libconfig read -> command-line overrides -> a validated snapshot. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>
#include <openssl/crypto.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

enum opt_type {
	OPT_INT, OPT_BOOL, OPT_STRING, OPT_ENUM,
	/* list types: a string or a list in the file, repeatable on the command line */
	OPT_ADDRS, OPT_IPS, OPT_CIDRS, OPT_SECRETS, OPT_USERS, OPT_EXTERNAL,
	OPT_PORTRANGE,
};

/* One option: its name in the file and on the command line, its type, range, default and help. */
struct opt_def {
	const char		*name;
	enum opt_type		 type;
	size_t			 off;
	int			 min;
	int			 max;
	const char		*def;
	const char		*help;
	const char *const	*names;		/* OPT_ENUM: the accepted words, by value */
	bool			 reload;	/* SIGHUP applies it; others wait for a restart */
};

#define OFF(f)	offsetof(struct config, f)

static const char *const level_names[] = { "error", "warning", "info", "debug", NULL };
static const char *const secret_alg_names[] = { "sha1", "sha256", NULL };

static const struct opt_def opt_defs[] = {
	{ "listen", OPT_ADDRS, OFF(listen), 0, 0, "0.0.0.0:3478 [::]:3478",
	  "address[:port] to listen on, UDP and TCP (repeatable; IPv6 as [::1]:3478)", NULL, false },
	{ "workers", OPT_INT, OFF(workers), 0, 256, "0",
	  "worker threads; 0 runs one per CPU the process may use", NULL, false },
	{ "tls_listen", OPT_ADDRS, OFF(tls_listen), CONFIG_DEFAULT_TLS_PORT, 0, "",
	  "address[:port] to serve TURN over TLS on (repeatable; port 5349 by default)", NULL, false },
	{ "tls_cert", OPT_STRING, OFF(tls_cert), 0, 4096, "",
	  "PEM file with the TLS certificate chain, server certificate first", NULL, true },
	{ "tls_key", OPT_STRING, OFF(tls_key), 0, 4096, "",
	  "PEM file with the TLS private key", NULL, true },
	{ "udp", OPT_BOOL, OFF(udp), 0, 0, "true", "serve UDP on the listen addresses", NULL, false },
	{ "tcp", OPT_BOOL, OFF(tcp), 0, 0, "true", "serve TCP on the listen addresses", NULL, false },
	{ "software", OPT_STRING, OFF(software), 0, 763, PACKAGE_NAME " " PACKAGE_VERSION,
	  "SOFTWARE attribute in responses; empty to send none", NULL, false },
	{ "rfc3489", OPT_BOOL, OFF(rfc3489), 0, 0, "true",
	  "answer classic RFC 3489 Binding requests (no magic cookie) with MAPPED-ADDRESS", NULL, false },
	{ "mapped_address", OPT_BOOL, OFF(mapped_address), 0, 0, "false",
	  "add MAPPED-ADDRESS to RFC 5389/8489 Binding responses, for old clients", NULL, false },
	{ "max_frame", OPT_INT, OFF(max_frame), 24, 65540, "8192",
	  "largest message accepted on a TCP connection, in bytes; larger closes it", NULL, false },
	{ "tls_handshake_timeout", OPT_INT, OFF(tls_handshake_timeout), 1, 300, "10",
	  "seconds a TLS client has to finish its handshake", NULL, false },
	{ "max_connections", OPT_INT, OFF(max_connections), 0, 10000000, "0",
	  "TCP and TLS connections open at once; more are closed at accept; 0: no limit",
	  NULL, false },
	{ "tcp_idle_timeout", OPT_INT, OFF(tcp_idle_timeout), 1, 86400, "300",
	  "seconds a TCP connection may stay silent before it is closed", NULL, false },
	{ "metrics_listen", OPT_ADDRS, OFF(metrics_listen), CONFIG_DEFAULT_METRICS_PORT, 0, "",
	  "address[:port] for GET /metrics (Prometheus; port 9641 by default; no authentication)",
	  NULL, false },
	{ "run_as", OPT_STRING, OFF(run_as), 0, 63, "",
	  "USER or USER:GROUP to run as once the sockets are bound (turnd must start as root)",
	  NULL, false },
	{ "log_level", OPT_ENUM, OFF(log_level), 0, 0, "info",
	  "error, warning, info or debug", level_names, true },
	{ "allocation_log", OPT_BOOL, OFF(allocation_log), 0, 0, "false",
	  "log one info line per ended allocation: reason, user, client, relay, seconds, bytes",
	  NULL, false },
	{ "syslog", OPT_BOOL, OFF(syslog), 0, 0, "false",
	  "log to syslog (daemon facility) instead of stderr", NULL, false },
	{ "realm", OPT_STRING, OFF(realm), 1, 763, "mini_rtc",
	  "the long-term credential realm", NULL, true },
	{ "user", OPT_USERS, OFF(users), 0, 0, "",
	  "a TURN user as NAME:PASSWORD (repeatable); the file also takes stored keys", NULL, true },
	{ "secret", OPT_SECRETS, OFF(secrets), 0, 0, "",
	  "a shared secret for time-limited credentials (repeatable, for rotation)", NULL, true },
	{ "secret_algorithm", OPT_ENUM, OFF(secret_algorithm), 0, 0, "sha1",
	  "HMAC of shared-secret passwords: sha1 (the TURN REST API) or sha256", secret_alg_names, true },
	{ "userhash", OPT_BOOL, OFF(userhash), 0, 0, "false",
	  "offer USERHASH (anonymous usernames); only with static users, no secrets", NULL, true },
	{ "nonce_lifetime", OPT_INT, OFF(nonce_lifetime), 10, 3600, "600",
	  "seconds a NONCE stays valid", NULL, true },
	{ "relay_ip", OPT_IPS, OFF(relay_ip), 0, 0, "",
	  "address relays are opened on (repeatable); empty: the non-wildcard listen addresses", NULL, false },
	{ "external_ip", OPT_EXTERNAL, OFF(external), 0, 0, "",
	  "PUBLIC or PUBLIC/PRIVATE: advertise PUBLIC for a relay address behind 1:1 NAT", NULL, false },
	{ "relay_ports", OPT_PORTRANGE, OFF(relay_port_min), 0, 0, "49152-65535",
	  "MIN-MAX: the UDP ports relays use", NULL, false },
	{ "allow_peer", OPT_CIDRS, OFF(allow_peer), 0, 0, "",
	  "CIDR of peers allowed even in the reserved ranges (repeatable)", NULL, false },
	{ "deny_peer", OPT_CIDRS, OFF(deny_peer), 0, 0, "",
	  "CIDR of peers denied (repeatable)", NULL, false },
	{ "allocation_lifetime", OPT_INT, OFF(allocation_lifetime), 60, 86400, "600",
	  "default allocation lifetime in seconds", NULL, false },
	{ "max_allocation_lifetime", OPT_INT, OFF(max_allocation_lifetime), 60, 86400, "3600",
	  "longest allocation lifetime a client may ask for", NULL, false },
	{ "user_quota", OPT_INT, OFF(user_quota), 0, 1000000, "0",
	  "allocations per user at once (486 beyond); 0: no limit", NULL, false },
	{ "total_quota", OPT_INT, OFF(total_quota), 0, 10000000, "0",
	  "allocations in all at once (508 beyond); 0: no limit", NULL, false },
	{ "max_permissions", OPT_INT, OFF(max_permissions), 1, 1024, "64",
	  "permissions per allocation", NULL, false },
	{ "bandwidth", OPT_INT, OFF(bandwidth), 0, 1000000000, "0",
	  "bytes per second each allocation may relay, each way; 0: no limit", NULL, false },
	{ "strict_channels", OPT_BOOL, OFF(strict_channels), 0, 0, "false",
	  "accept only RFC 8656 channel numbers 0x4000-0x4FFF (else up to 0x7FFF, as RFC 5766)", NULL, false },
	{ "udp_gso", OPT_BOOL, OFF(udp_gso), 0, 0, "true",
	  "send runs of equal-sized datagrams to one destination as one UDP GSO write", NULL, false },
	{ "udp_buffer", OPT_INT, OFF(udp_buffer), 0, 268435456, "8388608",
	  "receive and send buffer of each listener UDP socket, bytes; 0: the kernel's", NULL, false },
	{ "relay_buffer", OPT_INT, OFF(relay_buffer), 0, 268435456, "0",
	  "receive and send buffer of each relay socket, bytes; 0: the kernel's", NULL, false },
	{ "alternate_address", OPT_IPS, OFF(alternate_address), 0, 0, "",
	  "a second IP of this host: turns on RFC 5780 NAT behaviour discovery (off when empty)", NULL, false },
	{ "alternate_port", OPT_INT, OFF(alternate_port), 0, 65535, "0",
	  "the RFC 5780 alternate port; 0 takes the primary port + 1", NULL, false },
};

#define NOPTS	(sizeof(opt_defs) / sizeof(opt_defs[0]))

/* Set *cause to a formatted message and return -1. */
static int __attribute__((format(printf, 2, 3)))
cfg_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) < 0)
		*cause = NULL;
	va_end(ap);
	return -1;
}

/* The table entry for a name; '-' and '_' are the same, for --max-frame. */
static const struct opt_def *
opt_find(const char *name)
{
	size_t i, k;

	for (i = 0; i < NOPTS; i++) {
		const char *a = opt_defs[i].name;
		for (k = 0; a[k] != '\0' && name[k] != '\0'; k++)
			if (a[k] != name[k] && !(a[k] == '_' && name[k] == '-'))
				break;
		if (a[k] == '\0' && name[k] == '\0')
			return &opt_defs[i];
	}
	return NULL;
}

/* Is this a config option name? */
bool
config_is_option(const char *name)
{
	return opt_find(name) != NULL;
}

/* The field an option writes. */
static void *
opt_field(struct config *cfg, const struct opt_def *d)
{
	return (char *)cfg + d->off;
}

/* Is this one of the list types (repeatable, a list in the file)? */
static bool
opt_is_list(const struct opt_def *d)
{
	return d->type >= OPT_ADDRS && d->type <= OPT_EXTERNAL;
}

/* Parse an integer within [min, max]. */
static int
parse_int(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0)
		return -EINVAL;
	if (n < min || n > max)
		return -ERANGE;
	*out = n;
	return 0;
}

/* Parse an integer option. */
static int
opt_set_int(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	long n = 0;
	int rc = parse_int(v, d->min, d->max, &n);

	if (rc == -EINVAL)
		return cfg_fail(cause, "%s: %s: '%s' is not an integer", where, d->name, v);
	if (rc == -ERANGE)
		return cfg_fail(cause, "%s: %s: %s is out of range %d-%d", where,
		    d->name, v, d->min, d->max);
	*(int *)opt_field(cfg, d) = (int)n;
	return 0;
}

/* Parse a boolean. */
static int
opt_set_bool(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	bool *b = opt_field(cfg, d);

	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
		*b = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
		*b = false;
	else
		return cfg_fail(cause, "%s: %s: '%s' is not true or false", where, d->name, v);
	return 0;
}

/* Pick one word of an enumeration. */
static int
opt_set_enum(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	int i;

	for (i = 0; d->names[i] != NULL; i++)
		if (strcasecmp(v, d->names[i]) == 0) {
			*(int *)opt_field(cfg, d) = i;
			return 0;
		}
	return cfg_fail(cause, "%s: %s: '%s' is not one of the accepted words (see "
	    "turnd.conf(5))", where, d->name, v);
}

/* Add an address to a list; ports are required off for OPT_IPS. */
static int
opt_add_addr(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	struct addr_list *l = opt_field(cfg, d);
	struct sockaddr_storage ss;
	bool ip_only = d->type == OPT_IPS;
	int defport = d->min > 0 ? d->min : CONFIG_DEFAULT_PORT;	/* OPT_ADDRS: min is the default port */

	if (addr_parse(v, ip_only ? 1 : defport, &ss) != 0 ||
	    (ip_only && addr_port((struct sockaddr *)&ss) != 1))
		return cfg_fail(cause, "%s: %s: '%s' is not %s", where, d->name, v,
		    ip_only ? "an IP address" : "an address[:port] (IPv6 as [::1]:3478)");
	if (ip_only)
		addr_set_port((struct sockaddr *)&ss, 0);
	if (l->n == CONFIG_MAX_ADDRS)
		return cfg_fail(cause, "%s: %s: more than %d addresses", where, d->name,
		    CONFIG_MAX_ADDRS);
	l->addr[l->n++] = ss;
	return 0;
}

/* Add a CIDR to a list. */
static int
opt_add_cidr(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	struct cidr_list *l = opt_field(cfg, d);

	if (l->n == POLICY_MAX_CIDRS)
		return cfg_fail(cause, "%s: %s: more than %d entries", where, d->name,
		    POLICY_MAX_CIDRS);
	if (cidr_parse(v, &l->cidr[l->n]) != 0)
		return cfg_fail(cause, "%s: %s: '%s' is not an address or CIDR", where,
		    d->name, v);
	l->n++;
	return 0;
}

/* Add a shared secret. */
static int
opt_add_secret(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	if (cfg->nsecrets == CONFIG_MAX_SECRETS)
		return cfg_fail(cause, "%s: %s: more than %d secrets", where, d->name,
		    CONFIG_MAX_SECRETS);
	if (v[0] == '\0')
		return cfg_fail(cause, "%s: %s: empty secret", where, d->name);
	cfg->secrets[cfg->nsecrets++] = xstrdup(v);
	return 0;
}

/* A new, empty user slot. */
static struct config_user *
config_user_new(struct config *cfg)
{
	struct config_user *u;

	cfg->users = xreallocarray(cfg->users, cfg->nusers + 1, sizeof(*cfg->users));
	u = &cfg->users[cfg->nusers++];
	memset(u, 0, sizeof(*u));
	return u;
}

/* Add a user given as NAME:PASSWORD (the password may itself hold colons). */
static int
opt_add_user(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	const char *colon = strchr(v, ':');
	struct config_user *u;

	if (colon == NULL || colon == v || colon[1] == '\0')
		return cfg_fail(cause, "%s: %s: expected NAME:PASSWORD", where, d->name);
	if ((size_t)(colon - v) > 513)
		return cfg_fail(cause, "%s: %s: name longer than 513 bytes", where, d->name);
	u = config_user_new(cfg);
	u->name = strndup(v, (size_t)(colon - v));
	if (u->name == NULL)
		fatal("strndup");
	u->password = xstrdup(colon + 1);
	return 0;
}

/* Add PUBLIC or PUBLIC/PRIVATE. */
static int
opt_add_external(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	struct external_map *m;
	char buf[128], *slash;

	if (cfg->nexternal == CONFIG_MAX_ADDRS || strlen(v) >= sizeof(buf))
		return cfg_fail(cause, "%s: %s: too many or too long", where, d->name);
	strcpy(buf, v);
	m = &cfg->external[cfg->nexternal];
	memset(m, 0, sizeof(*m));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (addr_parse(buf, 1, &m->public) != 0 ||
	    (slash != NULL && addr_parse(slash, 1, &m->private) != 0) ||
	    (slash != NULL && m->private.ss_family != m->public.ss_family))
		return cfg_fail(cause, "%s: %s: '%s' is not PUBLIC or PUBLIC/PRIVATE "
		    "(IP addresses of one family)", where, d->name, v);
	addr_set_port((struct sockaddr *)&m->public, 0);
	if (slash != NULL)
		addr_set_port((struct sockaddr *)&m->private, 0);
	cfg->nexternal++;
	return 0;
}

/* Parse MIN-MAX into relay_port_min and relay_port_max. */
static int
opt_set_portrange(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	char buf[32], *dash;
	long lo, hi;

	if (strlen(v) >= sizeof(buf))
		return cfg_fail(cause, "%s: %s: expected MIN-MAX", where, d->name);
	strcpy(buf, v);
	if ((dash = strchr(buf, '-')) == NULL)
		return cfg_fail(cause, "%s: %s: expected MIN-MAX", where, d->name);
	*dash++ = '\0';
	if (parse_int(buf, 1024, 65535, &lo) != 0 || parse_int(dash, 1024, 65535, &hi) != 0 ||
	    lo > hi || hi - lo < 1)
		return cfg_fail(cause, "%s: %s: '%s' is not MIN-MAX with 1024 <= MIN < MAX "
		    "<= 65535", where, d->name, v);
	cfg->relay_port_min = (int)lo;
	cfg->relay_port_max = (int)hi;
	return 0;
}

/* Set an option from its text form; where names file:line or the command line. */
static int
opt_set(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	char **s;

	switch (d->type) {
	case OPT_INT:
		return opt_set_int(cfg, d, v, where, cause);
	case OPT_BOOL:
		return opt_set_bool(cfg, d, v, where, cause);
	case OPT_ENUM:
		return opt_set_enum(cfg, d, v, where, cause);
	case OPT_STRING:
		if (strlen(v) > (size_t)d->max || strlen(v) < (size_t)d->min)
			return cfg_fail(cause, "%s: %s: must be %d to %d bytes long",
			    where, d->name, d->min, d->max);
		s = opt_field(cfg, d);
		free(*s);
		*s = xstrdup(v);
		return 0;
	case OPT_ADDRS:
	case OPT_IPS:
		return opt_add_addr(cfg, d, v, where, cause);
	case OPT_CIDRS:
		return opt_add_cidr(cfg, d, v, where, cause);
	case OPT_SECRETS:
		return opt_add_secret(cfg, d, v, where, cause);
	case OPT_USERS:
		return opt_add_user(cfg, d, v, where, cause);
	case OPT_EXTERNAL:
		return opt_add_external(cfg, d, v, where, cause);
	case OPT_PORTRANGE:
		return opt_set_portrange(cfg, d, v, where, cause);
	}
	return cfg_fail(cause, "%s: %s: bad option type", where, d->name);
}

/* Free one user's strings, wiping the password. */
static void
config_user_clear(struct config_user *u)
{
	free(u->name);
	if (u->password != NULL) {
		OPENSSL_cleanse(u->password, strlen(u->password));
		free(u->password);
	}
	OPENSSL_cleanse(u, sizeof(*u));
}

/* Empty a list option (the file or the first --flag replaces what came before). */
static void
opt_clear(struct config *cfg, const struct opt_def *d)
{
	unsigned i;

	switch (d->type) {
	case OPT_ADDRS:
	case OPT_IPS:
		((struct addr_list *)opt_field(cfg, d))->n = 0;
		break;
	case OPT_CIDRS:
		((struct cidr_list *)opt_field(cfg, d))->n = 0;
		break;
	case OPT_SECRETS:
		for (i = 0; i < cfg->nsecrets; i++) {
			OPENSSL_cleanse(cfg->secrets[i], strlen(cfg->secrets[i]));
			free(cfg->secrets[i]);
		}
		cfg->nsecrets = 0;
		break;
	case OPT_USERS:
		for (i = 0; i < cfg->nusers; i++)
			config_user_clear(&cfg->users[i]);
		free(cfg->users);
		cfg->users = NULL;
		cfg->nusers = 0;
		break;
	case OPT_EXTERNAL:
		cfg->nexternal = 0;
		break;
	default:
		break;
	}
}

/* Fill every option with its default; list defaults are space-separated. */
static void
opt_defaults(struct config *cfg)
{
	char *cause = NULL, *list, *tok, *save = NULL;
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		const struct opt_def *d = &opt_defs[i];

		if (!opt_is_list(d)) {
			if (opt_set(cfg, d, d->def, "default", &cause) != 0)
				fatalx("%s", cause);
			continue;
		}
		list = xstrdup(d->def);
		for (tok = strtok_r(list, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			if (opt_set(cfg, d, tok, "default", &cause) != 0)
				fatalx("%s", cause);
		free(list);
	}
}

/* Render a scalar libconfig setting as text for opt_set, checking its type. */
static int
opt_from_setting(config_setting_t *s, const struct opt_def *d, char *buf,
    size_t len, const char **out)
{
	int t = config_setting_type(s);

	switch (d->type) {
	case OPT_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			return -1;
		snprintf(buf, len, "%lld", config_setting_get_int64(s));
		*out = buf;
		return 0;
	case OPT_BOOL:
		if (t != CONFIG_TYPE_BOOL)
			return -1;
		*out = config_setting_get_bool(s) ? "true" : "false";
		return 0;
	default:
		if (t != CONFIG_TYPE_STRING)
			return -1;
		*out = config_setting_get_string(s);
		return 0;
	}
}

/* The type a file must use for an option, for error messages. */
static const char *
opt_type_name(const struct opt_def *d)
{
	switch (d->type) {
	case OPT_INT: return "an integer";
	case OPT_BOOL: return "true or false";
	case OPT_USERS: return "a list of \"NAME:PASSWORD\" strings or { name = ...; } groups";
	default: return opt_is_list(d) ? "a string or a list of strings" : "a string";
	}
}

/* Decode exactly n bytes of hex. */
static int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strncmp(s, "0x", 2) == 0)
		s += 2;
	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A user given as a group: name, and password or stored keys. */
static int
opt_add_user_group(struct config *cfg, const struct opt_def *d, config_setting_t *g,
    const char *where, char **cause)
{
	const char *name = NULL, *pw = NULL, *md5 = NULL, *sha = NULL;
	struct config_user *u;

	config_setting_lookup_string(g, "name", &name);
	config_setting_lookup_string(g, "password", &pw);
	config_setting_lookup_string(g, "md5_key", &md5);
	config_setting_lookup_string(g, "sha256_key", &sha);
	if (name == NULL || name[0] == '\0' || strlen(name) > 513)
		return cfg_fail(cause, "%s: %s: each user needs a name (at most 513 bytes)",
		    where, d->name);
	if ((pw == NULL) == (md5 == NULL && sha == NULL))
		return cfg_fail(cause, "%s: %s: user '%s' needs a password, or md5_key "
		    "and/or sha256_key, not both", where, d->name, name);
	u = config_user_new(cfg);
	u->name = xstrdup(name);
	u->password = pw != NULL ? xstrdup(pw) : NULL;
	if (md5 != NULL && hex_decode(md5, u->md5_key, 16) != 0)
		return cfg_fail(cause, "%s: %s: user '%s': md5_key is not 32 hex digits",
		    where, d->name, name);
	if (sha != NULL && hex_decode(sha, u->sha256_key, 32) != 0)
		return cfg_fail(cause, "%s: %s: user '%s': sha256_key is not 64 hex digits",
		    where, d->name, name);
	u->has_md5_key = md5 != NULL;
	u->has_sha256_key = sha != NULL;
	return 0;
}

/* Apply each element of a list setting. */
static int
opt_apply_list(struct config *cfg, const struct opt_def *d, config_setting_t *s,
    const char *where, char **cause)
{
	int i, n = config_setting_length(s);

	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char ewhere[512];

		snprintf(ewhere, sizeof(ewhere), "%s:%d", config_setting_source_file(e),
		    config_setting_source_line(e));
		if (d->type == OPT_USERS && config_setting_is_group(e)) {
			if (opt_add_user_group(cfg, d, e, ewhere, cause) != 0)
				return -1;
			continue;
		}
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return cfg_fail(cause, "%s: %s: takes %s", ewhere, d->name,
			    opt_type_name(d));
		if (opt_set(cfg, d, config_setting_get_string(e), ewhere, cause) != 0)
			return -1;
	}
	return 0;
}

/* Apply one top-level setting from the file. */
static int
config_apply_setting(struct config *cfg, config_setting_t *s, char **cause)
{
	const struct opt_def *d;
	const char *name = config_setting_name(s), *text;
	char where[512], buf[32];

	snprintf(where, sizeof(where), "%s:%d", config_setting_source_file(s),
	    config_setting_source_line(s));
	if (name == NULL || (d = opt_find(name)) == NULL || strchr(name, '-') != NULL)
		return cfg_fail(cause, "%s: unknown option '%s'", where,
		    name != NULL ? name : "?");
	if (opt_is_list(d))
		opt_clear(cfg, d);
	if (opt_is_list(d) && (config_setting_is_array(s) || config_setting_is_list(s)))
		return opt_apply_list(cfg, d, s, where, cause);
	if (opt_from_setting(s, d, buf, sizeof(buf), &text) != 0)
		return cfg_fail(cause, "%s: %s: takes %s", where, d->name, opt_type_name(d));
	return opt_set(cfg, d, text, where, cause);
}

/* Read the file and apply every setting in it. */
static int
cfg_read_file(struct config *cfg, const char *path, char **cause)
{
	config_setting_t *root;
	config_t lc;
	int i, n, rc = 0;

	config_init(&lc);
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			rc = cfg_fail(cause, "%s: cannot read: %s", path, strerror(errno));
		else
			rc = cfg_fail(cause, "%s:%d: %s", config_error_file(&lc) ?
			    config_error_file(&lc) : path, config_error_line(&lc),
			    config_error_text(&lc));
		goto out;
	}
	root = config_root_setting(&lc);
	n = config_setting_length(root);
	for (i = 0; i < n && rc == 0; i++)
		rc = config_apply_setting(cfg, config_setting_get_elem(root, (unsigned)i),
		    cause);
out:
	config_destroy(&lc);
	return rc;
}

/* Apply the command-line options, which override the file. */
static int
config_apply_args(struct config *cfg, const struct config_arg *args,
    unsigned nargs, char **cause)
{
	bool seen[NOPTS] = { false };
	const struct opt_def *d;
	char where[300];
	unsigned i;

	for (i = 0; i < nargs; i++) {
		snprintf(where, sizeof(where), "command line: --%s", args[i].name);
		if ((d = opt_find(args[i].name)) == NULL)
			return cfg_fail(cause, "%s: unknown option", where);
		/* The first --flag of a list replaces the file's list; later ones add. */
		if (opt_is_list(d) && !seen[d - opt_defs]) {
			opt_clear(cfg, d);
			seen[d - opt_defs] = true;
		}
		if (opt_set(cfg, d, args[i].value, "command line", cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * RFC 5780 needs two concrete IPs of one family: the alternate one, and
 * the first listen address of that family as the primary. The four
 * IP x port combinations are served over UDP.
 */
static int
config_derive_5780(struct config *cfg, const char *where, char **cause)
{
	const struct sockaddr *alt, *l = NULL;
	uint16_t port, altport;
	unsigned i;

	if (cfg->alternate_address.n == 0)
		return 0;
	if (cfg->alternate_address.n > 1)
		return cfg_fail(cause, "%s: alternate_address takes one address", where);
	alt = (const struct sockaddr *)&cfg->alternate_address.addr[0];
	for (i = 0; i < cfg->listen.n; i++) {
		l = (const struct sockaddr *)&cfg->listen.addr[i];
		if (l->sa_family == alt->sa_family && !addr_is_any(l))
			break;
	}
	if (i == cfg->listen.n)
		return cfg_fail(cause, "%s: alternate_address needs a listen address of "
		    "its family that is not a wildcard, as the primary", where);
	port = addr_port(l);
	altport = cfg->alternate_port != 0 ? (uint16_t)cfg->alternate_port : (uint16_t)(port + 1);
	if (altport == port || altport == 0)
		return cfg_fail(cause, "%s: alternate_port must differ from the primary "
		    "port %u", where, port);
	memcpy(&cfg->nat_addr[0][0], l, addr_len(l));
	memcpy(&cfg->nat_addr[0][1], l, addr_len(l));
	addr_set_port((struct sockaddr *)&cfg->nat_addr[0][1], altport);
	memcpy(&cfg->nat_addr[1][0], alt, addr_len(alt));
	addr_set_port((struct sockaddr *)&cfg->nat_addr[1][0], port);
	memcpy(&cfg->nat_addr[1][1], alt, addr_len(alt));
	addr_set_port((struct sockaddr *)&cfg->nat_addr[1][1], altport);
	cfg->rfc5780 = true;
	return 0;
}

/* Would two TCP listeners on these addresses fight over the port? */
static bool
tcp_collide(const struct sockaddr *a, const struct sockaddr *b)
{
	return a->sa_family == b->sa_family && addr_port(a) == addr_port(b) &&
	    (addr_equal(a, b) || addr_is_any(a) || addr_is_any(b));
}

/*
 * The TCP listeners (listen when tcp is on, tls_listen, metrics_listen) must
 * not share an address and port: the second bind would fail at start with
 * "Address already in use", which reads as if another program held it.
 */
static int
config_check_tcp_overlap(const struct config *cfg, const char *where, char **cause)
{
	const struct { const char *name; const struct addr_list *l; } lists[] = {
		{ "listen", cfg->tcp ? &cfg->listen : NULL },
		{ "tls_listen", &cfg->tls_listen },
		{ "metrics_listen", &cfg->metrics_listen },
	};
	char x[ADDR_STRLEN], y[ADDR_STRLEN];
	unsigned i, j, a, b;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			for (a = 0; lists[i].l != NULL && a < lists[i].l->n; a++)
				for (b = 0; b < lists[j].l->n; b++) {
					const struct sockaddr *sa = (const struct sockaddr *)
					    &lists[i].l->addr[a];
					const struct sockaddr *sb = (const struct sockaddr *)
					    &lists[j].l->addr[b];
					if (tcp_collide(sa, sb))
						return cfg_fail(cause, "%s: %s %s and %s %s "
						    "would share a TCP port", where,
						    lists[i].name, addr_fmt(sa, x, sizeof(x)),
						    lists[j].name, addr_fmt(sb, y, sizeof(y)));
				}
	return 0;
}

/* Checks across options, once everything is read. */
static int
config_validate(struct config *cfg, const char *path, char **cause)
{
	const char *where = path != NULL ? path : "configuration";

	unsigned i;

	if (cfg->listen.n == 0)
		return cfg_fail(cause, "%s: no listen address", where);
	if (!cfg->udp && !cfg->tcp && cfg->tls_listen.n == 0)
		return cfg_fail(cause, "%s: udp and tcp are both false and there is no "
		    "tls_listen: nothing to serve", where);
	if (cfg->tls_listen.n > 0 && (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0'))
		return cfg_fail(cause, "%s: tls_listen needs tls_cert and tls_key", where);
	if (config_check_tcp_overlap(cfg, where, cause) != 0)
		return -1;
	for (i = 0; i < cfg->relay_ip.n; i++)
		if (addr_is_any((const struct sockaddr *)&cfg->relay_ip.addr[i]))
			return cfg_fail(cause, "%s: relay_ip must be a specific address, "
			    "not a wildcard (it is advertised to clients)", where);
	if (cfg->allocation_lifetime > cfg->max_allocation_lifetime)
		return cfg_fail(cause, "%s: allocation_lifetime (%d) exceeds "
		    "max_allocation_lifetime (%d)", where, cfg->allocation_lifetime,
		    cfg->max_allocation_lifetime);
	/* A USERHASH cannot be reversed to a minted shared-secret username. */
	if (cfg->userhash && cfg->nsecrets > 0)
		return cfg_fail(cause, "%s: userhash cannot be offered in a realm with "
		    "shared secrets; set userhash = false or remove the secrets", where);
	return config_derive_5780(cfg, where, cause);
}

/* Build the snapshot: defaults, then the file (if any), then the command line. */
struct config *
config_load(const char *path, const struct config_arg *args, unsigned nargs,
    char **cause)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	*cause = NULL;
	opt_defaults(cfg);
	if ((path != NULL && cfg_read_file(cfg, path, cause) != 0) ||
	    config_apply_args(cfg, args, nargs, cause) != 0 ||
	    config_validate(cfg, path, cause) != 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Free a snapshot, wiping secrets. */
void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NOPTS; i++)
		opt_clear(cfg, &opt_defs[i]);
	free(cfg->software);
	free(cfg->realm);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->run_as);
	free(cfg);
}

/* Does this option hold the same value in both snapshots? */
static bool
opt_same(const struct config *a, const struct config *b, const struct opt_def *d)
{
	const void *fa = (const char *)a + d->off, *fb = (const char *)b + d->off;
	const struct addr_list *la = fa, *lb = fb;
	const struct cidr_list *ca = fa, *cb = fb;

	switch (d->type) {
	case OPT_INT:
	case OPT_ENUM:
		return *(const int *)fa == *(const int *)fb;
	case OPT_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case OPT_STRING:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case OPT_ADDRS:
	case OPT_IPS:
		return la->n == lb->n && memcmp(la->addr, lb->addr, la->n * sizeof(la->addr[0])) == 0;
	case OPT_CIDRS:
		return ca->n == cb->n && memcmp(ca->cidr, cb->cidr, ca->n * sizeof(ca->cidr[0])) == 0;
	case OPT_EXTERNAL:
		return a->nexternal == b->nexternal && memcmp(a->external, b->external,
		    a->nexternal * sizeof(a->external[0])) == 0;
	case OPT_PORTRANGE:
		return a->relay_port_min == b->relay_port_min &&
		    a->relay_port_max == b->relay_port_max;
	case OPT_USERS:
	case OPT_SECRETS:
		return false;	/* reloadable: never compared */
	}
	return false;
}

/*
 * A reload (SIGHUP) applies only the options marked reload; say which of
 * the others changed, so that nobody waits for an effect that needs a
 * restart. Returns how many.
 */
unsigned
config_log_unreloaded(const struct config *running, const struct config *next)
{
	unsigned i, n = 0;

	for (i = 0; i < NOPTS; i++)
		if (!opt_defs[i].reload && !opt_same(running, next, &opt_defs[i])) {
			log_warnx("reload: %s changed; it takes effect at the next restart",
			    opt_defs[i].name);
			n++;
		}
	return n;
}

/* Print every option with its default and help, for -h. */
void
config_print_help(FILE *f)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-24s %s%s%s%s\n", opt_defs[i].name, opt_defs[i].help,
		    opt_defs[i].def[0] ? " (default: " : "", opt_defs[i].def,
		    opt_defs[i].def[0] ? ")" : "");
}
