/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER: replaced by its owner */
typedef int plx_placeholder_cmd_run_t;
