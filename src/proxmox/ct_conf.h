/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Proxmox VE container config files (/etc/pve/lxc/<vmid>.conf).
 *
 * The model keeps every line as it was read, so that a file parsed and
 * serialized again is byte for byte the same; only lines that an edit
 * touches are regenerated, in the form PVE's own writer uses ("key: value",
 * plain keys sorted, raw lxc.* keys after them, "\n[name]\n" before each
 * section).  Section NULL is the main section; "pve:pending" holds pending
 * changes; any other name is a snapshot.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define PVE_CONF_PENDING "pve:pending"

enum pve_conf_line_kind {
	PVE_CONF_BLANK,	  /* empty or whitespace only */
	PVE_CONF_COMMENT, /* "#..." : one line of the description, url-encoded */
	PVE_CONF_KEY,	  /* "key: value"; raw "lxc.key: value" or "lxc.key = value" */
};

struct pve_conf_line {
	enum pve_conf_line_kind kind;
	char *key;   /* PVE_CONF_KEY */
	char *value; /* PVE_CONF_KEY: trimmed value; PVE_CONF_COMMENT: text after '#' */
	char *raw;   /* the line as read, without '\n'; NULL once edited */
};

struct pve_conf_section {
	char *name;		   /* NULL for the main section */
	char *header_raw;	   /* "[name]" line as read; NULL when added */
	struct pve_conf_line *pre; /* blank lines before the header */
	size_t n_pre;
	struct pve_conf_line *lines;
	size_t n_lines;
};

struct pve_conf {
	struct pve_conf_section *sections; /* [0] is the main section */
	size_t n_sections;
	bool final_newline; /* the last line ended with '\n' */
};

/* Parse buf (len bytes, need not be NUL-terminated); name is used in errors ("<name>:<line>: ..."). */
int pve_conf_parse(const char *buf, size_t len, const char *name, struct pve_conf **out, struct plx_err *err);
void pve_conf_free(struct pve_conf *conf);

/* The whole file; *out is malloc'd and NUL-terminated, *len excludes the NUL. */
int pve_conf_serialize(const struct pve_conf *conf, char **out, size_t *len, struct plx_err *err);

/* NULL section = main.  Returns NULL when the section does not exist. */
struct pve_conf_section *pve_conf_section(const struct pve_conf *conf, const char *section);

/* Value of key in section (the last line wins, as in PVE), or NULL. */
const char *pve_conf_get(const struct pve_conf *conf, const char *section, const char *key);

/*
 * Set key to value: the first line holding key is rewritten (later duplicates
 * are dropped); a new key goes where PVE's writer would put it.  -ENOENT when
 * the section does not exist, -EINVAL for a bad key or a value with a newline.
 */
int pve_conf_set(struct pve_conf *conf, const char *section, const char *key, const char *value,
		 struct plx_err *err);

/* Append one more line for a repeatable raw key (lxc.environment.runtime, lxc.mount.entry, ...). */
int pve_conf_add(struct pve_conf *conf, const char *section, const char *key, const char *value,
		 struct plx_err *err);

/* Remove every line holding key; returns the number removed (0 is not an error). */
int pve_conf_delete(struct pve_conf *conf, const char *section, const char *key, struct plx_err *err);

/* The description (comment lines decoded, joined by '\n'), malloc'd; "" when none. NULL on ENOMEM. */
char *pve_conf_get_description(const struct pve_conf *conf, const char *section);

/* Replace the description: one encoded "#" line per text line, at the top of the section. */
int pve_conf_set_description(struct pve_conf *conf, const char *section, const char *text,
			     struct plx_err *err);

/* Add an empty section where PVE would write it (pending first, snapshots by name). -EEXIST if present. */
int pve_conf_add_section(struct pve_conf *conf, const char *name, struct plx_err *err);
int pve_conf_remove_section(struct pve_conf *conf, const char *name, struct plx_err *err);

/* True when key is a valid PVE config key / snapshot name (syntax only). */
bool pve_conf_key_valid(const char *key);
bool pve_conf_snapname_valid(const char *name);

/* PVE's encode_text/decode_text for description lines. malloc'd, NULL on ENOMEM. */
char *pve_conf_encode_text(const char *text);
char *pve_conf_decode_text(const char *text);
