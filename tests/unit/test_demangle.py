"""Tests for harness.parse.demangle on symbols as kernel call traces print them."""

from __future__ import annotations

import pytest

from harness.parse.demangle import demangle, demangle_cxx, demangle_rust


@pytest.mark.parametrize(("sym", "name"), [
    # Rust v0 (a 6.12 Android kernel with Rust drivers)
    ("_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt", "core::panicking::panic_fmt"),
    ("_RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_add_overflow",
     "core::panicking::panic_const::panic_const_add_overflow"),
    ("_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind", "__rustc::rust_begin_unwind"),
    # a trait method: its impl, with a back reference to the crate
    ("_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice"
     "10MiscDevice4mmap", "<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap"),
    # a reference type in the impl, back references to paths
    ("_RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmt",
     "<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt"),
    # generic arguments, a closure
    ("_RINvCs1_3foo3barmE", "foo::bar::<u32>"),
    ("_RNCNvCs1_3foo4main0", "foo::main::{closure}"),
    # C++ (Itanium)
    ("_Z8fakeNameiii", "fakeName"),
    ("_ZN3foo3barEv", "foo::bar"),
])
def test_demangle(sym: str, name: str) -> None:
    assert demangle(sym) == name


@pytest.mark.parametrize("sym", [
    "_R", "_RZZ", "_RNvB5_3foo", "_RNvCs_3fo", "_RNvCsu3foo3bar", "_Z", "_Z3", "_Z9abc", "_ZN3foo",
    "foo_bar", "_raw_spin_lock",
])
def test_what_it_does_not_understand_is_unchanged(sym: str) -> None:
    assert demangle(sym) == sym


def test_each_language_only_its_own_symbols() -> None:
    assert demangle_rust("_Z8fakeNameiii") == "_Z8fakeNameiii"
    assert demangle_cxx("_RNvCs1_3foo3bar") == "_RNvCs1_3foo3bar"


def test_a_self_referencing_back_reference_does_not_loop() -> None:
    assert demangle("_RNvB0_3foo") == "_RNvB0_3foo"
    assert demangle("_RNvB_3foo") == "_RNvB_3foo"
