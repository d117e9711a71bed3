/* check_run.h: run one Check suite and turn its result into the exit status automake expects. */
#ifndef MINIRTC_CHECK_RUN_H
#define MINIRTC_CHECK_RUN_H

#include <check.h>

/* Run every test of s; 0 when all passed. */
static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
