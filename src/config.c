/* config.c: one option table -> libconfig read -> command-line overrides -> a validated snapshot. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

enum opt_type { OPT_INT, OPT_BOOL, OPT_STRING, OPT_LEVEL, OPT_ADDRS };

/* One option: its name in the file and on the command line, its type, range, default and help. */
struct opt_def {
	const char	*name;
	enum opt_type	 type;
	size_t		 off;
	int		 min;
	int		 max;
	const char	*def;
	const char	*help;
};

#define OFF(f)	offsetof(struct config, f)

static const struct opt_def opt_defs[] = {
	{ "listen", OPT_ADDRS, OFF(listen), 0, 0, "0.0.0.0:3478 [::]:3478",
	  "address[:port] to listen on, UDP and TCP (repeatable; IPv6 as [::1]:3478)" },
	{ "workers", OPT_INT, OFF(workers), 0, 256, "0",
	  "worker threads; 0 runs one per CPU the process may use" },
	{ "udp", OPT_BOOL, OFF(udp), 0, 0, "true", "serve UDP on the listen addresses" },
	{ "tcp", OPT_BOOL, OFF(tcp), 0, 0, "true", "serve TCP on the listen addresses" },
	{ "software", OPT_STRING, OFF(software), 0, 763, PACKAGE_NAME " " PACKAGE_VERSION,
	  "SOFTWARE attribute in responses; empty to send none" },
	{ "rfc3489", OPT_BOOL, OFF(rfc3489), 0, 0, "true",
	  "answer classic RFC 3489 Binding requests (no magic cookie) with MAPPED-ADDRESS" },
	{ "mapped_address", OPT_BOOL, OFF(mapped_address), 0, 0, "false",
	  "add MAPPED-ADDRESS to RFC 5389/8489 Binding responses, for old clients" },
	{ "max_frame", OPT_INT, OFF(max_frame), 24, 65540, "8192",
	  "largest message accepted on a TCP connection, in bytes; larger closes it" },
	{ "tcp_idle_timeout", OPT_INT, OFF(tcp_idle_timeout), 1, 86400, "300",
	  "seconds a TCP connection may stay silent before it is closed" },
	{ "log_level", OPT_LEVEL, OFF(log_level), 0, 0, "info",
	  "error, warning, info or debug" },
	{ "syslog", OPT_BOOL, OFF(syslog), 0, 0, "false",
	  "log to syslog (daemon facility) instead of stderr" },
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

/* Parse an integer within the option's range. */
static int
opt_set_int(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0)
		return cfg_fail(cause, "%s: %s: '%s' is not an integer", where,
		    d->name, v);
	if (n < d->min || n > d->max)
		return cfg_fail(cause, "%s: %s: %ld is out of range %d-%d",
		    where, d->name, n, d->min, d->max);
	*(int *)((char *)cfg + d->off) = (int)n;
	return 0;
}

/* Parse a boolean. */
static int
opt_set_bool(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	bool *b = (bool *)((char *)cfg + d->off);

	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcmp(v, "1") == 0)
		*b = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcmp(v, "0") == 0)
		*b = false;
	else
		return cfg_fail(cause, "%s: %s: '%s' is not true or false",
		    where, d->name, v);
	return 0;
}

/* Add one listen address. */
static int
opt_add_addr(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	struct sockaddr_storage ss;

	if (addr_parse(v, CONFIG_DEFAULT_PORT, &ss) != 0)
		return cfg_fail(cause, "%s: %s: '%s' is not an address[:port]"
		    " (IPv6 as [::1]:3478)", where, d->name, v);
	if (cfg->nlisten == CONFIG_MAX_LISTEN)
		return cfg_fail(cause, "%s: %s: more than %d addresses", where,
		    d->name, CONFIG_MAX_LISTEN);
	cfg->listen[cfg->nlisten++] = ss;
	return 0;
}

