/* check_config.c: the option table, file errors with file:line, and command-line overrides. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "check_run.h"

START_TEST(test_defaults)
{
	char *cause = NULL;
	struct config *cfg = config_load(NULL, NULL, 0, &cause);
	char a[ADDR_STRLEN];

	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->listen.n, 2);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&cfg->listen.addr[0], a, sizeof(a)), "0.0.0.0:3478");
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&cfg->listen.addr[1], a, sizeof(a)), "[::]:3478");
	ck_assert(cfg->udp && cfg->tcp && cfg->rfc3489 && !cfg->mapped_address);
	ck_assert_int_eq(cfg->workers, 0);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	config_free(cfg);
}
END_TEST

START_TEST(test_good_file_and_overrides)
{
	static const struct config_arg args[] = {
		{ "listen", "127.0.0.2" }, { "listen", "[::1]:7000" }, { "max-frame", "2048" },
	};
	char *cause = NULL, a[ADDR_STRLEN];
	struct config *cfg = config_load(TEST_DATA "/good.conf", NULL, 0, &cause);

	ck_assert_msg(cfg != NULL, "%s", cause);
	ck_assert_uint_eq(cfg->listen.n, 2);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&cfg->listen.addr[1], a, sizeof(a)), "[::1]:5001");
	ck_assert_int_eq(cfg->workers, 2);
	ck_assert_str_eq(cfg->software, "test server");
	ck_assert(!cfg->tcp);
	ck_assert_int_eq(cfg->max_frame, 1024);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	config_free(cfg);
	/* The command line beats the file; the first --listen replaces the file's list. */
	cfg = config_load(TEST_DATA "/good.conf", args, 3, &cause);
	ck_assert_msg(cfg != NULL, "%s", cause);
	ck_assert_uint_eq(cfg->listen.n, 2);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&cfg->listen.addr[0], a, sizeof(a)), "127.0.0.2:3478");
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&cfg->listen.addr[1], a, sizeof(a)), "[::1]:7000");
	ck_assert_int_eq(cfg->max_frame, 2048);
	ck_assert_int_eq(cfg->workers, 2);
	config_free(cfg);
}
END_TEST

/* Loading this file must fail with a message that starts with want. */
static void
expect_file_error(const char *file, const char *want)
{
	char path[512], *cause = NULL;
	struct config *cfg;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA, file);
	cfg = config_load(path, NULL, 0, &cause);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "'%s' lacks '%s'", cause, want);
	free(cause);
}

START_TEST(test_file_errors_name_file_and_line)
{
	expect_file_error("unknown.conf", "unknown.conf:3: unknown option 'no_such_option'");
	expect_file_error("badtype.conf", "badtype.conf:1: workers: takes an integer");
	expect_file_error("badport.conf", "badport.conf:4: listen: '127.0.0.1:70000' is not");
	expect_file_error("syntax.conf", "syntax.conf:2:");
	expect_file_error("range.conf", "range.conf:3: max_frame: 10 is out of range");
	expect_file_error("missing.conf", "cannot read");
}
END_TEST

START_TEST(test_command_line_errors)
{
	static const struct config_arg bad_bool[] = { { "tcp", "maybe" } };
	static const struct config_arg bad_addr[] = { { "listen", "[::1" } };
	static const struct config_arg bad_int[] = { { "workers", "9999" } };
	static const struct config_arg unknown[] = { { "bogus", "1" } };
	char *cause = NULL;

	ck_assert_ptr_null(config_load(NULL, bad_bool, 1, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "command line: tcp: 'maybe' is not true or false"));
	free(cause);
	ck_assert_ptr_null(config_load(NULL, bad_addr, 1, &cause));
	free(cause);
	ck_assert_ptr_null(config_load(NULL, bad_int, 1, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "out of range"));
	free(cause);
	ck_assert_ptr_null(config_load(NULL, unknown, 1, &cause));
	free(cause);
	ck_assert(config_is_option("max-frame"));
	ck_assert(!config_is_option("max_frames"));
}
END_TEST

/* TCP listeners may not share a port; a UDP-only listen address may share one with TLS. */
START_TEST(test_tcp_listener_overlap)
{
	static const struct config_arg tls_same[] = { { "listen", "127.0.0.1:4000" },
	    { "tls_listen", "127.0.0.1:4000" }, { "tls_cert", "c" }, { "tls_key", "k" } };
	static const struct config_arg metrics_wild[] = { { "listen", "0.0.0.0:4000" },
	    { "metrics_listen", "127.0.0.1:4000" } };
	static const struct config_arg udp_only[] = { { "listen", "127.0.0.1:4000" },
	    { "tcp", "false" }, { "tls_listen", "127.0.0.1:4000" }, { "tls_cert", "c" },
	    { "tls_key", "k" } };
	static const struct config_arg other_family[] = { { "listen", "[::]:4000" },
	    { "metrics_listen", "127.0.0.1:4000" } };
	static const struct config_arg tls_default_port[] = { { "listen", "127.0.0.1:5349" },
	    { "tls_listen", "127.0.0.1" }, { "tls_cert", "c" }, { "tls_key", "k" } };
	struct config *cfg;
	char *cause = NULL;

	ck_assert_ptr_null(config_load(NULL, tls_same, 4, &cause));
	ck_assert_msg(strstr(cause, "listen 127.0.0.1:4000 and tls_listen 127.0.0.1:4000 would "
	    "share a TCP port") != NULL, "%s", cause);
	free(cause);
	ck_assert_ptr_null(config_load(NULL, metrics_wild, 2, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "metrics_listen 127.0.0.1:4000"));
	free(cause);
	ck_assert_ptr_null(config_load(NULL, tls_default_port, 4, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "tls_listen 127.0.0.1:5349"));
	free(cause);
	cfg = config_load(NULL, udp_only, 5, &cause);
	ck_assert_msg(cfg != NULL, "%s", cause);
	config_free(cfg);
	cfg = config_load(NULL, other_family, 2, &cause);
	ck_assert_msg(cfg != NULL, "%s", cause);
	config_free(cfg);
}
END_TEST

START_TEST(test_addr_parse)
{
	struct sockaddr_storage ss;
	char a[ADDR_STRLEN];

	ck_assert_int_eq(addr_parse("[::1]:3478", 1, &ss), 0);
	ck_assert_str_eq(addr_fmt((struct sockaddr *)&ss, a, sizeof(a)), "[::1]:3478");
	ck_assert_int_eq(addr_parse("::1", 99, &ss), 0);
	ck_assert_uint_eq(addr_port((struct sockaddr *)&ss), 99);
	ck_assert_int_eq(addr_parse("10.1.2.3:0", 1, &ss), -22);
	ck_assert_int_eq(addr_parse("10.1.2.3:", 1, &ss), -22);
	ck_assert_int_eq(addr_parse("example.org", 1, &ss), -22);
	ck_assert_int_eq(addr_parse("[::1]x", 1, &ss), -22);
	ck_assert_int_eq(addr_parse("", 1, &ss), -22);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file_and_overrides);
	tcase_add_test(tc, test_file_errors_name_file_and_line);
	tcase_add_test(tc, test_command_line_errors);
	tcase_add_test(tc, test_addr_parse);
	tcase_add_test(tc, test_tcp_listener_overlap);
	suite_add_tcase(s, tc);
	return check_run(s);
}
