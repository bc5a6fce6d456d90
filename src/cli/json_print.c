/* SPDX-License-Identifier: Apache-2.0 */
/* JSON output laid out as Go's encoding/json lays it out, so scripts see runc's bytes. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

int plx_cli_print_json(FILE *out, const json_t *v, const char *indent, struct plx_err *err)
{
	/*
	 * jansson indents with spaces only: dump one space per level, then
	 * widen each line's leading run.  Strings never hold a raw newline
	 * (jansson escapes it), so a line's leading spaces are all indentation.
	 */
	__do_free char *dump = json_dumps(v, JSON_INDENT(1) | JSON_ENCODE_ANY);

	if (!dump)
		return plx_err_set(err, ENOMEM, "cannot encode JSON output");
	for (char *line = dump; *line;) {
		size_t depth = strspn(line, " ");
		size_t len = strcspn(line + depth, "\n");

		for (size_t i = 0; i < depth; i++)
			fputs(indent, out);
		fwrite(line + depth, 1, len, out);
		line += depth + len;
		if (*line == '\n') {
			fputc('\n', out);
			line++;
		}
	}
	if (fflush(out) != 0 || ferror(out))
		return plx_err_sys(err, errno, "write output");
	return 0;
}
