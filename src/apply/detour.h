/*
 * Switch stubs: the code that makes a multi-function switch atomic.
 *
 * During the switch each replaced entry first gets a jump to its stub.  The
 * stub tests one flag byte in the patch record.  While it is 0, the stub runs
 * the entry's original first instructions, relocated, and jumps back into the
 * old function.  Once suture sets the flag, every stub goes to the new code.
 * One byte write thus switches all functions at once, and a suture killed at
 * any point leaves each function entirely old or entirely new, consistently.
 */
#ifndef SUTURE_DETOUR_H
#define SUTURE_DETOUR_H

#include <stddef.h>
#include <stdint.h>

#define DETOUR_STUB_SIZE 64

/*
 * Build the stub for the function at `func_addr` (whose `func_len` bytes are
 * in `code`), to be placed at `stub_addr`, testing the byte at `flag_addr`
 * and going to `new_addr` when it is set.  Returns 0, or -ENOTSUP with `err`
 * saying which instruction cannot be relocated.
 */
int detour_build(const uint8_t *code, size_t func_len, uint64_t func_addr,
		 uint64_t stub_addr, uint64_t flag_addr, uint64_t new_addr,
		 uint8_t stub[DETOUR_STUB_SIZE], char *err, size_t errlen);

/*
 * Check that no branch of the function targets the bytes after its entry
 * that the jump overwrites.  Returns 0, or -ENOTSUP with `err` naming the
 * branch.  NOTE: targets reached only through jump tables are not seen.
 */
int detour_check_branches(const uint8_t *code, size_t func_len, uint64_t func_addr,
			  char *err, size_t errlen);

#endif
