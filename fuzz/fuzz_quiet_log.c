/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer's setup hook for the targets that need nothing but a quiet
 * log: what the code under test logs about bad input (the validator warns
 * about relative mount destinations, for one) only slows the run down.
 */
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	plx_log_init("/dev/null", PLX_LOG_TEXT, false);
	return 0;
}
