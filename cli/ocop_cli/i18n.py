"""The CLI's languages: English message ids, a Vietnamese gettext catalogue, and how a run picks its language.

Every user-visible sentence of ``ocop`` is an English literal that Babel extracts (``cli/babel.cfg``, the
:func:`extract` method below): templates passed to :func:`ocop_cli.render.words.t` / ``tn``, strings marked with
:func:`N_`, the ``help=`` of click options and arguments and the docstrings of commands (click shows them as help).
``locale/vi/LC_MESSAGES/ocop.po`` translates them; the build compiles it into ``ocop.mo`` (``hatch_build.py``), and
the binary is never committed. English needs no catalogue: the message ids are the English text.

A run speaks Vietnamese when ``--lang vi`` or ``OCOP_LANG=vi`` says so, or, without either, when the locale
(``LC_ALL``, else ``LC_MESSAGES``, else ``LANG``) starts with ``vi``; else English. ``--json`` is English throughout,
so that scripts read stable text (docs/adr/0110-cli-languages.md).
"""

from __future__ import annotations

import ast
import gettext as _gettext
import inspect
import io
import pkgutil
import sys
from collections.abc import Collection, Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "CLICK_MESSAGES",
    "DEFAULT",
    "DOMAIN",
    "LANGUAGES",
    "N_",
    "Nn_",
    "choose",
    "current",
    "extract",
    "gettext",
    "help_paragraphs",
    "ngettext",
    "translate_help",
    "use",
]

LANGUAGES = ("en", "vi")
DEFAULT = "en"
DOMAIN = "ocop"
#: The locale variables that name the language of messages, in the order POSIX consults them.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")

_Translations = _gettext.GNUTranslations | _gettext.NullTranslations
_state: dict[str, Any] = {"lang": DEFAULT, "translations": _gettext.NullTranslations()}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction, translate later"
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def Nn_(one: str, many: str) -> tuple[str, str]:  # noqa: N802 - N_ for a message with a plural
    """Mark a singular/plural message pair for extraction."""
    return one, many


