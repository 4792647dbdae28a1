# The expat scenario on Debian's real source package, for three CVEs.
# CVE-2024-45490 must be live-patched into the running driver, python3 and
# HTTP server.  suture build must reject CVE-2023-52425, which adds fields to
# struct XML_ParserStruct.  CVE-2024-50602 must be live-patched on top of the
# first, and expat's new tests must fail without the patches and pass under
# `suture run` with them.  Every process keeps its pid, and the load
# generator sees no failed request while patches are applied and reverted.
# The source package is fetched once into /var/cache/suture-scenario, so the
# first run needs the Debian archive.
source "$(dirname "$0")/lib.sh"

STATE=$WORK/state
LOG=$WORK/scenario.log
cves=CVE-2024-45490,CVE-2023-52425,CVE-2024-50602

rc=0
"$ROOT/scenario/expat/run.sh" --cves "$cves" --state "$STATE" --load-seconds 2 --skip-cut-builds \
	>"$LOG" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
	tail -40 "$LOG" >&2
	fail "scenario/expat/run.sh exited with $rc"
fi
cat "$LOG"

# field CVE N: column N of the CVE's row in results.tsv.
field() {
	gawk -F'\t' -v c="$1" -v n="$2" '$1 == c {print $n}' "$STATE/results.tsv"
}

# The three processes, by the pids they had at the start.
pid_driver=$(gawk -F'\t' '$1 == "driver" {print $2}' "$STATE/processes.tsv")
pid_python=$(gawk -F'\t' '$1 == "python" {print $2}' "$STATE/processes.tsv")
pid_server=$(gawk -F'\t' '$1 == "server" {print $2}' "$STATE/processes.tsv")
[ -n "$pid_driver" ] && [ -n "$pid_python" ] && [ -n "$pid_server" ] || fail "processes.tsv lacks a pid"
expect_eq "$(gawk -F'\t' '$1 == "pids_kept" {print $2}' "$STATE/processes.tsv")" yes "pids kept"
expect_eq "$(gawk -F'\t' '$1 == "revert_ok" {print $2}' "$STATE/processes.tsv")" 1 "revert of every patch"

# CVE-2024-45490: applied to all three processes, each with its pause.
expect_eq "$(field CVE-2024-45490 2)" "live-patched" "CVE-2024-45490 result"
pauses=$(field CVE-2024-45490 4)
for pid in "$pid_driver" "$pid_python" "$pid_server"; do
	expect_match "$pauses" "(^| )$pid:[0-9]+us" "CVE-2024-45490 pause of process $pid"
done
expect_match "$(field CVE-2024-45490 5)" "^pass: Checks: [0-9]+ with the patch" "CVE-2024-45490 oracle"
grep -q '^   before, driver: negative-len -> status=1 error=0' "$LOG" ||
	fail "the driver did not show the vulnerable XML_ParseBuffer before the patch"
grep -q '^   after, driver: negative-len -> status=0 error=41' "$LOG" ||
	fail "the driver did not show the fixed XML_ParseBuffer after the patch"
grep -q '^   after revert, driver: negative-len -> status=1 error=0' "$LOG" ||
	fail "the driver did not show the vulnerable XML_ParseBuffer after the revert"

# CVE-2023-52425: suture build rejects the struct layout change and names it.
expect_eq "$(field CVE-2023-52425 2)" "refused" "CVE-2023-52425 result"
expect_match "$(field CVE-2023-52425 3)" "exit 19: .*XML_ParserStruct" "CVE-2023-52425 reason"

# CVE-2024-50602: stacked on CVE-2024-45490, fixed behaviour, and expat's new
# tests fail without the patches and pass with them.
expect_eq "$(field CVE-2024-50602 2)" "live-patched" "CVE-2024-50602 result"
expect_match "$(field CVE-2024-50602 5)" "^pass: .*; without it [1-9][0-9]* of [0-9]+ new tests fail" "CVE-2024-50602 oracle"
grep -q '^   after, driver: stop-unstarted -> status=0 error=44' "$LOG" ||
	fail "the driver did not show the fixed XML_StopParser after the patch"

# Every probe returned the expected result, and no load request failed.
! grep -q MISMATCH "$LOG" || fail "a probe returned an unexpected result: $(grep MISMATCH "$LOG" | head -1)"
grep -q 'load before any patch' "$LOG" || fail "no load run before patching"
while read -r line; do
	expect_match "$line" "served [1-9][0-9]*, failed 0," "load run"
done < <(grep -o 'served [0-9]*, failed [0-9]*,' "$LOG")

# The processes were stopped when the scenario ended.
for pid in "$pid_driver" "$pid_python" "$pid_server"; do
	! alive "$pid" || fail "process $pid still runs after the scenario"
done
