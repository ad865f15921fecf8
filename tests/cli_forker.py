"""Command lines of `part_nb` as `python -m part_nb.cli` runs them, each in a process of its own, forked from this one
after the imports (most of a command's time on a small CPU: about 4 s of 4.5). One JSON job a line on stdin,
`{"args": [...], "cwd": ..., "env": {...}, "out": file, "err": file}`; for each, one line on stdout: its exit code.
An exception that `main` lets through prints its traceback to the job's stderr and exits 1, as the interpreter does."""
import json, os, sys, traceback, warnings
import part_nb.cli

for line in sys.stdin:
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.environ.clear(); os.environ.update(job['env']); os.chdir(job['cwd'])
        for fd, name in ((1, job['out']), (2, job['err'])):
            f = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.dup2(f, fd); os.close(f)
        warnings.simplefilter('ignore')  # as PYTHONWARNINGS=ignore
        sys.argv = ['part_nb', *job['args']]
        try: part_nb.cli.main(job['args']); code = 0
        except SystemExit as e: code = e.code if isinstance(e.code, int) else (0 if e.code is None else (print(e.code, file=sys.stderr) or 1))
        except BaseException: traceback.print_exc(); code = 1
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(code)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