#: Click's own messages that ocop's users meet (help headings, usage errors), in the catalogue with ocop's: click
#: looks them up through the ``_``/``ngettext`` names of its modules, which :func:`use` points at this catalogue.
CLICK_MESSAGES = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Positional arguments"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Invalid value: {message}"),
    N_("Option {name!r} does not take a value."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("required"),
    N_("Aborted!"),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
)
CLICK_PLURALS = (
    Nn_("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    Nn_("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    Nn_("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."),
    Nn_("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
)


@cache
def translations(lang: str) -> _Translations:
    """The catalogue of ``lang``: the .mo the build compiled, or the .po compiled now if the .mo is missing or older.

    The second case is a developer's editable install after editing the .po (Babel, a dev dependency, compiles it);
    an installed wheel always has its .mo. English has no catalogue.
    """
    if lang == DEFAULT:
        return _gettext.NullTranslations()
    folder = Path(str(resources.files("ocop_cli") / "locale" / lang / "LC_MESSAGES"))
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file() and not (po.is_file() and po.stat().st_mtime > mo.stat().st_mtime):
        return _gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    if po.is_file():
        try:
            from babel.messages.mofile import write_mo  # noqa: PLC0415 - only in a source tree
            from babel.messages.pofile import read_po  # noqa: PLC0415
        except ImportError:  # pragma: no cover - a tree without Babel and without a build
            pass
        else:
            buf = io.BytesIO()
            write_mo(buf, read_po(io.BytesIO(po.read_bytes())), use_fuzzy=False)
            return _gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    if mo.is_file():  # pragma: no cover - a .po edited where Babel is missing: the older catalogue still helps
        return _gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    return _gettext.NullTranslations()  # pragma: no cover - a broken install: English


def choose(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The language of a run: ``explicit`` (``--lang``), else ``OCOP_LANG``, else the locale's, else English.

    An unknown ``explicit`` or ``OCOP_LANG`` value is not chosen here (the ``--lang`` option refuses it as a usage
    error); the locale counts only when it names Vietnamese.
    """
    for value in (explicit, environ.get("OCOP_LANG")):
        if value:
            return value if value in LANGUAGES else DEFAULT
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:  # the first one set decides, as for the C library (LC_ALL=C means C, whatever LANG says)
            return "vi" if value.lower().startswith("vi") else DEFAULT
    return DEFAULT


def use(lang: str) -> None:
    """Speak ``lang`` (one of :data:`LANGUAGES`) from now on."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    _state["lang"] = lang
    _state["translations"] = translations(lang)
    _route_click()


def _route_click() -> None:
    """Point the ``_`` and ``ngettext`` of click's loaded modules (``from gettext import gettext as _``) at
    :func:`gettext` and :func:`ngettext`, so that click's headings and usage errors follow the run's language.

    Click looks its messages up in the process-wide default gettext domain, whose language comes from the
    environment alone; an application's ``--lang`` cannot reach it otherwise.
    """
    for name in _click_modules():
        module = sys.modules.get(name)  # click imports some of them only when needed: routed on a later run
        if module is None:
            continue
        if getattr(module, "_", None) is _gettext.gettext:
            module._ = gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is _gettext.ngettext:
            module.ngettext = ngettext  # type: ignore[attr-defined]


@cache
def _click_modules() -> tuple[str, ...]:
    """The names of click's modules (not only those loaded yet): looked up on every run, so not a scan of all the
    process's modules each time."""
    import click  # noqa: PLC0415 - loaded already by whoever runs the CLI

    return ("click", *(f"click.{m.name}" for m in pkgutil.iter_modules(click.__path__)))


def current() -> str:
    """The language spoken now."""
    return str(_state["lang"])


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return str(_state["translations"].gettext(message))


def ngettext(one: str, many: str, n: int) -> str:
    """The singular or plural form of a message for ``n``, in the current language."""
    return str(_state["translations"].ngettext(one, many, n))


# ---- click help: paragraphs are the unit of translation ------------------------------------------------------------

_KEEP = "\b\n"  # click's marker for a paragraph that must not be re-wrapped


def help_paragraphs(text: str) -> Iterator[tuple[str, str]]:
    """Split a command's or option's help into ``(marker, paragraph)`` pairs, the paragraphs being the message ids.

    The help is cleaned as click cleans it (:func:`inspect.cleandoc`, up to a form feed); click's ``\\b`` marker (do
    not re-wrap) stays out of the message id, so a translator never sees a control character.
    """
    for paragraph in inspect.cleandoc(text).partition("\f")[0].split("\n\n"):
        if paragraph.startswith(_KEEP):
            yield _KEEP, paragraph[len(_KEEP) :]
        elif paragraph.strip():
            yield "", paragraph


def translate_help(text: str | None) -> str | None:
    """A help text in the current language, paragraph by paragraph (``None`` stays ``None``)."""
    if text is None:
        return None
    return "\n\n".join(marker + gettext(paragraph) for marker, paragraph in help_paragraphs(text))


# ---- extraction: Babel's Python extractor, plus click help -----------------------------------------------------------

#: The keywords of the CLI: t(template), tn(n, one, many), N_(message); Babel is told they are gettext and ngettext.
KEYWORDS: Mapping[str, str] = {"t": "gettext", "tn": "ngettext", "N_": "gettext", "Nn_": "ngettext"}
_CLICK_DECORATORS = frozenset({"command", "group", "option", "argument"})
_HELP_KEYWORDS = frozenset({"help", "epilog", "short_help"})

_Message = tuple[int, str, Any, list[str]]


def extract(
    fileobj: Any, keywords: Collection[str], comment_tags: Collection[str], options: dict[str, Any]
) -> Iterator[_Message]:
    """Babel extraction method for the CLI's modules (``[extractors] ocop = ocop_cli.i18n:extract``).

    Yields what Babel's Python extractor finds for :data:`KEYWORDS` (as ``gettext``/``ngettext`` calls, so that no
    ``-k`` option is needed: ``tn(n, one, many)`` is ``ngettext(one, many)``), then the paragraphs of click help:
    ``help=``/``epilog=``/``short_help=`` string literals in calls, and the docstrings of functions decorated with a
    click ``command``/``group``. A marked message with click's ``\b`` marker is split into paragraphs like help.
    """
    from babel.messages.extract import extract_python  # noqa: PLC0415 - a dev tool, needed only when extracting

    source = fileobj.read()
    found_messages: Iterator[Any] = extract_python(
        io.BytesIO(source),
        dict.fromkeys([*keywords, *KEYWORDS]),
        comment_tags,
        options,  # type: ignore[arg-type]
    )
    for lineno, funcname, found, comments in found_messages:
        name = KEYWORDS.get(funcname, funcname)
        messages = found[1:] if funcname == "tn" and isinstance(found, tuple) else found
        if name == "gettext" and isinstance(messages, str) and _KEEP in messages:
            for _marker, paragraph in help_paragraphs(messages):
                yield lineno, name, paragraph, comments
            continue
        yield lineno, name, messages, comments
    tree = ast.parse(source.decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        texts: list[tuple[int, str]] = []
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in _HELP_KEYWORDS and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    texts.append((kw.value.lineno, kw.value.value))
        elif isinstance(node, ast.FunctionDef) and any(_is_click_decorator(d) for d in node.decorator_list):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None and node.body:
                texts.append((node.body[0].lineno, doc))
        for lineno, text in texts:
            for _marker, paragraph in help_paragraphs(text):
                yield lineno, "gettext", paragraph, []


def _is_click_decorator(node: ast.expr) -> bool:
    func = node.func if isinstance(node, ast.Call) else node
    return isinstance(func, ast.Attribute) and func.attr in _CLICK_DECORATORS
