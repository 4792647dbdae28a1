#include "elf/elf_mem.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_SIZE_ 4096ULL
#define PAGE_DOWN(x) ((x) & ~(PAGE_SIZE_ - 1))
#define PAGE_UP(x) (((x) + PAGE_SIZE_ - 1) & ~(PAGE_SIZE_ - 1))
#define MAX_PHDRS 64

void build_id_hex(const uint8_t *id, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}

static int read_build_id_note(int memfd, uint64_t addr, uint64_t size, struct mem_object *o)
{
	uint8_t buf[1024];

	if (size > sizeof(buf))
		size = sizeof(buf);
	if (proc_mem_read(memfd, addr, buf, size))
		return -EIO;
	for (uint64_t at = 0; at + sizeof(Elf64_Nhdr) <= size;) {
		Elf64_Nhdr nh;
		memcpy(&nh, buf + at, sizeof(nh));
		uint64_t name_at = at + sizeof(nh);
		uint64_t desc_at = name_at + ((nh.n_namesz + 3ULL) & ~3ULL);
		uint64_t next = desc_at + ((nh.n_descsz + 3ULL) & ~3ULL);
		if (next > size)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(buf + name_at, "GNU", 4) && nh.n_descsz <= ELF_BUILD_ID_MAX) {
			memcpy(o->build_id, buf + desc_at, nh.n_descsz);
			o->build_id_len = nh.n_descsz;
			return 0;
		}
		at = next;
	}
	return -ENOENT;
}

/* Fill `o` from the ELF and program headers mapped at m->start. */
static int read_object(int memfd, const struct proc_maps *maps, const struct proc_map *m,
		       struct mem_object *o)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHDRS];
	uint64_t first_vaddr = UINT64_MAX, last_end = 0, exec_end = 0;

	if (proc_mem_read(memfd, m->start, &eh, sizeof(eh)))
		return -EIO;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS)
		return -ENOEXEC;
	if (eh.e_phoff + eh.e_phnum * sizeof(Elf64_Phdr) > m->end - m->start)
		return -ENOEXEC;
	if (proc_mem_read(memfd, m->start + eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr)))
		return -EIO;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < first_vaddr)
			first_vaddr = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > last_end)
			last_end = ph[i].p_vaddr + ph[i].p_memsz;
		if ((ph[i].p_flags & PF_X) && ph[i].p_vaddr + ph[i].p_memsz > exec_end)
			exec_end = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (first_vaddr == UINT64_MAX)
		return -ENOEXEC;

	memset(o, 0, sizeof(*o));
	o->base = m->start;
	o->bias = m->start - PAGE_DOWN(first_vaddr);
	o->lo = m->start;
	o->hi = PAGE_UP(o->bias + last_end);
	o->map = m;
	if (exec_end) {
		o->text_end = o->bias + exec_end;
		const struct proc_map *xm = proc_maps_find(maps, o->text_end - 1);
		if (xm && (xm->prot & PROT_EXEC) && xm->inode == m->inode)
			o->slack_end = xm->end;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE &&
		    !read_build_id_note(memfd, o->bias + ph[i].p_vaddr, ph[i].p_filesz, o))
			break;
	}
	return 0;
}

int mem_list_objects(int memfd, const struct proc_maps *maps, struct mem_object **out,
		     size_t *count)
{
	size_t alloc = 0;

	*out = NULL;
	*count = 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct proc_map *m = &maps->maps[i];
		if (m->offset != 0 || !m->path || m->path[0] != '/' || !(m->prot & PROT_READ))
			continue;
		if (*count == alloc) {
			size_t n = alloc ? alloc * 2 : 16;
			struct mem_object *grown = realloc(*out, n * sizeof(*grown));
			if (!grown) {
				free(*out);
				*out = NULL;
				return -ENOMEM;
			}
			*out = grown;
			alloc = n;
		}
		if (read_object(memfd, maps, m, &(*out)[*count]) == 0)
			(*count)++;
	}
	return 0;
}
