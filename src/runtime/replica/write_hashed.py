# How Lifeboat restores a large file onto a host: writes stdin to a new file PATH, reads
# each piece back through a second handle right after writing it and hashes what the file
# system gave back, and starts the write-back every 64 MiB, so that the hash and most of
# the flush are done when the last byte lands. Prints "<sha256 hex> *stdin" once the file
# is whole and on disk. It makes PATH (never through a link, never over a file) before it
# reads stdin: a caller that finds no PATH after a failure knows stdin is untouched.
# Run as python3 -I -S -c CODE PATH. Standard library only, Python 3.4 or later.
# Never holds a single quote: the shell passes this text in single quotes.
import hashlib
import os
import sys
import threading

# One thread reads, writes, reads back and hashes: a hashing thread of its own cost more
# CPU in lock hand-offs than it saved. The pipe from sshd is widened to 1 MiB so that
# sshd keeps writing while the piece before is hashed (64 KiB stalled it).
PIECE = 1 << 20
STEP = 64 << 20
F_SETPIPE_SZ = 1031


def main(path):
    try:
        w = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        sys.stderr.write("cannot create %s: %s\n" % (path, e.strerror))
        return 1
    r = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        import fcntl
        fcntl.fcntl(0, F_SETPIPE_SZ, PIECE)
    except (ImportError, OSError, ValueError):
        pass  # not a pipe, or over the pipe limit of this user: the default pipe works too
    errors = []
    wake = threading.Event()
    done = []

    def flush():
        # fdatasync on the same file: its first error is kept, or the closing fsync
        # could report success after a failed write-back.
        while True:
            wake.wait()
            wake.clear()
            if done:
                return
            try:
                os.fdatasync(w)
            except OSError as e:
                errors.append(e)
                return

    flusher = threading.Thread(target=flush)
    flusher.start()
    sha = hashlib.sha256()
    buf, back = bytearray(PIECE), bytearray(PIECE)
    view, back_view = memoryview(buf), memoryview(back)
    total = synced = 0
    try:
        while not errors:
            n = os.readv(0, [buf])
            if n == 0:
                break
            left = view[:n]
            while left:
                left = left[os.write(w, left):]
            if hasattr(os, "preadv"):
                got = back_view[:os.preadv(r, [back_view[:n]], total)]
            else:
                got = os.pread(r, n, total)
            if len(got) != n:
                raise OSError("%s reads back shorter than what was written to it" % path)
            sha.update(got)
            total += n
            if total - synced >= STEP:
                synced = total
                wake.set()
    except OSError as e:
        errors.append(e)
    finally:
        done.append(True)
        wake.set()
        flusher.join()
    if not errors:
        try:
            os.fsync(w)
        except OSError as e:
            errors.append(e)
    if errors:
        sys.stderr.write("writing %s: %s\n" % (path, errors[0]))
        return 1
    sys.stdout.write("%s *stdin\n" % sha.hexdigest())
    return 0


sys.exit(main(sys.argv[1]))
