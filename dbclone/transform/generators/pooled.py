"""Shared machinery for generators that draw from a pool of fake values."""

from __future__ import annotations

from typing import Any

from dbclone.transform import pools, pushdown
from dbclone.transform.base import Generator, GeneratorContext, Params, fit_problem

# The kernels of dbclone/csrc/kernels.c (its enum).
KERNEL_POOL, KERNEL_EMAIL, KERNEL_PHONE, KERNEL_SSN = 1, 2, 3, 4


class PoolGenerator(Generator):
    """Draws from one pool of distinct fake values, keeping those that fit the column."""

    kind: str = ""
    fresh_output = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.values = pools.fitting(self.kind, ctx.locale, ctx.column.max_length)

    def check(self) -> list[str]:
        if not self.values:
            shortest = min(len(v) for v in pools.pool(self.kind, self.ctx.locale))
            return fit_problem(self.ctx, self.name, shortest)
        return []

    def value_space(self) -> int:
        return len(self.values)

    def generate(self, value: str, attempt: int) -> str:
        return self.values[self.draw(value, attempt) % len(self.values)]

    def native_kernel(self) -> tuple[int, tuple[Any, ...]]:
        return KERNEL_POOL, (tuple(self.values),)

    def pushdown_spec(self) -> pushdown.PoolSpec:
        return pushdown.PoolSpec(pushdown.common(self), pushdown.draws(self.ctx.keyer,
                                                                        self.domain),
                                 tuple(self.values))
