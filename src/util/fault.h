/*
 * Test-only fault injection: when SUTURE_TEST_FAULT names a point, suture
 * kills itself with SIGKILL on reaching it, so the test suite can check that
 * a patcher dying at any step leaves the target running and recoverable.
 */
#ifndef SUTURE_FAULT_H
#define SUTURE_FAULT_H

void fault_point(const char *name);

#endif
