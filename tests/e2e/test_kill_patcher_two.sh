# test_kill_patcher.sh with a patch that replaces two functions, compute and
# greeting: a kill between the writes that switch them must not leave the
# target running one new and one old function.
KILL_PATCH_FUNCTIONS="compute greeting"
source "$(dirname "$0")/test_kill_patcher.sh"
