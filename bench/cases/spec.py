# SPDX-License-Identifier: Apache-2.0
"""Start-up cost of the binary itself: `spec` into a fresh directory (no container)."""


def case_spec(ctx):
    def plan(i):
        d = ctx.workdir / f"spec-{i}"
        d.mkdir()
        return [ctx.cmd("spec", "--bundle", d)]

    return plan


case_spec.containers = False  # timed even for a runtime that cannot run containers here
