/* config.h: the configuration snapshot, read from a libconfig file and the command line. */
#ifndef MINIRTC_CONFIG_H
#define MINIRTC_CONFIG_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define CONFIG_MAX_ADDRS	32
#define CONFIG_MAX_SECRETS	8
#define CONFIG_DEFAULT_PORT	3478
#define CONFIG_DEFAULT_TLS_PORT	5349
#define CONFIG_DEFAULT_METRICS_PORT	9641

struct addr_list {
	struct sockaddr_storage	 addr[CONFIG_MAX_ADDRS];
	unsigned		 n;
};

struct cidr_list {
	struct cidr		 cidr[POLICY_MAX_CIDRS];
	unsigned		 n;
};

/* An advertised address for a relay address behind 1:1 NAT; private is AF_UNSPEC for "any of its family". */
struct external_map {
	struct sockaddr_storage	 public;
	struct sockaddr_storage	 private;
};

/* A long-term credential: a password, or keys stored for one realm and algorithm. */
struct config_user {
	char		*name;
	char		*password;	/* NULL when only keys are stored */
	bool		 has_md5_key;
	bool		 has_sha256_key;
	uint8_t		 md5_key[16];
	uint8_t		 sha256_key[32];
};

/* Built once, then read-only: workers hold a const pointer to it. */
struct config {
	struct addr_list	 listen;
	int			 workers;	/* 0: one per CPU we may run on */
	bool			 udp;
	bool			 tcp;
	struct addr_list	 tls_listen;	/* TURN over TLS (TCP streams once decrypted) */
	char			*tls_cert;	/* "" when unset */
	char			*tls_key;
	char			*software;	/* "" sends no SOFTWARE */
	bool			 rfc3489;
	bool			 mapped_address;
	int			 max_frame;
	int			 tcp_idle_timeout;
	int			 tls_handshake_timeout;
	int			 max_connections;	/* TCP + TLS at once; 0: no limit */
	int			 log_level;
	bool			 syslog;
	char			*run_as;	/* "" or USER[:GROUP] */
	bool			 allocation_log;	/* one line per ended allocation */
	struct addr_list	 metrics_listen;	/* GET /metrics; none: off */
	/* TURN */
	char			*realm;
	struct config_user	*users;
	unsigned		 nusers;
	char			*secrets[CONFIG_MAX_SECRETS];
	unsigned		 nsecrets;
	int			 secret_algorithm;	/* 0: HMAC-SHA1, 1: HMAC-SHA256 */
	bool			 userhash;
	int			 nonce_lifetime;
	struct addr_list	 relay_ip;
	struct external_map	 external[CONFIG_MAX_ADDRS];
	unsigned		 nexternal;
	int			 relay_port_min;
	int			 relay_port_max;
	struct cidr_list	 allow_peer;
	struct cidr_list	 deny_peer;
	int			 allocation_lifetime;
	int			 max_allocation_lifetime;
	int			 user_quota;
	int			 total_quota;
	int			 max_permissions;
	int			 bandwidth;	/* bytes per second per allocation; 0: unlimited */
	bool			 strict_channels;
	bool			 udp_gso;
	int			 udp_buffer;
	int			 relay_buffer;
	/* RFC 5780 */
	struct addr_list	 alternate_address;	/* at most one IP */
	int			 alternate_port;	/* 0: the primary port + 1 */
	/* Derived when alternate_address is set: the four UDP addresses of
	 * NAT behaviour discovery, [primary/alternate IP][primary/alternate port]. */
	bool			 rfc5780;
	struct sockaddr_storage	 nat_addr[2][2];
};

struct config_arg {
	const char	*name;	/* option name, without the leading "--" */
	const char	*value;
};

struct config	*config_load(const char *, const struct config_arg *, unsigned,
		    char **);
void		 config_free(struct config *);
bool		 config_is_option(const char *);
void		 config_print_help(FILE *);
unsigned	 config_log_unreloaded(const struct config *, const struct config *);

#endif
