"""The documentation a Python user reads: every function of the stubs
(the installed .pyi files, what editors and type checkers show) exists at
run time with the same docstring (what help() shows) and the same
parameters, names, kinds and defaults (what inspect.signature gives)."""

import ast
import importlib
import inspect
import os

import pytest

import fdcred

STUBS = {"_fdcred.pyi": "fdcred._fdcred", "aio.pyi": "fdcred.aio", "classic.pyi": "fdcred.classic"}


def stub_functions():
    return list(_stub_functions())


def _stub_functions():
    here = os.path.dirname(fdcred.__file__)
    for stub, module in STUBS.items():
        with open(os.path.join(here, stub)) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield pytest.param(module, node, id="%s.%s" % (module, node.name))


def stub_parameters(node):
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = []
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    for arg, default in zip(positional, defaults):
        params.append((arg.arg, kind, inspect.Parameter.empty if default is None else ast.literal_eval(default)))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        value = inspect.Parameter.empty if default is None else ast.literal_eval(default)
        params.append((arg.arg, inspect.Parameter.KEYWORD_ONLY, value))
    return params


@pytest.mark.parametrize("module,node", stub_functions())
def test_runtime_docstring_and_signature_match_the_stub(module, node):
    function = getattr(importlib.import_module(module), node.name)
    stub_doc = ast.get_docstring(node)
    assert stub_doc, "the stub of %s has no docstring" % node.name
    assert inspect.getdoc(function) == stub_doc, "help(%s) differs from its stub" % node.name
    runtime = [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]
    assert runtime == stub_parameters(node), "inspect.signature(%s) differs from its stub" % node.name


def test_every_public_function_has_a_stub():
    stubbed = {(module, node.name) for p in stub_functions() for module, node in [p.values]}
    for module in STUBS.values():
        mod = importlib.import_module(module)
        public = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for name in public:
            if callable(getattr(mod, name)) and not isinstance(getattr(mod, name), type):
                assert (module, name) in stubbed, "%s.%s has no stub" % (module, name)


def test_help_shows_the_documentation_of_the_fastcall_functions():
    text = fdcred.recv_fds.__doc__
    assert "Returns (data, fds)" in text and "EOPNOTSUPP" in text and "signal handler" in text
    assert str(inspect.signature(fdcred.sendcred)) == "(sock, data=b'\\x00', cred=None)"
