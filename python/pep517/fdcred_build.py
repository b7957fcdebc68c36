"""The package's PEP 517 backend: maturin's, except that a wheel built
through pip gets the platform tag PyPI would accept (`--compatibility
pypi`: the lowest manylinux tag its symbol versions allow, checked as
auditwheel does) unless the caller chose one. maturin's own hook passes
`--compatibility off` then, a plain `linux` tag that only the building
machine trusts, so `pip wheel ./python` made a wheel no other machine would
install."""

from maturin import *  # noqa: F401,F403 (every hook not redefined below)
from maturin import build_editable as _build_editable
from maturin import build_wheel as _build_wheel
from maturin import get_maturin_pep517_args


def _with_compatibility(config_settings):
    args = get_maturin_pep517_args(config_settings)  # config settings, else $MATURIN_PEP517_ARGS
    if not any(a.split("=")[0] in ("--compatibility", "--manylinux") for a in args):
        args = [*args, "--compatibility", "pypi"]
    return {**(config_settings or {}), "build-args": args}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build_wheel(wheel_directory, _with_compatibility(config_settings), metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build_editable(wheel_directory, _with_compatibility(config_settings), metadata_directory)
