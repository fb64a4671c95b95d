"""Build orchestration on a fake kernel tree (stub Makefile, stub
merge_config.sh): source import, patches, kconfig verification, the cache.
The real tree is built in tests/e2e."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness import config
from harness.errors import ConfigError, UserError
from harness.kernel import build

FAKE = Path(__file__).resolve().parents[1] / "data" / "fake-kernel"

PATCH = """\
From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: lam-harness <lam-harness@localhost>
Subject: [PATCH] change line 2

---
 init/main.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/init/main.c b/init/main.c
--- a/init/main.c
+++ b/init/main.c
@@ -1,3 +1,3 @@
 int main(void) { return 0; }
-/* line 2 */
+/* line 2, patched{mark} */
 /* line 3 */
--
2.39.5
"""


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.fail("git and make are needed (make setup installs them)")
    tarball = tmp_path / "linux-fake.tar.gz"
    with tarfile.open(tarball, "w:gz") as tf:
        tf.add(FAKE, arcname="linux-fake")
    frag = tmp_path / "lam.config"
    frag.write_text("# CONFIG_CPU_MITIGATIONS is not set\nCONFIG_ADDRESS_MASKING=y\n")
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "0001-change.patch").write_text(PATCH.replace("{mark}", ""))
    return tmp_path, tarball


def cfg(tmp: Path, tarball: Path, base: str = "tinyconfig", patches: str = "[patches]",
        selftests: str = "[x86/hello]") -> config.Config:
    p = tmp / "c.yaml"
    p.write_text(f"name: fake\nkernel:\n  source: {{tarball: {tarball}}}\n"
                 f"  patches: {patches}\n"
                 f"  config:\n    base: {base}\n    fragments: [lam.config]\n"
                 f"  selftests: {selftests}\n")
    return config.load(p)


def make_runs(kernels: Path) -> int:
    runs = list((kernels / "build").glob("*/make-runs"))
    return len(runs[0].read_text().splitlines()) if runs else 0


def test_build_then_cache_hit_then_patch_byte_rebuilds(setup: tuple[Path, Path]) -> None:
    tmp, tarball = setup
    kernels = tmp / "kernels"
    b1 = build.build(cfg(tmp, tarball), kernels)
    assert not b1.hit and make_runs(kernels) == 1
    assert b"patched" in b1.bzimage.read_bytes()
    assert b"CONFIG_ADDRESS_MASKING=y" in b1.bzimage.read_bytes()
    assert b1.kernel_release == "6.12.0-fake"
    assert b1.selftests_dir is not None and (b1.selftests_dir / "x86" / "hello_64").exists()
    assert (b1.dir / "build.json").exists() and (b1.dir / "build.log").exists()
    out = subprocess.run([str(b1.selftests_dir / "x86" / "hello_64")], capture_output=True,
                         text=True)
    assert out.stdout == "ok 1 hello\n"

    b2 = build.build(cfg(tmp, tarball), kernels)
    assert b2.hit and b2.key == b1.key and make_runs(kernels) == 1

    (tmp / "patches" / "0001-change.patch").write_text(PATCH.replace("{mark}", "!"))
    b3 = build.build(cfg(tmp, tarball), kernels)
    assert not b3.hit and b3.key != b1.key and make_runs(kernels) == 2
    assert b"patched!" in b3.bzimage.read_bytes()


def test_dropped_option_is_a_config_error_before_make(setup: tuple[Path, Path]) -> None:
    tmp, tarball = setup
    (tmp / "lam.config").write_text("CONFIG_ADDRESS_MASKING=y\n")
    kernels = tmp / "kernels"
    with pytest.raises(ConfigError) as e:
        build.build(cfg(tmp, tarball, base="defconfig"), kernels)
    msg = str(e.value)
    assert e.value.exit_code == 2
    assert "CONFIG_ADDRESS_MASKING=y asked by" in msg and "lam.config:1" in msg
    assert "depends on COMPILE_TEST || !CPU_MITIGATIONS" in msg and "CPU_MITIGATIONS=y" in msg
    assert make_runs(kernels) == 0


def test_patch_that_does_not_apply_names_patch_and_file(setup: tuple[Path, Path]) -> None:
    tmp, tarball = setup
    bad = PATCH.replace("{mark}", "").replace("-/* line 2 */", "-/* no such line */")
    (tmp / "patches" / "0001-change.patch").write_text(bad)
    kernels = tmp / "kernels"
    with pytest.raises(UserError) as e:
        build.build(cfg(tmp, tarball), kernels)
    assert e.value.exit_code == 2
    assert "0001-change.patch does not apply" in str(e.value)
    assert "init/main.c" in str(e.value)
    assert make_runs(kernels) == 0


def test_series_file_orders_patches(setup: tuple[Path, Path]) -> None:
    tmp, tarball = setup
    p = tmp / "patches"
    second = PATCH.replace("{mark}", "").replace("-/* line 2 */\n+/* line 2, patched */",
                                           "-/* line 2, patched */\n+/* line 2, twice */")
    (p / "0000-second.patch").write_text(second)
    (p / "series").write_text("# order matters\n0001-change.patch\n0000-second.patch\n")
    b = build.build(cfg(tmp, tarball), tmp / "kernels")
    assert b"twice" in b.bzimage.read_bytes()


def _fake_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """A git repository of the fake kernel tree (branch "work", one commit
    "base") and the git argv prefix that works in it."""
    user = tmp_path / "linux"
    shutil.copytree(FAKE, user)
    g = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(user)]
    subprocess.run([*g, "init", "-q", "-b", "work"], check=True)
    subprocess.run([*g, "add", "-A"], check=True)
    subprocess.run([*g, "commit", "-qm", "base"], check=True)
    return user, g


def test_git_source_never_touches_the_users_checkout(tmp_path: Path) -> None:
    user, g = _fake_repo(tmp_path)
    subprocess.run([*g, "tag", "v0"], check=True)
    (user / "init" / "main.c").write_text("/* uncommitted user edit */\n")
    (tmp_path / "lam.config").write_text("# CONFIG_CPU_MITIGATIONS is not set\n")
    p = tmp_path / "c.yaml"
    p.write_text(f"name: g\nkernel:\n  source: {{git: {user}, ref: v0}}\n"
                 "  config: {base: tinyconfig, fragments: [lam.config]}\n")
    b = build.build(config.load(p), tmp_path / "kernels")
    assert b"int main" in b.bzimage.read_bytes()  # built from the commit, not the edit
    assert (user / "init" / "main.c").read_text() == "/* uncommitted user edit */\n"
    head = subprocess.run([*g, "symbolic-ref", "HEAD"], capture_output=True, text=True)
    assert head.stdout.strip() == "refs/heads/work"
    assert not (user / ".git" / "worktrees").exists()
    bad = p.read_text().replace("ref: v0", "ref: nope")
    p.write_text(bad)
    with pytest.raises(ConfigError, match="'nope' is not a commit"):
        build.build(config.load(p), tmp_path / "kernels")


def test_two_commits_of_one_repository_build_in_one_build_folder(tmp_path: Path) -> None:
    """What makes bisection steps incremental: every commit of a repository
    is built in the same build folder (make sees only what changed), and
    each gets its own cache entry."""
    user, g = _fake_repo(tmp_path)
    (user / "init" / "main.c").write_text("int main(void) { return 1; }\n")
    subprocess.run([*g, "commit", "-qam", "change"], check=True)
    (tmp_path / "lam.config").write_text("# CONFIG_CPU_MITIGATIONS is not set\n")
    kernels = tmp_path / "kernels"
    built = []
    for ref in ("HEAD~1", "HEAD"):
        p = tmp_path / "c.yaml"
        p.write_text(f"name: g\nkernel:\n  source: {{git: {user}, ref: '{ref}'}}\n"
                     "  config: {base: tinyconfig, fragments: [lam.config]}\n")
        built.append(build.build(config.load(p), kernels))
    assert not built[0].hit and not built[1].hit and built[0].key != built[1].key
    assert b"return 0" in built[0].bzimage.read_bytes()
    assert b"return 1" in built[1].bzimage.read_bytes()
    assert len(list((kernels / "build").iterdir())) == 1
    assert make_runs(kernels) == 2  # both makes ran in that one folder
