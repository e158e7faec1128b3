"""``ocop demo --serve``: publish the demo's batches to a portal started on this machine and keep it running."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ocop_provenance.seals import make_seal

from . import keystore
from .context import CliError, Context, ExitCode
from .ledger import open_ledger
from .publish import upload_bundle, upload_file
from .render import Output
from .render.portal import Serving
from .render.words import t
from .serve import free_port, portal_settings, prepare, start

__all__ = ["serve_demo"]


def serve_demo(ctx: Context, work: Path, out: Output, summary: dict[str, Any], *, port: int | None) -> None:
    """Start a portal on 127.0.0.1, install the demo authority's trust list and policy, publish, serve until Ctrl-C.

    Prints the Digital Link URL of a sealed unit (serial 0001) of the dried batch: the page a shopper's scan opens.
    """
    demo = Context(home=work / "home", json=ctx.json, verbose=ctx.verbose, clock=ctx.clock, command=ctx.command)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    settings = portal_settings(
        demo,
        db=str(work / "portal.sqlite"),
        public_url=url,
        authority=tuple(str(work / f"tinh-thanh-hoa-{i}.pem") for i in (1, 2, 3)),
        threshold=2,
    )
    app = prepare(settings, trust=work / "thanh-hoa.trust", policies=(work / "dried-cordyceps.policy",), out=out)
    dried = bytes.fromhex(summary["batches"]["dried"])
    with start(app, "127.0.0.1", port):
        answer = upload_bundle(url, work / "dried.ocop")
        if not answer.get("accepted"):
            raise CliError(f"the portal refused the demo bundle: {answer}", code="E_DEMO", exit_code=ExitCode.INTERNAL)
        upload_file(url, work / "phieu-ket-qua-thu-nghiem.pdf")
        with open_ledger(demo, create=False) as ledger:
            events = list(ledger.events(dried))
        coop = keystore.load_signer(demo, "coop", work / "passphrase")
        head = events[-1]
        # Sealed on the day the record ends (the key was valid then, whatever today's date).
        seal = make_seal(events[0], head, coop, resolver=url, sealed_on=head.time.date(), serial="0001")
        page = seal.to_url()
        out.say()
        out.say(t("10. The batch is published to a provincial portal running on this machine; a shopper who"))
        out.say(t("    scans unit 0001's QR code opens this page (in a browser; Ctrl-C stops the portal):"))
        out.say(t("    {url}", url=page))
        out.write(Serving(url=url, extra={**summary, "page": page, "published": answer}))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.note(t("stopping the portal"))
