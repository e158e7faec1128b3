"""Shared set-up for the trust, policy and audit CLI tests: an authority, a signed trust list, a policy, bundles."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import Result

from ocop_cli.context import Context
from ocop_cli.main import cli

from .conftest import FRESH, PRODUCT, Env

AUTHORITY = "Văn phòng Điều phối OCOP tỉnh Thanh Hóa"
COOP = "HTX Đông trùng hạ thảo Nghi Sơn"
WORKSHOP = "Xưởng sấy Tĩnh Gia"
LAB = "Phòng thử nghiệm Thanh Hóa"
EXPIRES = "2099-01-01T00:00:00Z"
WINDOW = ("--not-before", "2024-01-01T00:00:00Z", "--not-after", "2027-01-01T00:00:00Z")
PINS = ("--authority-key", "a1", "--authority-key", "a2", "--authority-key", "a3", "--threshold", "2")


def run_at(env: Env, when: datetime, *args: str) -> Result:
    """Run ``ocop`` with the clock set to ``when``."""
    obj = Context(home=env.home, clock=lambda: when)
    return env.runner.invoke(cli, list(args), obj=obj, catch_exceptions=False)


def doc_of(result: Result) -> dict[str, Any]:
    doc = json.loads(result.stdout)
    assert doc["schema"] == "ocop.cli/1"
    return doc


@dataclass
class Authority:
    env: Env
    draft: Path
    signed: Path

    def path(self, name: str) -> Path:
        return self.env.tmp / name


def make_keys(env: Env, *names: str) -> None:
    for name in names:
        env.new_key(name)


def make_trust(env: Env, name: str = "tl") -> Authority:
    """Authority keys a1-a3 (threshold 2); coop = producer, workshop = processor, lab = lab; signed by a1 and a2."""
    for k in ("a1", "a2", "a3", "coop", "workshop", "lab"):
        if not (env.home / "keys" / f"{k}.pub").exists():
            env.new_key(k)
    draft = env.tmp / f"{name}.json"
    env.ok(
        "trust", "init", "-o", str(draft), "--issuer", AUTHORITY, *PINS[:6], "--threshold", "2", "--expires", EXPIRES
    )
    for pid, who, role, key in (
        ("htx-nghi-son", COOP, "producer", "coop"),
        ("xuong-say", WORKSHOP, "processor", "workshop"),
        ("phong-thu-nghiem", LAB, "lab", "lab"),
    ):
        # The producer may claim the GTINs of its GS1 Company Prefix (the tests' products are 8931234…).
        claims = ("--gs1-prefix", "8931234") if role == "producer" else ()
        env.ok(
            "trust", "add-participant", str(draft), "--id", pid, "--name", who, "--role", role, "--admin-code", "38",
            *claims, "--key", key, *WINDOW,
        )  # fmt: skip
    signed = env.tmp / f"{name}.trust"
    env.ok("trust", "sign", str(draft), "--key", "a1", "--key", "a2", "-o", str(signed))
    return Authority(env=env, draft=draft, signed=signed)


def make_policy(env: Env, keys: tuple[str, ...] = ("a1", "a3")) -> Path:
    draft = env.tmp / "policy.json"
    env.ok("policy", "starter", "dried-cordyceps", "-o", str(draft), "--force")
    signed = env.tmp / "policy.policy"
    args = [x for k in keys for x in ("--key", k)]
    env.ok("policy", "sign", str(draft), *args, "-o", str(signed))
    return signed


def _step(env: Env, batch: str, step: str, at: str, key: str, *extra: str) -> None:
    env.ok("step", "add", batch, "--key", key, "--step", step, "--at", at, "--where", "Thanh Hóa", "--where-code", "38",
           *extra)  # fmt: skip


StepHook = Callable[[str], None]


def make_bundle(
    env: Env,
    name: str = "dried.ocop",
    *,
    lab_key: str = "lab",
    attach_pdf: bool = True,
    skip: tuple[str, ...] = (),
    opener: str = "coop",
    claims: tuple[str, ...] = (),
) -> tuple[Path, str]:
    """A fresh batch and a dried batch made from it that satisfies the dried-cordyceps policy (unless told not to).

    ``opener`` is the key that opens (and packs and ships) the dried batch; ``claims`` are further ``batch new``
    options of its genesis (``--gtin`` …): what the record says of itself.
    """
    base = ("--quantity", "4", "--unit", "kg", "--where", "Nghi Sơn", "--where-code", "38", "--admin-code", "38")
    lot = Path(name).stem
    fresh = env.ok("batch", "new", "--key", "coop", "--product", FRESH, "--lot", f"T-{lot}", "--producer", COOP,
                   "--at", "2024-11-01T08:00:00+07:00", *base).stdout.strip()  # fmt: skip
    batch = env.ok("batch", "new", "--key", opener, "--product", PRODUCT, "--lot", f"L-{lot}", "--producer", COOP,
                   "--at", "2024-11-02T07:00:00+07:00", *base, *claims).stdout.strip()  # fmt: skip
    if "commissioning" not in skip:
        _step(env, batch, "commissioning", "2024-11-02T07:30:00+07:00", opener)
    _step(env, batch, "ocop:drying", "2024-11-02T08:00:00+07:00", "workshop", "--input", fresh, "--data", "moisture=12")
    report = env.tmp / "report.pdf"
    report.write_bytes(b"%PDF-1.4\n% test report\n")
    extra = ("--attach", str(report)) if attach_pdf else ()
    _step(env, batch, "inspecting", "2024-11-03T09:00:00+07:00", lab_key, *extra)
    _step(env, batch, "packing", "2024-11-04T09:00:00+07:00", opener)
    _step(env, batch, "shipping", "2024-11-05T09:00:00+07:00", opener)
    path = env.tmp / name
    env.ok("export", batch, "-o", str(path))
    return path, batch