/* Set an option from its text form; where names file:line or the command line. */
static int
opt_set(struct config *cfg, const struct opt_def *d, const char *v,
    const char *where, char **cause)
{
	char **s;
	int level;

	switch (d->type) {
	case OPT_INT:
		return opt_set_int(cfg, d, v, where, cause);
	case OPT_BOOL:
		return opt_set_bool(cfg, d, v, where, cause);
	case OPT_STRING:
		if (strlen(v) > (size_t)d->max)
			return cfg_fail(cause, "%s: %s: longer than %d bytes",
			    where, d->name, d->max);
		s = (char **)((char *)cfg + d->off);
		free(*s);
		*s = xstrdup(v);
		return 0;
	case OPT_LEVEL:
		if ((level = log_level_parse(v)) < 0)
			return cfg_fail(cause, "%s: %s: '%s' is not error, "
			    "warning, info or debug", where, d->name, v);
		*(int *)((char *)cfg + d->off) = level;
		return 0;
	case OPT_ADDRS:
		return opt_add_addr(cfg, d, v, where, cause);
	}
	return cfg_fail(cause, "%s: %s: bad option type", where, d->name);
}

/* Fill every option with its default. */
static void
opt_defaults(struct config *cfg)
{
	char *cause = NULL, *list, *tok, *save = NULL;
	size_t i;

	for (i = 0; i < NOPTS; i++) {
		const struct opt_def *d = &opt_defs[i];

		if (d->type != OPT_ADDRS) {
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

/* Render a scalar libconfig setting as text for config_set, checking its type. */
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
	case OPT_ADDRS: return "a string or a list of strings";
	default: return "a string";
	}
}

/* Apply one top-level setting from the file. */
static int
config_apply_setting(struct config *cfg, config_setting_t *s, char **cause)
{
	const struct opt_def *d;
	const char *name = config_setting_name(s), *text;
	char where[512], buf[32];
	int i, n;

	snprintf(where, sizeof(where), "%s:%d", config_setting_source_file(s),
	    config_setting_source_line(s));
	if (name == NULL || (d = opt_find(name)) == NULL ||
	    strchr(name, '-') != NULL)
		return cfg_fail(cause, "%s: unknown option '%s'", where,
		    name != NULL ? name : "?");
	if (d->type == OPT_ADDRS && (config_setting_is_array(s) ||
	    config_setting_is_list(s))) {
		cfg->nlisten = 0;
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING)
				return cfg_fail(cause, "%s: %s: takes %s", where,
				    d->name, opt_type_name(d));
			if (opt_set(cfg, d, config_setting_get_string(e), where,
			    cause) != 0)
				return -1;
		}
		return 0;
	}
	if (opt_from_setting(s, d, buf, sizeof(buf), &text) != 0)
		return cfg_fail(cause, "%s: %s: takes %s", where, d->name,
		    opt_type_name(d));
	if (d->type == OPT_ADDRS)
		cfg->nlisten = 0;
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
			rc = cfg_fail(cause, "%s: cannot read: %s", path,
			    strerror(errno));
		else
			rc = cfg_fail(cause, "%s:%d: %s", config_error_file(&lc) ?
			    config_error_file(&lc) : path, config_error_line(&lc),
			    config_error_text(&lc));
		goto out;
	}
	root = config_root_setting(&lc);
	n = config_setting_length(root);
	for (i = 0; i < n && rc == 0; i++)
		rc = config_apply_setting(cfg, config_setting_get_elem(root,
		    (unsigned)i), cause);
out:
	config_destroy(&lc);
	return rc;
}

/* Apply the command-line options, which override the file. */
static int
config_apply_args(struct config *cfg, const struct config_arg *args,
    unsigned nargs, char **cause)
{
	const struct opt_def *d;
	bool listen_seen = false;
	char where[300];
	unsigned i;

	for (i = 0; i < nargs; i++) {
		snprintf(where, sizeof(where), "command line: --%s", args[i].name);
		if ((d = opt_find(args[i].name)) == NULL)
			return cfg_fail(cause, "%s: unknown option", where);
		/* The first --listen replaces the file's list; later ones add. */
		if (d->type == OPT_ADDRS && !listen_seen) {
			cfg->nlisten = 0;
			listen_seen = true;
		}
		if (opt_set(cfg, d, args[i].value, "command line", cause) != 0)
			return -1;
	}
	return 0;
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
	    config_apply_args(cfg, args, nargs, cause) != 0) {
		config_free(cfg);
		return NULL;
	}
	if (cfg->nlisten == 0) {
		cfg_fail(cause, "%s: no listen address", path ? path : "config");
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Free a snapshot. */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->software);
	free(cfg);
}

/* Print every option with its default and help, for -h. */
void
config_print_help(FILE *f)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-18s %s (default: %s)\n", opt_defs[i].name,
		    opt_defs[i].help, opt_defs[i].def);
}
