# Runs a command on a new pseudo-terminal, as a person at a terminal would: waits for PROMPT, types
# ANSWER and Enter, then prints everything the terminal showed (what a person would have seen).
import os, pty, select, sys, time

prompt, answer, command = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

seen, typed = b'', False
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.5)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break  # the child closed the terminal
        if not chunk:
            break
        seen += chunk
    if not typed and prompt in seen:
        os.write(fd, answer + b'\r')
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
