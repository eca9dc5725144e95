"""Contact and location: e-mail, phone, address parts, URLs, IP and MAC addresses."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from typing import Any

from pydantic import Field

from dbclone.transform import pools, pushdown
from dbclone.transform.base import (
    Generator,
    GeneratorContext,
    Params,
    fit,
    fit_problem,
    register,
)
from dbclone.transform.generators.people import ascii_slug
from dbclone.transform.generators.pooled import KERNEL_EMAIL, KERNEL_PHONE, PoolGenerator


class EmailParams(Params):
    keep_domain: bool = False


@register
class FakeEmail(Generator):
    """A fake e-mail address, first.last plus digits, at a reserved example domain (option:
    keep_domain keeps the source's domain). Fits the column's length."""

    name = "fake_email"
    fresh_output = True
    family = "contact"
    Params = EmailParams
    unique_safe = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.first = [ascii_slug(v) or "user" for v in pools.pool("first_name", "en_US")]
        self.last = [ascii_slug(v) or "name" for v in pools.pool("last_name", "en_US")]

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, len("u0@x.test"))

    def value_space(self) -> int:
        """The three forms generate() falls back through, as far as they fit the column: a
        varchar(14) leaves only u<4 digits>@x.test, 10,000 values."""
        domains = pools.SAFE_EMAIL_DOMAINS
        full = len(set(self.first)) * len(set(self.last)) * 10000 * len(domains)
        limit = self.ctx.column.max_length
        if limit is None:
            return full
        shortest = min(len(d) for d in domains)
        firsts = Counter(len(f) for f in set(self.first))
        lasts = Counter(len(v) for v in set(self.last))
        # first.last<up to 4 digits>@domain: pairs short enough with the shortest domain
        pairs = sum(nf * nl for lf, nf in firsts.items() for ll, nl in lasts.items()
                    if lf + ll + 6 + shortest <= limit)
        initials = 26 * 26 * 10000 * len(domains) if 7 + shortest <= limit else 0
        return min(full, pairs * 10000 * len(domains) + initials + 10000)

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        first = self.first[n % len(self.first)]
        last = self.last[(n >> 16) % len(self.last)]
        digits = str((n >> 32) % 10000)
        domain = pools.SAFE_EMAIL_DOMAINS[(n >> 48) % len(pools.SAFE_EMAIL_DOMAINS)]
        if self.params.keep_domain and "@" in value:
            domain = value.rsplit("@", 1)[1]
        email = f"{first}.{last}{digits}@{domain}"
        limit = self.ctx.column.max_length
        if limit is not None and len(email) > limit:
            email = f"{first[:1]}{last[:1]}{digits}@{domain}"
            if len(email) > limit:
                email = f"u{digits}@x.test"[:limit]
        return email

    def native_kernel(self) -> tuple[int, tuple[Any, ...]] | None:
        parts = (*self.first, *self.last, *pools.SAFE_EMAIL_DOMAINS)
        if self.params.keep_domain or not all(p.isascii() for p in parts):
            return None
        return KERNEL_EMAIL, (tuple(self.first), tuple(self.last),
                              tuple(pools.SAFE_EMAIL_DOMAINS), self.ctx.column.max_length)

    def pushdown_spec(self) -> pushdown.EmailSpec | None:
        if self.params.keep_domain:
            return None
        return pushdown.EmailSpec(pushdown.common(self),
                                  pushdown.draws(self.ctx.keyer, self.domain),
                                  tuple(self.first), tuple(self.last),
                                  tuple(pools.SAFE_EMAIL_DOMAINS), self.ctx.column.max_length)


_DIGIT_MARK = str.maketrans("0123456789", "\x00" * 10)
_TEMPLATES: dict[str, tuple[str, int]] = {}  # shape -> (format string, digit count)


def _template(shape: str) -> tuple[str, int]:
    """A str.format template with one field per digit of ``shape`` (digits marked \\x00)."""
    found = _TEMPLATES.get(shape)
    if found is None:
        parts = [p.replace("{", "{{").replace("}", "}}") for p in shape.split("\x00")]
        found = ("{}".join(parts), len(parts) - 1)
        if len(_TEMPLATES) >= 4096:  # a bounded cache: formats repeat, free text does not
            _TEMPLATES.clear()
        _TEMPLATES[shape] = found
    return found


def has_digit(text: str) -> bool:
    """Any decimal digit, of any script (C speed for ASCII text)."""
    if text.translate(_DIGIT_MARK) != text:
        return True
    return not text.isascii() and any(ch.isdecimal() for ch in text)


def digits_replaced(text: str, n: int, *, first_nonzero: bool = False) -> str:
    """Every decimal digit replaced by a keyed digit (a non-ASCII one in its own script);
    everything else kept."""
    if "\x00" in text or (not text.isascii() and any(
            ch.isdecimal() and not "0" <= ch <= "9" for ch in text)):
        return _digits_replaced_slow(text, n, first_nonzero=first_nonzero)
    # The layout (where the digits are) is cached per shape: phone numbers share a handful.
    fmt, count = _template(text.translate(_DIGIT_MARK))
    if not count:
        return text
    digits = _digits(n, count)
    if first_nonzero and digits[0] == "0":
        digits = str(1 + n % 9) + digits[1:]
    return fmt.format(*digits[:count])


def _digits(n: int, count: int) -> str:
    digits = f"{n % 10**18:018d}"
    seed = n
    while len(digits) < count:  # long numbers: more digits from a stream seeded by n
        seed = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        digits += f"{seed % 10**18:018d}"
    return digits


def _digits_replaced_slow(text: str, n: int, *, first_nonzero: bool = False) -> str:
    """The same, for text that holds the marker character itself or non-ASCII digits."""
    from dbclone.transform.generators.structure import script_digit

    count = sum(1 for ch in text if ch.isdecimal())
    if not count:
        return text
    digits = _digits(n, count)
    if first_nonzero and digits[0] == "0":
        digits = str(1 + n % 9) + digits[1:]
    it = iter(digits)
    return "".join(script_digit(ch, int(next(it))) if ch.isdecimal() else ch for ch in text)


_PREFIX = re.compile(r"^\s*(\+\d{1,3})[\s.\-(]")  # a +country code, kept as it is


@register
class FakePhone(Generator):
    """A fake phone number in the source's own format: every digit replaced, separators,
    brackets and a leading +country code kept, so the value keeps its length and never grows
    an extension."""

    name = "fake_phone"
    fresh_output = True
    family = "contact"
    unique_safe = True

    def value_space(self) -> int:
        return 10**7

    def native_kernel(self) -> tuple[int, tuple[Any, ...]]:
        return KERNEL_PHONE, ()

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        if not has_digit(value):
            value = "(555) 010-0000"  # no digits to replace: invent a number, never echo
            if self.ctx.column.max_length and len(value) > self.ctx.column.max_length:
                value = "5550100000"[: self.ctx.column.max_length]
        keep = 0
        if "+" in value:  # the prefix needs one: most numbers skip the regex
            m = _PREFIX.match(value)
            # a value that is only a country code ("+1 ") has its code replaced too: else
            # nothing would change, and no re-draw could help
            if m and has_digit(value[m.end(1):]):
                keep = m.end(1)
        return value[:keep] + digits_replaced(value[keep:], n, first_nonzero=True)


@register
class FakeAddress(PoolGenerator):
    """A fake street address (house number and street) in the locale."""

    name = "fake_address"
    family = "contact"
    kind = "street_address"


@register
class FakeStreet(PoolGenerator):
    """A fake street name without a house number, in the locale."""

    name = "fake_street"
    family = "contact"
    kind = "street_name"


@register
class FakeCity(PoolGenerator):
    """A fake city name in the locale."""

    name = "fake_city"
    family = "contact"
    kind = "city"


class StateParams(Params):
    abbreviated: bool | None = None  # default: abbreviate when the source is 2-3 characters


@register
class FakeState(Generator):
    """A fake state or region in the locale, abbreviated when the source is (option:
    abbreviated)."""

    name = "fake_state"
    fresh_output = True
    family = "contact"
    Params = StateParams

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        limit = ctx.column.max_length
        self.full = pools.fitting("state", ctx.locale, limit)
        self.abbr = pools.fitting("state_abbr", ctx.locale, limit)

    def check(self) -> list[str]:
        if not self.full and not self.abbr:
            return fit_problem(self.ctx, self.name, 99)
        return []

    def value_space(self) -> int:
        return max(len(self.full), len(self.abbr))

    def generate(self, value: str, attempt: int) -> str:
        short = self.params.abbreviated
        if short is None:
            short = len(value) <= 3
        values = (self.abbr if short else self.full) or self.abbr or self.full
        return values[self.draw(value, attempt) % len(values)]


@register
class FakeCountry(PoolGenerator):
    """A fake country name."""

    name = "fake_country"
    family = "contact"
    kind = "country"


class ZipParams(Params):
    keep_prefix: int = Field(default=0, ge=0, le=5)


@register
class FakeZip(Generator):
    """A fake postal code in the source's format (digits replaced, ZIP+4 and letters kept in
    shape). Option keep_prefix: 3 keeps the first three digits, as HIPAA Safe Harbor allows
    for areas of more than 20,000 people."""

    name = "fake_zip"
    fresh_output = True
    family = "contact"
    Params = ZipParams

    def value_space(self) -> int:
        return 10 ** max(1, 5 - self.params.keep_prefix)

    def generate(self, value: str, attempt: int) -> str:
        from dbclone.transform.generators.structure import shape_replace

        k = self.params.keep_prefix
        head, tail = value[:k], value[k:]
        out = head + shape_replace(tail, self.draw(value, attempt))
        return out


@register
class FakeUrl(Generator):
    """A fake https URL at a reserved .example domain, e.g.
    https://bluefield42.example/profile; fits the column."""

    name = "fake_url"
    fresh_output = True
    family = "contact"
    unique_safe = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.words = [ascii_slug(w) or "site" for w in pools.pool("domain_word", "en_US")]

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, len("https://a.example"))

    def value_space(self) -> int:
        return len(self.words) * 10000

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        word = self.words[n % len(self.words)]
        url = f"https://{word}{(n >> 20) % 10000}.example/"
        path = ("profile", "home", "page", "item", "about")[(n >> 40) % 5]
        return fit(url + path, self.ctx.column.max_length, fallback=url)


