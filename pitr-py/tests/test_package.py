"""The package as installed: the wheel, its stubs and its public names."""

import importlib.resources
import os
import sys
import sysconfig

import pitr


def test_imported_from_the_installed_wheel_not_the_source_tree():
    here = os.path.dirname(os.path.abspath(pitr.__file__))
    purelib = os.path.realpath(sysconfig.get_paths()["purelib"])
    platlib = os.path.realpath(sysconfig.get_paths()["platlib"])
    assert os.path.realpath(here).startswith((purelib, platlib)), here
    assert "pitr-py" + os.sep + "python" not in here


def test_extension_is_abi3():
    import pitr._pitr as native

    assert ".abi3." in os.path.basename(native.__file__), native.__file__


def test_version_is_the_crate_version():
    # The workspace version, also the wheel's version.
    from importlib.metadata import version

    assert pitr.__version__ == version("pitr")
    assert pitr.__version__.count(".") == 2


def test_typed_package_ships_stubs_and_marker():
    files = importlib.resources.files("pitr")
    assert files.joinpath("py.typed").is_file()
    stub = files.joinpath("__init__.pyi").read_text()
    for name in pitr.__all__:
        if name.startswith("__"):
            continue
        assert name in stub, f"{name} missing from __init__.pyi"


def test_public_names_exist_and_live_in_pitr():
    for name in pitr.__all__:
        obj = getattr(pitr, name)
        if isinstance(obj, type):
            assert obj.__module__ in ("pitr", "pitr._errors"), (name, obj.__module__)
    assert not hasattr(pitr, "_core_error_for_test"), "test hook must stay private"


def test_python_version_supported():
    assert sys.version_info >= (3, 9)
