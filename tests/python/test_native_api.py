"""The native module: stubs match it, exceptions are the Python classes,
and the packages import like the legacy ones."""

import ast
import os

import pytest

import msgwire
import msrplib
from msgwire import _native
from msrplib import protocol


def _stub_path():
    return os.path.join(os.path.dirname(msgwire.__file__), '_native.pyi')


def _stub_names():
    with open(_stub_path(), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
    return tree, names


def test_stubs_ship_and_match_the_module():
    tree, names = _stub_names()
    public = {n for n in dir(_native) if not n.startswith('_')} | {'__version__'}
    assert names == public
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            assert callable(getattr(_native, node.name))
        if isinstance(node, ast.ClassDef):
            cls = getattr(_native, node.name)
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            for method in methods:
                assert hasattr(cls, method), method


def test_typed_markers_ship():
    for package in (msgwire, msrplib):
        assert os.path.isfile(os.path.join(os.path.dirname(package.__file__), 'py.typed'))


def test_versions():
    assert msgwire.__version__ == msrplib.__version__ == _native.__version__
    assert _native.DEFAULT_PORT == 2855


def test_exceptions_raised_from_rust_are_the_python_classes():
    with pytest.raises(protocol.ParsingError):
        _native.parse_uri('nope')
    with pytest.raises(protocol.HeaderParsingError) as info:
        _native.decode_header('byte-range', 'banana')
    assert info.value.header == 'byte-range'  # as the caller spelled it
    assert info.value.reason == "invalid byte range value \"banana\""
    with pytest.raises(protocol.ChunkParsingError) as info:
        _native.parse_chunk(b'MSRP abcd SEND\r\n')
    assert info.value.kind == 'unexpected_eof'
    assert issubclass(protocol.ChunkParsingError, protocol.ParsingError)
    assert issubclass(protocol.ParsingError, msrplib.MSRPError)


def test_exceptions_pickle():
    import pickle
    error = protocol.HeaderParsingError('Status', 'bad')
    again = pickle.loads(pickle.dumps(error))
    assert (again.header, again.reason, str(again)) == ('Status', 'bad', str(error))
    error = protocol.ChunkParsingError('boom', 'tid1', 'bad_method')
    again = pickle.loads(pickle.dumps(error))
    assert (again.transaction_id, again.kind, str(again)) == ('tid1', 'bad_method', 'boom')


def test_unknown_headers_pass_through():
    assert _native.decode_header('X-Anything', ' as is ') == ' as is '
    assert _native.encode_header('X-Anything', 'v') == 'v'
    assert not _native.is_known_header('X-Anything')
    assert _native.is_known_header('use-nickname')


def test_wire_order_and_rank():
    names = ['Content-Type', 'X', 'From-Path', 'Content-ID', 'To-Path']
    assert [names[i] for i in _native.wire_order(names)] == ['To-Path', 'From-Path', 'X', 'Content-ID', 'Content-Type']
    assert [_native.header_rank(n) for n in ('to-path', 'FROM-PATH', 'Status', 'content-disposition', 'Content-Type')] \
        == [0, 1, 2, 3, 4]


def test_legacy_module_names_exist():
    for name in protocol.__all__:
        assert hasattr(protocol, name), name
    assert protocol.MSRPData.__immutable__ == frozenset({'method', 'code', 'comment', 'headers'})
