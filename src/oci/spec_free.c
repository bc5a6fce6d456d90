/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Releasing a parsed spec.  Every function accepts partly filled structs
 * (the parser hands them over on failure) and NULL.
 */
#include "oci/spec.h"

#include <stdlib.h>

#include "util/cleanup.h"

static void strv_free(char **v)
{
	plx_strv_freep(&v);
}

static void hook_list_free(struct oci_hook_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		strv_free(l->v[i].args);
		strv_free(l->v[i].env);
	}
	free(l->v);
}

static void capabilities_free(struct oci_capabilities *c)
{
	if (!c)
		return;
	strv_free(c->bounding);
	strv_free(c->effective);
	strv_free(c->inheritable);
	strv_free(c->permitted);
	strv_free(c->ambient);
	free(c);
}

static void scheduler_free(struct oci_scheduler *s)
{
	if (!s)
		return;
	free(s->policy);
	strv_free(s->flags);
	free(s);
}

void oci_process_free(struct oci_process *p)
{
	if (!p)
		return;
	free(p->cwd);
	strv_free(p->args);
	free(p->command_line);
	strv_free(p->env);
	free(p->user.additional_gids);
	free(p->user.username);
	capabilities_free(p->capabilities);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	if (p->io_priority)
		free(p->io_priority->klass);
	free(p->io_priority);
	scheduler_free(p->scheduler);
	free(p);
}

static void mount_free(struct oci_mount *m)
{
	free(m->destination);
	free(m->type);
	free(m->source);
	strv_free(m->options);
	free(m->uid_mappings);
	free(m->gid_mappings);
}

static void kv_free(struct oci_key_value *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void block_io_free(struct oci_block_io *b)
{
	if (!b)
		return;
	free(b->weight_device);
	free(b->throttle_read_bps);
	free(b->throttle_write_bps);
	free(b->throttle_read_iops);
	free(b->throttle_write_iops);
	free(b);
}

static void resources_free(struct oci_resources *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->memory);
	if (r->cpu) {
		free(r->cpu->cpus);
		free(r->cpu->mems);
	}
	free(r->cpu);
	block_io_free(r->block_io);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; i < r->n_net_priorities; i++)
		free(r->net_priorities[i].name);
	free(r->net_priorities);
	kv_free(r->unified, r->n_unified);
	free(r);
}

static void seccomp_free(struct oci_seccomp *s)
{
	if (!s)
		return;
	free(s->default_action);
	strv_free(s->architectures);
	strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		struct oci_syscall *sc = &s->syscalls[i];

		strv_free(sc->names);
		free(sc->action);
		for (size_t j = 0; j < sc->n_args; j++)
			free(sc->args[j].op);
		free(sc->args);
	}
	free(s->syscalls);
	free(s);
}

static void linux_free(struct oci_linux *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_namespaces; i++) {
		free(l->namespaces[i].type);
		free(l->namespaces[i].path);
	}
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	resources_free(l->resources);
	kv_free(l->sysctl, l->n_sysctl);
	seccomp_free(l->seccomp);
	free(l->rootfs_propagation);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	free(l->mount_label);
	if (l->personality) {
		free(l->personality->domain);
		strv_free(l->personality->flags);
	}
	free(l->personality);
	if (l->intel_rdt) {
		free(l->intel_rdt->clos_id);
		free(l->intel_rdt->l3_cache_schema);
		free(l->intel_rdt->mem_bw_schema);
	}
	free(l->intel_rdt);
	for (size_t i = 0; i < l->n_time_offsets; i++)
		free(l->time_offsets[i].clock);
	free(l->time_offsets);
	free(l);
}

void oci_spec_free(struct oci_spec *spec)
{
	if (!spec)
		return;
	free(spec->oci_version);
	oci_process_free(spec->process);
	if (spec->root)
		free(spec->root->path);
	free(spec->root);
	free(spec->hostname);
	free(spec->domainname);
	for (size_t i = 0; i < spec->n_mounts; i++)
		mount_free(&spec->mounts[i]);
	free(spec->mounts);
	hook_list_free(&spec->hooks.prestart);
	hook_list_free(&spec->hooks.create_runtime);
	hook_list_free(&spec->hooks.create_container);
	hook_list_free(&spec->hooks.start_container);
	hook_list_free(&spec->hooks.poststart);
	hook_list_free(&spec->hooks.poststop);
	linux_free(spec->linux);
	free(spec->source);
	json_decref(spec->doc);
	free(spec);
}