class IpParams(Params):
    version: str = Field(default="auto", pattern="^(auto|4|6)$")


@register
class FakeIp(Generator):
    """A fake IP address of the source's version (option: version auto, 4 or 6), in private
    and documentation ranges (10.0.0.0/8, fd00::/8); a /prefix in the source is kept."""

    name = "fake_ip"
    fresh_output = True
    family = "contact"
    Params = IpParams
    unique_safe = True

    def value_space(self) -> int:
        return 2**24

    def check(self) -> list[str]:
        # An address cannot be cut: the column must hold the longest one it may write
        # (10.255.255.255, or a full fd00:... address).
        longest = 39 if self.params.version == "6" else 14
        limit = self.ctx.column.max_length
        if limit is not None and limit < longest:
            return [f"{self.ctx.ref}: {self.name} cannot fit {self.ctx.column.type_sql}: its "
                    f"addresses take up to {longest} characters"]
        return []

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        addr, slash, prefix = value.partition("/")
        version = self.params.version
        if version == "auto":
            version = "6" if ":" in addr else "4"
        if version == "4":
            out = str(ipaddress.IPv4Address((10 << 24) | (n & 0xFFFFFF)))
        else:
            out = str(ipaddress.IPv6Address((0xFD << 120) | (n << 56 >> 8)))
        return out + (slash + prefix if slash else "")


@register
class FakeMac(Generator):
    """A fake MAC address in the source's layout (separators and case kept), with the
    locally-administered bit set so it never names a real vendor's device."""

    name = "fake_mac"
    fresh_output = True
    family = "contact"
    unique_safe = True

    def value_space(self) -> int:
        return 2**46

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        hexdigits = [c for c in value if c in "0123456789abcdefABCDEF"]
        if len(hexdigits) != 12:
            value, hexdigits = "00:00:00:00:00:00", ["0"] * 12
        octets = [(n >> (8 * i)) & 0xFF for i in range(6)]
        octets[0] = (octets[0] | 0x02) & 0xFE  # locally administered, unicast
        new = "".join(f"{o:02x}" for o in octets)
        upper = any(c.isupper() for c in value)
        it = iter(new.upper() if upper else new)
        return "".join(next(it) if c in "0123456789abcdefABCDEF" else c for c in value)
