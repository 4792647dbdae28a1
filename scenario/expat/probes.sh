# What each of Debian's expat security fixes changes, as requests to the
# scenario's processes and the results expected before and after the fix.
# Sourced by run.sh.  A CVE that is not listed here still goes through
# suture build, apply and the test-suite oracle; it only has no behaviour
# check.
#
# PROBE_C[CVE]       request to the C driver (driver.c)
# PROBE_PY[CVE]      request to the python3 worker (worker.py)
# VULNERABLE_RE[CVE] regular expression the vulnerable result matches
# FIXED_RE[CVE]      regular expression the fixed result matches
# PROBE_NOTE[CVE]    what the probe shows, for the results table
declare -A PROBE_C PROBE_PY VULNERABLE_RE FIXED_RE PROBE_NOTE

# A negative length moved the buffer end before its start; the fix rejects it
# with XML_ERROR_INVALID_ARGUMENT (41).  pyexpat never passes a negative length.
PROBE_C[CVE-2024-45490]="negative-len"
VULNERABLE_RE[CVE-2024-45490]="status=1 error=0"
FIXED_RE[CVE-2024-45490]="status=0 error=41"
PROBE_NOTE[CVE-2024-45490]="XML_ParseBuffer(len=-1): accepted before, XML_ERROR_INVALID_ARGUMENT after"

# The fix adds an overflow check to dtdCopy under #if UINT_MAX >= SIZE_MAX,
# which is false on x86-64: only a 32-bit build changes.  The probe runs the
# code path (an external entity parser copies the DTD) and expects the same
# result before and after.
PROBE_C[CVE-2024-45491]="copy-dtd"
PROBE_PY[CVE-2024-45491]="copy-dtd"
VULNERABLE_RE[CVE-2024-45491]="status=1 error=0 .*external-parser=parsed"
FIXED_RE[CVE-2024-45491]="status=1 error=0 .*external-parser=parsed"
PROBE_NOTE[CVE-2024-45491]="dtdCopy runs the same on x86-64; the overflow needs a 32-bit size_t"

# Same pattern for nextScaffoldPart: the overflow check compiles only on
# 32-bit, and the probe builds content models before and after.
PROBE_C[CVE-2024-45492]="scaffold"
PROBE_PY[CVE-2024-45492]="scaffold"
VULNERABLE_RE[CVE-2024-45492]="models a=\(b,\(c\|d\),e\)"
FIXED_RE[CVE-2024-45492]="models a=\(b,\(c\|d\),e\)"
PROBE_NOTE[CVE-2024-45492]="nextScaffoldPart runs the same on x86-64; the overflow needs a 32-bit size_t"

# A large token fed in many pieces is rescanned for every piece (quadratic
# time); the fix defers reparsing.  The result is the same and only the time
# differs, so the probe only checks that parsing still succeeds.
PROBE_C[CVE-2023-52425]="chunks 4096"
PROBE_PY[CVE-2023-52425]="chunks 4096"
VULNERABLE_RE[CVE-2023-52425]="status=1 error=0"
FIXED_RE[CVE-2023-52425]="status=1 error=0"
PROBE_NOTE[CVE-2023-52425]="64 KiB token in 4096 pieces: same result, parse time shown"

# XML_StopParser accepted a parser that never started, after which
# XML_ResumeParser ran the parser on no input; the fix returns
# XML_ERROR_NOT_STARTED (44).  pyexpat has no StopParser.
PROBE_C[CVE-2024-50602]="stop-unstarted"
VULNERABLE_RE[CVE-2024-50602]="status=1 error=0"
FIXED_RE[CVE-2024-50602]="status=0 error=44"
PROBE_NOTE[CVE-2024-50602]="XML_StopParser on an unstarted parser: accepted before, XML_ERROR_NOT_STARTED after"

# 100000 nested entity references overflow the default 8 MiB stack of the
# recursive parser, so the forked child that parses is killed by SIGSEGV.
# The fix expands entities without recursion.
PROBE_C[CVE-2024-8176]="nested-entities 100000"
PROBE_PY[CVE-2024-8176]="nested-entities 100000"
VULNERABLE_RE[CVE-2024-8176]="crashed: .* signal 11"
FIXED_RE[CVE-2024-8176]="status=1 error=0"
PROBE_NOTE[CVE-2024-8176]="100000 nested entities: stack overflow before, parsed after"
