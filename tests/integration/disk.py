"""Disk faults for integration tests: small tmpfs mounts that a test fills and frees, and damage
done to a stopped server's data dir.

Mounting needs root (CAP_SYS_ADMIN); where it is impossible, Tmpfs.mount raises
unittest.SkipTest with the reason, so the test is reported as skipped, never as passed.
"""
import errno
import os
import subprocess
import tempfile
import unittest


class Tmpfs:
    """A size-limited tmpfs mounted on `path` (created if missing)."""

    def __init__(self, path, size="16m"):
        self.path = path
        self.size = size
        self.mounted = False
        self._fillers = []

    @classmethod
    def fresh(cls, size="16m"):
        return cls(tempfile.mkdtemp(prefix="cairn-tmpfs-"), size)

    def mount(self):
        os.makedirs(self.path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", self.path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise unittest.SkipTest(
                f"cannot mount a {self.size} tmpfs on {self.path} (needs root and mount "
                f"permission): {r.stderr.strip() or r.returncode}")
        self.mounted = True
        return self

    def unmount(self):
        if self.mounted:
            # Lazy: a server that still has files open there keeps them until it exits.
            subprocess.run(["umount", "-l", self.path], capture_output=True)
            self.mounted = False

    def fill(self):
        """Writes a filler file until the file system reports ENOSPC. Returns its path."""
        path = os.path.join(self.path, f"filler-{len(self._fillers)}")
        self._fillers.append(path)
        with open(path, "wb", buffering=0) as f:
            for chunk in (1 << 20, 1 << 12, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        f.write(block)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        return path

    def free(self):
        """Removes every filler file: the space is back."""
        for path in self._fillers:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
        self._fillers = []

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize
