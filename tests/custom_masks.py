"""A user-supplied generator function, for the custom generator's test."""


def reverse(value: str) -> str:
    return value[::-1]
