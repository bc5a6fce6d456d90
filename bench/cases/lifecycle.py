# SPDX-License-Identifier: Apache-2.0
"""A whole container life: `run --keep ID` of /bin/true in a busybox bundle, then `delete ID`."""
import os


def case_lifecycle(ctx):
    bundle = ctx.bundle(["/bin/true"])

    def plan(i):
        cid = f"bench-{os.getpid()}-{i}"
        # --keep: the delete is timed as its own step, as a container engine runs it
        return [ctx.cmd("run", "--keep", "--bundle", bundle, cid), ctx.cmd("delete", cid)]

    return plan
